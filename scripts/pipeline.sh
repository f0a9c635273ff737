#!/usr/bin/env bash
# Consumer processes of the local platform (the data path's workers), one per replica.
#
#   scripts/pipeline.sh start [N]   start N consumers (default $CONSUMERS or 2), wait until ready
#   scripts/pipeline.sh stop        graceful stop (SIGTERM: finish the batch, leave the group)
#   scripts/pipeline.sh status      one line per consumer
#   scripts/pipeline.sh env         the environment the consumers run with (no secret values)
#
# Consumer i serves its metrics on 127.0.0.1:$((9464 + i - 1)). PUBLIC_STORE=dynamodb|postgres
# picks the public store (default dynamodb). The identity HMAC secret is generated once into
# .local/secrets/ (never in git) unless IDENTITY_HMAC_SECRET is set. CONSUMER_NODE_ARGS go to node
# (e.g. `--cpu-prof --cpu-prof-dir=reports/profiles`, as `make profile` does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOCAL="$ROOT/.local"
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"
SECRET_FILE="$LOCAL/secrets/identity-hmac.key"
METRICS_BASE_PORT="${METRICS_BASE_PORT:-9464}"
STOP_TIMEOUT="${PIPELINE_STOP_TIMEOUT:-40}"

SCRIPT_NAME=pipeline
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


ensure_secret() {
  if [[ -z "${IDENTITY_HMAC_SECRET:-}" ]]; then
    if [[ ! -s "$SECRET_FILE" ]]; then
      mkdir -p "$(dirname "$SECRET_FILE")"
      (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))' > "$SECRET_FILE")
    fi
    IDENTITY_HMAC_SECRET="$(cat "$SECRET_FILE")"
  fi
  export IDENTITY_HMAC_SECRET
}

load_env() {
  eval "$("$ROOT/scripts/platform.sh" env)"
  export PUBLIC_STORE="${PUBLIC_STORE:-dynamodb}"
  # dynalite accepts any credentials; real AWS endpoints take them from the usual AWS variables.
  export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}" AWS_REGION="${AWS_REGION:-us-east-1}"
  ensure_secret
}

consumer_pids() { ls "$RUN_DIR"/consumer-*.pid 2>/dev/null || true; }
running_consumers() { local f; for f in $(consumer_pids); do alive "$f" && echo "$f"; done; }

# Writes every patient's current state into the public store about to be used. It takes as long
# as the store needs for that many writes (the DynamoDB API on dynalite: about a thousand a second
# on a two-core box), so say how many, and show how far it got.
backfill() { # the previous public store
  local patients log="$LOG_DIR/backfill.log" pid from=1
  patients="$(psql "$ADMIN_DATABASE_URL" -XAtc "SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'ingest.patient_state'::regclass" 2>/dev/null || echo '?')"
  say "public store changed from $1 to $PUBLIC_STORE: backfilling it from the master store (≈ $patients patients; make reset first for an empty one)"
  [[ -f "$log" ]] && from=$(($(wc -l < "$log") + 1))
  node "$ROOT/consumer/dist/backfill-main.js" >> "$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null &&
      say "backfill: $(tail -n "+$from" "$log" | grep -o '"written":[0-9]*' | tail -n 1 | cut -d: -f2 || true) of ≈ $patients written"
  done
  wait "$pid" || die "backfill failed; see $log"
}

start() {
  local n="${1:-${CONSUMERS:-2}}"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "replica count must be a positive integer, got '$n'"
  load_env
  [[ -f "$ROOT/consumer/dist/main.js" ]] || (cd "$ROOT" && npx tsc -b)
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # Consumers keep only the public store they write up to date: when the store changes since the
  # last start, bring the new one up to date from the master store first.
  local marker="$RUN_DIR/public-store.kind"
  if [[ -f "$marker" && "$(cat "$marker")" != "$PUBLIC_STORE" ]] && [[ -z "$(running_consumers)" ]]; then
    backfill "$(cat "$marker")"
  fi
  echo "$PUBLIC_STORE" > "$marker"
  local i started=()
  for ((i = 1; i <= n; i++)); do
    local pidf="$RUN_DIR/consumer-$i.pid" port=$((METRICS_BASE_PORT + i - 1))
    if alive "$pidf"; then say "consumer-$i already running (pid $(cat "$pidf"))"; continue; fi
    METRICS_PORT="$port" KAFKA_CLIENT_ID="consumer-$i" \
      nohup node ${CONSUMER_NODE_ARGS:-} "$ROOT/consumer/dist/main.js" >> "$LOG_DIR/consumer-$i.log" 2>&1 < /dev/null &
    echo $! > "$pidf"
    started+=("$i")
  done
  for i in "${started[@]}"; do
    local port=$((METRICS_BASE_PORT + i - 1)) deadline=$((SECONDS + 60))
    until curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; do
      alive "$RUN_DIR/consumer-$i.pid" || die "consumer-$i exited; see $LOG_DIR/consumer-$i.log"
      ((SECONDS < deadline)) || die "consumer-$i not ready after 60 s; see $LOG_DIR/consumer-$i.log"
      sleep 0.2
    done
    say "consumer-$i ready (pid $(cat "$RUN_DIR/consumer-$i.pid"), metrics http://127.0.0.1:$port/metrics, public store $PUBLIC_STORE)"
  done
}

stop() {
  local f pids=()
  for f in $(consumer_pids); do
    if alive "$f"; then kill -TERM "$(cat "$f")" && pids+=("$(cat "$f")"); fi
  done
  local deadline=$((SECONDS + STOP_TIMEOUT)) p
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null; do
      if ((SECONDS >= deadline)); then kill -KILL "$p" 2>/dev/null || true; say "consumer pid $p killed after ${STOP_TIMEOUT}s"; break; fi
      sleep 0.2
    done
  done
  rm -f "$RUN_DIR"/consumer-*.pid
  ((${#pids[@]} == 0)) || say "stopped ${#pids[@]} consumer(s)"
}

status() {
  local f any=0
  for f in $(consumer_pids); do
    any=1
    local name; name="$(basename "$f" .pid)"
    if alive "$f"; then say "$name running (pid $(cat "$f"))"; else say "$name stopped (stale pid file)"; fi
  done
  ((any)) || say "no consumers"
}

metrics_urls() {
  local f urls=()
  for f in $(consumer_pids); do
    local i="${f##*/consumer-}"; i="${i%.pid}"
    alive "$f" && urls+=("http://127.0.0.1:$((METRICS_BASE_PORT + i - 1))/metrics")
  done
  (IFS=,; echo "${urls[*]}")
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  restart) shift; stop; start "$@" ;;
  status) status ;;
  metrics-urls) metrics_urls ;;
  env) load_env; printf 'export PUBLIC_STORE=%q\n' "$PUBLIC_STORE"; printf 'export IDENTITY_HMAC_SECRET_FILE=%q\n' "$SECRET_FILE" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
