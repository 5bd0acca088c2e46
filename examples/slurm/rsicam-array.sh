#!/usr/bin/env bash
# An rsicam experiment as a Slurm job array: each array task runs one
# shard of the units into its own directory, then one dependent job merges
# them into what a single run would have written.
#
#   bash examples/slurm/rsicam-array.sh EXPERIMENT.yaml OUT [KEY=VALUE ...]
#
# submits both jobs (run it on a login node). Shards that die (time limit,
# preemption) can simply be resubmitted: a rerun into the same directory
# resumes, skipping the units already recorded.
#
# Environment:
#   RSICAM_SHARDS=N     array size (8)
#   RSICAM_BIN=PATH     the rsicam to run (rsicam on PATH)
#   SBATCH_EXTRA="..."  more sbatch options (partition, account, gres, ...)
#
# Inside the array job (how sbatch calls this script back):
#   rsicam-array.sh --task EXPERIMENT.yaml OUT [KEY=VALUE ...]
#   rsicam-array.sh --merge OUT
set -euo pipefail

rsicam=${RSICAM_BIN:-rsicam}
self=$(readlink -f "$0")

case "${1:-}" in
--task)
    shift
    config=$1 out=$2
    shift 2
    # Slurm numbers tasks from --array=1-N; shards are K/N with K from 1
    k=$SLURM_ARRAY_TASK_ID
    n=$SLURM_ARRAY_TASK_COUNT
    exec "$rsicam" run "$config" "$@" "output=$out/shards/$k" \
        "threads=${SLURM_CPUS_PER_TASK:-1}" --shard "$k/$n" 2>&1
    ;;
--merge)
    out=$2
    exec "$rsicam" merge "$out/merged" "$out"/shards/*
    ;;
esac

if (($# < 2)); then
    sed -n '2,20p' "$self" >&2
    exit 2
fi
config=$1 out=$2
shift 2
shards=${RSICAM_SHARDS:-8}
mkdir -p "$out/logs"

# Check the whole file (and overrides) before anything is queued.
"$rsicam" run "$config" "$@" "output=$out/shards/1" --check --shard 1/"$shards"

# shellcheck disable=SC2086 # SBATCH_EXTRA holds several options
array=$(sbatch --parsable --job-name=rsicam --array="1-$shards" \
    --cpus-per-task="${RSICAM_CPUS:-4}" --output="$out/logs/shard-%a.log" \
    ${SBATCH_EXTRA:-} "$self" --task "$config" "$out" "$@")
# shellcheck disable=SC2086
merge=$(sbatch --parsable --job-name=rsicam-merge \
    --dependency="afterok:$array" --output="$out/logs/merge.log" \
    ${SBATCH_EXTRA:-} "$self" --merge "$out")
echo "rsicam: array job $array ($shards shards), merge job $merge;" \
    "results in $out/merged" >&2
