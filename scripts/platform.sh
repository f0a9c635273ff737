#!/usr/bin/env bash
# The local platform: Kafka (KRaft, one node), PostgreSQL 15, Redis and dynalite (DynamoDB API),
# all on 127.0.0.1, with every data file, log and pid file under <repo>/.local/.
#
#   scripts/platform.sh up       install what is missing, start what is not running, wait until
#                                everything answers, apply new DB migrations, create topics/table
#   scripts/platform.sh down     stop everything this script started (data kept)
#   scripts/platform.sh status   one line per server (exit 0 if all run, 3 otherwise)
#   scripts/platform.sh reset    down, then delete the servers' data and logs (Kafka jars kept)
#   scripts/platform.sh env      the endpoints as export lines: eval "$(scripts/platform.sh env)"
#   scripts/platform.sh restart SERVICE   stop one server and start it again, data kept (the fault
#                                suite's restarts: kafka, postgres, redis or dynalite)
#
# Environment: KAFKA_HEAP (default 1g), KAFKA_JIT_OPTS (default -XX:TieredStopAtLevel=1; empty
# for the JVM's default, see start_kafka), PLATFORM_START_TIMEOUT (s, default 120),
# PLATFORM_STOP_TIMEOUT (s, default 20), INTAKE_TOPIC, DLQ_TOPIC, PARTITIONS, PUBLIC_TABLE,
# PG_BIN (directory of the PostgreSQL binaries; default /usr/lib/postgresql/15/bin).
# Works as root (PostgreSQL then runs as the OS user postgres) and as an ordinary user.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOCAL="$ROOT/.local"
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"
KAFKA_DIR="$LOCAL/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
PG_DIR="$LOCAL/pg"
PG_DATA="$PG_DIR/data"
PG_SOCK_DIR="$PG_DIR/run"
PG_LOGS="$PG_DIR/log"
REDIS_DIR="$LOCAL/redis"
DYNALITE_DIR="$LOCAL/dynalite"
# A local CA and a server certificate for localhost, made once (openssl): PostgreSQL and Redis
# serve TLS with it, so that the integration tests prove the verified connections
# (sslmode=verify-full, rediss://) the Kubernetes manifests generate.
TLS_DIR="$LOCAL/tls"
MIGRATIONS_DIR="$ROOT/db/migrations"

HOST=127.0.0.1
DB_NAME=clinical

KAFKA_HEAP="${KAFKA_HEAP:-1g}"
KAFKA_JIT_OPTS="${KAFKA_JIT_OPTS--XX:TieredStopAtLevel=1}"
START_TIMEOUT="${PLATFORM_START_TIMEOUT:-120}"
STOP_TIMEOUT="${PLATFORM_STOP_TIMEOUT:-20}"
INTAKE_TOPIC="${INTAKE_TOPIC:-intake.records.v1}"
DLQ_TOPIC="${DLQ_TOPIC:-intake.records.v1.dlq}"
PARTITIONS="${PARTITIONS:-6}"
PUBLIC_TABLE="${PUBLIC_TABLE:-public_patients}"

SERVICES=(kafka postgres redis dynalite)
LOCK_FD=9

# ---------------------------------------------------------------------------------------------
# helpers

SCRIPT_NAME=platform
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The ports: platform/ports.env, or the environment (PLATFORM_PG_PORT=25432 ...).
load_ports
KAFKA_PORT=$PLATFORM_KAFKA_PORT
KAFKA_CONTROLLER_PORT=$PLATFORM_KAFKA_CONTROLLER_PORT
PG_PORT=$PLATFORM_PG_PORT
REDIS_PORT=$PLATFORM_REDIS_PORT
# The same Redis over TLS (certificate from $TLS_DIR): what the cluster's consumers use.
REDIS_TLS_PORT=$PLATFORM_REDIS_TLS_PORT
DYNALITE_PORT=$PLATFORM_DYNALITE_PORT

is_root() { [[ $(id -u) -eq 0 ]]; }

need_cmd() { # name, what it is for
  command -v "$1" >/dev/null 2>&1 || die "missing prerequisite: '$1' not found on PATH ($2)"
}

# The last lines of a log, to stderr, after a failure.
show_log_tail() { # file
  [[ -s $1 ]] || return 0
  printf -- '---- last lines of %s ----\n' "$1" >&2
  tail -n 25 "$1" >&2 || true
  printf -- '----\n' >&2
}

