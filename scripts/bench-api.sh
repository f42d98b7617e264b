#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The API part of `make bench`: durable job submissions per second through the whole service
# (HTTP, auth, validation, placement, group commit) on loopback. Starts `cpnet serve` on the
# reference network with rate limits off and a fresh data directory, drives it with
# build/bench/bench_api (64 keep-alive connections, ~10 s), prints the figures and the store's
# fsync policy, runs wrk with a POST script for comparison when it is installed (or installable),
# and merges api_submissions_per_s, api_p50_ms and api_p99_ms into build/bench.json (which
# scripts/bench.sh writes first). Load generator and server share the machine's cores.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
export LC_ALL=C
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
NET=${CPNET_NETWORK:-data/china/network.json}
CONNS=${API_CONNECTIONS:-64}
SECS=${API_SECONDS:-10}
JSON=${BENCH_JSON:-build/bench.json}
say() { printf '%s\n' "$*"; }
[ -x "$B/bench/bench_api" ] || { say "bench-api: $B/bench/bench_api is not built (make bench)"; exit 1; }
mkdir -p "$B"
W="$B/bench-api-$$"; rm -rf "$W"; mkdir -p "$W"
PID=
stop_server() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    PID=
}
trap 'stop_server' EXIT

# start_server DIR: starts cpnet serve on a free port; sets PID and PORT.
start_server() {
    "$BIN" serve --network "$NET" --data-dir "$1" --listen 127.0.0.1:0 --rate-limit 0 \
        >"$1.log" 2>&1 &
    PID=$!
    PORT=
    for _ in $(seq 1 200); do
        PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$1.log" | head -n 1)
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    say "bench-api: the server did not start: $(tail -n 3 "$1.log")"
    exit 1
}

# metric NAME: a sample of /metrics (bash /dev/tcp, no curl needed).
metric() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    awk -v n="$1" '$1 == n { print $2 }' <&3
    exec 3<&- 3>&-
}

say "== API: durable submissions (POST /v1/jobs, $CONNS keep-alive connections, ${SECS} s)"
start_server "$W/data"
"$B/bench/bench_api" --port "$PORT" --token-file "$W/data/operator.token" \
    --connections "$CONNS" --threads 2 --duration "$SECS" --warmup 1 >"$W/api.txt" || true
commits=$(metric cpnet_store_commits_total)
stop_server
kv() { sed -n "s/^$1 //p" "$W/api.txt"; }
rate=$(kv api_submissions_per_s); p50=$(kv api_p50_ms); p99=$(kv api_p99_ms)
n=$(kv api_submissions); errs=$(kv api_errors)
say "bench_api: ${rate:-0} submissions/s, p50 ${p50:-0} ms, p99 ${p99:-0} ms, max $(kv api_max_ms) ms, $n acknowledged, ${errs:-?} errors"
say "store: SQLite WAL, synchronous=FULL: one fsync of the WAL per group commit, and an answer only after it; ${commits:-?} commits for $n submissions (about $(awk -v a="${n:-0}" -v b="${commits:-0}" 'BEGIN { printf "%.0f", (b > 0 ? a / b : 0) }') per fsync)"

if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q wrk >/dev/null 2>&1 || true
fi
if command -v wrk >/dev/null 2>&1; then
    start_server "$W/data-wrk"
    token=$(cat "$W/data-wrk/operator.token")
    earliest=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    cat >"$W/post.lua" <<EOF
-- one GPU job per request; thread id and a counter make every Idempotency-Key new
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"tenant": "lab-%d", "origin": "beijing", "class": "intelligent", "units": %d, "duration": "%dm", "earliest": "$earliest"}', n % 20, 1 + n % 8, 30 + (n % 8) * 30)
  local h = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token",
              ["Idempotency-Key"] = "wrk-" .. tid .. "-" .. n }
  return wrk.format("POST", nil, h, body)
end
EOF
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$W/post.lua" "http://127.0.0.1:$PORT/v1/jobs" \
        >"$W/wrk.txt" 2>&1 || true
    stop_server
    wrate=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$W/wrk.txt")
    w50=$(awk '$1 == "50%" { print $2 }' "$W/wrk.txt")
    w99=$(awk '$1 == "99%" { print $2 }' "$W/wrk.txt")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "$W/wrk.txt")
    say "wrk (comparison): ${wrate:-?} requests/s, p50 ${w50:-?}, p99 ${w99:-?}${non2xx:+, $non2xx non-2xx answers}"
else
    say "wrk: not installed; skipped"
fi

# merge into build/bench.json: drop earlier api_ keys and the closing brace, append ours
add=$(printf '  "api_submissions_per_s": %s,\n  "api_p50_ms": %s,\n  "api_p99_ms": %s' \
      "${rate:-0}" "${p50:-0}" "${p99:-0}")
if [ -s "$JSON" ]; then
    awk -v add="$add" '
    { line[NR] = $0 }
    END {
        n = NR
        while (n > 0 && line[n] ~ /^[ \t]*$/) n--
        sub(/}[ \t]*$/, "", line[n])
        if (line[n] ~ /^[ \t]*$/) n--
        k = 0
        for (i = 1; i <= n; i++)
            if (line[i] !~ /"api_(submissions_per_s|p50_ms|p99_ms)"/) keep[++k] = line[i]
        if (k > 0 && keep[k] !~ /[{,][ \t]*$/) keep[k] = keep[k] ","
        for (i = 1; i <= k; i++) print keep[i]
        print add
        print "}"
    }' "$JSON" >"$JSON.tmp" && mv "$JSON.tmp" "$JSON"
else
    mkdir -p "$(dirname "$JSON")"
    printf '{\n%s\n}\n' "$add" >"$JSON"
fi
say "bench-api: wrote api_submissions_per_s, api_p50_ms, api_p99_ms to $JSON"
rm -rf "$W"
