#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# One-off: derives the parameters of the synthetic generators (src/gen/gen_params.c) from the shared
# traces and prints them as C initialisers. It reads ../shared/traces (GAIA, Alibaba GPU, Philly) and
# ../shared/validation/lwa (GB, FR wind generation 2020) and prints only aggregates: quantile
# tables, probabilities, monthly/diurnal factors, a standard deviation and an autocorrelation. No
# trace row is printed or copied. Run it from the project root:
#   python3 scripts/derive-demand-params.py [SHARED_DIR]
# Standard library only, so it runs on a bare Python 3.
import csv
import math
import os
import sys

SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared")

# Quantile levels of the empirical tables: 21 points from 0.5 % to 99.5 % (the extreme ranks are
# left out so that no single trace row becomes a table entry).
LEVELS = [0.005] + [i / 20 for i in range(1, 20)] + [0.995]


def quantile(sorted_vals, p):
    """Linear interpolation between order statistics (numpy's default 'linear' method)."""
    n = len(sorted_vals)
    h = (n - 1) * p
    lo = int(math.floor(h))
    hi = min(lo + 1, n - 1)
    return sorted_vals[lo] + (h - lo) * (sorted_vals[hi] - sorted_vals[lo])


def read_col(path, name, scale=1.0):
    with open(path, newline="") as f:
        return [float(r[name]) * scale for r in csv.DictReader(f)]


def lognormal_fit(vals):
    logs = [math.log(v) for v in vals if v > 0]
    mu = sum(logs) / len(logs)
    sd = math.sqrt(sum((x - mu) ** 2 for x in logs) / (len(logs) - 1))
    return mu, sd


def print_table(cname, vals, unit, note):
    s = sorted(v for v in vals if v > 0)
    mu, sd = lognormal_fit(s)
    print(f"/* {note}: n={len(s)}, median {quantile(s, 0.5):.1f} {unit}, mean "
          f"{sum(s) / len(s):.1f} {unit}, lognormal fit mu={mu:.4f} sigma={sd:.4f} */")
    qs = ", ".join(f"{quantile(s, p):.6g}" for p in LEVELS)
    print(f"static const double {cname}[CPN_GEN_QN] = {{ {qs} }};")
    print()


def demand():
    tr = os.path.join(SHARED, "traces")
    philly = read_col(os.path.join(tr, "alibaba-gpu", "philly_runtime.csv"), "runtime")
    print_table("q_philly_runtime_s", philly, "s",
                "Philly DL job runtimes (alibaba-gpu/philly_runtime.csv), runtime > 0")
    pai1k = read_col(os.path.join(tr, "gaia", "pai_1k.csv"), "length")
    print_table("q_pai1k_length_s", pai1k, "s", "GAIA pai_1k.csv job lengths (seconds)")
    pai = read_col(os.path.join(tr, "gaia", "pai-100k.csv"), "length", 3600.0)
    print_table("q_pai100k_length_s", pai, "s", "GAIA pai-100k.csv job lengths (hours -> s)")
    az = read_col(os.path.join(tr, "gaia", "azure-100k.csv"), "length", 3600.0)
    print_table("q_azure100k_length_s", az, "s", "GAIA azure-100k.csv job lengths (hours -> s)")
    pcpu = read_col(os.path.join(tr, "gaia", "pai-100k.csv"), "cpus")
    print_table("q_pai100k_cpus", pcpu, "cpus", "GAIA pai-100k.csv cpus per job")
    acpu = read_col(os.path.join(tr, "gaia", "azure-100k.csv"), "cpus")
    print_table("q_azure100k_cpus", acpu, "cpus", "GAIA azure-100k.csv cpus per job")

    # GPU count per pod, GPU pods only; a fractional (shared) GPU counts as one device.
    counts = {}
    with open(os.path.join(tr, "alibaba-gpu", "openb_pod_list_default.csv"), newline="") as f:
        for r in csv.DictReader(f):
            g = int(r["num_gpu"])
            if g > 0:
                counts[g] = counts.get(g, 0) + 1
    tot = sum(counts.values())
    print(f"/* Alibaba openb_pod_list_default.csv: GPU pods n={tot}; P(num_gpu = k) */")
    ks = sorted(counts)
    print("static const int openb_gpu_k[] = { " + ", ".join(str(k) for k in ks) + " };")
    print("static const double openb_gpu_p[] = { " +
          ", ".join(f"{counts[k] / tot:.6f}" for k in ks) + " };")
    print()


