#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# cpnet end to end on a real single-node Slurm that this script sets up (tests/agent/slurm-up.sh:
# Debian's munge and Slurm, installed when missing): `cpnet serve` with a one-cluster network
# whose pools are the partitions, `cpnet agent --executor slurm`, and jobs submitted to the
# platform. Checks that a job is placed on the cluster, runs in Slurm under its cpnet name and
# its completion, exit code and usage come back; a failing job; a GPU job in the gpu partition;
# a cancelled job is scancelled; a job planned for later waits in Slurm with Reason=BeginTime;
# restarting the agent mid-run submits nothing twice. The platform's clock runs 60 times faster
# (a 1-minute slot is one wall second). Without root or apt-get it prints one SKIP line with the
# reason. Every daemon started here is stopped by pid on exit. Prints
# "slurm_integration: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
mkdir -p "$B"
W=$(cd "$B" && pwd)/slurm-test-$$
rm -rf "$W" && mkdir -p "$W"
SD=$W/slurm
D=$W/data
pass=0
fail=0
SRV=
AGT=
SPEED=60
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...
    name=$1; shift
    if "$@"; then ok "$name"; else no "$name"; fi
}
stop_pid() { # stop_pid PID: TERM, wait up to 10 s, then KILL
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
cleanup() {
    stop_pid "$AGT"
    stop_pid "$SRV"
    [ -d "$SD" ] && bash tests/agent/slurm-up.sh down "$SD" 2>/dev/null
    if [ "$fail" = 0 ] && [ -z "${CPNET_KEEP:-}" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
finish() {
    echo "slurm_integration: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit $?
}

# ---- Slurm (exit 3 of slurm-up.sh: it cannot be had here, which is a skip, never silent)
t0=$(date +%s)
bash tests/agent/slurm-up.sh "$SD" >"$W/slurm-up.out" 2>"$W/slurm-up.log"
rc=$?
if [ "$rc" = 3 ]; then
    echo "SKIP - slurm_integration: $(tail -n 1 "$W/slurm-up.log")"
    echo "slurm_integration: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
if [ "$rc" != 0 ]; then
    no "slurm-up.sh brought Slurm up (exit $rc)"
    tail -n 40 "$W/slurm-up.log"
    finish
fi
ok "single-node Slurm up in $(($(date +%s) - t0)) s ($(grep -o 'ports [0-9/]*' "$W/slurm-up.log"))"
export SLURM_CONF="$SD/slurm.conf"
export TZ=UTC

# ---- the platform: one cluster, one pool per partition
cat >"$W/network.json" <<'EOF'
{
  "name": "ci-slurm-net",
  "description": "one cluster, the single-node Slurm of tests/agent/slurm-up.sh; a pool per partition",
  "slot_minutes": 1,
  "hubs": [{"id": "ci-hub", "name": "CI hub", "region": "west"}],
  "zones": [{"id": "ci-zone", "grid_gco2_per_kwh": 500, "green_share": 0.5, "price_cny_per_kwh": 0.4}],
  "clusters": [
    {"id": "ci-slurm", "name": "CI Slurm", "hub": "ci-hub", "zone": "ci-zone", "province": "CI",
     "owner": "cpnet tests", "lon": 116.4, "lat": 39.9, "pue": 1.2,
     "pools": [
       {"id": "batch", "class": "general", "device": "cpu", "units": 32, "tflops": 0.05,
        "watts_idle": 2, "watts_busy": 5, "price_cny_per_unit_hour": 0.05},
       {"id": "gpu", "class": "intelligent", "device": "t4", "units": 4, "tflops": 65,
        "watts_idle": 10, "watts_busy": 70, "price_cny_per_unit_hour": 2.0}]}
  ],
  "sites": [{"id": "ci-site", "name": "CI site", "lon": 116.4, "lat": 39.9}]
}
EOF
TS=$(date -u +%s) # about when the platform's clock starts (it then runs $SPEED times faster)
"$BIN" serve --network "$W/network.json" --data-dir "$D" --listen 127.0.0.1:0 \
    --clock-speed $SPEED --telemetry-timeout 86400 2>"$W/serve.log" &
SRV=$!
PORT=
i=0
while [ $i -lt 100 ] && [ -z "$PORT" ]; do
    PORT=$(sed -n 's/.*listening on http:.* (port \([0-9][0-9]*\)).*/\1/p' "$W/serve.log")
    [ -n "$PORT" ] || { kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; }
    i=$((i + 1))
done
if [ -z "$PORT" ]; then
    no "cpnet serve started"; cat "$W/serve.log"; finish
fi
export CPNET_ADDR="http://127.0.0.1:$PORT"
unset CPNET_TOKEN
OPT=$D/operator.token
check "provider token" sh -c "'$BIN' token create --data-dir '$D' --role provider --subject ci-slurm >'$W/provider.token' 2>'$W/token.err'"

start_agent() {
    "$BIN" agent --platform "$CPNET_ADDR" --token "$W/provider.token" --cluster ci-slurm \
        --executor slurm --interval 1 --poll-wait 1 --horizon 7200 --state-dir "$W/agent" \
        2>>"$W/agent.log" &
    AGT=$!
}
start_agent

# ---- helpers over the platform's JSON (no python needed)
submit() { # submit NAME JSON-FIELDS: prints the new job's id
    printf '{"id": "%s", "origin": "ci-site", "allowed": ["cluster:ci-slurm"], %s}\n' "$1" "$2" \
        >"$W/$1.json"
    "$BIN" submit "$W/$1.json" --token-file "$OPT" --json >"$W/$1.out" 2>"$W/$1.err" || {
        echo "  submit $1: $(cat "$W/$1.err")" >&2
        return 1
    }
    sed -n 's/^ *"id": "\(job_[^"]*\)".*/\1/p' "$W/$1.out" | head -n 1
}
job_json() { "$BIN" job "$1" --token-file "$OPT" --json 2>/dev/null; }
top() { # top ID FIELD: a top-level string field of the job
    job_json "$1" | sed -n "s/^  \"$2\": \"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}
exe() { # exe ID FIELD: a field of the job's execution (strings or numbers)
    job_json "$1" | sed -n '/^  "execution": {/,/^  }/p' |
        sed -n "s/^    \"$2\": \"*\\([^\",]*\\)\"*,*\$/\\1/p" | head -n 1
}
usage_of() { # usage_of ID FIELD: a field of the execution's usage
    job_json "$1" | sed -n '/^    "usage": {/,/^    }/p' |
        sed -n "s/^      \"$2\": \"*\\([^\",]*\\)\"*,*\$/\\1/p" | head -n 1
}
wait_state() { # wait_state ID STATE SECONDS
    i=0
    while [ $i -lt $(($3 * 5)) ]; do
        s=$(top "$1" state)
        [ "$s" = "$2" ] && return 0
        case "$s" in completed | failed | cancelled | lost) [ "$s" != "$2" ] && break ;; esac
        sleep 0.2
        i=$((i + 1))
    done
    echo "  job $1: state '$(top "$1" state)', expected $2 (execution state '$(exe "$1" state)')"
    return 1
}
slurm_count() { squeue -h -t all -o %i --name="cpnet-$1" | wc -l; }
slurm_line() { scontrol show job -o "$(exe "$1" executor_id | sed 's/^slurm://')"; }
wait_slurm() { # wait_slurm ID STATE SECONDS: the Slurm job of a cpnet job reaches STATE
    i=0
    while [ $i -lt $(($3 * 10)) ]; do
        s=$(squeue -h -t all -o %T --name="cpnet-$1" | head -n 1)
        [ "$s" = "$2" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "  Slurm job cpnet-$1: state '$s', expected $2"
    return 1
}
has() { # has TEXT NEEDLE
    case "$1" in *"$2"*) return 0 ;; esac
    echo "  '$2' not in: $(printf '%s' "$1" | cut -c1-400)"
    return 1
}
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }

# ---- 1. placed on the cluster, run by Slurm, completion and usage come back
J1=$(submit ok '"class": "general", "units": 2, "duration": "2m", "earliest": "2020-01-01T00:00:00Z", "command": "echo hello from cpnet; sleep 1"')
if [ -z "$J1" ]; then
    no "job accepted"; tail -n 20 "$W/serve.log" "$W/agent.log"; finish
fi
check "placed on ci-slurm/batch" sh -c "'$BIN' job $J1 --token-file '$OPT' --json | grep -q '\"pool\": \"batch\"'"
check "completed" wait_state "$J1" completed 30
check "exit code 0" test "$(exe "$J1" exit_code)" = 0
E1=$(exe "$J1" executor_id)
check "ran as a Slurm job ($E1)" sh -c "printf '%s' '$E1' | grep -Eq '^slurm:[0-9]+$'"
L1=$(slurm_line "$J1")
check "Slurm job named cpnet-<id> with the id as comment" has "$L1" "JobName=cpnet-$J1 "
check "Slurm comment" has "$L1" "Comment=$J1"
check "Slurm ran 2 tasks in batch" sh -c "printf '%s' '$L1' | grep -q 'NumTasks=2 ' && printf '%s' '$L1' | grep -q 'Partition=batch '"
check "Slurm COMPLETED it" has "$L1" "JobState=COMPLETED"
UH=$(usage_of "$J1" unit_hours)
check "usage: unit_hours = 2 units x 1-2 s x 60 / 3600 ($UH)" awk -v x="$UH" 'BEGIN { exit !(x >= 0.03 && x <= 0.1) }'
check "usage: energy_kwh > 0" positive "$(usage_of "$J1" energy_kwh)"
check "started and ended times" sh -c "[ -n '$(exe "$J1" started)' ] && [ -n '$(exe "$J1" ended)' ]"
check "output in the agent's state dir" grep -q "hello from cpnet" "$W/agent/$J1.out"
check "one Slurm job" test "$(slurm_count "$J1")" = 1

# ---- 2. a failing command
J2=$(submit fail '"class": "general", "units": 1, "duration": "2m", "earliest": "2020-01-01T00:00:00Z", "command": "exit 3"')
check "failing job ends failed" wait_state "$J2" failed 30
check "exit code 3" test "$(exe "$J2" exit_code)" = 3

# ---- 3. a GPU job runs in the gpu partition with GPUs
J3=$(submit gpu '"class": "intelligent", "units": 2, "duration": "2m", "earliest": "2020-01-01T00:00:00Z", "command": "echo gpus=$CUDA_VISIBLE_DEVICES"')
check "GPU job completed" wait_state "$J3" completed 30
L3=$(slurm_line "$J3")
check "gpu partition" has "$L3" "Partition=gpu "
check "2 GPUs of type t4" has "$L3" "gpu:t4:2"
check "the job saw 2 GPUs" grep -q "gpus=0,1" "$W/agent/$J3.out"

# ---- 4. cancelled on the platform: scancelled in Slurm
J4=$(submit cancel '"class": "general", "units": 1, "duration": "30m", "earliest": "2020-01-01T00:00:00Z", "command": "sleep 300"')
check "long job running" wait_state "$J4" running 30
check "Slurm RUNNING" wait_slurm "$J4" RUNNING 10
check "cpnet cancel" sh -c "'$BIN' cancel $J4 --token-file '$OPT' >/dev/null"
check "scancelled: Slurm CANCELLED" wait_slurm "$J4" CANCELLED 20
check "platform: cancelled" wait_state "$J4" cancelled 20

# ---- 5. planned for later: waits in Slurm with its begin time
NOW=$(sed -n 's/^ *"submit": "\([^"]*\)".*/\1/p' "$W/cancel.out" | head -n 1)
LATER=$(date -u -d "$NOW + 40 minutes" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
J5=$(submit later "\"class\": \"general\", \"units\": 1, \"duration\": \"5m\", \"earliest\": \"$LATER\", \"command\": \"true\"")
check "planned job dispatched early (horizon)" wait_state "$J5" dispatched 20
check "Slurm PENDING" wait_slurm "$J5" PENDING 10
L5=$(slurm_line "$J5")
check "Reason=BeginTime" has "$L5" "Reason=BeginTime"
# 40 platform minutes at 60x: about 40 s after submission, less what has passed since
BEGIN=$(printf '%s' "$L5" | sed -n 's/.*EligibleTime=\([^ ]*\).*/\1/p')
SUBMIT=$(printf '%s' "$L5" | sed -n 's/.* SubmitTime=\([^ ]*\).*/\1/p')
DELTA=$(($(date -u -d "$BEGIN" +%s) - $(date -u -d "$SUBMIT" +%s)))
check "begin time ~40 s after submit in Slurm (got ${DELTA} s)" sh -c "[ $DELTA -ge 30 ] && [ $DELTA -le 42 ]"
check "cancel the planned job" sh -c "'$BIN' cancel $J5 --token-file '$OPT' >/dev/null"
check "planned job scancelled" wait_slurm "$J5" CANCELLED 20

# ---- 6. the agent restarts mid-run: nothing is submitted twice
R=""
for k in 1 2 3 4; do
    id=$(submit "restart$k" '"class": "general", "units": 1, "duration": "5m", "earliest": "2020-01-01T00:00:00Z", "command": "sleep 4"')
    R="$R $id"
done
for id in $R; do wait_slurm "$id" RUNNING 20 || break; done
before=$(squeue -h -t all -o %i | wc -l)
# a crash, not a clean stop: nothing is flushed on the way out
kill -KILL "$AGT" 2>/dev/null
wait "$AGT" 2>/dev/null
AGT=
echo "  agent killed (SIGKILL) with 4 jobs running in Slurm; $before Slurm jobs so far"
# a job placed while the agent is away is submitted once it is back
J6=$(submit during '"class": "general", "units": 1, "duration": "2m", "earliest": "2020-01-01T00:00:00Z", "command": "true"')
sleep 1
start_agent
check "job placed while the agent was down completed" wait_state "$J6" completed 40
check "... with one Slurm job" test "$(slurm_count "$J6")" = 1
before=$((before + 1))
for id in $R; do
    check "restart: $id completed" wait_state "$id" completed 40
    check "restart: $id has one Slurm job" test "$(slurm_count "$id")" = 1
done
after=$(squeue -h -t all -o %i | wc -l)
check "restart: no Slurm job submitted twice ($before -> $after)" test "$before" = "$after"

# ---- 7. an interruptible job placed in two runs is held in Slurm between them
# The zone's carbon intensity: two clean 5-minute blocks 5 minutes apart, dirty elsewhere, from a
# few platform minutes from now; a 10-minute interruptible job then runs in the two clean blocks.
PNOW=$((TS + ($(date -u +%s) - TS) * SPEED))
A=$(((PNOW / 60 + 4) * 60))
awk -v a="$A" 'BEGIN {
    print "time,value"
    for (t = a - 7200; t < a + 86400; t += 60) {
        m = (t - a) / 60
        print t "," ((m >= 0 && m < 5) || (m >= 10 && m < 15) ? 100 : 900)
    }
}' >"$W/ci-split.csv"
check "upload a carbon-intensity series (cpnet signals put)" sh -c "'$BIN' signals put ci-zone ci '$W/ci-split.csv' --token-file '$OPT' >'$W/put.out' 2>&1"
EARLY=$(date -u -d "@$A" +%Y-%m-%dT%H:%M:%SZ)
DL=$(date -u -d "@$((A + 1200))" +%Y-%m-%dT%H:%M:%SZ)
J7=$(submit split "\"class\": \"general\", \"units\": 1, \"duration\": \"10m\", \"interruptible\": true, \"earliest\": \"$EARLY\", \"deadline\": \"$DL\", \"command\": \"sleep 8\"")
check "placed in two runs of 5 slots" sh -c "job_runs=\$('$BIN' job $J7 --token-file '$OPT' --json | grep -c '\"slots\": 5'); [ \"\$job_runs\" = 2 ]"
check "split job completed" wait_state "$J7" completed 60
check "held in Slurm at the end of its first run" grep -q "job $J7: held at the end of run 1 of 2" "$W/agent.log"
check "released for its second run" grep -q "job $J7: released for run 2 of 2" "$W/agent.log"
check "split job: one Slurm job, requeued" test "$(slurm_count "$J7")" = 1

# ---- telemetry: the platform heard the cluster
check "platform shows the cluster up" sh -c "'$BIN' clusters --token-file '$OPT' --json | grep -q '\"health\": \"up\"'"

if [ "$fail" != 0 ]; then
    echo "--- agent.log"; tail -n 30 "$W/agent.log"
    echo "--- serve.log"; tail -n 30 "$W/serve.log"
    echo "(files kept in $W)"
fi
finish
