#!/usr/bin/env bash
# examples/slurm/rsicam-array.sh on a real Slurm cluster: one node, this
# machine, started here (cluster.sh) and stopped whatever happens.
#
# Runs the quickstart experiment (8 of its images, steps 8 and 17, batch 16)
# once in a single process, then as a 4-task array plus its merge job, and
# checks that the merged output equals the single run (same_output.py):
#   1. shards that fail validation or ask for more CPUs than the node has
#      stop before anything is queued;
#   2. the array and its merge, untouched;
#   3. one array task cancelled mid-run (scancel), the merge leaving the
#      queue, the shard resubmitted (RSICAM_TASKS) and resuming;
#   4. the node set DOWN mid-run (its shards requeued), then resumed.
#
# Needs root and slurm-wlm + munge (tools/setup installs them). Environment
# (ctest sets the first three):
#   RSICAM_BIN, RSICAM_SOURCE_DIR, RSICAM_PLUGIN_PATH  the build under test
#   RSICAM_SKIP_SLURM=1  skip (exit 77) when the cluster cannot start here,
#                        e.g. without root; ignored when CI=true, where the
#                        test then fails, saying why
#   RSICAM_SLURM_KEEP=1  keep the temporary directory (logs, outputs)
#   RSICAM_SLURM_LIMIT_S the bound on the whole test's waits (480)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${RSICAM_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export RSICAM_BIN=${RSICAM_BIN:-$src/build/rsicam}
deadline=$((SECONDS + ${RSICAM_SLURM_LIMIT_S:-480}))
# shellcheck source=tests/slurm/cluster.sh
source "$here/cluster.sh"
# shellcheck source=tests/slurm/jobs.sh
source "$here/jobs.sh"
python=/usr/bin/python3 # Debian's; the comparison needs only its stdlib

