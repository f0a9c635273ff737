#!/usr/bin/env bash
# A local Prometheus (Debian's package) with the platform's alert rules, scraping the local
# consumers and operator: what `make observe` starts, and what monitoring.e2e.ts proves every
# alert and dashboard query against. Data, config and logs under <repo>/.local/prometheus/.
#
#   scripts/observe.sh up                      install Prometheus if missing, write the config and
#                                              the rules (cdk8s/src/monitoring), start it, wait
#   scripts/observe.sh targets JOB ADDR...     scrape these host:port addresses as JOB
#                                              (intake-consumer or ingest-operator)
#   scripts/observe.sh down                    stop it (data kept)
#   scripts/observe.sh url                     its address
#
# Environment: PROMETHEUS_PORT (default in platform/ports.env).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DIR="$ROOT/.local/prometheus"
SCRIPT_NAME=observe
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_ports
PORT="$PROMETHEUS_PORT"
HOST=127.0.0.1
PID_FILE="$DIR/prometheus.pid"

ready() { curl -fsS "http://$HOST:$PORT/-/ready" >/dev/null 2>&1; }

install() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && return
  command -v apt-get >/dev/null 2>&1 || die "prometheus is missing and apt-get is not here: install Prometheus 2 (prometheus, promtool)"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "prometheus missing and not root: apt-get install -y prometheus"
    sudo=(sudo)
  fi
  say "installing prometheus (apt-get; Debian's package)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
  # The package's service is not used (no systemd here, and none is wanted): this script runs it.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null ||
    die "apt-get install prometheus failed"
}

write_config() {
  mkdir -p "$DIR/data" "$DIR/targets"
  for job in intake-consumer ingest-operator; do
    [[ -f $DIR/targets/$job.json ]] || echo '[]' >"$DIR/targets/$job.json"
  done
  [[ -f $ROOT/cdk8s/dist/monitoring/cli.js ]] || die "cdk8s is not built: run make build"
  node "$ROOT/cdk8s/dist/monitoring/cli.js" rules >"$DIR/rules.yml"
  promtool check rules "$DIR/rules.yml" >/dev/null || die "promtool check rules failed on $DIR/rules.yml"
  cat >"$DIR/prometheus.yml" <<YAML
# Written by scripts/observe.sh: the local platform's consumers and operator, every 2 s.
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - $DIR/rules.yml
scrape_configs:
  - job_name: intake-consumer
    file_sd_configs: [{ files: ['$DIR/targets/intake-consumer.json'], refresh_interval: 2s }]
  - job_name: ingest-operator
    file_sd_configs: [{ files: ['$DIR/targets/ingest-operator.json'], refresh_interval: 2s }]
YAML
}

up() {
  install
  write_config
  if alive "$PID_FILE"; then
    curl -fsS -X POST "http://$HOST:$PORT/-/reload" >/dev/null 2>&1 || kill -HUP "$(cat "$PID_FILE")"
  else
    say "starting prometheus on $HOST:$PORT"
    nohup prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
      --web.listen-address="$HOST:$PORT" --web.enable-lifecycle --storage.tsdb.retention.time=2d \
      >"$DIR/prometheus.log" 2>&1 &
    echo $! >"$PID_FILE"
  fi
  for _ in $(seq 1 60); do
    ready && { say "ready: http://$HOST:$PORT (rules: $DIR/rules.yml)"; return; }
    alive "$PID_FILE" || die "prometheus exited; see $DIR/prometheus.log"
    sleep 0.5
  done
  die "prometheus not ready after 30 s; see $DIR/prometheus.log"
}

targets() {
  local job=$1
  shift
  [[ $job == intake-consumer || $job == ingest-operator ]] || die "unknown job '$job' (intake-consumer or ingest-operator)"
  mkdir -p "$DIR/targets"
  local list="" a
  for a in "$@"; do list+="${list:+, }\"$a\""; done
  printf '[{"targets": [%s], "labels": {"source": "local"}}]\n' "$list" >"$DIR/targets/$job.json.tmp"
  mv "$DIR/targets/$job.json.tmp" "$DIR/targets/$job.json"
}

down() {
  if alive "$PID_FILE"; then
    local pid
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    say "stopped"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  up) up ;;
  targets) shift; targets "$@" ;;
  down) down ;;
  url) echo "http://$HOST:$PORT" ;;
  *) die "usage: scripts/observe.sh up|targets JOB ADDR...|down|url" ;;
esac
