#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Side by side on one single-node Slurm (tests/agent/slurm-up.sh, 32 CPUs advertised): N trivial
# jobs (`true`) submitted directly with sbatch, then the same N through cpnet (REST API ->
# placement -> agent -> sbatch), each timed from the first submission until every job is
# COMPLETED (direct: as squeue says; via cpnet: as the platform says). Reports both throughputs,
# their ratio, cpnet's added time per job ((via - direct) / N) and, from the job records, the
# mean time from the API's acceptance to the job being in Slurm. The platform's clock runs 600x
# with 1-minute slots, so that a placement's slot alignment costs at most 0.1 s of wall time
# (at 1x a job would wait for the next slot boundary, up to a minute). Appends
# slurm_direct_jobs_per_s, slurm_via_cpnet_jobs_per_s, slurm_ratio, cpnet_added_latency_ms and
# cpnet_dispatch_latency_ms to build/bench.json (python-free). Without root or apt-get it says
# why and changes nothing.
set -u
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
JSON=${CPNET_BENCH_JSON:-build/bench.json}
N=${CPNET_SLURM_BENCH_JOBS:-200}
SPEED=600
mkdir -p "$B"
W=$(cd "$B" && pwd)/bench-slurm-$$
rm -rf "$W" && mkdir -p "$W"
SD=$W/slurm
D=$W/data
SRV=
AGT=
say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
stop_pid() {
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
    [ -z "${CPNET_KEEP:-}" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { say "bench-slurm: $*"; exit 1; }

say "== Slurm side by side: $N trivial jobs, sbatch directly vs through cpnet"
bash tests/agent/slurm-up.sh "$SD" >/dev/null 2>"$W/slurm-up.log"
rc=$?
if [ "$rc" = 3 ]; then
    say "bench-slurm: skipped: $(tail -n 1 "$W/slurm-up.log")"
    exit 0
fi
[ "$rc" = 0 ] || { tail -n 30 "$W/slurm-up.log"; die "Slurm did not come up"; }
export SLURM_CONF="$SD/slurm.conf"
export TZ=UTC
done_count() { # done_count PREFIX: Slurm jobs named PREFIX* that are COMPLETED
    squeue -h -t all -o '%j|%T' | grep -c "^$1.*|COMPLETED\$"
}
# one job first: the first job after a start is slow (node registration)
sbatch --parsable -J warmup -o /dev/null --wrap true >/dev/null
i=0
until [ "$(done_count warmup)" = 1 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done

# ---- 1. directly
t0=$(now)
i=1
while [ $i -le "$N" ]; do
    sbatch --parsable -J "direct-$i" -o /dev/null --wrap true >/dev/null || die "sbatch failed"
    i=$((i + 1))
done
t_sub=$(now)
i=0
until [ "$(done_count direct-)" -ge "$N" ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i + 1)); done
t1=$(now)
[ "$(done_count direct-)" -ge "$N" ] || die "direct: only $(done_count direct-) of $N completed in 120 s"
direct_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
direct_sub_s=$(awk -v a="$t0" -v b="$t_sub" 'BEGIN { printf "%.3f", b - a }')
say "direct: $N jobs submitted in $direct_sub_s s, all COMPLETED after $direct_s s"

# ---- 2. through cpnet
cat >"$W/network.json" <<'EOF'
{
  "name": "bench-slurm",
  "slot_minutes": 1,
  "hubs": [{"id": "ci-hub", "name": "CI hub", "region": "west"}],
  "zones": [{"id": "ci-zone", "grid_gco2_per_kwh": 500, "green_share": 0.5, "price_cny_per_kwh": 0.4}],
  "clusters": [
    {"id": "ci-slurm", "hub": "ci-hub", "zone": "ci-zone", "lon": 116.4, "lat": 39.9, "pue": 1.2,
     "pools": [
       {"id": "batch", "class": "general", "device": "cpu", "units": 32, "tflops": 0.05,
        "watts_idle": 2, "watts_busy": 5, "price_cny_per_unit_hour": 0.05},
       {"id": "gpu", "class": "intelligent", "device": "t4", "units": 4, "tflops": 65,
        "watts_idle": 10, "watts_busy": 70, "price_cny_per_unit_hour": 2.0}]}
  ],
  "sites": [{"id": "ci-site", "name": "CI site", "lon": 116.4, "lat": 39.9}]
}
EOF
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
[ -n "$PORT" ] || { cat "$W/serve.log"; die "cpnet serve did not start"; }
export CPNET_ADDR="http://127.0.0.1:$PORT"
unset CPNET_TOKEN
OPT=$D/operator.token
"$BIN" token create --data-dir "$D" --role provider --subject ci-slurm >"$W/provider.token" 2>/dev/null ||
    die "token create failed"
"$BIN" agent --platform "$CPNET_ADDR" --token "$W/provider.token" --cluster ci-slurm \
    --executor slurm --interval "${CPNET_SLURM_BENCH_INTERVAL:-2}" --horizon 36000 --state-dir "$W/agent" \
    2>"$W/agent.log" &
AGT=$!
i=0
until grep -q "pools:" "$W/agent.log" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
awk -v n="$N" 'BEGIN {
    printf "["
    for (i = 1; i <= n; i++)
        printf "%s\n {\"id\": \"b%d\", \"origin\": \"ci-site\", \"class\": \"general\", \"units\": 1, \"duration\": \"1m\", \"earliest\": \"2020-01-01T00:00:00Z\", \"allowed\": [\"cluster:ci-slurm\"], \"command\": \"true\"}", (i > 1 ? "," : ""), i
    printf "\n]\n"
}' >"$W/jobs.json"
# jobs by platform state (the table's 4th column); a job that ended otherwise stops the run
states() { "$BIN" jobs --all --limit 1000 --token-file "$OPT" 2>/dev/null | awk 'NR > 1 { n[$4]++ } END { for (s in n) print s, n[s] }'; }
t0=$(now)
"$BIN" submit "$W/jobs.json" --token-file "$OPT" >"$W/submit.out" 2>&1 || { tail -n 5 "$W/submit.out"; die "submit failed"; }
t_sub=$(now)
i=0
c=0
bad=0
until [ "$c" -ge "$N" ] || [ "$bad" != 0 ] || [ $i -ge 600 ]; do
    sleep 0.2
    states >"$W/states"
    c=$(awk '$1 == "completed" { print $2 }' "$W/states")
    c=${c:-0}
    bad=$(awk '$1 == "failed" || $1 == "cancelled" || $1 == "lost" { b += $2 } END { print b + 0 }' "$W/states")
    i=$((i + 1))
done
[ "$bad" = 0 ] || { cat "$W/states"; tail -n 20 "$W/agent.log"; die "via cpnet: $bad jobs did not complete"; }
t1=$(now)
[ "$c" -ge "$N" ] || { tail -n 20 "$W/agent.log"; die "via cpnet: only $c of $N completed in 120 s"; }
via_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
via_sub_s=$(awk -v a="$t0" -v b="$t_sub" 'BEGIN { printf "%.3f", b - a }')
say "via cpnet: $N jobs submitted to the API in $via_sub_s s, all completed on the platform after $via_s s"
slurm_jobs=$(squeue -h -t all -o '%j' | grep -c '^cpnet-')
[ "$slurm_jobs" = "$N" ] || say "warning: $slurm_jobs cpnet Slurm jobs for $N platform jobs"

# API acceptance (created) -> in Slurm (dispatched), platform seconds / SPEED, mean over jobs
"$BIN" jobs --all --limit 1000 --token-file "$OPT" --json >"$W/jobs.out" 2>/dev/null
dispatch_ms=$(awk -v speed=$SPEED '
function secs(t,   d, a) { # "2026-11-23T19:04:40Z" -> seconds (same day is enough for a difference)
    split(substr(t, 12, 8), a, ":")
    d = substr(t, 9, 2) + 0
    return d * 86400 + a[1] * 3600 + a[2] * 60 + a[3]
}
/^      "created": "/ { split($0, q, "\""); c = q[4] }
/^        "dispatched": "/ { split($0, q, "\""); if (c != "") { sum += secs(q[4]) - secs(c); n++; c = "" } }
END { if (n) printf "%.1f", sum / n / speed * 1000; else printf "0" }' "$W/jobs.out")

