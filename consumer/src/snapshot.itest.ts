import { execFile } from 'node:child_process';
import { randomUUID, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parquetReadObjects } from 'hyparquet';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgMasterStore } from './adapters/pg-master-store.js';
import type { AcceptedRow } from './ports.js';
import { publicProjectionAsOf, stateAsOf } from './queries.js';
import { createScratchDatabase } from '@clinical-ingest/testkit';

/**
 * Snapshots against an oracle kept outside the stores, through every interface: the SQL functions,
 * the intake-snapshot CLI and the PySpark export (Spark in local mode; `make spark` installs it,
 * `make test` runs it). History is written through the consumer's own SQL (PgMasterStore) into a
 * database of its own, so that whole-store snapshots hold only this test's patients.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const SPARK_PYTHON = process.env['SPARK_PYTHON'] ?? join(REPO, '.local/spark-venv/bin/python');
const JDBC_JAR_DIR = join(REPO, '.local/spark/jars');

interface Version {
  name: string;
  dateOfBirth: string;
  color: string;
  eventTimeMs: number;
  partition: number;
  offset: number;
}
type State = Map<string, Version>;

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let app: pg.Pool;
let admin: pg.Pool;
const instants: string[] = [];
const oracle: State[] = [];
let work: string;

const dbNow = async () => (await admin.query<{ t: string }>('SELECT clock_timestamp()::text AS t')).rows[0]!.t;

beforeAll(async () => {
  scratch = await createScratchDatabase('clinical_itest_snapshots');
  app = new pg.Pool({ connectionString: scratch.url('ingest_app'), max: 2 });
  admin = new pg.Pool({ connectionString: scratch.url(), max: 2 });
  work = mkdtempSync(join(tmpdir(), 'snapshot-itest-'));
  const master = new PgMasterStore(app);
  const colors = ['red', 'blue', 'green', 'black', 'white', 'orange', 'purple'];
  const people = Array.from({ length: 40 }, (_, i) => ({
    id: randomUUID(),
    name: `Snapshot ${i} O'Test, Jr.`,
    dateOfBirth: `19${50 + i}-0${1 + (i % 9)}-1${i % 10}`,
  }));
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const state: State = new Map();
  instants.push(await dbNow()); // before the first record
  oracle.push(new Map());
  // Two partitions; five steps; in each, some patients arrive or return with a new color, and some
  // records are late (an older event time than the state they arrive at: history, not state).
  const next = [0, 0];
  for (let step = 0; step < 5; step++) {
    for (const partition of [0, 1]) {
      const rows: AcceptedRow[] = [];
      for (let k = 0; k < 12; k++) {
        const who = people[(step * 7 + k * 3 + partition) % people.length]!;
        const late = k % 5 === 4;
        const eventTimeMs = t0 + step * 60_000 + k * 10 - (late ? 3_600_000 : 0);
        const color = colors[(step + k + partition) % colors.length]!;
        const offset = next[partition]! + k;
        rows.push({
          offset,
          producedAtMs: Date.now(),
          patientId: who.id,
          newIdentity: false,
          record: { recordId: randomUUID(), name: who.name, dateOfBirth: who.dateOfBirth, favoriteColor: color, eventTimeMs, payload: null },
        });
        const cur = state.get(who.id);
        const newer =
          !cur ||
          eventTimeMs > cur.eventTimeMs ||
          (eventTimeMs === cur.eventTimeMs && (partition > cur.partition || (partition === cur.partition && offset > cur.offset)));
        if (newer) state.set(who.id, { name: who.name, dateOfBirth: who.dateOfBirth, color, eventTimeMs, partition, offset });
      }
      const newest = new Map<string, AcceptedRow>();
      for (const r of rows) {
        const n = newest.get(r.patientId);
        if (!n || r.record.eventTimeMs > n.record.eventTimeMs || (r.record.eventTimeMs === n.record.eventTimeMs && r.offset > n.offset))
          newest.set(r.patientId, r);
      }
      const { epoch } = await master.position('snap', partition, next[partition]!);
      await master.commitBatch({
        epoch,
        topic: 'snap',
        partition,
        expectedNext: next[partition]!,
        next: next[partition]! + rows.length,
        publishedThrough: next[partition]!,
        accepted: rows,
        rejected: [],
        newestPerPatient: [...newest.values()],
      });
      next[partition]! += rows.length;
    }
    oracle.push(new Map(state));
    instants.push(await dbNow());
  }
  await master.stampCommits();
}, 120_000);

afterAll(async () => {
  await app?.end();
  await admin?.end();
  await scratch?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const expectedMaster = (s: State) =>
  [...s]
    .map(([id, v]) => ({
      patient_id: id,
      name: v.name,
      date_of_birth: v.dateOfBirth,
      favorite_color: v.color,
      event_time_ms: v.eventTimeMs,
      kafka_partition: v.partition,
      kafka_offset: v.offset,
    }))
    .sort((a, b) => a.patient_id.localeCompare(b.patient_id));
const expectedPublic = (s: State) => new Map([...s].map(([id, v]) => [id, v.color]));

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(REPO, 'consumer/dist/snapshot-main.js'), ...args, '--no-progress'], {
      env: { ...process.env, SNAPSHOT_DATABASE_URL: scratch.url('history_reader') },
    });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('snapshots equal the oracle at every instant', () => {
  it('through SQL, whole store, master and public scope', async () => {
    for (let i = 0; i < instants.length; i++) {
      const got = (await stateAsOf(admin, instants[i]!)).map((s) => ({
        patient_id: s.patientId,
        name: s.name,
        date_of_birth: s.dateOfBirth,
        favorite_color: s.favoriteColor,
      }));
      expect(got, `master as of instant ${i}`).toEqual(
        expectedMaster(oracle[i]!).map(({ patient_id, name, date_of_birth, favorite_color }) => ({ patient_id, name, date_of_birth, favorite_color })),
      );
      expect(await publicProjectionAsOf(admin, instants[i]!), `public as of instant ${i}`).toEqual(expectedPublic(oracle[i]!));
    }
  });

  it('through the CLI: master as JSON lines, public as CSV, one patient, with a manifest that checks out', async () => {
    for (let i = 1; i < instants.length; i++) {
      const jsonl = join(work, `master-${i}.jsonl`);
      expect((await cli(['--as-of', instants[i]!, '--out', jsonl])).code).toBe(0);
      const rows = readFileSync(jsonl, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const got = rows
        .map((r) => ({
          patient_id: r['patient_id'],
          name: r['name'],
          date_of_birth: r['date_of_birth'],
          favorite_color: r['favorite_color'],
          event_time_ms: Date.parse(r['event_time'] as string),
          kafka_partition: r['kafka_partition'],
          kafka_offset: r['kafka_offset'],
        }))
        .sort((a, b) => String(a.patient_id).localeCompare(String(b.patient_id)));
      expect(got, `CLI master as of instant ${i}`).toEqual(expectedMaster(oracle[i]!));
      const manifest = JSON.parse(readFileSync(`${jsonl}.manifest.json`, 'utf8')) as {
        rows: number;
        phi: boolean;
        scope: string;
        files: { bytes: number; sha256: string }[];
      };
      expect(manifest).toMatchObject({ rows: oracle[i]!.size, phi: true, scope: 'master' });
      expect(manifest.files[0]!.sha256).toBe(createHash('sha256').update(readFileSync(jsonl)).digest('hex'));

      const csv = join(work, `public-${i}.csv`);
      expect((await cli(['--as-of', instants[i]!, '--public', '--out', csv])).code).toBe(0);
      const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
      expect(header).toBe('patient_id,favorite_color');
      expect(new Map(lines.map((l) => l.split(',') as [string, string])), `CLI public as of instant ${i}`).toEqual(expectedPublic(oracle[i]!));
    }
    const [someone, version] = [...oracle[2]!][0]!;
    const one = join(work, 'one.csv');
    expect((await cli(['--as-of', instants[2]!, '--patient', someone, '--public', '--out', one])).code).toBe(0);
    expect(readFileSync(one, 'utf8')).toBe(`patient_id,favorite_color\n${someone},${version.color}\n`);
  });

  it('the CLI refuses an instant before the first record and one in the future, and writes nothing', async () => {
    const out = join(work, 'refused.csv');
    const before = await cli(['--as-of', instants[0]!, '--out', out]);
    expect(before).toMatchObject({ code: 2, stderr: expect.stringMatching(/before the first record/) });
    const future = await cli(['--as-of', new Date(Date.now() + 3_600_000).toISOString(), '--out', out]);
    expect(future).toMatchObject({ code: 2, stderr: expect.stringMatching(/in the future/) });
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  it('through the PySpark export: Parquet and a manifest, master and public scope', async () => {
    if (!existsSync(SPARK_PYTHON) || !existsSync(JDBC_JAR_DIR)) throw new Error(`Spark is not installed (${SPARK_PYTHON}); run 'make spark'`);
    const jar = join(
      JDBC_JAR_DIR,
      readdirSync(JDBC_JAR_DIR).find((f) => f.endsWith('.jar'))!,
    );
    const jdbc = `jdbc:postgresql://${new URL(scratch.url()).host}/clinical_itest_snapshots`;
    const cases = [
      { i: 3, scope: 'master' },
      { i: instants.length - 1, scope: 'public' },
    ] as const;
    for (const { i, scope } of cases) {
      const out = join(work, `spark-${scope}-${i}`);
      await run(join(REPO, 'scripts/snapshot-export.sh'), ['--as-of', instants[i]!, '--scope', scope, '--out', out, '--jdbc-url', jdbc, '--partitions', '3'], {
        env: { ...process.env, SPARK_PYTHON, SPARK_JDBC_JAR: jar },
        timeout: 300_000,
      });
      const manifest = JSON.parse(readFileSync(join(out, '_manifest.json'), 'utf8')) as {
        rows: number;
        phi: boolean;
        format: string;
        files: { path: string; sha256: string }[];
      };
      expect(manifest).toMatchObject({ rows: oracle[i]!.size, phi: scope === 'master', format: 'parquet' });
      const rows: Record<string, unknown>[] = [];
      for (const f of manifest.files) {
        const bytes = readFileSync(join(out, f.path));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
        const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        rows.push(...((await parquetReadObjects({ file })) as Record<string, unknown>[]));
      }
      if (scope === 'public') {
        expect(new Map(rows.map((r) => [r['patient_id'] as string, r['favorite_color'] as string])), `Spark public as of instant ${i}`).toEqual(
          expectedPublic(oracle[i]!),
        );
      } else {
        const got = rows
          .map((r) => ({
            patient_id: r['patient_id'],
            name: r['name'],
            date_of_birth: (r['date_of_birth'] as Date).toISOString().slice(0, 10),
            favorite_color: r['favorite_color'],
            event_time_ms: (r['event_time'] as Date).getTime(),
            kafka_partition: r['kafka_partition'],
            kafka_offset: Number(r['kafka_offset']),
          }))
          .sort((a, b) => String(a.patient_id).localeCompare(String(b.patient_id)));
        expect(got, `Spark master as of instant ${i}`).toEqual(expectedMaster(oracle[i]!));
      }
    }
  }, 600_000);
});
