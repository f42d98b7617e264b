#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make validate: reproduces Scenarios I and II of "Let's Wait Awhile" (Wiesner et al., Middleware
# 2021, DOI 10.1145/3464298.3493399) exactly as ../shared/validation/lwa/SCENARIOS.md defines them,
# through cpnet's general inputs only: per region a one-zone, one-cluster network (30-minute slots,
# an unlimited pool drawing 1 kWh per slot, no prices, so the objective is carbon alone), generic
# time,value signal CSVs for the actual and forecast carbon intensity, a jobs CSV, and
# `cpnet sim --policy green --jobs-out`. The data is converted with awk at test time into a
# temporary directory under build/ (never into the project). Prints one row per figure and exits 1
# when any figure is outside the tolerance (I: 1e-6 relative; II: 0.05 percentage points).
set -u

BIN=${CPNET_BIN:-build/cpnet}
SHARED=${CPNET_SHARED:-../shared}
LWA=$SHARED/validation/lwa
if [ ! -d "$LWA" ] || [ ! -f "$LWA/SCENARIOS.md" ]; then
    echo "validate-lwa: $LWA is absent: skipped (the Let's Wait Awhile data is not in this checkout)"
    exit 0
fi
if [ ! -x "$BIN" ]; then
    echo "validate-lwa: $BIN is not built (run make)" >&2
    exit 1
fi
mkdir -p "${CPNET_BUILD:-build}"
WORK=${CPNET_BUILD:-build}/validate-lwa.$$
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM
SEEDS="0 1 2 3 4 5 6 7 8 9"

