# shellcheck shell=bash
# Watching jobs on the test cluster (cluster.sh), for test_slurm.sh: bounded
# polling of squeue, final states from scontrol, the test's verdicts.
#
# Every wait ends by $deadline (seconds since the test started, $SECONDS)
# at the latest, so that the test as a whole has a bound.

: "${deadline:=$((SECONDS + 480))}"
failures=0

note() { echo "test_slurm: [${SECONDS}s] $*"; }

check() {
    local what=$1
    shift
    if "$@"; then
        note "ok: $what"
    else
        note "FAIL: $what"
        failures=$((failures + 1))
    fi
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it
# succeeds; returns 1 (and says so) after SECONDS or at the deadline.
wait_for() {
    local limit=$((SECONDS + $1)) what=$2
    shift 2
    ((limit < deadline)) || limit=$deadline
    while ! "$@"; do
        if ((SECONDS >= limit)); then
            note "gave up waiting for $what; queue:"
            squeue 2>&1 | sed 's/^/    /'
            return 1
        fi
        sleep 0.2
    done
}

queue_empty() { [ -z "$(squeue -h -o %i 2>/dev/null)" ]; }

# Non-empty when a job of the queue runs.
queue_running() { squeue -h -t RUNNING -o %i 2>/dev/null; }

# "TASK STATE" lines of an array job (or "- STATE" of a plain one), from
# scontrol (without slurmdbd, sacct keeps no array task ids); slurm.conf's
# MinJobAge keeps finished jobs there long enough.
job_states() {
    scontrol -o show job "$1" 2>/dev/null |
        sed -E 's/.*ArrayTaskId=([0-9]+).*JobState=([A-Z_]+).*/\1 \2/;
                s/^JobId=.*JobState=([A-Z_]+).*/- \1/' | sort -n
}

# all_in_state JOB STATE: every task of JOB ended in STATE.
all_in_state() {
    local states
    states=$(job_states "$1")
    if [ -z "$states" ] || grep -qv " $2\$" <<<"$states"; then
        note "job $1: expected $2, found: ${states//$'\n'/, }"
        return 1
    fi
}

# task_state JOB TASK STATE
task_state() {
    local found
    found=$(job_states "$1" | awk -v t="$2" '$1 == t { print $2 }')
    [ "$found" = "$3" ] ||
        { note "job $1 task $2: expected $3, found '${found:-nothing}'"; return 1; }
}

# Lines in a shard's results.jsonl (0 when there is none yet).
records_in() {
    if [ -f "$1/results.jsonl" ]; then wc -l <"$1/results.jsonl"; else echo 0; fi
}

# The shard directory holds some records but its run is not done: still
# running, or stopped by a signal (a cancelled or failed node's SIGTERM
# now leaves run.json "interrupted").
partly_done() {
    (($(records_in "$1") > 0)) &&
        grep -Eq '"state": *"(running|interrupted)"' "$1/run.json"
}

# hold_part_way DIR: waits (polling every 0.05 s) for the first record of
# the shard writing DIR, then stops its rsicam with SIGSTOP, so the fault
# injected next finds the shard mid-run however fast its units are (a
# shard of the slow walk takes under a second here). Slurm wakes stopped
# tasks with SIGCONT before it sends SIGTERM (scancel, a node set DOWN);
# release_shard DIR wakes it anyway. Fails when the shard ended first.
hold_part_way() {
    local limit=$((SECONDS + 120))
    ((limit < deadline)) || limit=$deadline
    until (($(records_in "$1") > 0)); do
        if ((SECONDS >= limit)); then
            note "gave up waiting for the first record in $1"
            return 1
        fi
        sleep 0.05
    done
    if ! pkill -STOP -f -- "$(shard_pattern "$1")" || ! partly_done "$1"; then
        note "the shard writing $1 ended before it could be held"
        return 1
    fi
}

release_shard() { pkill -CONT -f -- "$(shard_pattern "$1")" || true; }

# The rsicam of the shard writing DIR, as pkill -f matches its command
# line (examples/slurm/rsicam-array.sh passes output=OUT/shards/K, OUT
# made absolute).
shard_pattern() { printf 'output=([^ ]*/)?%s( |$)' "$1"; }

# The count of units the shard's last run skipped (found recorded).
units_skipped() {
    sed -nE 's/.*"skipped": *([0-9]+).*/\1/p' "$1/run.json" 2>/dev/null
}

# The job ids rsicam-array.sh printed: sets $array and $merge.
parse_submission() {
    array=$(sed -nE 's/.*array job ([0-9]+).*/\1/p' <<<"$1")
    merge=$(sed -nE 's/.*merge job ([0-9]+).*/\1/p' <<<"$1")
    if [ -z "$array" ] || [ -z "$merge" ]; then
        note "no job ids in rsicam-array.sh's output: $1"
        return 1
    fi
}
