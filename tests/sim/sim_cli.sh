#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tests of `cpnet sim` and `cpnet place` as a user runs them: flags and exit codes (2 for usage,
# 1 for input errors), the JSON keys, full-precision per-job CSV, the policy column of --compare,
# the LP bound's job limit, no partial output file after a failure. Uses the golden scenario in
# tests/sim/golden. Ends with "sim_cli: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
G=tests/sim/golden
mkdir -p "${CPNET_BUILD:-build}"
W=${CPNET_BUILD:-build}/sim_cli.$$
rm -rf "$W" && mkdir -p "$W" || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
# expect_rc NAME WANT CMD...: runs CMD, keeps stdout/stderr in $W/out, $W/err
expect_rc() {
    name=$1; want=$2; shift 2
    "$@" >"$W/out" 2>"$W/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name (exit $rc, expected $want)"; sed 's/^/    /' "$W/err" | head -5; fi
}
has() { # has NAME FILE PATTERN
    if grep -q -e "$3" "$2"; then ok "$1"; else bad "$1 ('$3' not in $2)"; head -5 "$2" | sed 's/^/    /'; fi
}
hasnt() {
    if grep -q -e "$3" "$2"; then bad "$1 ('$3' in $2)"; else ok "$1"; fi
}
SIM="$BIN sim --network $G/network.json --signals $G/signals --jobs $G/jobs.csv"

expect_rc "no arguments is a usage error" 2 "$BIN" sim
expect_rc "unknown flag is a usage error" 2 $SIM --frobnicate 3
has "unknown flag is named" "$W/err" "frobnicate"
expect_rc "missing --network is a usage error" 2 "$BIN" sim --jobs $G/jobs.csv
has "missing --network is named" "$W/err" "network"
expect_rc "bad --policy is a usage error" 2 $SIM --policy greenest
has "bad --policy names the valid ones" "$W/err" "nearest, cheapest, greenest-now, green, optimal"
expect_rc "bad --compare entry is a usage error" 2 $SIM --compare green,fastest
expect_rc "--forecast with --forecast-error is a usage error" 2 $SIM --forecast $G/signals --forecast-error 5
expect_rc "bad --forecast-error value is a usage error" 2 $SIM --forecast-error lots
expect_rc "--help exits 0" 0 "$BIN" sim --help
has "--help documents --replan-every" "$W/out" "replan-every"

expect_rc "missing network file is an input error" 1 "$BIN" sim --network "$W/none.json" --jobs $G/jobs.csv
has "the loader's message names the file" "$W/err" "none.json"
printf 'id,origin,class,duration,earliest\nx1,nowhere,intelligent,1h,2024-03-01T00:00:00Z\n' >"$W/badjobs.csv"
expect_rc "bad jobs file is an input error" 1 "$BIN" sim --network $G/network.json --jobs "$W/badjobs.csv" --jobs-out "$W/bad-out.csv"
has "the jobs error names the line" "$W/err" "badjobs.csv:2"
if [ -e "$W/bad-out.csv" ] || [ -e "$W/bad-out.csv.tmp" ]; then bad "no partial --jobs-out after a failure"; else ok "no partial --jobs-out after a failure"; fi

expect_rc "golden run with --json" 0 $SIM --policy nearest --compare green --json --replan-every 6 --forecast-error 5 --seed 3
for key in '"meta"' '"policies"' '"jobs"' '"placed"' '"rejected"' '"violations"' '"energy_kwh"' \
    '"carbon_kg"' '"cost_cny"' '"mean_wait_h"' '"green_share"' '"west_share"' '"restarts"' \
    '"replans"' '"decisions_per_s"' '"decision_p50_us"' '"decision_p99_us"' '"slot_s"' '"horizon"' \
    '"seed"' '"signals"'; do
    has "--json has key $key" "$W/out" "$key"
done
has "--json has the first policy" "$W/out" '"nearest": {'
has "--json has the compared policy" "$W/out" '"green": {'
hasnt "no policy has violations" "$W/out" '"violations": [1-9]'

expect_rc "--jobs-out and --clusters-out" 0 $SIM --policy green --jobs-out "$W/jobs.csv" --clusters-out "$W/clusters.csv"
has "--jobs-out header" "$W/jobs.csv" "^id,status,cluster,pool,start,end,slots,energy_kwh,carbon_kg,cost_cny,wait_h,latency_ms,reason$"
has "--jobs-out has full-precision doubles" "$W/jobs.csv" '[0-9]\.[0-9]\{15,\}'
has "--jobs-out lists interruptible runs" "$W/jobs.csv" 'Z/[0-9][0-9]*;20'
n=$(($(wc -l <"$W/jobs.csv") - 1))
if [ "$n" = 16 ]; then ok "--jobs-out has one row per job"; else bad "--jobs-out has $n rows, expected 16"; fi
has "--clusters-out header" "$W/clusters.csv" "^policy,cluster,hour,utilisation,power_kw,carbon_kg$"
has "--clusters-out rows" "$W/clusters.csv" "^green,gz1,2024-03-01T00:00:00Z,"
if [ -e "$W/jobs.csv.tmp" ]; then bad "no FILE.tmp left behind"; else ok "no FILE.tmp left behind"; fi
has "table shows the policy" "$W/out" "^green "

expect_rc "--compare adds a policy column" 0 $SIM --policy nearest --compare cheapest,green --jobs-out "$W/cmp.csv"
has "--compare header" "$W/cmp.csv" "^policy,id,status,"
n=$(grep -c '^green,' "$W/cmp.csv")
if [ "$n" = 16 ]; then ok "--compare: one row per job per policy"; else bad "--compare: $n green rows"; fi
has "table has carbon vs the first policy" "$W/out" "carbon_%"

expect_rc "optimal runs as an LP bound" 0 $SIM --policy green --compare optimal
has "the table says LP bound" "$W/out" "optimal (LP bound)"
expect_rc "optimal above the job limit is refused" 1 $SIM --policy optimal --lp-max-jobs 5
has "the refusal says why" "$W/err" "limited to 5 jobs"

expect_rc "--start/--end select arrivals" 0 $SIM --start 2024-03-01T05:00:00Z --end 2024-03-01T09:00:00Z --json
has "--start/--end: 7 jobs" "$W/out" '"jobs": 7'
expect_rc "--carbon-price 0 makes green cost-driven" 0 $SIM --policy green --carbon-price 0 --json

# cpnet place
PLACE="$BIN place --network $G/network.json --signals $G/signals --jobs $G/jobs.csv"
expect_rc "place a job" 0 $PLACE --job train-a
has "place prints the placement" "$W/out" "placed on"
has "place prints the options" "$W/out" "options"
expect_rc "place --json" 0 $PLACE --job render-1 --policy nearest --json
has "place --json has options" "$W/out" '"options"'
has "place --json has the placement" "$W/out" '"placement": {'
expect_rc "an unplaceable job exits 1" 1 $PLACE --job ft-1
has "and says why" "$W/out" "cannot be placed: price"
expect_rc "an unknown job is an input error" 1 $PLACE --job nosuch
expect_rc "place without --job is a usage error" 2 "$BIN" place --network $G/network.json --jobs $G/jobs.csv
expect_rc "place with --now" 0 $PLACE --job late-1 --now 2024-03-01T21:00:00Z --json
has "--now is the decision time" "$W/out" '"now": "2024-03-01T21:00:00Z"'

echo "sim_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
