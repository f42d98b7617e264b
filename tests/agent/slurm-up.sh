#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test suite's own single-node Slurm: installs munge + Slurm from Debian when missing (as root),
# writes slurm.conf into a temporary directory, starts a private munged (own key and socket in that
# directory), slurmctld and slurmd by hand and waits until the node is idle. Nothing outside the
# directory is configured or started, and `down` stops the daemons by the pids they wrote.
#
#   bash tests/agent/slurm-up.sh DIR        bring it up; then export SLURM_CONF=DIR/slurm.conf
#   bash tests/agent/slurm-up.sh down DIR   cancel every job, stop slurmd, slurmctld, munged
#
# Exit status: 0 up; 3 Slurm cannot be had on this machine (not root, no apt-get, install failed),
# with the reason as the last line on stderr (callers print it in their SKIP line); 1 the
# daemons did not come up (logs on stderr).
# Knobs (not SLURM_*: Slurm's own tools read those): CPN_SLURM_CPUS (CPUs of partition "batch",
# default 32, more than the machine has: Slurm starts at most that many jobs per scheduler pass of
# about 1 s), CPN_SLURM_GPUS (stand-in GPUs of type CPN_SLURM_GPU_TYPE, default 4 and "t4", in
# partition "gpu" with one CPU each; 0 = no GPUs and no "gpu" partition), CPN_SLURM_CTLD_PORT /
# CPN_SLURM_D_PORT (default: the first free from 6817 / 6818 upwards).
# `make check` runs every tests/*/*.sh with sh and no arguments: this file is the helper of the
# Slurm suites (test_slurm_exec, slurm_integration.sh), not a suite of its own
if [ $# = 0 ]; then
    echo "slurm-up.sh: the Slurm suites' setup (usage: slurm-up.sh DIR | down DIR); no tests here"
    echo "slurm_up: 0 passed, 0 failed"
    exit 0
fi
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin # munged, slurmctld and slurmd live there

log() { printf '[slurm-up %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
cannot() { echo "slurm-up: $*" >&2; exit 3; }

stop_pids() { # stop_pids NAME:PIDFILE...: SIGTERM to each live daemon, then wait for all
    local spec name f pid pids=() names=() i j k
    for spec in "$@"; do
        name=${spec%%:*}
        f=${spec#*:}
        [ -s "$f" ] || continue
        pid=$(head -n1 "$f")
        # pids wrap quickly when thousands of jobs ran: signal only if it still is our daemon
        if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$name" ]; then
            kill -TERM "$pid" 2>/dev/null && { pids+=("$pid"); names+=("$name"); }
        fi
        rm -f "$f"
    done
    # each takes about 2 s to exit; together they take as long as the slowest
    for i in $(seq 200); do
        k=0
        for j in "${!pids[@]}"; do
            [ "$(cat /proc/"${pids[$j]}"/comm 2>/dev/null)" = "${names[$j]}" ] && k=1
        done
        [ "$k" = 0 ] && return 0
        sleep 0.05
    done
    for j in "${!pids[@]}"; do
        if [ "$(cat /proc/"${pids[$j]}"/comm 2>/dev/null)" = "${names[$j]}" ]; then
            log "${names[$j]} (pid ${pids[$j]}) did not exit on SIGTERM within 10 s, SIGKILL"
            kill -KILL "${pids[$j]}" 2>/dev/null || true
        fi
    done
}

down() { # down DIR
    local d=$1
    if [ -s "$d/slurmctld.pid" ] && [ -f "$d/slurm.conf" ] && command -v squeue >/dev/null; then
        # cancel what is still queued or running so that no slurmstepd outlives the cluster
        # and wait until they are gone: a slurmd stopped under a job's feet leaves its
        # slurmstepd and the job's processes behind (and takes 10 s to exit)
        SLURM_CONF=$d/slurm.conf timeout 10 squeue -h -o %A 2>/dev/null |
            SLURM_CONF=$d/slurm.conf xargs -r timeout 10 scancel 2>/dev/null || true
        for _ in $(seq 100); do
            n=$(SLURM_CONF=$d/slurm.conf timeout 10 squeue -h -t R,CG,S,ST,SI,SO -o %A 2>/dev/null | wc -l) || break
            [ "$n" = 0 ] && ! pgrep -x slurmstepd >/dev/null 2>&1 && break
            sleep 0.1
        done
    fi
    stop_pids "slurmd:$d/slurmd.pid" "slurmctld:$d/slurmctld.pid" "munged:$d/munged.pid"
}

if [ "${1:-}" = down ]; then
    [ -n "${2:-}" ] || { echo "usage: slurm-up.sh down DIR" >&2; exit 2; }
    down "$(cd "$2" 2>/dev/null && pwd || echo "$2")"
    exit 0
fi
[ -n "${1:-}" ] || { echo "usage: slurm-up.sh DIR | down DIR" >&2; exit 2; }
mkdir -p "$1"
D=$(cd "$1" && pwd)
unset SLURM_JWT SLURM_CONF

# ---- 1. install (about 6 s from Debian's mirror)
need=()
for c in munged slurmctld slurmd sbatch; do command -v "$c" >/dev/null || need+=("$c"); done
if [ "${#need[@]}" != 0 ]; then
    [ "$(id -u)" = 0 ] || cannot "not root and ${need[*]} missing (Debian: apt-get install munge slurmctld slurmd slurm-client)"
    command -v apt-get >/dev/null || cannot "no apt-get to install ${need[*]}"
    log "installing munge slurmctld slurmd slurm-client from Debian"
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # keep the maintainer scripts from starting services of their own
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    pkgs="munge slurmctld slurmd slurm-client"
    export DEBIAN_FRONTEND=noninteractive
    ok=0
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $pkgs >"$D/apt.log" 2>&1 && ok=1
    if [ "$ok" = 0 ]; then
        apt-get update -q >>"$D/apt.log" 2>&1 || true
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $pkgs >>"$D/apt.log" 2>&1 && ok=1
    fi
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$ok" = 1 ] || cannot "apt-get install $pkgs failed: $(tail -n 1 "$D/apt.log")"
fi
[ "$(id -u)" = 0 ] || cannot "not root: slurmd must run as root to start jobs"

# a previous run in the same directory is stopped first
down "$D"

# ---- 2. ports: the defaults unless taken
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
pick_port() { # pick_port START SKIP: first free port from START upwards, not SKIP
    local p=$1
    while [ "$p" = "$2" ] || ! port_free "$p"; do p=$((p + 2)); done
    echo "$p"
}
ctld_port=${CPN_SLURM_CTLD_PORT:-$(pick_port 6817 0)}
d_port=${CPN_SLURM_D_PORT:-$(pick_port 6818 "$ctld_port")}
cpus=${CPN_SLURM_CPUS:-32}
gpus=${CPN_SLURM_GPUS:-4}
gpu_type=${CPN_SLURM_GPU_TYPE:-t4}

# ---- 3. a private munged: own key, socket and pid file under DIR
mkdir -p "$D"/{state,spool,log,out}
chmod 0755 "$D"
rm -rf "$D"/state/* "$D"/spool/*
if [ ! -s "$D/munge.key" ]; then
    dd if=/dev/urandom of="$D/munge.key" bs=1024 count=1 status=none
fi
chmod 0400 "$D/munge.key"
t0=$(date +%s.%N)
# -f: munged refuses to run as root or with its key in a world-readable tree otherwise
"$(command -v munged)" -f --socket="$D/munge.sock" --key-file="$D/munge.key" \
    --pid-file="$D/munged.pid" --log-file="$D/log/munged.log" --seed-file="$D/munged.seed" 2>>"$D/log/munged.log" ||
    { tail -n 20 "$D/log/munged.log" >&2; echo "slurm-up: munged did not start" >&2; exit 1; }
for _ in $(seq 100); do
    munge -S "$D/munge.sock" -n </dev/null 2>/dev/null | unmunge -S "$D/munge.sock" >/dev/null 2>&1 && break
    sleep 0.05
done

# ---- 4. config
hw=$(slurmd -C | sed -n 1p) # NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
gres_node=""
gres_types=""
node_cpus=$cpus
batch_max=""
if [ "$gpus" -gt 0 ]; then
    # one node in two partitions, the way sites share GPU nodes: "batch" may use $cpus CPUs
    # (MaxCPUsPerNode), the rest stay for the GPU jobs of partition "gpu"
    node_cpus=$((cpus + gpus))
    batch_max="MaxCPUsPerNode=$cpus"
    gres_node="Gres=gpu:$gpu_type:$gpus"
    gres_types="GresTypes=gpu"
    # stand-in GPUs: Slurm wants one character device per GPU (a Count= line alone is dropped
    # and the node then drains with "gres/gpu count reported lower than configured"), so each is
    # a node with /dev/null's numbers; jobs can request them, nothing touches a real device
    mkdir -p "$D/dev"
    for i in $(seq 0 $((gpus - 1))); do
        [ -c "$D/dev/gpu$i" ] || { rm -f "$D/dev/gpu$i"; mknod "$D/dev/gpu$i" c 1 3; }
    done
    echo "NodeName=localhost Name=gpu Type=$gpu_type File=$D/dev/gpu[0-$((gpus - 1))]" >"$D/gres.conf"
fi
cat >"$D/slurm.conf" <<EOF
# generated by tests/agent/slurm-up.sh
ClusterName=cpnci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge.sock
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# a planned start (--begin) is picked up by the backfill scheduler: every bf_interval seconds
# (default 30, i.e. up to 30 s late); the main loop (sched_interval, default 60 s) is slower still
SchedulerParameters=batch_sched_delay=0,bf_interval=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.log
MinJobAge=600
MaxJobCount=100000
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
SlurmdParameters=config_overrides
$gres_types
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$node_cpus RealMemory=$mem $gres_node State=UNKNOWN
PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO $batch_max
EOF
if [ "$gpus" -gt 0 ]; then
    echo "PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP OverSubscribe=NO" >>"$D/slurm.conf"
fi
export SLURM_CONF=$D/slurm.conf

# ---- 5. start and wait for the node
slurmctld -f "$SLURM_CONF" -i # daemonizes; pid in slurmctld.pid
slurmd -f "$SLURM_CONF" -N localhost
ok=0
for _ in $(seq 600); do
    if st=$(sinfo -h -n localhost -o %T 2>/dev/null | head -n 1) && [[ "$st" =~ ^(idle|mixed|allocated)$ ]]; then
        ok=1
        break
    fi
    # a node that registered as invalid or drained will not recover by waiting
    if [[ "${st:-}" =~ ^(inval|drain|drained|down)$ ]] && [ -s "$D/log/slurmctld.log" ] &&
        grep -q "_slurm_rpc_node_registration\|state set to DRAIN" "$D/log/slurmctld.log"; then
        break
    fi
    sleep 0.1
done
if [ "$ok" != 1 ]; then
    log "the node did not become idle (state ${st:-none})"
    sinfo -N -l >&2 || true
    tail -n 30 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
    down "$D"
    exit 1
fi
log "slurm up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s (ports $ctld_port/$d_port): $(sinfo -h -o '%P %a %D %T %C %G' | tr '\n' ';')"
echo "SLURM_CONF=$SLURM_CONF"
