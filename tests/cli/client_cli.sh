#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The CLI as a client of a real `cpnet serve` (started here on a free port, stopped on exit):
# submit a jobs file (and again: the same ids), jobs, job, explain, quote, cancel, clusters and
# signals as tables and as JSON, tenant isolation, and the exit statuses that tell usage (2),
# refused (3), not found (4) and server or connection (5) apart. Prints
# "client_cli: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
NET=${CPNET_NETWORK:-data/china/network.json}
mkdir -p "$B"
W=$B/client-cli-$$
rm -rf "$W" && mkdir -p "$W"
D=$W/data
pass=0; fail=0
SRV=
cleanup() {
    if [ -n "$SRV" ]; then
        kill "$SRV" 2>/dev/null
        wait "$SRV" 2>/dev/null
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...: passes when the command succeeds
    name=$1; shift
    if "$@"; then ok "$name"; else no "$name"; fi
}
run() { # run EXPECTED_RC args...: runs cpnet with stdout/stderr in $W/out, $W/err
    want=$1; shift
    "$BIN" "$@" >"$W/out" 2>"$W/err" </dev/null
    rc=$?
    [ "$rc" = "$want" ] || { echo "  cpnet $*: exit $rc, expected $want: $(head -c 600 "$W/err")"; return 1; }
}
runin() { # runin EXPECTED_RC INPUT args...: as run, with INPUT on stdin
    want=$1; in=$2; shift 2
    "$BIN" "$@" <"$in" >"$W/out" 2>"$W/err"
    rc=$?
    [ "$rc" = "$want" ] || { echo "  cpnet $* <$in: exit $rc, expected $want: $(head -c 600 "$W/err")"; return 1; }
}
json_ok() { # json_ok FILE: the file parses as JSON (python3 when present, else a shape check)
    if command -v python3 >/dev/null 2>&1; then
        python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$1"
    else
        head -c 1 "$1" | grep -q '[[{]' && tail -c 2 "$1" | grep -q '[]}]'
    fi
}
finish() {
    echo "client_cli: $pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit $?
}

# ---- the server: port 0 picks a free port, which the log line names
: >"$W/serve.log"
"$BIN" serve --network "$NET" --data-dir "$D" --listen 127.0.0.1:0 2>"$W/serve.log" &
SRV=$!
PORT=
i=0
while [ $i -lt 100 ] && [ -z "$PORT" ]; do
    PORT=$(sed -n 's/.*listening on http:.* (port \([0-9][0-9]*\)).*/\1/p' "$W/serve.log")
    [ -n "$PORT" ] || { kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; }
    i=$((i + 1))
done
if [ -z "$PORT" ]; then
    no "server started"; cat "$W/serve.log"; finish
fi
export CPNET_ADDR="http://127.0.0.1:$PORT"
unset CPNET_TOKEN
TF=$D/operator.token
i=0
until "$BIN" clusters --token-file "$TF" >/dev/null 2>&1 || [ $i -ge 50 ]; do
    sleep 0.1; i=$((i + 1))
done
check "server answers" run 0 clusters --token-file "$TF"

# ---- jobs file: two jobs; the second is latency-bound, so some clusters are excluded
E=$(( $(date +%s) + 7200 ))
cat >"$W/jobs.csv" <<EOF
id,origin,class,units,duration,earliest,interruptible,max_rtt_ms
train-1,beijing,intelligent,8,2h,$E,false,
infer-1,beijing,gpu,1,30m,$E,,8
EOF
check "submit 2 jobs: 0" run 0 submit "$W/jobs.csv" --token-file "$TF"
check "table header" grep -q '^ID  *NAME  *TENANT  *STATE  *CLUSTER  *POOL  *START  *CARBON_KG  *COST_CNY' "$W/out"
check "both placed" test "$(grep -c ' placed ' "$W/out")" = 2
awk 'NR > 1 { print $1 }' "$W/out" >"$W/ids1"
ID1=$(sed -n 1p "$W/ids1"); ID2=$(sed -n 2p "$W/ids1")
check "ids look like job ids" sh -c "grep -c '^job_[0-9A-Z]\{26\}\$' '$W/ids1' | grep -qx 2"
check "submit again: 0" run 0 submit "$W/jobs.csv" --token-file "$TF"
awk 'NR > 1 { print $1 }' "$W/out" >"$W/ids2"
check "same ids (idempotent)" cmp -s "$W/ids1" "$W/ids2"
export CPNET_TOKEN="$(cat "$TF")"
check "submit --json from stdin" runin 0 "$W/jobs.csv" submit - --json
check "submit --json parses" json_ok "$W/out"
check "stdin: same ids" sh -c "grep -q '\"id\": \"$ID1\"' '$W/out' && grep -q '\"id\": \"$ID2\"' '$W/out'"
check "submit --json is an array" sh -c "head -c 1 '$W/out' | grep -q '\\['"

