/**
 * `make bench-snapshots`: what a point-in-time snapshot costs, against a plain COPY of the current
 * state in the same run (docs/architecture.md §7). In a scratch database with the project's
 * migrations, it writes a synthetic history of SNAPSHOT_BENCH_PATIENTS patients (default 1,000,000)
 * in ingest transactions of 10,000 records, first one record a patient, then nine more rounds (ten
 * records a patient, each round a new color and a later event time), and measures after round 1
 * and after round 10:
 *
 * - the whole store `AS OF` the last commit (master columns, and the public projection), streamed
 *   to the client with COPY, against `COPY (SELECT … FROM ingest.patient_state)` of the same
 *   columns: the rate ratio (target ≥ 0.5), and after round 10 against after round 1 (target: no
 *   slower);
 * - the whole store `AS OF` the middle of history (every patient changed since: the costliest
 *   instant there is, one history walk a patient), and the log-sorting query the project used
 *   before (`DISTINCT ON` over the whole log), for comparison;
 * - one patient `AS OF`: 10,000 lookups of random patients at random instants, p50/p99 of the
 *   round trip through a prepared statement (target p99 ≤ 5 ms).
 *
 * Prints a table and writes reports/bench-snapshots-<time>.json. Environment: ADMIN_DATABASE_URL
 * (a superuser on the server; the scratch database `clinical_snapbench` is dropped at the end
 * unless SNAPSHOT_BENCH_KEEP=1), SNAPSHOT_BENCH_PATIENTS, SNAPSHOT_BENCH_LOOKUPS.
 */
import { SNAPSHOT_COLUMNS } from '@clinical-ingest/consumer';
import { localDatabaseUrl } from '@clinical-ingest/intake-core';
import { createScratchDatabase } from '../index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRATCH_DB = 'clinical_snapbench';
const CHUNK = 10_000;

const adminUrl = process.env['ADMIN_DATABASE_URL'] ?? localDatabaseUrl('postgres');
const patients = Number(process.env['SNAPSHOT_BENCH_PATIENTS'] ?? 1_000_000);
const lookups = Number(process.env['SNAPSHOT_BENCH_LOOKUPS'] ?? 10_000);
const keep = process.env['SNAPSHOT_BENCH_KEEP'] === '1';

const MASTER_COLUMNS = SNAPSHOT_COLUMNS.master.join(', ');
/** The whole-store query before db/migrations/009_snapshots.sql: a sort of the whole log. */
const LOG_SORT_AS_OF = `
SELECT DISTINCT ON (l.patient_id) ${MASTER_COLUMNS.split(', ')
  .map((c) => `l.${c}`)
  .join(', ')}
  FROM ingest.intake_log l JOIN ingest.ingest_txn x ON x.txid = l.txid
 WHERE coalesce(x.committed_at, ingest.commit_time(x.txid)) <= $AT
 ORDER BY l.patient_id, l.event_time DESC, l.kafka_partition DESC, l.kafka_offset DESC`;

/** Writes one round of history: a record per patient, CHUNK records a transaction. */
const ROUND_PROCEDURE = `
CREATE PROCEDURE pg_temp_round(round int, patients int, chunk int) LANGUAGE plpgsql AS $$
DECLARE lo int := 0;
BEGIN
  WHILE lo < patients LOOP
    PERFORM ingest.register_txn();
    INSERT INTO ingest.intake_log (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at,
                                   name, date_of_birth, favorite_color, payload)
    SELECT 'bench', i % 12, round::int8 * patients + i, gen_random_uuid(), md5(i::text)::uuid,
           timestamptz '2026-01-01' + make_interval(mins => round), now(),
           'patient ' || i, date '1950-01-01' + (i % 20000), 'color-' || round, NULL
      FROM generate_series(lo, least(lo + chunk, patients) - 1) i;
    INSERT INTO ingest.patient_state AS s (patient_id, name, date_of_birth, favorite_color, event_time, kafka_partition, kafka_offset)
    SELECT md5(i::text)::uuid, 'patient ' || i, date '1950-01-01' + (i % 20000), 'color-' || round,
           timestamptz '2026-01-01' + make_interval(mins => round), i % 12, round::int8 * patients + i
      FROM generate_series(lo, least(lo + chunk, patients) - 1) i
    ON CONFLICT (patient_id) DO UPDATE
       SET favorite_color = excluded.favorite_color, event_time = excluded.event_time,
           kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset, rev = s.rev + 1;
    COMMIT;
    lo := lo + chunk;
  END LOOP;
END
$$`;

interface Streamed {
  readonly rows: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** Streams `COPY (query) TO STDOUT` to a sink that counts; the client sees every byte. */
async function copyOut(client: pg.Client, query: string): Promise<Streamed> {
  let bytes = 0;
  let rows = 0;
  const t0 = process.hrtime.bigint();
  const source = client.query(copyTo(`COPY (${query}) TO STDOUT`));
  await pipeline(
    source,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
        done();
      },
    }),
  );
  return { rows, bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function lookupLatencies(client: pg.Client, first: string, last: string): Promise<{ p50: number; p99: number; found: number }> {
  const times: number[] = [];
  let found = 0;
  const t0 = Date.parse(first);
  const span = Date.parse(last) - t0;
  for (let k = 0; k < lookups; k++) {
    const i = Math.floor(Math.random() * patients);
    // The endpoints as PostgreSQL printed them (µs); a Date in between is only ms-precise.
    const at = span <= 0 ? last : new Date(t0 + Math.random() * span).toISOString();
    const s = process.hrtime.bigint();
    const r = await client.query({ name: 'one', text: 'SELECT * FROM ingest.patient_as_of(md5($1::text)::uuid, $2)', values: [i, at] });
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    found += r.rowCount ?? 0;
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), found };
}

