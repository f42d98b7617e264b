#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make bench: the engine's speed and the simulator's throughput on the reference network and on a
# 10x network, a year of national demand end to end, and the quality of `green` against the LP
# bound. Prints the figures and writes them to build/bench.json (flat keys, SI units in names).
# Bounded: every run here is sized to finish in minutes on a 2-core machine.
set -eu
BIN=${CPNET_BIN:-build/cpnet}
B=${CPNET_BUILD:-build}
W=$B/bench-work
mkdir -p "$W"
NET=data/china/network.json
say() { printf '%s\n' "$*"; }
kv() { sed -n "s/^$2 //p" "$1"; }
# peak RSS (KiB) of a command, from /proc via a tiny poller-free method: GNU time if present.
rss_run() { # rss_run OUTFILE cmd...
    out=$1; shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f 'maxrss_kib %M' -o "$out.rss" "$@" >"$out" 2>"$out.err"
    else
        "$@" >"$out" 2>"$out.err"; echo "maxrss_kib 0" >"$out.rss"
    fi
}
[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && apt-get install -y -q --no-install-recommends time >/dev/null 2>&1 || true; }

say "== inputs (synthetic demand, seed 1)"
"$BIN" gen signals --network "$NET" --seed 2025 --days 8 --start 2025-03-01T00:00:00Z --out "$W/signals" 2>/dev/null
"$BIN" gen demand --network "$NET" --seed 1 --days 7 --start 2025-03-01T00:00:00Z --out "$W/ref-week.csv"
"$BIN" gen network --network "$NET" --scale 10 --seed 1 --out "$W/net10.json"
"$BIN" gen signals --network "$W/net10.json" --seed 2025 --days 8 --start 2025-03-01T00:00:00Z --out "$W/signals10" 2>/dev/null
"$BIN" gen demand --network "$W/net10.json" --seed 1 --days 7 --start 2025-03-01T00:00:00Z --out "$W/x10-week.csv"

say "== engine: decide + commit every job, one core"
"$B/bench/bench_engine" --network "$NET" --signals "$W/signals" --jobs "$W/ref-week.csv" >"$W/eng-ref.txt"
"$B/bench/bench_engine" --network "$W/net10.json" --signals "$W/signals10" --jobs "$W/x10-week.csv" >"$W/eng-x10.txt"
for f in ref x10; do
    say "$f: $(kv "$W/eng-$f.txt" jobs) jobs, $(kv "$W/eng-$f.txt" pools) pools, $(kv "$W/eng-$f.txt" slots) slots: $(kv "$W/eng-$f.txt" decisions_per_s) decisions/s, p50 $(kv "$W/eng-$f.txt" p50_us) us, p99 $(kv "$W/eng-$f.txt" p99_us) us"
done

say "== cpnet sim end to end (load, decide, account, report), policy green"
t0=$(date +%s.%N)
rss_run "$W/sim-x10.json" "$BIN" sim --network "$W/net10.json" --signals "$W/signals10" --jobs "$W/x10-week.csv" --policy green --json
t1=$(date +%s.%N)
x10_jobs=$(kv "$W/eng-x10.txt" jobs)
x10_sim_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
say "x10 week: $x10_jobs jobs in $x10_sim_s s"

say "== a year of national demand (>= 5 million jobs), reference network, policy green"
"$BIN" gen demand --network "$NET" --seed 7 --days 365 --jobs-per-day 14000 --start 2025-01-01T00:00:00Z --out "$W/year.csv"
"$BIN" gen signals --network "$NET" --seed 2025 --days 366 --start 2025-01-01T00:00:00Z --out "$W/signals-year" 2>/dev/null
year_jobs=$(($(wc -l <"$W/year.csv") - 1))
t0=$(date +%s.%N)
rss_run "$W/sim-year.json" "$BIN" sim --network "$NET" --signals "$W/signals-year" --jobs "$W/year.csv" --policy green --json
t1=$(date +%s.%N)
year_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
year_rss=$(kv "$W/sim-year.json.rss" maxrss_kib)
say "year: $year_jobs jobs in $year_s s, peak RSS $year_rss KiB"

say "== quality on the reference week: green against the LP bound (optimal) and nearest"
# quality SUFFIX [gen demand options]: the week's demand, then every policy and the LP bound
quality() {
    sfx=$1
    shift
    "$BIN" gen demand --network "$NET" --seed 3 --days 7 --jobs-per-day "${QUALITY_JOBS_PER_DAY:-300}" \
        --start 2025-03-01T00:00:00Z --out "$W/quality$sfx.csv" "$@"
    if "$BIN" sim --network "$NET" --signals "$W/signals" --jobs "$W/quality$sfx.csv" --policy nearest \
        --compare nearest,greenest-now,green,optimal --json >"$W/quality$sfx.json" 2>"$W/quality$sfx.err"; then
        "$BIN" sim --network "$NET" --signals "$W/signals" --jobs "$W/quality$sfx.csv" --policy nearest \
            --compare nearest,greenest-now,green,optimal
    else
        say "quality: the LP bound could not be computed: $(cat "$W/quality$sfx.err")"
        "$BIN" sim --network "$NET" --signals "$W/signals" --jobs "$W/quality$sfx.csv" --policy nearest \
            --compare nearest,greenest-now,green --json >"$W/quality$sfx.json"
    fi
}
say "-- the default load (--load 0.3: every job held at the 10 % size cap, capacity contended)"
quality ""
say "-- a third of it (--load 0.1)"
quality "-load10" --load 0.1
awk -v er="$W/eng-ref.txt" -v ex="$W/eng-x10.txt" -v x10_jobs="$x10_jobs" -v x10_s="$x10_sim_s" \
    -v yj="$year_jobs" -v ys="$year_s" -v yrss="$year_rss" -v qf="$W/quality.json" '