# one job object with an explicit key, twice
cat >"$W/one.json" <<EOF
{"id": "sim-1", "origin": "shanghai", "class": "intelligent", "units": 2, "duration": 3600,
 "earliest": $E, "allowed": ["hub:gansu", "hub:ningxia"]}
EOF
check "submit one with --idempotency-key" run 0 submit "$W/one.json" --idempotency-key k-one --json
ID3=$(sed -n 's/^  "id": "\(job_[^"]*\)".*/\1/p' "$W/out")
check "one job object back" sh -c "test -n '$ID3' && grep -q '\"idempotency_key\": \"k-one\"' '$W/out'"
check "same key again: 0" run 0 submit "$W/one.json" --idempotency-key=k-one
check "same key: same id" grep -q "^$ID3 " "$W/out"

# ---- reading
check "jobs: 0" run 0 jobs
check "jobs lists both" sh -c "grep -q '^$ID1 .*train-1' '$W/out' && grep -q '^$ID2 .*infer-1' '$W/out'"
check "jobs --json" run 0 jobs --json
check "jobs --json parses" json_ok "$W/out"
check "jobs --json keys" sh -c "grep -q '\"jobs\": \\[' '$W/out' && grep -q '\"next\": null' '$W/out'"
check "jobs --limit 1 --all" run 0 jobs --limit 1 --all
check "--all follows next" test "$(grep -c '^job_' "$W/out")" = 3
check "jobs --limit 1: more on stderr" run 0 jobs --limit 1
check "next named" grep -q -- "--after $ID1" "$W/err"
check "job ID: 0" run 0 job "$ID1"
check "job shows id, state, cluster" sh -c "grep -q '^id  *$ID1' '$W/out' && grep -q '^state  *placed' '$W/out' && grep -q '^cluster ' '$W/out'"
check "job --json" run 0 job "$ID1" --json
check "job --json parses" json_ok "$W/out"
check "job --json keys" sh -c "grep -q '\"placement\": {' '$W/out' && grep -q '\"spec\": {' '$W/out'"
check "explain: 0" run 0 explain "$ID2"
check "explain: chosen and ranked" sh -c "grep -q '^chosen ' '$W/out' && grep -q '^RANK  *CLUSTER' '$W/out' && grep -q '^ *1  ' '$W/out'"
check "explain: excluded by latency" grep -q ' latency *$' "$W/out"
check "explain --json parses" sh -c "'$BIN' explain '$ID2' --json >'$W/ex.json' && grep -q '\"excluded_by\": \"latency\"' '$W/ex.json'"
check "quote: 0" run 0 quote "$W/one.json"
check "quote: where, when, price, carbon" sh -c "grep -q '^where ' '$W/out' && grep -q '^when ' '$W/out' && grep -q '^price .* CNY' '$W/out' && grep -q '^carbon .* kg' '$W/out'"
check "quote respects allowed hubs" grep -q '^where .*hub \(gansu\|ningxia\)' "$W/out"
check "quote --json from stdin" runin 0 "$W/one.json" quote - --json
check "quote --json keys" sh -c "grep -q '\"price_cny\":' '$W/out' && grep -q '\"placement\": {' '$W/out'"
check "quote submits nothing" sh -c "'$BIN' jobs | grep -c '^job_' | grep -qx 3"
check "clusters: 0" run 0 clusters
check "clusters table" sh -c "grep -q '^ID  *HUB  *HEALTH  *PUE  *CI_G_PER_KWH  *POOLS' '$W/out' && test \$(grep -c . '$W/out') -gt 2"
check "clusters --json" run 0 clusters --json
check "clusters --json parses" json_ok "$W/out"
check "clusters --json keys" grep -q '"clusters": \[' "$W/out"
check "signals: 0" run 0 signals
check "signals table" grep -q '^ZONE  *KIND  *ACTUAL' "$W/out"
check "signals --json parses" sh -c "'$BIN' signals --json >'$W/sig.json' && grep -q '\"signals\": \\[' '$W/sig.json'"

