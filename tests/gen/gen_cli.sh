#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tests of `cpnet gen` through the binary (CPNET_BIN, default build/cpnet): bad flags exit 2 with
# a message naming the flag, input errors exit 1, small runs succeed, outputs are reproducible
# from the seed and load back. Prints "gen_cli: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
NET=data/china/network.json
TMP=${CPNET_BUILD:-build}/gen-cli.$$
mkdir -p "$TMP"
pass=0
fail=0

ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}
bad() {
    fail=$((fail + 1))
    echo "FAIL - $1"
}

# expect NAME CODE NEEDLE ARGS...: exit code CODE and stderr containing NEEDLE
expect() {
    name=$1 code=$2 needle=$3
    shift 3
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" != "$code" ]; then
        bad "$name: exit $rc, expected $code ($(head -c 300 "$TMP/err"))"
    elif [ -n "$needle" ] && ! grep -q -e "$needle" "$TMP/err"; then
        bad "$name: stderr does not name '$needle': $(head -c 300 "$TMP/err")"
    else
        ok "$name"
    fi
}

if [ ! -x "$BIN" ]; then
    echo "FAIL - gen_cli: no binary $BIN"
    echo "gen_cli: 0 passed, 1 failed"
    exit 1
fi

# usage errors: exit 2, the message names the flag
expect no-generator 2 "signals, demand or network" gen
expect unknown-generator 2 "frobnicate" gen frobnicate
expect unknown-flag 2 "--bogus" gen demand --network "$NET" --seed 1 --days 1 --out "$TMP/j.csv" --bogus
expect foreign-flag 2 "--jobs-per-day" gen network --network "$NET" --scale 2 --out "$TMP/n.json" --jobs-per-day 5
expect missing-value 2 "--network" gen demand --network
expect missing-seed 2 "--seed" gen signals --network "$NET" --out "$TMP/sig"
expect missing-days 2 "--days" gen demand --network "$NET" --seed 1 --out "$TMP/j.csv"
expect missing-out 2 "--out" gen demand --network "$NET" --seed 1 --days 1
expect missing-scale 2 "--scale" gen network --network "$NET" --out "$TMP/n.json"
expect bad-days 2 "--days" gen demand --network "$NET" --seed 1 --days abc --out "$TMP/j.csv"
expect zero-days 2 "--days" gen signals --network "$NET" --seed 1 --days 0 --out "$TMP/sig"
expect bad-seed 2 "--seed" gen demand --network "$NET" --seed -3 --days 1 --out "$TMP/j.csv"
expect bad-start 2 "--start" gen signals --network "$NET" --seed 1 --start yesterday --out "$TMP/sig"
expect bad-jobs 2 "--jobs-per-day" gen demand --network "$NET" --seed 1 --days 1 --jobs-per-day 0 --out "$TMP/j.csv"
expect bad-load 2 "--load" gen demand --network "$NET" --seed 1 --days 1 --load -1 --out "$TMP/j.csv"
expect bad-scale 2 "--scale" gen network --network "$NET" --scale 0 --out "$TMP/n.json"
expect bad-jitter 2 "--jitter" gen network --network "$NET" --scale 2 --jitter 50 --out "$TMP/n.json"
expect json-not-for-signals 2 "--json" gen signals --network "$NET" --seed 1 --json --out "$TMP/sig"

# input errors: exit 1, the message names the file
expect missing-network 1 "nonexistent.json" gen demand --network "$TMP/nonexistent.json" --seed 1 --days 1 --out "$TMP/j.csv"
printf '{"name": "x", "hubs": 3}' >"$TMP/broken.json"
expect broken-network 1 "broken.json" gen network --network "$TMP/broken.json" --scale 2 --out "$TMP/n.json"
expect unwritable-out 1 "" gen demand --network "$NET" --seed 1 --days 1 --jobs-per-day 10 --out "$TMP/no/such/dir/j.csv"

# help
expect help 0 "" gen --help
expect demand-help 0 "" gen demand --help

# runs that work, and are reproducible from the seed
expect demand-run 0 "synthetic" gen demand --network "$NET" --seed 5 --days 2 --jobs-per-day 500 --out "$TMP/a.csv"
expect demand-again 0 "" gen demand --network "$NET" --seed 5 --days 2 --jobs-per-day 500 --out "$TMP/b.csv"
expect demand-other 0 "" gen demand --network "$NET" --seed 6 --days 2 --jobs-per-day 500 --out "$TMP/c.csv"
if cmp -s "$TMP/a.csv" "$TMP/b.csv"; then ok demand-same-seed-same-bytes; else bad demand-same-seed-same-bytes; fi
if ! cmp -s "$TMP/a.csv" "$TMP/c.csv"; then ok demand-other-seed-differs; else bad demand-other-seed-differs; fi
if [ "$(wc -l <"$TMP/a.csv")" = 1001 ]; then ok demand-rows; else bad "demand-rows: $(wc -l <"$TMP/a.csv")"; fi
expect demand-json 0 "" gen demand --network "$NET" --seed 5 --days 1 --jobs-per-day 50 --json --out "$TMP/a.json"
if head -c 1 "$TMP/a.json" | grep -q '\['; then ok demand-json-array; else bad demand-json-array; fi
expect demand-stdout 0 "" gen demand --network "$NET" --seed 5 --days 1 --jobs-per-day 20 --out -
if [ "$(wc -l <"$TMP/out")" = 21 ]; then ok demand-stdout-rows; else bad demand-stdout-rows; fi

expect signals-run 0 "synthetic" gen signals --network "$NET" --seed 9 --days 3 --out "$TMP/s1"
expect signals-again 0 "" gen signals --network "$NET" --seed 9 --days 3 --out "$TMP/s2"
if diff -r "$TMP/s1" "$TMP/s2" >/dev/null; then ok signals-same-seed-same-bytes; else bad signals-same-seed-same-bytes; fi
n=$(ls "$TMP/s1" | grep -c '\.csv$')
if [ "$n" = 30 ] && [ -f "$TMP/s1/README.txt" ]; then ok signals-files; else bad "signals-files: $n csv"; fi
if [ "$(wc -l <"$TMP/s1/helinger.green.csv")" = 73 ]; then ok signals-rows; else bad signals-rows; fi

expect network-run 0 "100 clusters" gen network --network "$NET" --scale 10 --seed 2 --out "$TMP/n10.json"
expect network-again 0 "" gen network --network "$NET" --scale 10 --seed 2 --out "$TMP/n10b.json"
if cmp -s "$TMP/n10.json" "$TMP/n10b.json"; then ok network-same-seed-same-bytes; else bad network-same-seed-same-bytes; fi
expect scaled-demand 0 "" gen demand --network "$TMP/n10.json" --seed 1 --days 1 --jobs-per-day 100 --out "$TMP/d10.csv"
expect scaled-signals 0 "100 zones" gen signals --network "$TMP/n10.json" --seed 1 --days 1 --out "$TMP/s10"

rm -rf "$TMP"
echo "gen_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