function kv(f, k,   l, a) { while ((getline l < f) > 0) { split(l, a, " "); if (a[1] == k) { close(f); return a[2] } } close(f); return 0 }
BEGIN {
    printf "{\n"
    printf "  \"engine_ref_decisions_per_s\": %s,\n", kv(er, "decisions_per_s")
    printf "  \"engine_ref_p50_us\": %s,\n", kv(er, "p50_us")
    printf "  \"engine_ref_p99_us\": %s,\n", kv(er, "p99_us")
    printf "  \"engine_decisions_per_s\": %s,\n", kv(ex, "decisions_per_s")
    printf "  \"engine_p50_us\": %s,\n", kv(ex, "p50_us")
    printf "  \"engine_p99_us\": %s,\n", kv(ex, "p99_us")
    printf "  \"engine_x10_pools\": %s,\n", kv(ex, "pools")
    printf "  \"sim_x10_week_jobs\": %s,\n", x10_jobs
    printf "  \"sim_x10_week_s\": %s,\n", x10_s
    printf "  \"sim_year_jobs\": %s,\n", yj
    printf "  \"sim_year_s\": %s,\n", ys
    printf "  \"sim_jobs_per_s\": %.0f,\n", yj / ys
    printf "  \"sim_year_peak_rss_bytes\": %.0f,\n", yrss * 1024
    printf "  \"bytes_per_job\": %.0f\n", yrss * 1024 / yj
    printf "}\n"
}' >"$B/bench.json.tmp"
# quality figures from a JSON report (one key per line: awk keeps the policy it is in)
qv() { awk -v pol="$2" -v key="$3" '
    $0 ~ "^    \"" pol "\": *\\{" { inpol = 1; next }
    inpol && /^    \}/ { inpol = 0 }
    inpol { k = $1; gsub(/[",:]/, "", k); if (k == key) { v = $2; gsub(/,/, "", v); print v; exit } }
' "$1"; }
Q=$W/quality.json
Q10=$W/quality-load10.json
or_null() { [ -n "$1" ] && [ "$1" != null ] && echo "$1" || echo null; }
gc=$(qv "$Q" green carbon_kg); oc=$(or_null "$(qv "$Q" optimal carbon_kg)"); nc=$(qv "$Q" nearest carbon_kg)
gv=$(qv "$Q" green violations); go=$(qv "$Q" green objective_cny)
ob=$(or_null "$(qv "$Q" optimal objective_bound_cny)")
gc10=$(qv "$Q10" green carbon_kg); oc10=$(or_null "$(qv "$Q10" optimal carbon_kg)")
go10=$(qv "$Q10" green objective_cny); ob10=$(or_null "$(qv "$Q10" optimal objective_bound_cny)")
awk -v gc="$gc" -v oc="$oc" -v nc="$nc" -v gv="$gv" -v go="$go" -v ob="$ob" \
    -v gc10="$gc10" -v oc10="$oc10" -v go10="$go10" -v ob10="$ob10" '
    function pct(a, b) { return b == "null" ? "null" : sprintf("%.3f", 100 * (a / b - 1)) }
    { lines[NR] = $0 }
    END {
        for (i = 1; i < NR; i++) {
            l = lines[i]
            if (i == NR - 1) l = l ","
            print l
        }
        printf "  \"quality_green_carbon_kg\": %s,\n", gc
        printf "  \"quality_optimal_carbon_kg\": %s,\n", oc
        printf "  \"quality_nearest_carbon_kg\": %s,\n", nc
        printf "  \"quality_green_vs_optimal_carbon_pct\": %s,\n", pct(gc, oc)
        printf "  \"quality_green_objective_cny\": %s,\n", go
        printf "  \"quality_optimal_objective_bound_cny\": %s,\n", ob
        printf "  \"quality_green_vs_optimal_objective_pct\": %s,\n", pct(go, ob)
        printf "  \"quality_green_vs_nearest_carbon_pct\": %.3f,\n", 100 * (gc / nc - 1)
        printf "  \"quality_load10_green_vs_optimal_carbon_pct\": %s,\n", pct(gc10, oc10)
        printf "  \"quality_load10_green_vs_optimal_objective_pct\": %s,\n", pct(go10, ob10)
        printf "  \"quality_green_violations\": %s\n}\n", gv
    }' "$B/bench.json.tmp" >build/bench.json
rm -f "$B/bench.json.tmp"
say "== the API: durable submissions through cpnet serve"
BENCH_JSON=build/bench.json sh scripts/bench-api.sh
if [ -f scripts/bench-slurm.sh ]; then
    say "== Slurm: sbatch directly against cpnet (API -> placement -> agent -> Slurm)"
    BENCH_JSON=build/bench.json sh scripts/bench-slurm.sh || say "bench-slurm: skipped or failed (see above)"
fi
say "== build/bench.json"
cat build/bench.json
