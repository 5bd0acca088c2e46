# shellcheck shell=bash
# A single-node Slurm cluster in a temporary directory, for the tests.
# Sourced by test_slurm.sh; needs root and Debian 12's slurm-wlm and munge.
#
#   cluster_start DIR   munged, slurmctld and slurmd with every file (key,
#                       sockets, state, spool, logs, pid files) under DIR
#                       (made; the directories above it must be searchable
#                       by all users, or munged refuses its socket);
#                       exports SLURM_CONF and RSICAM_SLURM_NODE. Returns 1
#                       with the reason in $cluster_error when it cannot.
#   cluster_stop        cancels the cluster's jobs, stops the daemons and
#                       every process still carrying this cluster's
#                       SLURM_CONF (job steps, shards); safe to call twice.
#
# The daemons run in the foreground as children of the test, started
# through `setpriv --pdeathsig TERM` so that they stop even if the test is
# killed before its trap runs. Job steps (slurmstepd) leave slurmd's
# process tree, so slurmd runs in a PID namespace of its own where the
# kernel allows one: when it goes, every step and job goes with it.
# Nothing outside DIR is written: Slurm's and munge's default paths under
# /etc, /run and /var are all overridden.

# cluster_error is read by the script that sources this file
# shellcheck disable=SC2034
cluster_dir='' cluster_pids=() cluster_error='' cluster_slurmd=''

# Seconds the daemons get to come up.
: "${RSICAM_SLURM_START_S:=60}"

cluster_fail() {
    cluster_error=$*
    return 1
}

