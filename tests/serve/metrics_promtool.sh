#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /metrics against Prometheus' own checker: starts `cpnet serve` on a free loopback port with the
# reference network, submits a few jobs (placed, cancelled, refused), reports telemetry, fetches
# /metrics over bash's /dev/tcp and pipes it to `promtool check metrics` (Debian's prometheus
# package, installed here when missing and running as root). promtool must exit 0 and print no
# lint finding. Without promtool the checks are skipped, and the closing line still says so.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
NET=${CPNET_NETWORK:-data/china/network.json}
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
done_() { echo "metrics_promtool: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 &&
          apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1; }
fi
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP - metrics_promtool: promtool is not installed and could not be (Debian package prometheus)"
    done_
fi
if [ ! -x "$BIN" ]; then
    bad "the cpnet binary $BIN is not built"
    done_
fi

mkdir -p "$B"
W="$B/promtool-$$"; rm -rf "$W"; mkdir -p "$W"
"$BIN" serve --network "$NET" --data-dir "$W/data" --listen 127.0.0.1:0 --rate-limit 0 \
    >"$W/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/serve.log" | head -n 1)
    [ -n "$PORT" ] && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    bad "the server did not start: $(tail -n 3 "$W/serve.log")"
    done_
fi
TOKEN=$(cat "$W/data/operator.token")

# http METHOD PATH [BODY]: the whole answer (status line, headers, body) on stdout.
http() {
    local body=${3:-}
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n' \
        "$1" "$2" "$TOKEN" >&3
    if [ -n "$body" ]; then
        printf 'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' "${#body}" "$body" >&3
    else
        printf 'Content-Length: 0\r\n\r\n' >&3
    fi
    cat <&3
    exec 3<&- 3>&-
}
status() { head -n 1 | awk '{print $2}'; }
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
job() { printf '{"tenant": "%s", "origin": "%s", "class": "%s", "units": %d, "duration": "%s", "earliest": "%s"%s}' "$@"; }

n201=0
for spec in "lab-a beijing intelligent 8 2h" "lab-a shanghai general 64 30m" \
            "lab-b guangzhou super 4 6h" "lab-b chengdu intelligent 1 1h"; do
    set -- $spec
    st=$(http POST /v1/jobs "$(job "$1" "$2" "$3" "$4" "$5" "$now" "")" | status)
    [ "$st" = 201 ] && n201=$((n201 + 1))
done
[ "$n201" = 4 ] && ok "4 jobs submitted" || bad "jobs submitted: $n201 of 4 answered 201"
id=$(http POST /v1/jobs "$(job lab-c beijing intelligent 2 1h "$now" "")" |
     sed -n 's/.*"id":"\(job_[0-9A-Z]*\)".*/\1/p' | head -n 1)
st=$(http POST "/v1/jobs/$id/cancel" | status)
[ "$st" = 200 ] && ok "a job cancelled" || bad "cancel of $id: status $st"
st=$(http POST /v1/jobs "$(job lab-c beijing intelligent 1 1h "$now" ', "max_rtt_ms": 0.1')" | status)
[ "$st" = 422 ] && ok "an impossible job refused" || bad "impossible job: status $st"
st=$(http POST /v1/clusters/zhangjiakou/telemetry \
     '{"utilisation": 0.42, "power_kw": 3500.5, "pue": 1.27, "pools": [{"id": "a800", "total": 8769, "available": 5000}]}' |
     status)
[ "$st" = 202 ] && ok "telemetry reported" || bad "telemetry: status $st"

http GET /metrics >"$W/metrics.http"
st=$(status <"$W/metrics.http")
[ "$st" = 200 ] && ok "GET /metrics 200" || bad "GET /metrics: status $st"
if grep -qi '^content-type: text/plain; version=0.0.4' "$W/metrics.http"; then
    ok "content type text/plain; version=0.0.4"
else
    bad "content type: $(grep -i '^content-type' "$W/metrics.http")"
fi
sed '1,/^\r*$/d' "$W/metrics.http" >"$W/metrics.txt"
promtool check metrics <"$W/metrics.txt" >"$W/promtool.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$W/promtool.out" ]; then
    ok "promtool check metrics: exit 0, no findings ($(wc -l <"$W/metrics.txt") lines)"
else
    bad "promtool check metrics: exit $rc: $(head -n 10 "$W/promtool.out")"
fi
# samples compared as numbers (the exposition may write 3500500 as 3.5005e+06)
for want in 'cpnet_jobs{state="cancelled"} 1' 'cpnet_jobs_rejected_total 1' \
            'cpnet_cluster_power_watts{cluster="zhangjiakou"} 3500500' \
            'cpnet_pool_units{cluster="zhangjiakou",pool="a800",kind="available"} 5000'; do
    if awk -v n="${want% *}" -v v="${want##* }" '$1 == n && $2 + 0 == v + 0 { f = 1 } END { exit !f }' \
        "$W/metrics.txt"; then
        ok "metrics has: $want"
    else
        bad "metrics lacks: $want (has: $(grep -F "${want% *}" "$W/metrics.txt" | head -n 1))"
    fi
done
kill $PID 2>/dev/null; wait $PID 2>/dev/null
trap - EXIT
[ "$fail" = 0 ] && rm -rf "$W"
done_
