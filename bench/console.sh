#!/usr/bin/env bash
# Console benchmark: a store with 10,000 assets and 1,000,000 events (plus 100,000 flows and
# 20,000 alerts); times every page and API list through the router, p50 and p99.
# Budget (issue "Web console and sluice demo"): pages < 200 ms, API list pages < 50 ms.
# Scale with SLUICE_BENCH_ASSETS, SLUICE_BENCH_EVENTS, SLUICE_BENCH_ALERTS, SLUICE_BENCH_REPS.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p sluice-console --bench console "$@"
