#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo, in two parts, on the bundled reference network (data/china/network.json) and seeded
# SYNTHETIC signals and demand (docs/reference-data.md):
#  1. the national simulation: a week of demand placed under every policy, one table;
#  2. the live network on this machine: the platform (cpnet serve, its clock running 1440x so a
#     day passes in a minute), one agent per reference cluster running scaled-down sleep jobs with
#     the local executor, a day of demand submitted through the API, and a live view that stops
#     by itself with a summary.
# Everything lands in build/demo; every process started here is stopped on exit.
set -eu
BIN=${1:-build/cpnet}
D=build/demo
NET=data/china/network.json
LIVE_SECONDS=${DEMO_LIVE_SECONDS:-75}
mkdir -p "$D"

echo "== 1. The national simulation: a week of demand on the East Data West Computing network"
echo "   8 hubs, 10 clusters, 8 demand cities; signals and demand are SYNTHETIC (seeded)"
"$BIN" gen signals --network "$NET" --seed 2025 --start 2025-06-02T00:00:00Z --days 10 \
    --out "$D/signals" >/dev/null
"$BIN" gen demand --network "$NET" --seed 1 --start 2025-06-02T00:00:00Z --days 7 --out "$D/jobs.csv"
echo
"$BIN" sim --network "$NET" --signals "$D/signals" --forecast-error 10 --seed 1 \
    --jobs "$D/jobs.csv" --policy nearest --compare nearest,cheapest,greenest-now,green \
    --jobs-out "$D/jobs-out.csv" --clusters-out "$D/clusters-out.csv"
echo "Decisions used a forecast with 10 % error; emissions were accounted with the actual signals."
echo "Per-job placements: $D/jobs-out.csv; per-cluster hours: $D/clusters-out.csv"
echo

echo "== 2. The live network: platform, one agent per cluster, a day of demand through the API"
L=$D/live
rm -rf "$L"
mkdir -p "$L"
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
day=$(date -u +%Y-%m-%dT00:00:00Z)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$BIN" gen signals --network "$NET" --seed 2025 --start "$day" --days 5 --out "$L/signals" >/dev/null
"$BIN" serve --network "$NET" --data-dir "$L/data" --listen 127.0.0.1:0 --signals "$L/signals" \
    --clock-speed 1440 --telemetry-timeout 20 --rate-limit 0 >"$L/serve.log" 2>&1 &
PIDS="$PIDS $!"
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$L/serve.log" | head -n 1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "demo: the platform did not start:"; cat "$L/serve.log"; exit 1; }
export CPNET_ADDR="http://127.0.0.1:$PORT"
export CPNET_TOKEN="$(cat "$L/data/operator.token")"
echo "platform on $CPNET_ADDR (clock 1440x); operator token in $L/data/operator.token"
clusters=$("$BIN" clusters | awk 'NR > 1 && $1 != "" { print $1 }')
for c in $clusters; do
    "$BIN" token create --data-dir "$L/data" --role provider --subject "$c" >"$L/$c.token" 2>/dev/null
    "$BIN" agent --platform "$CPNET_ADDR" --token "$L/$c.token" --cluster "$c" --executor local \
        --pools-from-platform --interval 2 --max-jobs 64 --state-dir "$L/agent-$c" \
        >"$L/agent-$c.log" 2>&1 &
    PIDS="$PIDS $!"
done
echo "agents: $(echo $clusters | wc -w) clusters, local executor (jobs run as sleeps, 1440x shorter)"
"$BIN" gen demand --network "$NET" --seed 1 --start "$now" --days 1 --jobs-per-day 1200 \
    --out "$L/day.csv"
"$BIN" submit "$L/day.csv" >"$L/submit.log" 2>&1 || true
echo "submitted $(grep -c '^job_' "$L/submit.log" || true) jobs through POST /v1/jobs"
"$BIN" watch --interval 5 --seconds "$LIVE_SECONDS" --until-done
echo
echo "Summary: where the day's demand went, what it ran and what it saved is above (last view)."
echo "Logs: $L/serve.log, $L/agent-*.log; the platform's data: $L/data"