# ---- cancel
check "cancel: 0" run 0 cancel "$ID1"
check "cancel shows cancelled" grep -q "^$ID1 .* cancelled " "$W/out"
check "cancel again: 3 (409)" run 3 cancel "$ID1"
check "409 problem printed" grep -q '^cpnet: 409 Conflict: .* (field: state)' "$W/err"
check "jobs --state cancelled" sh -c "'$BIN' jobs --state cancelled | grep -c '^job_' | grep -qx 1"

# ---- refusals and not found
check "unknown job: 4" run 4 job job_00000000000000000000000000
check "404 problem printed" grep -q '^cpnet: 404 Not Found: ' "$W/err"
check "explain unknown: 4" run 4 explain nope
check "write bad.json" sh -c "sed 's/\"duration\": 3600,/\"duration\": 3600, \"max_rtt_ms\": 0.01,/' '$W/one.json' >'$W/bad.json'"
check "infeasible quote: 3 (422)" run 3 quote "$W/bad.json"
check "422 problem printed" grep -q '^cpnet: 422 ' "$W/err"
check "write bad.csv" sh -c "printf 'id,origin,class,duration,earliest\nx,atlantis,gpu,1h,$E\n' >'$W/bad.csv'"
check "bad field: 3 (400)" run 3 submit "$W/bad.csv"
check "400 names the field" grep -q '^cpnet: .*/bad.csv job 1 of 1 (id x): 400 Bad Request: .*(field: origin)' "$W/err"
check "no token: 3 (401)" sh -c "CPNET_TOKEN= '$BIN' jobs >/dev/null 2>'$W/err'; test \$? = 3"
check "401 printed" grep -q '^cpnet: 401 ' "$W/err"
check "bad token: 3" run 3 jobs --token cpn_0000000000000000_notavalidsecret

# tenant isolation: a tenant cannot see the default tenant's job
check "tenant token" run 0 token create --data-dir "$D" --role tenant --subject acme
TT=$(cat "$W/out")
check "tenant: operator's job is 4" run 4 job "$ID2" --token "$TT"
check "tenant: explain is 4" run 4 explain "$ID2" --token "$TT"
check "tenant: jobs empty" sh -c "'$BIN' jobs --token '$TT' | grep -c '^job_' | grep -qx 0"
check "tenant: submit" run 0 submit "$W/one.json" --token "$TT"
check "tenant job belongs to acme" grep -q '^job_.* sim-1  *acme  ' "$W/out"
check "tenant: other tenant's list: 3 (403)" run 3 jobs --tenant default --token "$TT"

# ---- usage errors: 2, naming the flag or argument
check "bad flag: 2" run 2 jobs --bogus
check "names the flag" grep -q -- "--bogus" "$W/err"
check "missing ID: 2" run 2 job
check "names ID" grep -q "ID argument" "$W/err"
check "bad --limit: 2" run 2 jobs --limit 0
check "names --limit" grep -q -- "--limit" "$W/err"
check "bad --state: 2" run 2 jobs --state done
check "flag not of this command: 2" run 2 clusters --state placed
check "--json takes no value: 2" run 2 clusters --json=yes
check "two IDs: 2" run 2 cancel a b
check "missing value: 2" run 2 job x --addr
check "bad address: 2" run 2 clusters --addr ftp://x
check "unreadable token file: 2" run 2 jobs --token-file "$W/none"
check "--help: 0" run 0 submit --help
check "help lists exit statuses" sh -c "grep -q 'exit status' '$W/out' && grep -q '4 not found' '$W/out'"
check "unreadable jobs file: 1" run 1 submit "$W/none.csv"
check "write broken.json" sh -c "printf '{\"id\": ' >'$W/broken.json'"
check "malformed JSON file: 1" run 1 submit "$W/broken.json"
check "quote of two jobs: 1" run 1 quote "$W/jobs.csv"

# ---- no server, or an answer that is not JSON: 5
check "not JSON: 5" run 5 clusters --addr "$CPNET_ADDR/metrics?x="
check "not JSON named" grep -q 'answer is not JSON' "$W/err"
check "no server: 5" run 5 jobs --addr 127.0.0.1:1
check "cannot reach printed" grep -q '^cpnet: cannot reach http://127.0.0.1:1' "$W/err"
check "no server submit: 5" run 5 submit "$W/jobs.csv" --addr 127.0.0.1:1
check "submit stops at the first" grep -q '1 jobs not sent' "$W/err"

finish
