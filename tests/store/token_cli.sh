#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `cpnet token` end to end: create prints one well-formed token on stdout and its id on stderr,
# list shows ids and roles but never a secret (table and --json), revoke marks it, and usage
# errors exit 2 naming the flag while other errors exit 1. Prints "token_cli: N passed, N failed".
set -u
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
mkdir -p "$B"
W=$B/token-cli-$$
rm -rf "$W" && mkdir -p "$W"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...: passes when the command succeeds
    name=$1; shift
    if "$@"; then ok "$name"; else no "$name"; fi
}
run() { # run EXPECTED_RC args...: runs cpnet with stdout/stderr in $W/out, $W/err
    want=$1; shift
    "$BIN" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    [ "$rc" = "$want" ] || { echo "  cpnet $*: exit $rc, expected $want: $(cat "$W/err")"; return 1; }
}

D=$W/data
check "create operator" run 0 token create --data-dir "$D" --role operator --note "first operator"
OP=$(cat "$W/out")
check "token format" sh -c "printf '%s\n' '$OP' | grep -Eq '^cpn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\$'"
OP_ID=$(printf '%s' "$OP" | cut -c5-20)
check "id on stderr" grep -q "$OP_ID" "$W/err"
check "one line on stdout" test "$(wc -l <"$W/out")" = 1
check "db mode 0600" test "$(stat -c %a "$D/cpnet.db")" = 600
check "create tenant" run 0 token create --data-dir "$D" --role=tenant --subject acme
TEN=$(cat "$W/out")
TEN_ID=$(printf '%s' "$TEN" | cut -c5-20)
check "tokens differ" test "$OP" != "$TEN"
check "list" run 0 token list --data-dir "$D"
check "list shows ids and roles" sh -c "grep -q '$OP_ID.*operator' '$W/out' && grep -q '$TEN_ID.*tenant.*acme' '$W/out'"
check "list shows no secret" sh -c "! grep -qF '$(printf '%s' "$OP" | cut -c22-)' '$W/out' && ! grep -qF '$(printf '%s' "$TEN" | cut -c22-)' '$W/out'"
check "list shows the note" grep -q "first operator" "$W/out"
check "list --json" run 0 token list --data-dir "$D" --json
check "json fields" sh -c "grep -q '\"id\": \"$TEN_ID\"' '$W/out' && grep -q '\"revoked\": null' '$W/out'"
if command -v python3 >/dev/null 2>&1; then
    check "json parses" python3 -c "import json,sys; a=json.load(open('$W/out')); sys.exit(0 if len(a)==2 and sorted(t['role'] for t in a)==['operator','tenant'] else 1)"
fi
check "db holds no secret" sh -c "! grep -qaF '$(printf '%s' "$TEN" | cut -c22-)' '$D'/cpnet.db*"
check "revoke" run 0 token revoke --data-dir "$D" "$TEN_ID"
check "list shows revoked" sh -c "'$BIN' token list --data-dir '$D' --json | grep -A8 '$TEN_ID' | grep -q '\"revoked\": \"20'"
check "revoke again is fine" run 0 token revoke --data-dir "$D" "$TEN_ID"
check "revoke unknown id: 1" run 1 token revoke --data-dir "$D" ffffffffffffffff
check "unknown id named" grep -q "ffffffffffffffff" "$W/err"

# Usage errors: exit 2, naming the flag.
check "no --data-dir: 2" run 2 token list
check "names --data-dir" grep -q -- "--data-dir" "$W/err"
check "bad role: 2" run 2 token create --data-dir "$D" --role admin
check "names --role" grep -q -- "--role 'admin'" "$W/err"
check "missing role: 2" run 2 token create --data-dir "$D"
check "tenant without subject: 2" run 2 token create --data-dir "$D" --role tenant
check "names --subject" grep -q -- "--subject" "$W/err"
check "unknown flag: 2" run 2 token list --data-dir "$D" --verbose
check "names the unknown flag" grep -q -- "--verbose" "$W/err"
check "revoke without id: 2" run 2 token revoke --data-dir "$D"
check "unknown verb: 2" run 2 token rotate --data-dir "$D"
check "flag without value: 2" run 2 token create --role
check "help: 0" run 0 token --help
check "help text" grep -q "cpnet token create" "$W/out"
# Other errors: exit 1.
check "missing data dir: 1" run 1 token list --data-dir "$W/nowhere"
check "names the directory" grep -q "$W/nowhere" "$W/err"
printf 'garbage that is not a database, repeated to fill a page %.0s' $(seq 1 100) >"$W/bad.db"
mkdir -p "$W/bad" && cp "$W/bad.db" "$W/bad/cpnet.db"
check "damaged db: 1" run 1 token list --data-dir "$W/bad"
check "says not a database" grep -q "not a database" "$W/err"

rm -rf "$W"
echo "token_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
