#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make demo: the national simulation on the bundled reference network (data/china/network.json):
# a week of synthetic signals and synthetic demand (seeded, so every run prints the same table),
# placed under every policy, compared in one table. Inputs and per-job results land in build/demo.
set -eu
BIN=${1:-build/cpnet}
D=build/demo
NET=data/china/network.json
mkdir -p "$D"
echo "cpnet demo: the East Data West Computing reference network ($NET)"
echo "  8 hubs, 10 clusters, 8 demand cities; signals and demand are SYNTHETIC (seeded), see docs/reference-data.md"
"$BIN" gen signals --network "$NET" --seed 2025 --start 2025-06-02T00:00:00Z --days 10 --out "$D/signals" >/dev/null
"$BIN" gen demand --network "$NET" --seed 1 --start 2025-06-02T00:00:00Z --days 7 --out "$D/jobs.csv"
echo
"$BIN" sim --network "$NET" --signals "$D/signals" --forecast-error 10 --seed 1 \
    --jobs "$D/jobs.csv" --policy green --compare nearest,cheapest,greenest-now,green \
    --jobs-out "$D/jobs-out.csv" --clusters-out "$D/clusters-out.csv"
echo
echo "Per-job placements: $D/jobs-out.csv; per-cluster hours: $D/clusters-out.csv"
echo "Decisions used a forecast with 10 % error; emissions were accounted with the actual signals."