work=$(mktemp -d "${TMPDIR:-/tmp}/rsicam-slurm.XXXXXX") || exit 1
chmod 0755 "$work" # munged wants its socket's directories searchable by all
finish() {
    local rc=$?
    cluster_stop
    if [ "${RSICAM_SLURM_KEEP:-}" = 1 ]; then
        note "kept $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap finish EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

if ! cluster_start "$work/cluster"; then
    if [ "${RSICAM_SKIP_SLURM:-}" = 1 ] && [ "${CI:-}" != true ]; then
        echo "SKIP: the Slurm cluster cannot start: $cluster_error"
        exit 77
    fi
    echo "FAIL: the Slurm cluster cannot start: $cluster_error"
    [ "${CI:-}" = true ] && echo "(CI=true: RSICAM_SKIP_SLURM is ignored)"
    exit 1
fi
node=$RSICAM_SLURM_NODE
cpus=$(sinfo -h -n "$node" -o %c)
note "cluster up: node $node, $cpus CPUs, SLURM_CONF=$SLURM_CONF"

# Relative paths throughout, as a user on a login node would type them:
# the jobs must resolve them from the submit directory.
cd "$work" || exit 1
ln -s "$src/examples" examples
head -n 9 examples/samples/samples.csv |
    sed -E '2,$s|^|examples/samples/|' >samples.csv
# The experiment's batch (16) divides neither walk's points (9 and 18):
# the merge equals the single run because an experiment never puts two
# images' points in one forward (docs/experiments.md, Resume).
experiment=(examples/experiments/quickstart.yaml "images=[samples.csv]"
    "steps=[8, 17]")
array_sh=$src/examples/slurm/rsicam-array.sh
export RSICAM_SHARDS=4 RSICAM_CPUS=1

# The fault scenarios catch a shard after its first record and hold it
# there (hold_part_way); ten times the steps leave the poll a window of
# about half a second between a shard's first record and its end. Waiting
# for Slurm to act alone was a race: the kill reached a shard of 0.9 s
# after it had finished (CI, 2026-12-03).
slow_experiment=("${experiment[@]:0:2}" "steps=[80, 170]")
single=single
"$RSICAM_BIN" run "${experiment[@]}" threads=1 output=single --quiet &&
    "$RSICAM_BIN" run "${slow_experiment[@]}" threads=1 output=single-slow \
        --quiet ||
    { note "FAIL: the single-process run failed"; exit 1; }

# submit OUT [VAR=VALUE...]: rsicam-array.sh; sets $array and $merge.
submit() {
    local out=$1 said
    shift
    said=$(env "$@" bash "$array_sh" "${experiment[0]}" "$out" \
        "${experiment[@]:1}" 2>&1 >/dev/null)
    parse_submission "$said"
}

# refused WHAT [VAR=VALUE...] -- [OVERRIDE...]: the submission exits 2
# and nothing reaches the queue or the output directory.
refused() {
    local what=$1 vars=() out=refused-$RANDOM rc
    shift
    while (($#)) && [ "$1" != -- ]; do vars+=("$1") && shift; done
    shift
    env "${vars[@]}" bash "$array_sh" "${experiment[0]}" "$out" \
        "${experiment[@]:1}" "$@" >/dev/null 2>"$out.err"
    rc=$?
    check "$what: refused with exit 2 ($(tail -n 1 "$out.err"))" \
        [ "$rc" -eq 2 ]
    check "$what: nothing queued, nothing written" never_queued "$out"
}

# No job ever reached the cluster and OUT does not exist.
never_queued() {
    ! scontrol -o show job 2>/dev/null | grep -q '^JobId=' && [ ! -e "$1" ]
}

node_down() { [[ "$(sinfo -h -n "$node" -o %T)" == down* ]]; }

# merged_equal OUT: the merge job ran and OUT/merged equals the single run.
merged_equal() {
    check "$1: merge job $merge completed" all_in_state "$merge" COMPLETED
    check "$1: merged output equals the single run" \
        "$python" "$here/same_output.py" "$single" "$1/merged"
}

note "-- 1. validation stops a bad submission before the queue"
refused "unknown layer" -- "layers=[features.99]"
refused "shard outside the array" RSICAM_TASKS=5 --
refused "no shards" RSICAM_SHARDS=0 --
refused "more CPUs than the node has" RSICAM_CPUS=$((cpus + 1)) --

note "-- 2. array of $RSICAM_SHARDS shards and its merge"
submit out-a &&
    wait_for 240 "the array and its merge" queue_empty
check "every shard completed" all_in_state "$array" COMPLETED
merged_equal out-a

note "-- 3. a shard cancelled mid-run, resubmitted"
experiment=("${slow_experiment[@]}") single=single-slow
submit out-b &&
    hold_part_way out-b/shards/2 &&
    scancel "${array}_2"
wait_for 180 "the other shards" queue_empty
release_shard out-b/shards/2
check "shard 2 stopped part way ($(records_in out-b/shards/2) records)" \
    partly_done out-b/shards/2
check "shard 2 cancelled" task_state "$array" 2 CANCELLED
check "merge job $merge left the queue unrun" all_in_state "$merge" CANCELLED
check "no merged output yet" [ ! -e out-b/merged ]
submit out-b RSICAM_TASKS=2 &&
    wait_for 180 "the resubmitted shard and its merge" queue_empty
check "resubmitted shard completed" all_in_state "$array" COMPLETED
check "it resumed: skipped the units recorded before the cancel" \
    [ "$(units_skipped out-b/shards/2)" -ge 1 ]
merged_equal out-b

note "-- 4. the node goes down mid-run and comes back"
submit out-c &&
    hold_part_way out-c/shards/1 &&
    scontrol update nodename="$node" state=down reason="rsicam test"
check "node $node is down" node_down
sleep 3
check "nothing runs on the down node" [ -z "$(queue_running)" ]
check "shard 1 stopped part way" partly_done out-c/shards/1
release_shard out-c/shards/1
check "shard 1 requeued" task_state "$array" 1 PENDING
scontrol update nodename="$node" state=resume
# Slurm holds a requeued job for two minutes before it may start again;
# the test lets it start at once.
scontrol update jobid="$array" starttime=now 2>/dev/null
wait_for 240 "the requeued shards and the merge" queue_empty
check "every shard completed after the node came back" \
    all_in_state "$array" COMPLETED
check "shard 1 resumed: skipped the units recorded before the node failed" \
    [ "$(units_skipped out-c/shards/1)" -ge 1 ]
merged_equal out-c

if ((failures)); then
    note "$failures checks failed; finished jobs (sacct --completion):"
    sacct --completion 2>/dev/null
    note "logs:"
    tail -n 20 "$work"/cluster/log/slurmctld.log out-*/logs/*.log 2>/dev/null
fi

cluster_stop_checked() {
    local daemons=("${cluster_pids[@]}") pid
    cluster_stop
    for pid in "${daemons[@]}"; do
        pid_alive "$pid" && return 1
    done
    cluster_find_strays
    ((${#cluster_strays[@]} == 0))
}
check "cluster stopped: no daemon, job step or shard left" cluster_stop_checked
note "$failures failed checks"
((failures == 0))
