#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The failure test of the agent protocol: a platform (`cpnet serve`, --telemetry-timeout 3) and
# three agents (local executor, telemetry every second) for three reference clusters; a dozen jobs
# restricted to those clusters, starting within ten to forty minutes, are placed and dispatched; the agent
# holding most of them is killed with SIGKILL. Within seconds the platform must mark its cluster
# down and re-place its jobs on the other two, whose agents dispatch them; no job may be lost or
# dispatched by two live agents. The killed agent then comes back: it must cancel what moved away
# (reconciling from its state directory) without running any of it. Prints
# "agent_failover: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
NET=${CPNET_NETWORK:-data/china/network.json}
CLUSTERS="zhangjiakou chongqing shaoguan"
mkdir -p "$B"
W=$B/agent-failover-$$
rm -rf "$W" && mkdir -p "$W"
D=$W/data
pass=0; fail=0
SRV=
AGENTS=
cleanup() {
    for p in $AGENTS $SRV; do
        kill "$p" 2>/dev/null
    done
    for p in $AGENTS $SRV; do
        wait "$p" 2>/dev/null
    done
    if [ "$fail" = 0 ]; then rm -rf "$W"; else echo "(logs kept in $W)"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "FAIL - $1"; }
finish() {
    echo "agent_failover: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit $?
}
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP - python3 is needed to read the platform's JSON"
    finish
fi

# ---- the platform
"$BIN" serve --network "$NET" --data-dir "$D" --listen 127.0.0.1:0 --telemetry-timeout 3 \
    2>"$W/serve.log" &
SRV=$!
PORT=
i=0
while [ $i -lt 100 ] && [ -z "$PORT" ]; do
    PORT=$(sed -n 's/.*listening on http:.* (port \([0-9][0-9]*\)).*/\1/p' "$W/serve.log")
    [ -n "$PORT" ] || { kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; }
    i=$((i + 1))
done
if [ -z "$PORT" ]; then
    no "platform started"; cat "$W/serve.log"; finish
fi
ok "platform started on port $PORT"
export CPNET_ADDR="http://127.0.0.1:$PORT"
export CPNET_TOKEN="$(cat "$D/operator.token")"