cmdline_of() { # pid -> its command line, space separated (empty for a zombie or a gone process)
  [[ -r /proc/$1/cmdline ]] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

# A pid is ours only when it is alive and its command line matches the service's pattern, so a
# stale pid file whose number was reused by another process is never trusted.
service_pattern() {
  case $1 in
    kafka) printf '%s' "*kafka.Kafka $KAFKA_PROPS*" ;;
    postgres) printf '%s' "*postgres*-D $PG_DATA*" ;;
    redis) printf '%s' "*redis-server*:$REDIS_PORT*" ;;
    dynalite) printf '%s' "*$ROOT/node_modules/dynalite/cli.js --host $HOST --port $DYNALITE_PORT*" ;;
  esac
}

pid_matches() { # pid service
  local pid=$1 cmd pattern
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd="$(cmdline_of "$pid")"
  [[ -n $cmd ]] || return 1
  pattern="$(service_pattern "$2")"
  # shellcheck disable=SC2053  # the pattern is a glob on purpose
  [[ $cmd == $pattern ]]
}

pid_file() { printf '%s' "$RUN_DIR/$1.pid"; }

# Prints the pid of the running service; fails when it is not running.
running_pid() { # service
  local pid=""
  if [[ $1 == postgres ]]; then
    [[ -r $PG_DATA/postmaster.pid ]] && pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  else
    [[ -r $(pid_file "$1") ]] && pid="$(head -n 1 "$(pid_file "$1")" 2>/dev/null || true)"
  fi
  pid_matches "$pid" "$1" || return 1
  printf '%s' "$pid"
}

endpoint_of() {
  case $1 in
    kafka) printf '%s' "$HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)" ;;
    postgres) printf '%s' "postgres://$HOST:$PG_PORT/$DB_NAME" ;;
    redis) printf '%s' "redis://$HOST:$REDIS_PORT" ;;
    dynalite) printf '%s' "http://$HOST:$DYNALITE_PORT" ;;
  esac
}

port_of() {
  case $1 in
    kafka) printf '%s' "$KAFKA_PORT" ;;
    postgres) printf '%s' "$PG_PORT" ;;
    redis) printf '%s' "$REDIS_PORT" ;;
    dynalite) printf '%s' "$DYNALITE_PORT" ;;
  esac
}

log_of() {
  case $1 in
    kafka) printf '%s' "$LOG_DIR/kafka.log" ;;
    postgres) printf '%s' "$LOG_DIR/postgres.log" ;;
    redis) printf '%s' "$LOG_DIR/redis.log" ;;
    dynalite) printf '%s' "$LOG_DIR/dynalite.log" ;;
  esac
}

port_open() { # port: something accepts TCP connections on 127.0.0.1:port
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

port_owner() { # port: a description of who listens there (best effort)
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | tr '\n' ' '
  fi
}

require_port_free() { # port service
  if port_open "$1"; then
    die "port $1 (for $2) is already in use by a process this script did not start: $(port_owner "$1")"
  fi
}

# Runs a command as the OS user that owns PostgreSQL's data (postgres when we are root).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Waits until check_fn succeeds; fails early when the service's process is gone.
wait_until() { # service description check_fn...
  local svc=$1 what=$2
  shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    if ! running_pid "$svc" >/dev/null; then
      show_log_tail "$(log_of "$svc")"
      die "$svc exited while starting (waiting for $what); see $(log_of "$svc")"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$(log_of "$svc")"
      die "$svc did not answer ($what) within ${START_TIMEOUT}s; see $(log_of "$svc")"
    fi
    sleep 0.3
  done
}

# Servers must not keep the caller's file descriptors (our lock, a CI runner's pipes) open: the
# shell that execs a server first closes every descriptor above 2.
# shellcheck disable=SC2016  # expanded by the inner shell
CLOSE_FDS='for f in /proc/$$/fd/*; do n=${f##*/}; [[ $n =~ ^[0-9]+$ ]] && ((n > 2)) && eval "exec $n>&-"; done 2>/dev/null;'

clean_exec() { # command...: runs it with only stdin, stdout and stderr open
  # shellcheck disable=SC2016
  bash -c "$CLOSE_FDS"' exec "$@"' clean_exec "$@"
}

# Starts a command in its own session in the background, stdout/stderr appended to its log, and
# records its pid (the pid of the shell that execs the command, so the pid of the command itself).
spawn() { # service command...
  local svc=$1 pidf
  shift
  pidf="$(pid_file "$svc")"
  rm -f "$pidf"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid bash -c "$CLOSE_FDS"' echo $$ >"$0"; exec "$@"' "$pidf" "$@" </dev/null >>"$(log_of "$svc")" 2>&1 &
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $pidf ]] && return 0
    sleep 0.05
  done
  die "could not start $svc (no pid file $pidf); see $(log_of "$svc")"
}

