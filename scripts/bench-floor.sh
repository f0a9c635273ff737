#!/usr/bin/env bash
# `make bench-floor`: what PostgreSQL alone spends on the rows one new patient needs, at the
# database's current size, against a heap-only insert of the same rows (no index), in µs a row.
#
# Method: in one transaction that is rolled back (nothing is kept), 6,000 made-up rows (random
# keys and IDs, no real person) go into each table of the master and public stores with their
# indexes and triggers, as the consumers write them (rows in key order), each under
# EXPLAIN (ANALYZE, TIMING OFF); five rounds, the median of each. Run it on an idle platform: it
# measures PostgreSQL's own time, with nothing competing. BENCH_FLOOR_ROWS, BENCH_FLOOR_ROUNDS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
eval "$(scripts/platform.sh env)"
rows="${BENCH_FLOOR_ROWS:-6000}"
rounds="${BENCH_FLOOR_ROUNDS:-5}"
[[ "$rows" =~ ^[1-9][0-9]*$ && "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-floor: BENCH_FLOOR_ROWS and BENCH_FLOOR_ROUNDS must be positive integers" >&2; exit 2; }

sql() {
  cat <<SQL
BEGIN;
CREATE TEMP TABLE floor_src ON COMMIT DROP AS
  SELECT gen_random_uuid() AS p, gen_random_uuid() AS r, sha256(random()::text::bytea) AS k, md5(random()::text) AS n,
         date '1950-01-01' + (random() * 20000)::int AS d, 'teal'::text AS c, now() AS e, g::int8 AS o
    FROM generate_series(1, $rows) g;
-- A plain, WAL-logged table (a temporary one would skip the WAL), dropped by the rollback.
CREATE TABLE public.bench_floor_heap (LIKE ingest.intake_log);
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) INSERT INTO public.bench_floor_heap
  SELECT 'bench.floor', -1, o, r, p, e, e, n, d, c, NULL, pg_current_xact_id() FROM floor_src ORDER BY p;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) INSERT INTO ingest.identity (id_key, name_norm, date_of_birth)
  SELECT k, n, d FROM floor_src ORDER BY k;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) INSERT INTO ingest.intake_log
  (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at, name, date_of_birth, favorite_color, payload, txid)
  SELECT 'bench.floor', -1, o, r, p, e, e, n, d, c, NULL, pg_current_xact_id() FROM floor_src ORDER BY p;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) INSERT INTO ingest.patient_state
  (patient_id, name, date_of_birth, favorite_color, event_time, kafka_partition, kafka_offset, txid)
  SELECT p, n, d, c, e, -1, o, pg_current_xact_id() FROM floor_src ORDER BY p;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) INSERT INTO anon.patient (patient_id, favorite_color, rev)
  SELECT p, c, 1 FROM floor_src ORDER BY p;
ROLLBACK;
SQL
}

patients="$(psql "$ADMIN_DATABASE_URL" -qAtX -c "SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'ingest.identity'::regclass")"
results=()
for ((i = 0; i < rounds; i++)); do
  results+=("$(sql | psql "$ADMIN_DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 2>&1 | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p' | tr '\n' ' ')")
done
printf '%s\n' "${results[@]}" | awk -v rows="$rows" -v patients="$patients" '
  { for (c = 1; c <= NF; c++) v[c, NR] = $c; n = NR; cols = NF }
  END {
    if (cols != 5) { print "bench-floor: expected 5 timings a round, got " cols > "/dev/stderr"; exit 1 }
    split("heap only (no index)|identity (key index)|intake log (patient index, BRIN)|patient state (key index, trigger)|public store (key index)", name, "|")
    printf "bench-floor: %d rows a table, median of %d rounds, database of ≈ %d patients; µs a row\n", rows, n, patients
    for (c = 1; c <= cols; c++) {
      m = 0; for (r = 1; r <= n; r++) s[r] = v[c, r]
      for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
      med = s[int((n + 1) / 2)] * 1000 / rows
      if (c > 1) total += med; else heap = med
      printf "  %-38s %6.1f\n", name[c], med
    }
    printf "  %-38s %6.1f  (%.1f× the heap-only insert)\n", "a new patient, the four together", total, total / heap
  }'
