#!/usr/bin/env bash
# rsicam on a GPU: build against this machine's PyTorch (its libtorch, CUDA
# or not), then check the maps against the CPU's and time the published
# loop, rsicam and the forward-only floor (bench/gpu_check.py; README).
#
#   bench/gpu_check.sh [--build DIR] [--out DIR] [--debs DIR] [-- OPTIONS]
#
# --build DIR  build directory (default build-gpu); configured and built
#              with -DRSICAM_TORCH_PYTHON when DIR/rsicam is missing
# --out DIR    report and scratch (default DIR-of-build/gpu-check)
# --debs DIR   for a host without libvips, jansson and libyaml headers and
#              no package manager at hand: Debian 12 .deb files of them and
#              of libvips's run-time libraries, unpacked under BUILD/deps;
#              rsicam alone runs with them on its library path
# OPTIONS      passed to gpu_check.py (--steps, --images, --reps, ...)
#
# Python: $RSICAM_PYTHON, else python3 (it must import torch).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
py=$(command -v "${RSICAM_PYTHON:-python3}")
build=$root/build-gpu
out=
debs=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --debs) debs=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "gpu_check.sh: unknown option '$1' (see the comment at its top)" >&2; exit 2 ;;
    esac
done
mkdir -p "$build"
build=$(cd "$build" && pwd)
out=${out:-$build/gpu-check}

# Minimal pkg-config files over an unpacked tree: Debian's own name
# dependencies (Requires.private) that a partial unpack does not hold.
unpack_debs() {
    local deps=$build/deps lib
    lib=$deps/usr/lib/$(uname -m)-linux-gnu
    if [ ! -d "$deps/pc" ]; then
        echo "gpu_check.sh: unpacking $(ls "$debs"/*.deb | wc -l) packages from $debs" >&2
        for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$deps"; done
        mkdir -p "$deps/pc"
        local inc=$deps/usr/include
        printf 'Name: vips\nDescription: libvips (unpacked)\nVersion: 8.14\nCflags: -I%s -I%s/glib-2.0 -I%s/glib-2.0/include\nLibs: -L%s -lvips -lgobject-2.0 -lglib-2.0\n' \
            "$inc" "$inc" "$lib" "$lib" >"$deps/pc/vips.pc"
        printf 'Name: jansson\nDescription: jansson (unpacked)\nVersion: 2.14\nCflags: -I%s\nLibs: -L%s -ljansson\n' \
            "$inc" "$lib" >"$deps/pc/jansson.pc"
        printf 'Name: yaml\nDescription: libyaml (unpacked)\nVersion: 0.2.5\nCflags: -I%s\nLibs: -L%s -lyaml\n' \
            "$inc" "$lib" >"$deps/pc/yaml-0.1.pc"
    fi
    export PKG_CONFIG_PATH=$deps/pc
    export RSICAM_RUN_LIBRARY_PATH=$lib
}
[ -z "$debs" ] || unpack_debs

if [ ! -x "$build/rsicam" ]; then
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DRSICAM_BUILD_TESTS=OFF -DRSICAM_TORCH_PYTHON="$py"
    # the linker resolves libvips's own libraries through the path too
    LD_LIBRARY_PATH=${RSICAM_RUN_LIBRARY_PATH:-}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        cmake --build "$build" -j"$(nproc)"
fi
exec "$py" "$here/gpu_check.py" --build "$build" --out "$out" "$@"