# 0 when no socket listens on TCP port $1 (IPv4 or IPv6).
port_is_free() {
    local hex
    hex=$(printf ':%04X ' "$1")
    ! grep -q "${hex}[0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Prints two consecutive free ports, picked from this process's id.
free_port_pair() {
    local p
    for ((p = 20000 + ($$ % 20000); p < 60000; p += 2)); do
        if port_is_free "$p" && port_is_free $((p + 1)); then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# cluster_spawn LOG SIGNAL COMMAND...: a daemon in the foreground, in the
# background of this shell, sent SIGNAL when this shell dies.
cluster_spawn() {
    local log=$1 sig=$2
    shift 2
    setpriv --pdeathsig "$sig" "$@" >"$log" 2>&1 &
    cluster_pids+=($!)
    # still reaped by this shell, but no "Killed" notice when stopped
    disown $!
}

# The command that puts slurmd in a PID namespace (with its own /proc, for
# proctrack/linuxproc), torn down with SIGKILL when unshare exits; empty
# where namespaces are not allowed (cluster_stop then finds the steps by
# their environment).
cluster_jail=()
cluster_find_jail() {
    local jail=(unshare --pid --fork --mount-proc --kill-child=KILL)
    if "${jail[@]}" true 2>/dev/null; then
        cluster_jail=("${jail[@]}")
    else
        cluster_jail=()
    fi
}

cluster_check_tools() {
    local tool missing=()
    [ "$(id -u)" -eq 0 ] ||
        cluster_fail "must run as root (slurmd starts jobs as their user)" ||
        return 1
    for tool in munged mungekey munge slurmctld slurmd sbatch squeue sacct \
        scontrol scancel sinfo setpriv; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) ||
        cluster_fail "not installed: ${missing[*]} (apt-get install" \
            "slurm-wlm munge, or run tools/setup)"
}

cluster_start_munge() {
    local d=$cluster_dir/munge
    # munged checks its paths: the socket's directory must be searchable by
    # all, the key readable by its owner only.
    mkdir -m 0755 "$d" || cluster_fail "cannot create $d" || return 1
    mungekey --create --keyfile="$d/munge.key" 2>"$d/mungekey.err" ||
        cluster_fail "mungekey failed: $(cat "$d/mungekey.err")" || return 1
    chmod 0600 "$d/munge.key"
    cluster_spawn "$d/munged.out" TERM munged --foreground \
        --socket="$d/socket" --key-file="$d/munge.key" \
        --pid-file="$d/munged.pid" --seed-file="$d/munged.seed" \
        --log-file="$d/munged.log"
    local t
    for ((t = 0; t < 50; t++)); do
        [ -S "$d/socket" ] && echo probe | munge -S "$d/socket" |
            unmunge -S "$d/socket" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cluster_fail "munged did not come up: $(tail -n 3 "$d/munged.out")"
}

# slurm.conf for one node described as slurmd -C sees this machine (its
# real CPUs, sockets and memory), with plugins that need no cgroups.
cluster_write_conf() {
    local host=$1 ports=$2 node
    node=$(slurmd -C 2>/dev/null | grep -m1 '^NodeName=') ||
        cluster_fail "slurmd -C could not describe this machine" || return 1
    RSICAM_SLURM_NODE=${node#NodeName=}
    RSICAM_SLURM_NODE=${RSICAM_SLURM_NODE%% *}
    local d=$cluster_dir
    mkdir -p "$d/state" "$d/spool" "$d/log" || return 1
    : >"$d/plugstack.conf"
    cat >"$d/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh; everything lives under $d.
ClusterName=rsicamtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ports
SlurmdPort=$((ports + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
PlugStackConfig=$d/plugstack.conf
MailProg=/bin/true
# No cgroup v2 delegation is needed: processes are tracked by parentage.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: finished jobs are read back with sacct --completion.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
# a node set DOWN by hand stays down until resumed
ReturnToService=1
SlurmdTimeout=60
KillWait=5
MinJobAge=600
SchedulerParameters=sched_interval=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$d/slurm.conf RSICAM_SLURM_NODE
}

# Waits until the node takes jobs (idle) or a daemon has died.
cluster_wait_idle() {
    local t state pid
    for ((t = 0; t < RSICAM_SLURM_START_S * 2; t++)); do
        state=$(sinfo -h -n "$RSICAM_SLURM_NODE" -o %T 2>/dev/null)
        [ "$state" = idle ] && return 0
        for pid in "${cluster_pids[@]}"; do
            pid_alive "$pid" ||
                cluster_fail "a daemon exited at start; logs:" \
                    "$(tail -n 5 "$cluster_dir"/log/*.out)" || return 1
        done
        sleep 0.5
    done
    cluster_fail "node $RSICAM_SLURM_NODE not idle after" \
        "${RSICAM_SLURM_START_S}s (state '${state:-none}'); slurmctld log:" \
        "$(tail -n 5 "$cluster_dir/log/slurmctld.log")"
}

cluster_start() {
    cluster_dir=$1
    local ports host
    cluster_check_tools || return 1
    host=$(hostname -s) || cluster_fail "no host name" || return 1
    ports=$(free_port_pair) || cluster_fail "no free TCP port pair" ||
        return 1
    # munged refuses a socket path that is not searchable by everyone
    mkdir -p "$cluster_dir" && chmod 0755 "$cluster_dir" ||
        cluster_fail "cannot create $cluster_dir" || return 1
    cluster_start_munge || return 1
    cluster_write_conf "$host" "$ports" || return 1
    cluster_find_jail
    # -i: start from nothing, whatever the (empty) state directory holds
    cluster_spawn "$cluster_dir/log/slurmctld.out" TERM slurmctld -D -i
    # unshare ignores SIGTERM; SIGKILL ends it, and its namespace with it
    cluster_spawn "$cluster_dir/log/slurmd.out" KILL "${cluster_jail[@]}" \
        slurmd -D -N "$RSICAM_SLURM_NODE"
    cluster_slurmd=$!
    cluster_wait_idle
}

# cluster_strays: the processes whose environment names this cluster's
# slurm.conf, this shell aside: slurmstepd (it inherits slurmd's
# environment) and the jobs it started. One grep reads all of /proc, in a
# subshell that is gone before the list is used.
cluster_strays=()
cluster_find_strays() {
    local found pid
    cluster_strays=()
    [ -n "${SLURM_CONF:-}" ] || return 0
    found=$(grep -lzx "SLURM_CONF=$SLURM_CONF" /proc/[0-9]*/environ 2>/dev/null)
    for pid in $found; do
        pid=${pid#/proc/} pid=${pid%/environ}
        [ "$pid" != $$ ] && pid_alive "$pid" && cluster_strays+=("$pid")
    done
    return 0
}

# 0 while process $1 exists and is not a zombie.
pid_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# stop_pids SIGNAL TRIES PID...: signals the pids, waits up to TRIES half
# seconds for them to go.
stop_pids() {
    local sig=$1 tries=$2 pid alive
    shift 2
    (($#)) || return 0
    kill "-$sig" "$@" 2>/dev/null
    for ((; tries > 0; tries--)); do
        alive=0
        for pid in "$@"; do
            pid_alive "$pid" && alive=1
        done
        ((alive)) || return 0
        sleep 0.5
    done
    return 1
}

cluster_stop() {
    [ -n "$cluster_dir" ] || return 0
    if ((${#cluster_pids[@]})) && [ -n "${SLURM_CONF:-}" ]; then
        timeout 10 scancel --quiet --user=root 2>/dev/null
        local t
        for ((t = 0; t < 20; t++)); do
            [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    # the jailed slurmd first: its namespace takes any job step along
    if ((${#cluster_jail[@]})) && [ -n "$cluster_slurmd" ]; then
        stop_pids KILL 10 "$cluster_slurmd"
    fi
    stop_pids TERM 20 "${cluster_pids[@]}" ||
        stop_pids KILL 10 "${cluster_pids[@]}"
    cluster_find_strays
    if ! stop_pids TERM 10 "${cluster_strays[@]}"; then
        cluster_find_strays
        stop_pids KILL 10 "${cluster_strays[@]}"
    fi
    cluster_pids=() cluster_slurmd=''
    cluster_dir=
}
