#!/usr/bin/env bash
# `make bench`: the pipeline's figures on both public stores, and a raw COPY baseline.
# BENCH_STORES (default "postgres dynamodb"), BENCH_SCENARIOS (default all), CONSUMERS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
eval "$(scripts/platform.sh env)"
mkdir -p reports
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="reports/bench-$stamp.txt"
for store in ${BENCH_STORES:-postgres dynamodb}; do
  PUBLIC_STORE="$store" scripts/pipeline.sh restart "${CONSUMERS:-2}" > /dev/null
  CONSUMER_METRICS_URLS="$(scripts/pipeline.sh metrics-urls)" PUBLIC_STORE="$store" BENCH_REPORT_JSON="reports/bench-$stamp-$store.json" \
    node testkit/dist/bench/pipeline.js | tee -a "$out"
done
echo "bench: figures saved in $out"
