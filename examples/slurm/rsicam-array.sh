#!/usr/bin/env bash
# An rsicam experiment as a Slurm job array: each array task runs one
# shard of the units into its own directory, then one dependent job merges
# them into what a single run would have written.
#
#   bash examples/slurm/rsicam-array.sh EXPERIMENT.yaml OUT [KEY=VALUE ...]
#
# checks the experiment and the job request, then submits both jobs (run it
# on a login node, from the directory that relative paths in the overrides
# start at: the jobs run there too). Shards land in OUT/shards/K, logs in
# OUT/logs, the merged result in OUT/merged. A shard that dies (time limit,
# preemption, scancel, a failed node) resumes when resubmitted, skipping
# the units it recorded; resubmit it, with a new merge job, by running the
# same command (same overrides and RSICAM_SHARDS) with RSICAM_TASKS=K.
#
# Environment:
#   RSICAM_SHARDS=N     shards, one array task each (8)
#   RSICAM_TASKS=LIST   submit only these shards: 3, or 2,5, or 1-4 (all)
#   RSICAM_CPUS=C       CPUs per shard, also its libtorch threads (4)
#   RSICAM_BIN=PATH     the rsicam to run (rsicam on PATH)
#   SBATCH_EXTRA="..."  more sbatch options (partition, account, gres, ...)
#
# Inside the jobs (how sbatch calls this script back):
#   rsicam-array.sh --task N EXPERIMENT.yaml OUT [KEY=VALUE ...]
#   rsicam-array.sh --merge N OUT
set -euo pipefail

rsicam=${RSICAM_BIN:-rsicam}

fail() {
    echo "rsicam-array: $*" >&2
    exit 2
}

# A shard's directory holds a finished run of shard K/N.
shard_done() {
    local run=$1/run.json
    [ -f "$run" ] && grep -Eq '"state": *"done"' "$run" &&
        grep -Eq "\"shard\": *\"$2/$3\"" "$run"
}

case "${1:-}" in
--task)
    # The shard count comes from the submitter, not from
    # SLURM_ARRAY_TASK_COUNT: a resubmitted --array=3 has a count of 1.
    n=$2 config=$3 out=$4
    shift 4
    k=$SLURM_ARRAY_TASK_ID
    exec "$rsicam" run "$config" "$@" "output=$out/shards/$k" \
        "threads=${SLURM_CPUS_PER_TASK:-1}" --shard "$k/$n" 2>&1
    ;;
--merge)
    n=$2 out=$3
    dirs=()
    for ((k = 1; k <= n; k++)); do
        # a resubmission's merge waits only for the shards it resubmitted
        shard_done "$out/shards/$k" "$k" "$n" ||
            fail "shard $k/$n has not finished ($out/shards/$k/run.json);" \
                "resubmit it with RSICAM_TASKS=$k"
        dirs+=("$out/shards/$k")
    done
    exec "$rsicam" merge "$out/merged" "${dirs[@]}"
    ;;
esac

if (($# < 2)); then
    sed -n '2,21p' "$0" >&2
    exit 2
fi
self=$(readlink -f "$0")
# Absolute paths, symbolic links kept (the records name the files as given):
# the jobs may start elsewhere (SBATCH_EXTRA's --chdir).
config=$(realpath -sm "$1") out=$(realpath -sm "$2")
shift 2
if [[ $rsicam == */* ]]; then rsicam=$(realpath -sm "$rsicam"); fi
shards=${RSICAM_SHARDS:-8}
tasks=${RSICAM_TASKS:-1-$shards}
cpus=${RSICAM_CPUS:-4}
[[ $shards =~ ^[1-9][0-9]*$ ]] ||
    fail "RSICAM_SHARDS: expected a positive count, got '$shards'"
[[ $cpus =~ ^[1-9][0-9]*$ ]] ||
    fail "RSICAM_CPUS: expected a positive count, got '$cpus'"
[[ $tasks =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] ||
    fail "RSICAM_TASKS: expected shard numbers like 3 or 2,5 or 1-4," \
        "got '$tasks'"
for k in ${tasks//[,-]/ }; do
    ((10#$k >= 1 && 10#$k <= shards)) ||
        fail "RSICAM_TASKS: shard $k is not in 1-$shards (RSICAM_SHARDS)"
done

# Check the whole file (and overrides) before anything is queued.
"$rsicam" run "$config" "$@" "output=$out/shards/1" --check --shard 1/"$shards"

# shellcheck disable=SC2206 # SBATCH_EXTRA holds several options
extra=(${SBATCH_EXTRA:-})
array_options=(--job-name=rsicam --array="$tasks" --cpus-per-task="$cpus"
    --chdir="$PWD" --output="$out/logs/shard-%a.log" --open-mode=append
    "${extra[@]}")
# A request no node can meet would sit in the queue for ever (reason
# PartitionConfig): ask Slurm first.
if ! why=$(sbatch --test-only "${array_options[@]}" "$self" 2>&1); then
    fail "Slurm would not run the shards: ${why//$'\n'/; }" \
        "(RSICAM_CPUS=$cpus per shard, SBATCH_EXTRA='${SBATCH_EXTRA:-}')"
fi

# Slurm writes no log into a missing directory
mkdir -p "$out/logs"
array=$(sbatch --parsable "${array_options[@]}" \
    "$self" --task "$shards" "$config" "$out" "$@")
array=${array%%;*} # --parsable says ID;CLUSTER on a federation
# kill-on-invalid-dep: when a shard fails the merge leaves the queue
# instead of waiting for ever; the resubmission brings its own.
merge=$(sbatch --parsable --job-name=rsicam-merge \
    --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --chdir="$PWD" --output="$out/logs/merge.log" --open-mode=append \
    "${extra[@]}" "$self" --merge "$shards" "$out")
echo "rsicam-array: array job $array (shards $tasks of $shards)," \
    "merge job $merge; results in $out/merged" >&2