async function lastCommit(client: pg.Client): Promise<string> {
  await client.query('SELECT ingest.stamp_commits()');
  return (await client.query<{ t: string }>('SELECT last_commit::text AS t FROM ingest.history_bounds()')).rows[0]!.t;
}

const rate = (s: Streamed) => s.rows / s.seconds;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function measure(client: pg.Client, at: string, label: string, withLogSort: boolean) {
  const lit = `'${at}'::timestamptz`;
  await client.query('VACUUM ANALYZE ingest.patient_state, ingest.intake_log, ingest.ingest_txn');
  const copyMaster = await copyOut(client, `SELECT ${MASTER_COLUMNS} FROM ingest.patient_state`);
  const asOfMaster = await copyOut(client, `SELECT * FROM ingest.patient_state_as_of(${lit})`);
  const copyPublic = await copyOut(client, 'SELECT patient_id, favorite_color FROM ingest.patient_state');
  const asOfPublic = await copyOut(client, `SELECT * FROM ingest.public_projection_as_of(${lit})`);
  const logSort = withLogSort ? await copyOut(client, LOG_SORT_AS_OF.replace('$AT', lit)) : undefined;
  process.stdout.write(
    `${label}: COPY of the current state ${fmt(rate(copyMaster))} rows/s; AS OF ${fmt(rate(asOfMaster))} rows/s ` +
      `(${(rate(asOfMaster) / rate(copyMaster)).toFixed(2)} of COPY); public ${fmt(rate(asOfPublic))} rows/s ` +
      `(${(rate(asOfPublic) / rate(copyPublic)).toFixed(2)} of COPY)` +
      (logSort ? `; the log-sorting query ${fmt(rate(logSort))} rows/s (${(rate(logSort) / rate(copyMaster)).toFixed(2)} of COPY)` : '') +
      '\n',
  );
  return { at, copyMaster, asOfMaster, copyPublic, asOfPublic, logSort };
}

async function main(): Promise<void> {
  // Migrations applied; a new session, so that the database's settings (the migrations') apply.
  const scratch = await createScratchDatabase(SCRATCH_DB, adminUrl);
  const db = new pg.Client({ connectionString: scratch.url() });
  await db.connect();
  try {
    await db.query(ROUND_PROCEDURE.replace('pg_temp_round', 'public.bench_round'));
    process.stdout.write(`snapshot benchmark: ${fmt(patients)} patients, transactions of ${fmt(CHUNK)} records\n`);

    let t = process.hrtime.bigint();
    await db.query('CALL public.bench_round(1, $1, $2)', [patients, CHUNK]);
    const afterOne = await lastCommit(db);
    process.stdout.write(`round 1 written in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s\n`);
    const one = await measure(db, afterOne, '1 record a patient ', true);
    const lookupsOne = await lookupLatencies(db, afterOne, afterOne);

    t = process.hrtime.bigint();
    let middle = afterOne;
    for (let round = 2; round <= 10; round++) {
      await db.query('CALL public.bench_round($1, $2, $3)', [round, patients, CHUNK]);
      if (round === 5) middle = await lastCommit(db);
    }
    const afterTen = await lastCommit(db);
    process.stdout.write(`rounds 2-10 written in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s\n`);
    const ten = await measure(db, afterTen, '10 records a patient', true);
    const mid = await copyOut(db, `SELECT * FROM ingest.patient_state_as_of('${middle}'::timestamptz)`);
    process.stdout.write(
      `10 records a patient, AS OF the middle of history (every patient changed since): ${fmt(rate(mid))} rows/s ` +
        `(${(rate(mid) / rate(ten.copyMaster)).toFixed(2)} of COPY)\n`,
    );
    const lookupsTen = await lookupLatencies(db, afterOne, afterTen);

    const masterRatio = rate(ten.asOfMaster) / rate(ten.copyMaster);
    const publicRatio = rate(ten.asOfPublic) / rate(ten.copyPublic);
    const depth = rate(ten.asOfMaster) / rate(ten.copyMaster) / (rate(one.asOfMaster) / rate(one.copyMaster));
    const targets = [
      ['whole store AS OF, 10 records a patient, ÷ COPY (≥ 0.5)', masterRatio.toFixed(2), masterRatio >= 0.5],
      ['public projection AS OF, 10 records a patient, ÷ COPY (≥ 0.5)', publicRatio.toFixed(2), publicRatio >= 0.5],
      ['whole store AS OF ÷ COPY, 10 records a patient ÷ 1 (≥ 0.9: no slower)', depth.toFixed(2), depth >= 0.9],
      ['one patient AS OF p99, 10 records a patient (≤ 5 ms)', `${lookupsTen.p99.toFixed(2)} ms`, lookupsTen.p99 <= 5],
    ] as const;
    process.stdout.write(
      `one patient AS OF, ${fmt(lookups)} random lookups: 1 record a patient p50 ${lookupsOne.p50.toFixed(2)} / p99 ${lookupsOne.p99.toFixed(2)} ms; ` +
        `10 records a patient p50 ${lookupsTen.p50.toFixed(2)} / p99 ${lookupsTen.p99.toFixed(2)} ms\n\n`,
    );
    for (const [what, value, ok] of targets) process.stdout.write(`${ok ? 'met ' : 'MISS'}  ${what}: ${value}\n`);

    mkdirSync(join(REPO, 'reports'), { recursive: true });
    const file = join(REPO, 'reports', `bench-snapshots-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ patients, chunk: CHUNK, lookups, one, ten, middle: { at: middle, asOfMaster: mid }, lookupsOne, lookupsTen, targets }, null, 2)}\n`,
    );
    process.stdout.write(`\nreport: ${file}\n`);
  } finally {
    await db.end();
    if (!keep) await scratch.drop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-snapshots: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