# Stops a process by pid: SIGTERM (to its process group when it leads one), up to STOP_TIMEOUT
# seconds, then SIGKILL.
stop_pid() { # service pid
  local svc=$1 pid=$2 target pgid
  target="$pid"
  pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  [[ $pgid == "$pid" ]] && target="-$pid"
  kill -TERM -- "$target" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_matches "$pid" "$svc"; do
    if ((SECONDS >= deadline)); then
      warn "$svc (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL -- "$target" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.2
  done
  if pid_matches "$pid" "$svc"; then
    die "$svc (pid $pid) could not be stopped"
  fi
}

wait_port_closed() { # port service
  local deadline=$((SECONDS + 10))
  while port_open "$1"; do
    if ((SECONDS >= deadline)); then
      warn "port $1 ($2) is still in use after stopping: $(port_owner "$1")"
      return 1
    fi
    sleep 0.2
  done
}

take_lock() {
  mkdir -p "$RUN_DIR"
  if command -v flock >/dev/null 2>&1; then
    eval "exec $LOCK_FD>\"$RUN_DIR/platform.lock\""
    flock -w 600 "$LOCK_FD" || die "another scripts/platform.sh is running (lock $RUN_DIR/platform.lock)"
  fi
}

# ---------------------------------------------------------------------------------------------
# prerequisites

java_major() {
  local v
  v="$(java -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
  [[ $v == 1.* ]] && v="${v#1.}"
  printf '%s' "${v%%[.+-]*}"
}

check_node() {
  need_cmd node "Node.js >= 20 runs dynalite and scripts/bootstrap.mjs"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "Node.js >= 20 is required, found $(node --version)"
  local m
  for m in kafkajs @aws-sdk/client-dynamodb dynalite; do
    [[ -d $ROOT/node_modules/$m ]] || die "missing node module $m: run 'npm ci' in $ROOT first"
  done
}

check_java() {
  need_cmd java "Java 17+ runs the Kafka broker"
  local major
  major="$(java_major)"
  [[ $major =~ ^[0-9]+$ ]] && ((major >= 17)) || die "Java 17 or newer is required for Kafka, found: $(java -version 2>&1 | head -n 1)"
}

pg_bin_ok() { [[ -x $1/pg_ctl && -x $1/initdb && -x $1/postgres && -x $1/psql && -x $1/pg_isready ]]; }

find_pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then
    pg_bin_ok "$PG_BIN" && { printf '%s' "$PG_BIN"; return 0; }
    die "PG_BIN=$PG_BIN does not hold pg_ctl, initdb, postgres, psql and pg_isready"
  fi
  if pg_bin_ok /usr/lib/postgresql/15/bin; then
    printf '%s' /usr/lib/postgresql/15/bin
    return 0
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n $d ]] && pg_bin_ok "$d"; then
    printf '%s' "$d"
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir)"
    pg_bin_ok "$d" && { printf '%s' "$d"; return 0; }
  fi
  return 1
}