def hourly_wind(path):
    """Hourly mean wind generation (all Wind* columns) over 2020, keyed by (month, hour)."""
    acc = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        wi = [i for i, c in enumerate(head) if c.startswith("Wind")]
        for row in r:
            ts = row[0]
            if not ts.startswith("2020"):
                continue
            key = ts[:13]  # "2020-MM-DD HH"
            v = sum(float(row[i] or 0) for i in wi)
            s = acc.setdefault(key, [0.0, 0])
            s[0] += v
            s[1] += 1
    keys = sorted(acc)
    out = [[int(k[5:7]), int(k[11:13]), acc[k][0] / acc[k][1]] for k in keys]
    # The GB file has isolated metering glitches (an hour at a few % of its neighbours, e.g.
    # 2020-01-03 02:00). An hour below half (or above twice) both neighbours, while the neighbours
    # agree within 30 %, is replaced by their mean; the count is printed.
    fixed = 0
    for i in range(1, len(out) - 1):
        a, v, b = out[i - 1][2], out[i][2], out[i + 1][2]
        if abs(a - b) <= 0.3 * max(a, b) and (v < 0.5 * min(a, b) or v > 2 * max(a, b)):
            out[i][2] = (a + b) / 2
            fixed += 1
    print(f"/* {os.path.basename(path)}: {fixed} isolated glitch hours replaced by the mean of "
          f"their neighbours */")
    return out


def wind_params(name, series):
    vals = [v for _, _, v in series]
    mean = sum(vals) / len(vals)
    s = sorted(vals)
    cap = quantile(s, 0.995)
    month = []
    for m in range(1, 13):
        mv = [v for mm, _, v in series if mm == m]
        month.append(sum(mv) / len(mv) / mean)
    hour = []
    for h in range(24):
        hv = [v / month[mm - 1] for mm, hh, v in series if hh == h]
        hour.append(sum(hv) / len(hv) / mean)
    hm = sum(hour) / 24
    hour = [x / hm for x in hour]
    anom = [v / (mean * month[mm - 1] * hour[hh]) - 1 for mm, hh, v in series]
    am = sum(anom) / len(anom)
    var = sum((a - am) ** 2 for a in anom) / (len(anom) - 1)

    def acf(k):
        return sum((anom[i] - am) * (anom[i + k] - am) for i in range(len(anom) - k)) / (
            (len(anom) - 1) * var)

    # A single AR(1) cannot match both the 1-hour and the 1-day correlation of aggregated wind
    # (the 1-hour one is higher). The generator uses phi = acf(24)^(1/24), which keeps the
    # day-scale persistence right: that is what decides whether work can wait for wind.
    r1, r24 = acf(1), acf(24)
    phi = r24 ** (1 / 24)
    print(f"/* {name}: {len(vals)} hours of 2020; mean/p99.5 capacity proxy = {mean / cap:.4f}; "
          f"relative anomaly std {math.sqrt(var):.4f}, autocorrelation lag 1 h {r1:.4f}, "
          f"lag 24 h {r24:.4f}, phi = acf(24)^(1/24) = {phi:.4f} */")
    return month, hour, math.sqrt(var), phi, r1


def wind():
    lwa = os.path.join(SHARED, "validation", "lwa")
    gb = wind_params("GB wind (onshore + offshore)", hourly_wind(os.path.join(lwa, "gb_production.csv")))
    fr = wind_params("FR wind (onshore)", hourly_wind(os.path.join(lwa, "fr_production.csv")))
    month = [(a + b) / 2 for a, b in zip(gb[0], fr[0])]
    hour = [(a + b) / 2 for a, b in zip(gb[1], fr[1])]
    print("/* Mean of GB and FR: monthly factor (Jan..Dec), diurnal factor (hour 0..23 of the")
    print("   timestamps), relative anomaly std, hourly AR(1) coefficient (from the 24 h lag) and the")
    print(f"   measured lag-1 autocorrelation {(gb[4] + fr[4]) / 2:.4f} for reference */")
    print("static const double wind_month[12] = { " + ", ".join(f"{x:.4f}" for x in month) + " };")
    print("static const double wind_hour[24] = { " + ", ".join(f"{x:.4f}" for x in hour) + " };")
    print(f"#define WIND_ANOM_STD  {(gb[2] + fr[2]) / 2:.4f}")
    print(f"#define WIND_ANOM_PHI  {(gb[3] + fr[3]) / 2:.4f}")
    print()


if __name__ == "__main__":
    print(f"/* generated by scripts/derive-demand-params.py from {SHARED} */")
    demand()
    wind()