# ---- 3. figures
direct_rate=$(awk -v n="$N" -v s="$direct_s" 'BEGIN { printf "%.2f", n / s }')
via_rate=$(awk -v n="$N" -v s="$via_s" 'BEGIN { printf "%.2f", n / s }')
ratio=$(awk -v a="$via_rate" -v b="$direct_rate" 'BEGIN { printf "%.3f", a / b }')
added_ms=$(awk -v n="$N" -v a="$via_s" -v b="$direct_s" 'BEGIN { printf "%.1f", (a - b) / n * 1000 }')
say "slurm_direct_jobs_per_s    $direct_rate"
say "slurm_via_cpnet_jobs_per_s $via_rate"
say "slurm_ratio                $ratio (via cpnet / direct)"
say "cpnet_added_latency_ms     $added_ms per job ((via - direct) / N)"
say "cpnet_dispatch_latency_ms  $dispatch_ms mean, API acceptance to sbatch done (job records)"

# ---- 4. build/bench.json: drop old values of these keys, append, keep it one JSON object
mkdir -p "$(dirname "$JSON")"
[ -s "$JSON" ] || printf '{\n}\n' >"$JSON"
awk -v d="$direct_rate" -v v="$via_rate" -v r="$ratio" -v a="$added_ms" -v p="$dispatch_ms" -v n="$N" '
/^[[:space:]]*"(slurm_direct_jobs_per_s|slurm_via_cpnet_jobs_per_s|slurm_ratio|cpnet_added_latency_ms|cpnet_dispatch_latency_ms|slurm_bench_jobs)"/ { next }
/^[[:space:]]*}[[:space:]]*$/ { next }
/^[[:space:]]*{[[:space:]]*$/ { next }
{ kept[++k] = $0 }
END {
    print "{"
    for (i = 1; i <= k; i++) {
        line = kept[i]
        sub(/,[[:space:]]*$/, "", line)
        print "  " substr(line, match(line, /[^[:space:]]/)) ","
    }
    printf "  \"slurm_bench_jobs\": %d,\n", n
    printf "  \"slurm_direct_jobs_per_s\": %s,\n", d
    printf "  \"slurm_via_cpnet_jobs_per_s\": %s,\n", v
    printf "  \"slurm_ratio\": %s,\n", r
    printf "  \"cpnet_added_latency_ms\": %s,\n", a
    printf "  \"cpnet_dispatch_latency_ms\": %s\n", p
    print "}"
}' "$JSON" >"$JSON.tmp" && mv "$JSON.tmp" "$JSON"
say "appended to $JSON"