# PostgreSQL and Redis come from the distribution; install them only when they are missing.
ensure_packages() {
  local pkgs=()
  find_pg_bin >/dev/null || pkgs+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  ((${#pkgs[@]})) || return 0
  need_cmd apt-get "needed to install ${pkgs[*]} (PostgreSQL 15 and Redis 7 from Debian)"
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 || die "${pkgs[*]} missing and not root: install them (apt-get install -y ${pkgs[*]}) or run as root"
    sudo=(sudo -n)
  fi
  say "installing ${pkgs[*]} (apt-get)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
    die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" ||
    die "apt-get install ${pkgs[*]} failed"
  find_pg_bin >/dev/null || die "PostgreSQL binaries still not found after installing postgresql (set PG_BIN)"
  need_cmd redis-server "Redis server"
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/platform/kafka/pom.xml" | head -n 1
}

ensure_kafka_libs() {
  local version
  version="$(kafka_version)"
  [[ -n $version ]] || die "cannot read kafka.version from platform/kafka/pom.xml"
  if compgen -G "$KAFKA_LIBS/kafka_2.13-$version.jar" >/dev/null; then
    return 0
  fi
  need_cmd mvn "Maven downloads the Kafka $version jars from Maven Central"
  say "downloading Kafka $version jars (mvn) into $KAFKA_LIBS"
  local tmp="$KAFKA_DIR/libs.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local t0=$SECONDS
  if ! (cd "$ROOT/platform/kafka" &&
    mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null); then
    rm -rf "$tmp"
    die "mvn could not download the Kafka jars (platform/kafka/pom.xml)"
  fi
  compgen -G "$tmp/kafka_2.13-$version.jar" >/dev/null || die "mvn ran but kafka_2.13-$version.jar is missing"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  say "Kafka jars ready ($(ls "$KAFKA_LIBS" | wc -l) files, $((SECONDS - t0))s)"
}

kafka_java() { # main class and arguments
  java -Dlog4j2.configurationFile="$ROOT/platform/kafka/log4j2.yaml" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" "$@"
}

start_kafka() {
  local pid
  if pid="$(running_pid kafka)"; then
    say "kafka already running (pid $pid)"
    return 0
  fi
  rm -f "$(pid_file kafka)"
  check_java
  require_port_free "$KAFKA_PORT" kafka
  require_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
  ensure_kafka_libs
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  sed -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    "$ROOT/platform/kafka/server.properties.tmpl" >"$KAFKA_PROPS.tmp"
  mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOGS/format.log" | tail -n 1)" || true
    [[ $cluster_id =~ ^[A-Za-z0-9_-]{22}$ ]] ||
      { show_log_tail "$KAFKA_LOGS/format.log"; die "kafka storage: random-uuid failed; see $KAFKA_LOGS/format.log"; }
    say "formatting Kafka storage (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" >>"$KAFKA_LOGS/format.log" 2>&1 ||
      { show_log_tail "$KAFKA_LOGS/format.log"; die "kafka storage format failed; see $KAFKA_LOGS/format.log"; }
  fi
  say "starting kafka (heap $KAFKA_HEAP)"
  # The broker shares two cores with the pipeline, and it starts fresh before each acceptance run.
  # With the JVM's default tiered JIT its C2 compiler spent 22 s of CPU on one `make bench` after
  # a start (the broker's whole CPU: 27 s); C1 alone compiled in 3 s, and the broker used 16 s
  # for the same records (jstat -compiler; 11 -> 6 µs a small record). Its work here is copying
  # and bookkeeping, which C1's code does nearly as fast.
  # shellcheck disable=SC2086 # KAFKA_JIT_OPTS: JVM options, split on spaces.
  spawn kafka java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" $KAFKA_JIT_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    "-Xlog:gc*:file=$KAFKA_LOGS/gc.log:time,tags:filecount=4,filesize=20M" \
    -XX:ErrorFile="$KAFKA_LOGS/hs_err_pid%p.log" \
    -Dlog4j2.configurationFile="$ROOT/platform/kafka/log4j2.yaml" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

PG_BIN_DIR=""

psql_admin() { # psql as the superuser; more psql arguments follow
  PGAPPNAME=platform.sh PGCONNECT_TIMEOUT=5 PGOPTIONS='-c client_min_messages=warning' \
    "$PG_BIN_DIR/psql" -X -q -h "$HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"
}

pg_ready() { "$PG_BIN_DIR/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1; }

# The OS user postgres must reach .local/pg through every parent directory.
check_pg_reachable() {
  local d="$PG_DIR"
  as_pg test -x "$d" -a -w "$PG_DATA" && return 0
  local path="" part
  IFS='/' read -r -a parts <<<"${PG_DIR#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! as_pg test -x "$path"; then
      die "the OS user postgres cannot enter $path (PostgreSQL's data is in $PG_DATA): allow it, e.g. chmod o+x $path"
    fi
  done
  die "the OS user postgres cannot write $PG_DATA"
}

pg_prepare_dirs() {
  mkdir -p "$PG_DATA" "$PG_SOCK_DIR" "$PG_LOGS" "$LOG_DIR"
  touch "$LOG_DIR/postgres.log"
  if is_root; then
    if ! id -u postgres >/dev/null 2>&1; then
      say "creating the OS user postgres (PostgreSQL refuses to run as root)"
      useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql --shell /bin/sh postgres ||
        die "could not create the OS user postgres"
    fi
    need_cmd runuser "runs PostgreSQL as the OS user postgres"
    local d
    for d in "$PG_DATA" "$PG_SOCK_DIR" "$PG_LOGS" "$LOG_DIR/postgres.log"; do
      if [[ $(stat -c %U "$d") != postgres ]]; then
        chown -R postgres:postgres "$d"
      fi
    done
    check_pg_reachable
  fi
  chmod 700 "$PG_DATA"
}

pg_write_conf() { # writes the settings files into the data directory
  local sock="$PG_SOCK_DIR"
  # A Unix socket path is limited to 107 bytes; fall back to TCP only for very deep checkouts.
  if ((${#sock} + 16 > 107)); then
    warn "$sock is too long for a Unix socket path; PostgreSQL will listen on TCP only"
    sock=""
  fi
  {
    echo "# Written by scripts/platform.sh on every start; do not edit."
    echo "port = $PG_PORT"
    echo "listen_addresses = '$HOST'"
    echo "unix_socket_directories = '$sock'"
    # TLS for clients that ask for it (sslmode=verify-full in the integration tests); the
    # certificate is copied into the data directory, where PostgreSQL's OS user owns it.
    echo "ssl = on"
    echo "ssl_cert_file = 'server.crt'"
    echo "ssl_key_file = 'server.key'"
  } >"$PG_DATA/postgresql.platform.conf"
  ensure_tls
  install -m 600 "$TLS_DIR/server.key" "$PG_DATA/server.key"
  install -m 644 "$TLS_DIR/server.crt" "$PG_DATA/server.crt"
  cp "$ROOT/platform/postgres/postgresql.local.conf" "$PG_DATA/postgresql.local.conf"
  if ! grep -q "^include = 'postgresql.platform.conf'" "$PG_DATA/postgresql.conf"; then
    {
      echo ""
      echo "# Added by scripts/platform.sh: the repository's settings (platform/postgres/), then"
      echo "# the port, listen address and socket directory."
      echo "include = 'postgresql.local.conf'"
      echo "include = 'postgresql.platform.conf'"
    } >>"$PG_DATA/postgresql.conf"
  fi
  if is_root; then
    chown postgres:postgres "$PG_DATA/postgresql.platform.conf" "$PG_DATA/postgresql.local.conf" "$PG_DATA/postgresql.conf" \
      "$PG_DATA/server.key" "$PG_DATA/server.crt"
  fi
  chmod 600 "$PG_DATA/postgresql.platform.conf" "$PG_DATA/postgresql.local.conf"
}

start_postgres() {
  PG_BIN_DIR="$(find_pg_bin)" || die "PostgreSQL binaries not found (install postgresql or set PG_BIN)"
  local pid
  if pid="$(running_pid postgres)"; then
    say "postgres already running (pid $pid)"
    echo "$pid" >"$(pid_file postgres)"
    if ! cmp -s "$ROOT/platform/postgres/postgresql.local.conf" "$PG_DATA/postgresql.local.conf"; then
      warn "platform/postgres/postgresql.local.conf changed since PostgreSQL started: run down and up to apply it"
    fi
  else
    rm -f "$(pid_file postgres)"
    require_port_free "$PG_PORT" postgres
    pg_prepare_dirs
    local bin_major
    bin_major="$("$PG_BIN_DIR/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p')"
    if [[ -f $PG_DATA/PG_VERSION ]]; then
      [[ $(cat "$PG_DATA/PG_VERSION") == "$bin_major" ]] ||
        die "$PG_DATA was made by PostgreSQL $(cat "$PG_DATA/PG_VERSION") but the binaries in $PG_BIN_DIR are $bin_major (set PG_BIN, or reset)"
    else
      say "initializing PostgreSQL $bin_major data directory (initdb)"
      local t0=$SECONDS
      as_pg "$PG_BIN_DIR/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$PG_LOGS/initdb.log" 2>&1 || { show_log_tail "$PG_LOGS/initdb.log"; die "initdb failed; see $PG_LOGS/initdb.log"; }
      say "initdb done ($((SECONDS - t0))s)"
    fi
    pg_write_conf
    say "starting postgres"
    as_pg bash -c "$CLOSE_FDS"' exec "$@"' pg_ctl \
      "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -w -t "$START_TIMEOUT" -s start </dev/null ||
      { show_log_tail "$LOG_DIR/postgres.log"; die "postgres did not start; see $LOG_DIR/postgres.log"; }
    pid="$(running_pid postgres)" || { show_log_tail "$LOG_DIR/postgres.log"; die "postgres is not running after start; see $LOG_DIR/postgres.log"; }
    echo "$pid" >"$(pid_file postgres)"
  fi
  wait_until postgres "pg_isready on $HOST:$PG_PORT" pg_ready
  [[ $(psql_admin -d postgres -tA -c "SHOW track_commit_timestamp") == on ]] ||
    die "track_commit_timestamp is not on (required by the schema); check $PG_DATA/postgresql.local.conf"
  pg_migrate
}

pg_migrate() {
  if [[ -z $(psql_admin -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ]]; then
    psql_admin -d postgres -c "CREATE DATABASE $DB_NAME"
    say "database $DB_NAME created"
  fi
  psql_admin -d "$DB_NAME" -c \
    "CREATE TABLE IF NOT EXISTS public.schema_migration (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())"
  local applied name count=0
  applied="$(psql_admin -d "$DB_NAME" -tA -c "SELECT name FROM public.schema_migration")"
  [[ -d $MIGRATIONS_DIR ]] || die "no migrations directory $MIGRATIONS_DIR"
  while IFS= read -r name; do
    [[ -n $name ]] || continue
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "migration file name not allowed: '$name' (letters, digits, . _ - only)"
    if grep -qxF -- "$name" <<<"$applied"; then
      continue
    fi
    say "applying migration $name"
    # The migration and its record in one transaction: both or neither.
    psql_admin -d "$DB_NAME" -1 -f "$MIGRATIONS_DIR/$name" \
      -c "INSERT INTO public.schema_migration (name) VALUES ('$name')" ||
      die "migration $name failed (rolled back, nothing recorded); fix it and run up again"
    count=$((count + 1))
  done < <(find "$MIGRATIONS_DIR" -maxdepth 1 -type f -name '*.sql' -printf '%f\n' | LC_ALL=C sort)
  local total
  total="$(psql_admin -d "$DB_NAME" -tA -c "SELECT count(*) FROM public.schema_migration")"
  say "migrations: $count applied now, $total in total"
}

stop_postgres() {
  local pid
  pid="$(running_pid postgres)" || { rm -f "$(pid_file postgres)"; return 0; }
  say "stopping postgres (pid $pid)"
  local bin
  if bin="$(find_pg_bin)"; then
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s stop </dev/null ||
      warn "pg_ctl stop failed; killing pid $pid"
  fi
  if pid_matches "$pid" postgres; then
    stop_pid postgres "$pid"
  fi
  rm -f "$(pid_file postgres)"
}

# ---------------------------------------------------------------------------------------------
# TLS for the local servers

ensure_tls() { # a CA and a certificate for DNS:localhost only (127.0.0.1 fails verify-full on purpose)
  [[ -s $TLS_DIR/server.crt && -s $TLS_DIR/server.key && -s $TLS_DIR/ca.crt ]] && return 0
  need_cmd openssl "makes the local servers' TLS certificate"
  mkdir -p "$TLS_DIR"
  say "making a local CA and a TLS certificate for localhost in $TLS_DIR"
  (
    cd "$TLS_DIR"
    umask 077
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 3650 -subj "/CN=clinical-ingest local CA" \
      -keyout ca.key -out ca.crt >/dev/null 2>&1
    openssl req -new -nodes -newkey rsa:2048 -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext \
      -out server.crt >/dev/null 2>&1
    rm -f server.csr server.ext ca.srl
    chmod 644 ca.crt server.crt
  ) || die "openssl could not make the local TLS certificate in $TLS_DIR"
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_ping() ( # answers +PONG (no redis-cli needed)
  reply=""
  exec 3<>"/dev/tcp/$HOST/$REDIS_PORT" 2>/dev/null || exit 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  [[ $reply == "+PONG"* ]]
)

start_redis() {
  local pid
  if pid="$(running_pid redis)"; then
    say "redis already running (pid $pid)"
  else
    rm -f "$(pid_file redis)"
    need_cmd redis-server "Redis server (apt-get install redis-server)"
    require_port_free "$REDIS_PORT" redis
    require_port_free "$REDIS_TLS_PORT" redis
    mkdir -p "$REDIS_DIR"
    say "starting redis"
    ensure_tls
    clean_exec redis-server "$ROOT/platform/redis/redis.local.conf" --port "$REDIS_PORT" \
      --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$TLS_DIR/server.crt" --tls-key-file "$TLS_DIR/server.key" \
      --tls-ca-cert-file "$TLS_DIR/ca.crt" --tls-auth-clients no \
      --dir "$REDIS_DIR" --pidfile "$(pid_file redis)" --logfile "$(log_of redis)" --daemonize yes \
      </dev/null >>"$(log_of redis)" 2>&1 ||
      { show_log_tail "$(log_of redis)"; die "redis-server did not start; see $(log_of redis)"; }
    local deadline=$((SECONDS + 10))
    until [[ -s $(pid_file redis) ]]; do
      ((SECONDS < deadline)) || { show_log_tail "$(log_of redis)"; die "redis wrote no pid file; see $(log_of redis)"; }
      sleep 0.1
    done
  fi
  wait_until redis "PING on $HOST:$REDIS_PORT" redis_ping
}

# ---------------------------------------------------------------------------------------------
# dynalite

start_dynalite() {
  local pid
  if pid="$(running_pid dynalite)"; then
    say "dynalite already running (pid $pid)"
  else
    rm -f "$(pid_file dynalite)"
    require_port_free "$DYNALITE_PORT" dynalite
    # Its LevelDB binding is native (classic-level, prebuilt binaries in the package).
    if ! (cd "$ROOT/node_modules/dynalite" && node -e "require('classic-level')" >/dev/null 2>&1); then
      die "dynalite's LevelDB binding (classic-level) does not load: run 'npm rebuild classic-level' in $ROOT"
    fi
    mkdir -p "$DYNALITE_DIR/data"
    say "starting dynalite"
    spawn dynalite node "$ROOT/node_modules/dynalite/cli.js" --host "$HOST" --port "$DYNALITE_PORT" \
      --path "$DYNALITE_DIR/data"
  fi
  wait_until dynalite "TCP $HOST:$DYNALITE_PORT" port_open "$DYNALITE_PORT"
}

# ---------------------------------------------------------------------------------------------
# commands

print_env() {
  cat <<EOF
export KAFKA_BROKERS=$HOST:$KAFKA_PORT
export DATABASE_URL=postgres://ingest_app@$HOST:$PG_PORT/$DB_NAME
export PUBLIC_DATABASE_URL=postgres://anon_writer@$HOST:$PG_PORT/$DB_NAME
export ADMIN_DATABASE_URL=postgres://postgres@$HOST:$PG_PORT/$DB_NAME
export VALIDATE_DATABASE_URL=postgres://validation_reader@$HOST:$PG_PORT/$DB_NAME
export SNAPSHOT_DATABASE_URL=postgres://history_reader@$HOST:$PG_PORT/$DB_NAME
export SNAPSHOT_JDBC_URL=jdbc:postgresql://$HOST:$PG_PORT/$DB_NAME
export REDIS_URL=redis://$HOST:$REDIS_PORT
export REDIS_TLS_URL=rediss://localhost:$REDIS_TLS_PORT
export LOCAL_TLS_CA=$TLS_DIR/ca.crt
export DYNAMODB_ENDPOINT=http://$HOST:$DYNALITE_PORT
export INTAKE_TOPIC=$INTAKE_TOPIC
export DLQ_TOPIC=$DLQ_TOPIC
export PUBLIC_TABLE=$PUBLIC_TABLE
EOF
}

print_status() { # returns 0 when every server runs
  local svc pid state all=0
  for svc in "${SERVICES[@]}"; do
    if pid="$(running_pid "$svc")"; then
      if port_open "$(port_of "$svc")"; then state=running; else state=starting; all=1; fi
    else
      pid="-"
      state=stopped
      all=1
    fi
    printf '%-9s %-9s pid %-8s %s\n' "$svc" "$state" "$pid" "$(endpoint_of "$svc")"
  done
  return "$all"
}

cmd_up() {
  local t0=$SECONDS
  [[ $ROOT != *[[:space:]]* ]] || die "the repository path must not contain white space: $ROOT"
  check_node
  check_java
  ensure_packages
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$KAFKA_DIR" "$PG_DIR" "$REDIS_DIR" "$DYNALITE_DIR"
  take_lock

  # Kafka takes longest to come up: start it first, the others meanwhile.
  start_kafka
  start_postgres
  start_redis
  start_dynalite
  wait_until kafka "TCP $HOST:$KAFKA_PORT" port_open "$KAFKA_PORT"

  # Readiness of Kafka (metadata) and dynalite (API), topics and the table.
  if ! KAFKA_BROKERS="$HOST:$KAFKA_PORT" DYNAMODB_ENDPOINT="http://$HOST:$DYNALITE_PORT" \
    INTAKE_TOPIC="$INTAKE_TOPIC" DLQ_TOPIC="$DLQ_TOPIC" PARTITIONS="$PARTITIONS" PUBLIC_TABLE="$PUBLIC_TABLE" \
    BOOTSTRAP_TIMEOUT_S="$START_TIMEOUT" node "$ROOT/scripts/bootstrap.mjs" </dev/null; then
    die "bootstrap failed; see $(log_of kafka) and $(log_of dynalite)"
  fi

  print_status || die "not every server is running; see the logs in $LOG_DIR"
  say "up in $((SECONDS - t0))s; endpoints:"
  print_env
}

cmd_down() {
  mkdir -p "$RUN_DIR"
  take_lock
  local svc pid failed=0
  for svc in dynalite redis kafka; do
    if pid="$(running_pid "$svc")"; then
      say "stopping $svc (pid $pid)"
      stop_pid "$svc" "$pid"
    fi
    rm -f "$(pid_file "$svc")"
  done
  stop_postgres
  local port
  for svc in "${SERVICES[@]}"; do
    port="$(port_of "$svc")"
    wait_port_closed "$port" "$svc" || failed=1
  done
  wait_port_closed "$KAFKA_CONTROLLER_PORT" "kafka controller" || failed=1
  ((failed == 0)) || die "some ports are still in use (by processes this script did not start?)"
  say "all stopped"
}

cmd_reset() {
  cmd_down
  say "deleting the servers' data and logs under $LOCAL (keeping the Kafka jars in $KAFKA_LIBS)"
  rm -rf "$KAFKA_DATA" "$KAFKA_LOGS" "$KAFKA_PROPS" "$KAFKA_DIR/libs.tmp" "$PG_DIR" "$REDIS_DIR" "$DYNALITE_DIR"
  # Only this script's own files: .local/logs and .local/run may hold other tools' files too.
  local svc
  for svc in "${SERVICES[@]}"; do
    rm -f "$(log_of "$svc")" "$(pid_file "$svc")"
  done
}

cmd_restart() { # service
  local svc="${1:-}" pid
  mkdir -p "$RUN_DIR"
  take_lock
  case "$svc" in
    postgres)
      stop_postgres
      wait_port_closed "$PG_PORT" postgres || die "postgres did not stop"
      start_postgres
      ;;
    kafka | redis | dynalite)
      if pid="$(running_pid "$svc")"; then
        say "stopping $svc (pid $pid)"
        stop_pid "$svc" "$pid"
      fi
      rm -f "$(pid_file "$svc")"
      wait_port_closed "$(port_of "$svc")" "$svc" || die "$svc did not stop"
      if [[ $svc == kafka ]]; then
        wait_port_closed "$KAFKA_CONTROLLER_PORT" "kafka controller" || die "kafka did not stop"
        start_kafka
        wait_until kafka "TCP $HOST:$KAFKA_PORT" port_open "$KAFKA_PORT"
      else
        "start_$svc"
      fi
      ;;
    *) die "restart: name one of kafka, postgres, redis, dynalite" ;;
  esac
  say "$svc restarted"
}

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) print_status || exit 3 ;;
    reset) cmd_reset ;;
    env) print_env ;;
    restart) cmd_restart "${2:-}" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