# ISO 8601 time of slot i (30 minutes) after 2020-01-01T00:00Z; the series are positional, so the
# timestamps are synthetic and consecutive (no time zone, no DST, as in the paper's code).
AWK_ISO='
function iso(i,    s, day, rem, y, m, dim, leap) {
    s = i * 1800; day = int(s / 86400); rem = s - day * 86400; y = 2020
    for (;;) {
        leap = (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        if (day < 365 + leap) break
        day -= 365 + leap; y++
    }
    split("31 28 31 30 31 30 31 31 30 31 30 31", dim, " ")
    if (leap) dim[2] = 29
    for (m = 1; day >= dim[m]; m++) day -= dim[m]
    return sprintf("%04d-%02d-%02dT%02d:%02d:00Z", y, m, day + 1, int(rem / 3600), int(rem % 3600 / 60))
}'

write_network() { # $1 = file
    cat >"$1" <<'EOF'
{
  "name": "lwa-one-zone",
  "slot_minutes": 30,
  "hubs": [ { "id": "h", "region": "east" } ],
  "zones": [ { "id": "z", "grid_gco2_per_kwh": 0, "green_share": 0, "price_cny_per_kwh": 0,
               "utc_offset": "+00:00" } ],
  "clusters": [ { "id": "dc", "hub": "h", "zone": "z", "lon": 0, "lat": 0, "pue": 1.0,
                  "pools": [ { "id": "cpu", "class": "general", "units": "unlimited", "tflops": 1,
                               "watts_idle": 0, "watts_busy": 2000,
                               "price_cny_per_unit_hour": 0 } ] } ],
  "sites": [ { "id": "s", "lon": 0, "lat": 0 } ]
}
EOF
}

# Sliced series of a region: rows from 2020-01-01 00:00 whose minute is 0 or 30, by position.
# Writes actual/z.ci.csv and fc<k>/z.ci.csv (D = CI + 0.05 * mean(CI) * z_seed<k>).
convert_series() { # $1 = source csv, $2 = region dir, $3 = expected length
    mkdir -p "$2/actual"
    for k in $SEEDS; do mkdir -p "$2/fc$k"; done
    awk -F, -v dir="$2" -v want="$3" "$AWK_ISO"'
        FNR == 1 { next }
        NR == FNR { for (k = 0; k < 10; k++) z[k, FNR - 2] = $(k + 1); nz = FNR - 1; next }
        {
            t = $1; gsub(/"/, "", t); mm = substr(t, 15, 2)
            if (t < "2020-01-01 00:00" || (mm != "00" && mm != "30")) next
            v[n + 0] = $2; sum += $2; n++
        }
        END {
            if (n != want) { printf "validate-lwa: %s: %d slots, expected %d\n", FILENAME, n, want > "/dev/stderr"; exit 1 }
            if (n > nz) { printf "validate-lwa: %d noise draws for %d slots\n", nz, n > "/dev/stderr"; exit 1 }
            mean = sum / n
            f = dir "/actual/z.ci.csv"; print "time,value" > f
            for (i = 0; i < n; i++) print iso(i) "," v[i] > f
            close(f)
            for (k = 0; k < 10; k++) {
                f = dir "/fc" k "/z.ci.csv"; print "time,value" > f
                for (i = 0; i < n; i++) printf "%s,%.17g\n", iso(i), v[i] + (0.05 * mean) * z[k, i] > f
                close(f)
            }
        }' "$LWA/derived/std_normal_draws_seed0-9.csv" "$1"
}

# Scenario I: day d = 0..364 releases a one-slot job at a = 48 d + 2, allowed to start in
# [a - w, a + w] for w = 0..16; the day-0 job is skipped when a - w < 0.
write_jobs_1() { # $1 = file
    awk "$AWK_ISO"'
        BEGIN {
            print "id,origin,class,units,duration,earliest,deadline,interruptible"
            for (w = 0; w <= 16; w++)
                for (d = 0; d < 365; d++) {
                    a = 48 * d + 2
                    if (a - w < 0) continue
                    printf "w%02d-d%03d,s,general,1,1800,%s,%s,false\n", w, d, iso(a - w), iso(a + w + 1)
                }
        }' >"$1"
}

# Scenario II: the 3,387 ML jobs in five variants: the baseline (arrival slot or one later), and
# next_workday / semi_weekly deadlines, non-interruptible (n) and interruptible (i). A job may
# start in slot s when s + duration <= deadline slot + 1 (the window holds duration + slack + 1
# slots), so the deadline given to cpnet is the end of the deadline slot. 2020-01-01 = Wednesday.
write_jobs_2() { # $1 = file
    awk -F, "$AWK_ISO"'
        function at9(day) { return day * 48 + 18 }
        function next_workday(f,    day, tod, wd, h) {
            day = int(f / 48); tod = f - day * 48; wd = (2 + day) % 7; h = tod / 2
            if (wd == 5) return at9(day + 2)
            if (wd == 6 || h > 17) return at9(day + 1)
            if (h < 9) return at9(day)
            return f
        }
        function semi_weekly(f,    day, tod, wd, h) {
            day = int(f / 48); tod = f - day * 48; wd = (2 + day) % 7; h = tod / 2
            if ((wd == 0 && h > 9) || wd == 1 || wd == 2 || (wd == 3 && h <= 9))
                return at9(day + (7 - wd + 3) % 7)
            return at9(day + (7 - wd) % 7)
        }
        function job(id, a, d, dl, intr) {
            printf "%s,s,general,1,%d,%s,%s,%s\n", id, d * 1800, iso(a), iso(dl + 1), intr
        }
        BEGIN { print "id,origin,class,units,duration,earliest,deadline,interruptible" }
        FNR == 1 { next }
        {
            if ($2 % 30 || $3 % 30) { print "validate-lwa: job " $1 " is not on the 30-minute grid" > "/dev/stderr"; exit 1 }
            a = $2 / 30; d = $3 / 30; f = a + d
            job("b-" $1, a, d, f, "false")
            nw = next_workday(f); sw = semi_weekly(f)
            job("nwn-" $1, a, d, nw, "false")
            job("nwi-" $1, a, d, nw, "true")
            job("swn-" $1, a, d, sw, "false")
            job("swi-" $1, a, d, sw, "true")
        }' "$LWA/derived/scenario2_ml_jobs_3387.csv" >"$1"
}

# Sums carbon by group from a --jobs-out file (columns id,status,...,carbon_kg at 9); the group
# is the id up to the first '-'. Fails on any job that is not placed.
sum_carbon() { # $1 = jobs-out csv
    awk -F, 'NR == 1 { next }
        $2 != "placed" { printf "validate-lwa: %s: job %s is %s\n", FILENAME, $1, $2 > "/dev/stderr"; bad = 1; next }
        { split($1, p, "-"); s[p[1]] += $9; n[p[1]]++ }
        END { for (g in s) printf "%s %.17g %d\n", g, s[g], n[g]; exit bad }' "$1"
}

run_sim() { # $1 = region dir, $2 = jobs, $3 = forecast dir or "", $4 = out
    if [ -n "$3" ]; then
        "$BIN" sim --network "$1/net.json" --signals "$1/actual" --forecast "$3" --jobs "$2" \
            --policy green --jobs-out "$4" >"$4.log" 2>&1
    else
        "$BIN" sim --network "$1/net.json" --signals "$1/actual" --jobs "$2" --policy green \
            --jobs-out "$4" >"$4.log" 2>&1
    fi || { echo "validate-lwa: cpnet sim failed:"; cat "$4.log"; return 1; }
    # the independent checker must find no violation (column viol of the table)
    awk '$1 == "green" && $5 != 0 { bad = 1 } END { exit bad }' "$4.log" ||
        { echo "validate-lwa: $4: the checker found violations:"; cat "$4.log"; return 1; }
    sum_carbon "$4" >"$4.sum"
}

RESULTS=$WORK/results.txt
: >"$RESULTS"
status=0
write_jobs_1 "$WORK/jobs1.csv" || exit 1
write_jobs_2 "$WORK/jobs2.csv" || exit 1

for region in ger gb fr; do
    case $region in
    ger) want=17999 ;;
    gb) want=18000 ;;
    fr) want=17998 ;;
    esac
    R=$WORK/$region
    mkdir -p "$R"
    write_network "$R/net.json"
    convert_series "$LWA/${region}_ci.csv" "$R" "$want" || exit 1
    for run in err0 $SEEDS; do
        if [ "$run" = err0 ]; then fc=""; else fc="$R/fc$run"; fi
        run_sim "$R" "$WORK/jobs1.csv" "$fc" "$R/s1-$run.csv" || exit 1
        run_sim "$R" "$WORK/jobs2.csv" "$fc" "$R/s2-$run.csv" || exit 1
        rm -f "$R/s1-$run.csv" "$R/s2-$run.csv"
    done
    # Scenario I: avg_ci(w) = sum of CI at the chosen slots / 365 (1 kWh per job: CI = 1000 x kg)
    awk -v region="$region" -v dir="$R" '
        FILENAME ~ /expected/ { if ($1 == region) { e0[$2 + 0] = $3; e5[$2 + 0] = $5 }; next }
        {
            w = substr($1, 2) + 0; run = FILENAME; sub(/.*s1-/, "", run); sub(/\.csv\.sum$/, "", run)
            ci = $2 * 1000 / 365
            if (run == "err0") m0[w] = ci; else { m5[w] += ci / 10; n5[w]++ }
        }
        END {
            for (w = 0; w <= 16; w++) {
                printf "I %s w=%02d_err0 %.17g %.17g\n", region, w, e0[w], m0[w]
                if (n5[w] != 10) m5[w] = "nan"
                printf "I %s w=%02d_err5 %.17g %.17g\n", region, w, e5[w], m5[w]
            }
        }' FS=, "$LWA/expected/scenario1_nightly_expected.csv" FS=' ' "$R"/s1-*.csv.sum >>"$RESULTS"
    # Scenario II: saving % = 100 x (1 - emissions / baseline emissions); the baseline is decided
    # on the actual CI (the err0 run) for both cases.
    awk -v region="$region" '
        FILENAME ~ /expected/ {
            if ($1 == region) {
                c = ($2 == "next_workday" ? "nw" : "sw") ($3 == "True" ? "i" : "n")
                e0[c] = $4; e5[c] = $5
            }
            next
        }
        {
            run = FILENAME; sub(/.*s2-/, "", run); sub(/\.csv\.sum$/, "", run)
            if (run == "err0") { if ($1 == "b") base = $2; else c0[$1] = $2 }
            else if ($1 != "b") { c5[$1] += $2 / 10; n5[$1]++ }
        }
        END {
            split("nwn nwi swn swi", cs, " ")
            for (k = 1; k <= 4; k++) {
                c = cs[k]
                printf "II %s %s_err0 %.17g %.17g\n", region, c, e0[c], 100 * (1 - c0[c] / base)
                printf "II %s %s_err5 %.17g %.17g\n", region, c, e5[c], n5[c] == 10 ? 100 * (1 - c5[c] / base) : "nan"
            }
        }' FS=, "$LWA/expected/scenario2_ml_expected.csv" FS=' ' "$R"/s2-*.csv.sum >>"$RESULTS"
done

awk '
    BEGIN { printf "%-8s %-6s %-12s %20s %20s %11s %s\n", "scenario", "region", "case", "expected", "measured", "diff", "ok" }
    {
        e = $4 + 0; m = $5 + 0
        if ($1 == "I") { d = e != 0 ? (m - e) / e : m - e; ok = ($5 != "nan" && d <= 1e-6 && d >= -1e-6); unit = "rel" }
        else { d = m - e; ok = ($5 != "nan" && d <= 0.05 && d >= -0.05); unit = "pp" }
        printf "%-8s %-6s %-12s %20.12g %20.12g %+11.3g %s\n", $1, $2, $3, e, m, d, ok ? "ok" : "FAIL (" unit ")"
        n++; if (!ok) bad++
    }
    END {
        printf "validate-lwa: %d figures, %d outside the tolerance (I: 1e-6 relative, II: 0.05 pp)\n", n, bad
        exit bad ? 1 : 0
    }' "$RESULTS" || status=1
exit $status