# ---- three agents; the config advertises each cluster's h20 pool with its real size
start_agent() { # start_agent CLUSTER: runs its agent in the background, appending to its log
    c=$1
    "$BIN" agent --platform "$CPNET_ADDR" --token "$W/$c.token" --cluster "$c" \
        --executor local --config "$W/$c.json" --state-dir "$W/state-$c" --interval 1 \
        --horizon 3600 >>"$W/agent-$c.log" 2>&1 &
    eval "PID_$(echo "$c" | tr -c 'a-z0-9\n' '_')=$!"
    AGENTS="$AGENTS $!"
}
for c in $CLUSTERS; do
    "$BIN" token create --data-dir "$D" --role provider --subject "$c" >"$W/$c.token" 2>/dev/null
    units=$(python3 -c "
import json,sys
n = json.load(open(sys.argv[1]))
print([p['units'] for k in n['clusters'] if k['id'] == sys.argv[2] for p in k['pools'] if p['id'] == 'h20'][0])
" "$NET" "$c")
    printf '{"pools": [{"id": "h20", "units": %s}], "damping": 0}\n' "$units" >"$W/$c.json"
    start_agent "$c"
done

health() { # health CLUSTER: up, down or unreported
    "$BIN" clusters --json 2>/dev/null | python3 -c "
import json,sys
print([c['health'] for c in json.load(sys.stdin)['clusters'] if c['id'] == sys.argv[1]][0])
" "$1"
}
i=0
until [ $i -ge 50 ] || { [ "$(health zhangjiakou)" = up ] && [ "$(health chongqing)" = up ] &&
    [ "$(health shaoguan)" = up ]; }; do
    sleep 0.2; i=$((i + 1))
done
if [ $i -lt 50 ]; then ok "three clusters report: up"; else no "three clusters report: up"; fi

# ---- a dozen jobs, restricted to the three clusters, starting in ten minutes; the deadline keeps
# each start within half an hour of that, inside the agents' one-hour horizon: without it the green
# policy may wait up to the default 48 h of slack for a cheaper night, depending on the hour the
# test runs at.
E=$(( $(date +%s) + 600 ))
{
    echo "id,origin,class,units,duration,earliest,deadline,allowed"
    for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
        echo "fo-$n,beijing,intelligent,$(( n % 4 + 1 )),30m,$E,$((E + 3600)),cluster:zhangjiakou;cluster:chongqing;cluster:shaoguan"
    done
} >"$W/jobs.csv"
if "$BIN" submit "$W/jobs.csv" >"$W/submit.out" 2>&1; then ok "12 jobs submitted"
else no "12 jobs submitted"; cat "$W/submit.out"; fi

# jobs.py MODE: reads `cpnet jobs --all --json` on stdin
cat >"$W/jobs.py" <<'EOF'
import json, sys
mode = sys.argv[1]
jobs = json.load(sys.stdin)["jobs"]
def cl(j): return (j.get("placement") or {}).get("cluster", "")
def ex(j): return j.get("execution") or {}
def prev(j): return j.get("previous_execution") or {}
if mode == "count":
    print(len(jobs))
elif mode == "dispatched":      # jobs whose execution is dispatched where they are placed
    print(sum(1 for j in jobs if ex(j).get("state") == "dispatched" and ex(j).get("cluster") == cl(j)))
elif mode == "victim":          # the cluster holding most jobs
    n = {}
    for j in jobs: n[cl(j)] = n.get(cl(j), 0) + 1
    print(max(sorted(n), key=lambda c: n[c]))
elif mode.startswith("on:"):    # ids of the jobs placed on a cluster
    for j in jobs:
        if cl(j) == mode[3:]: print(j["id"])
elif mode.startswith("moved-ok:"):  # former jobs of a cluster: placed elsewhere and dispatched there
    ids = set(open(mode[9:].split(",")[1]).read().split())
    victim = mode[9:].split(",")[0]
    good = [j for j in jobs if j["id"] in ids and cl(j) and cl(j) != victim
            and j["state"] in ("placed", "dispatched") and ex(j).get("state") == "dispatched"
            and ex(j).get("cluster") == cl(j)]
    print("yes" if len(good) == len(ids) else "no %d of %d" % (len(good), len(ids)))
elif mode == "one-cluster":     # no job dispatched on one cluster while placed on another
    bad = [j["id"] for j in jobs if ex(j).get("cluster") and ex(j).get("cluster") != cl(j)]
    print("yes" if not bad else "no: " + " ".join(bad))
elif mode.startswith("prev:"):  # moved jobs whose previous execution on the victim is cancelled
    ids = set(open(mode[5:]).read().split())
    print(sum(1 for j in jobs if j["id"] in ids and prev(j).get("state") == "cancelled"))
EOF
jobs() { "$BIN" jobs --all --json 2>/dev/null | python3 "$W/jobs.py" "$1"; }

i=0
until [ $i -ge 75 ] || [ "$(jobs dispatched)" = 12 ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(jobs dispatched)" = 12 ]; then ok "12 jobs dispatched by their clusters' agents"
else no "12 jobs dispatched (got $(jobs dispatched))"; fi

VICTIM=$(jobs victim)
jobs "on:$VICTIM" >"$W/victim-jobs"
NV=$(wc -l <"$W/victim-jobs" | tr -d ' ')
if [ "$NV" -gt 0 ]; then ok "victim $VICTIM holds $NV jobs"; else no "victim holds jobs"; fi

# ---- kill -9 the victim's agent
VPID=$(eval "echo \$PID_$(echo "$VICTIM" | tr -c 'a-z0-9\n' '_')")
kill -9 "$VPID" 2>/dev/null
wait "$VPID" 2>/dev/null
sleep 5
i=0
until [ $i -ge 50 ] || [ "$(health "$VICTIM")" = down ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(health "$VICTIM")" = down ]; then ok "$VICTIM is down"; else no "$VICTIM is down (health $(health "$VICTIM"))"; fi
for c in $CLUSTERS; do
    [ "$c" = "$VICTIM" ] && continue
    if [ "$(health "$c")" = up ]; then ok "$c stays up"; else no "$c stays up"; fi
done
i=0
until [ $i -ge 75 ] || [ "$(jobs "moved-ok:$VICTIM,$W/victim-jobs")" = yes ]; do
    sleep 0.2; i=$((i + 1))
done
r=$(jobs "moved-ok:$VICTIM,$W/victim-jobs")
if [ "$r" = yes ]; then ok "its $NV jobs re-placed and dispatched on the others"
else no "its jobs re-placed and dispatched on the others ($r)"; fi
if [ "$(jobs count)" = 12 ]; then ok "every job is still there"; else no "every job is still there ($(jobs count))"; fi
if [ -z "$(jobs "on:$VICTIM")" ]; then ok "no job left on $VICTIM"; else no "no job left on $VICTIM"; fi
r=$(jobs one-cluster)
if [ "$r" = yes ]; then ok "every execution is on its job's cluster"; else no "every execution is on its job's cluster ($r)"; fi
# the live agents' logs: no job dispatched by both
for c in $CLUSTERS; do
    [ "$c" = "$VICTIM" ] && continue
    sed -n 's/.*job \(job_[0-9A-Z]*\): dispatched.*/\1/p' "$W/agent-$c.log"
done | sort >"$W/live-dispatched"
if [ -z "$(uniq -d "$W/live-dispatched")" ]; then ok "no job dispatched by two live agents"
else no "no job dispatched by two live agents: $(uniq -d "$W/live-dispatched" | tr '\n' ' ')"; fi

# ---- the victim's agent returns: it cancels what moved away and runs none of it
start_agent "$VICTIM"
i=0
until [ $i -ge 75 ] || [ "$(jobs "prev:$W/victim-jobs")" = "$NV" ]; do sleep 0.2; i=$((i + 1)); done
if [ "$(jobs "prev:$W/victim-jobs")" = "$NV" ]; then ok "the returning agent cancelled its $NV moved jobs"
else no "the returning agent cancelled its moved jobs ($(jobs "prev:$W/victim-jobs") of $NV)"; fi
if [ "$(health "$VICTIM")" = up ]; then ok "$VICTIM is up again"; else no "$VICTIM is up again"; fi
ran=0
while read -r id; do
    [ -e "$W/state-$VICTIM/$id.out" ] && ran=$((ran + 1))
done <"$W/victim-jobs"
if [ "$ran" = 0 ]; then ok "none of the moved jobs ran on $VICTIM"; else no "$ran moved jobs ran on $VICTIM"; fi
if grep -q "cpn_[0-9a-f]*_" "$W"/agent-*.log; then no "no token in the agents' logs"
else ok "no token in the agents' logs"; fi
finish
