#!/usr/bin/env bash
# The seed's validation against the running local platform and consumers (see `make validate`).
# Arguments go to `intake-loadgen validate` (--count, --seed, --payload-bytes, --wait-seconds).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
eval "$("$ROOT/scripts/platform.sh" env)"
eval "$("$ROOT/scripts/pipeline.sh" env)"
IDENTITY_HMAC_SECRET="$(cat "$IDENTITY_HMAC_SECRET_FILE")"
CONSUMER_METRICS_URLS="$("$ROOT/scripts/pipeline.sh" metrics-urls)"
[[ -n "$CONSUMER_METRICS_URLS" ]] || { echo "validate: no consumer is running; run 'make start' first" >&2; exit 1; }
export IDENTITY_HMAC_SECRET CONSUMER_METRICS_URLS
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}" AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
cd "$ROOT"
exec node loadgen/dist/cli.js validate "$@"
