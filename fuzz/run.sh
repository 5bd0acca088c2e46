#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 60 s each; npy image config results)
#
# Not run in CI. Needs clang and libclang-rt-14-dev (Debian: apt-get install
# clang libclang-rt-14-dev). The build goes to build-fuzz/ (RSICAM_FUZZ_BUILD
# overrides); inputs the fuzzer finds interesting go to
# build-fuzz/corpus-TARGET/, crashes, leaks and timeouts to
# build-fuzz/crashes-TARGET/. The exit status is non-zero when any target
# found something: reproduce with `build-fuzz/fuzz_TARGET FILE`, fix, and
# keep FILE under fuzz/regressions/TARGET/ (ctest replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy image config results)
build=${RSICAM_FUZZ_BUILD:-build-fuzz}

command -v clang >/dev/null || {
    echo "fuzz/run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
}
cmake -S fuzz -B "$build" -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$build" -j"${JOBS:-2}"

# Leaks count as findings; the image target's libvips and glib keep
# type registrations for the life of the process (reachable, not leaks).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

found=()
for t in "${targets[@]}"; do
    corpus=$build/corpus-$t crashes=$build/crashes-$t
    mkdir -p "$corpus" "$crashes"
    echo "== fuzz_$t for ${secs}s"
    # -timeout: one input may take at most 10 s (a hang is a finding);
    # -rss_limit_mb: so that an input that makes the code allocate without
    # bound is reported instead of swapping the machine.
    # libFuzzer stops at a folder that does not exist (a target without
    # findings has no regressions folder)
    seeds=("$corpus" "fuzz/corpus/$t")
    [ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
    if ! "$build/fuzz_$t" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$crashes/" \
        -print_final_stats=1 "${seeds[@]}" 2>"$build/fuzz_$t.log"; then
        found+=("$t")
    fi
    grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' \
        "$build/fuzz_$t.log" || true
done
if [ ${#found[@]} -gt 0 ]; then
    echo "fuzz/run.sh: findings in: ${found[*]} (see $build/fuzz_TARGET.log" \
        "and $build/crashes-TARGET/)" >&2
    exit 1
fi
echo "fuzz/run.sh: nothing found"
