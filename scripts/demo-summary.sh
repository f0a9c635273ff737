#!/usr/bin/env bash
# What `make demo` leaves running, and where everything is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
eval "$(scripts/platform.sh env)"
SCRIPT_NAME=demo; source scripts/lib.sh; load_ports
psql_ro() { psql "postgres://ingest_reader@127.0.0.1:${PLATFORM_PG_PORT}/clinical" -XAtc "$1" 2>/dev/null || echo "?"; }
cat <<TXT

What is where
  Kafka           $KAFKA_BROKERS   topics $INTAKE_TOPIC (records), $DLQ_TOPIC (rejected)
  Master store    PostgreSQL $(psql_ro "select count(*) from ingest.intake_log") records, $(psql_ro "select count(*) from ingest.patient_state") patients, $(psql_ro "select count(*) from ingest.rejected_record") rejected
                  psql postgres://ingest_reader@127.0.0.1:${PLATFORM_PG_PORT}/clinical
                    SELECT * FROM ingest.patient_state_as_of(now() - interval '1 minute') LIMIT 5;
  Public store    PostgreSQL anon.patient: $(psql_ro "select count(*) from anon.patient") rows;  DynamoDB API (dynalite) $DYNAMODB_ENDPOINT table $PUBLIC_TABLE
  Identity cache  Redis $REDIS_URL (HMAC keys only; flushable)
  Consumers       $(scripts/pipeline.sh status | tr '\n' ' ')
                  metrics: $(scripts/pipeline.sh metrics-urls)
  Logs, data      .local/logs, .local/   reports: reports/

Next: make bench | make test | make stop | make down   (make help lists everything)
TXT
