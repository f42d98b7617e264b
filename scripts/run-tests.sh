#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every test binary given as an argument and every tests/*/*.sh script (but *-up.sh helpers), collects each suite's
# closing line "<suite>: N passed, N failed" and prints the aggregate "check: N passed, N failed".
# A suite that crashes or prints no closing line counts as one failure.
set -u
pass=0; fail=0; skip=0
log=${CPNET_BUILD:-build}/test-logs
mkdir -p "$log"
run_one() {
    name=$1; shift
    out="$log/$(echo "$name" | tr '/' '_').log"
    "$@" >"$out" 2>&1
    rc=$?
    line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no result line (exit $rc)"; tail -n 20 "$out"; fail=$((fail + 1)); return
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
    if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
        grep -E '^(FAIL|not ok)' "$out" | head -n 20
        [ "$rc" != 0 ] && [ "$f" = 0 ] && { echo "$name: exit $rc"; fail=$((fail + 1)); }
    fi
    grep -E '^SKIP' "$out" | head -n 5
    echo "$line"
}
for t in "$@"; do run_one "$t" "$t"; done
# every tests/<component>/*.sh is a test script, except the *-up.sh setup helpers they call
for s in tests/*/*.sh; do
    case "$s" in *-up.sh) continue ;; esac
    [ -f "$s" ] && run_one "$s" sh "$s"
done
[ "$skip" != 0 ] && echo "check: $skip skipped (see SKIP lines above)"
echo "check: $pass passed, $fail failed"
[ "$fail" = 0 ]
