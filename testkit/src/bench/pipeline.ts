#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLogger, LOCAL_DEFAULTS, localDatabaseUrl } from '@clinical-ingest/intake-core';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { generateRecords } from '@clinical-ingest/loadgen';
import { createKafka, produceRecords } from '@clinical-ingest/loadgen';
import { parseHistogram, quantile, subtractBuckets, total, addBuckets, type Buckets } from '@clinical-ingest/loadgen';
import { capacity, DEFAULT_RULES, formatShape, type StageCosts } from './capacity.js';
import { cpuDelta, sampleCpu, sampleProcesses } from '@clinical-ingest/loadgen';

/**
 * `make bench`: end-to-end figures of the running local pipeline (Kafka → consumers → both
 * stores), and, in the same run on the same machine, a raw PostgreSQL COPY of the same bytes.
 *
 * Environment: KAFKA_BROKERS, INTAKE_TOPIC, CONSUMER_METRICS_URLS, ADMIN_DATABASE_URL,
 * PUBLIC_STORE (only printed), BENCH_SCENARIOS (comma list, default all), BENCH_REPORT_JSON (a
 * path: the machine-readable report), BENCH_WARMUP=0 (skip the unmeasured warm-up).
 *
 * Method, to repeat or extend: CPU is the whole machine's busy time from /proc/stat over the run,
 * and each local server's (with its children) from /proc/PID/stat; WAL from pg_stat_wal. Records
 * are generated before the clock starts. To see inside a stage: `CONSUMER_NODE_ARGS='--cpu-prof
 * --cpu-prof-dir=reports/profiles' make bench` (one .cpuprofile per consumer, written when it
 * stops), and pg_stat_statements (loaded by the local PostgreSQL) for the statements.
 */

interface Scenario {
  readonly name: string;
  readonly count: number;
  readonly payloadBytes: number;
  /** records/s; undefined: as fast as the producer goes (throughput). */
  readonly rate?: number;
}

interface Result {
  readonly scenario: string;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly cpuMicrosPerRecord: number;
  readonly coresBusy: number;
  readonly p50?: number | undefined;
  readonly p99?: number | undefined;
  readonly copyMbPerSecond?: number;
  readonly copyCpuMicrosPerRecord?: number;
  /** µs of CPU per record, by process of the local platform (the producer included). */
  readonly perProcess: ReadonlyMap<string, number>;
  readonly walBytesPerRecord: number;
  /**
   * Full-page images per record: the first change of a page after a checkpoint logs the whole
   * page, so random-keyed indexes cost most right after one.
   */
  readonly walFpiPerRecord: number;
  /** Checkpoints begun during the run. */
  readonly checkpoints: number;
  /** Patients in the master store before the run (PostgreSQL's estimate): costs grow with it. */
  readonly patientsBefore: number;
}

/** Processes grouped into the pipeline's stages: every consumer replica is one stage. */
function byStage(perProcess: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, us] of perProcess) {
    const stage = name.startsWith('consumer-') ? 'consumers' : name.startsWith('producer') ? 'producer' : name;
    out[stage] = (out[stage] ?? 0) + us;
  }
  return out;
}

async function adminQuery<T extends object>(sql: string): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query<T & pg.QueryResultRow>(sql)).rows[0];
  } finally {
    await client.end();
  }
}
/** WAL written, full-page images among it, and checkpoints begun (PostgreSQL 15's views). */
async function walStats(): Promise<{ bytes: number; fpi: number; checkpoints: number }> {
  const r = await adminQuery<{ b: string; f: string; c: string }>(
    'SELECT w.wal_bytes::text AS b, w.wal_fpi::text AS f, (g.checkpoints_timed + g.checkpoints_req)::text AS c FROM pg_stat_wal w, pg_stat_bgwriter g',
  );
  return { bytes: Number(r?.b ?? 0), fpi: Number(r?.f ?? 0), checkpoints: Number(r?.c ?? 0) };
}
const patients = async () =>
  Number((await adminQuery<{ n: string }>("SELECT greatest(reltuples, 0)::int8::text AS n FROM pg_class WHERE oid = 'ingest.identity'::regclass"))?.n ?? 0);

const WARMUP: Scenario[] = [
  { name: 'warm-up', count: 30_000, payloadBytes: 0 },
  { name: 'warm-up', count: 3_000, payloadBytes: 20_480 },
];

const SCENARIOS: Scenario[] = [
  { name: 'small-max', count: 300_000, payloadBytes: 0 },
  { name: 'small-16.7k', count: 300_000, payloadBytes: 0, rate: 16_700 },
  { name: '20KB-max', count: 20_000, payloadBytes: 20_480 },
];

const env = (k: string, d: string) => process.env[k] ?? d;
const brokers = env('KAFKA_BROKERS', LOCAL_DEFAULTS.KAFKA_BROKERS).split(',');
const topic = env('INTAKE_TOPIC', LOCAL_DEFAULTS.INTAKE_TOPIC);
const metricsUrls = env('CONSUMER_METRICS_URLS', 'http://127.0.0.1:9464/metrics').split(',');
const adminUrl = env('ADMIN_DATABASE_URL', localDatabaseUrl('postgres'));
const out = (s: string) => void process.stdout.write(`${s}\n`);
const runDir = env('PLATFORM_RUN_DIR', '.local/run');

async function scrape(): Promise<{ fresh: Buckets; records: number }> {
  let fresh: Buckets = new Map();
  let records = 0;
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    fresh = addBuckets(fresh, parseHistogram(text, 'intake_freshness_seconds'));
    for (const m of text.matchAll(/^intake_records_total\{[^}]*\} (\S+)$/gm)) records += Number(m[1]);
  }
  return { fresh, records };
}

async function runScenario(s: Scenario, log: ReturnType<typeof createLogger>): Promise<Result> {
  const kafka = createKafka(brokers, log, 'intake-bench');
  // Records are built before the clock starts: the figures are the platform's, not Faker's.
  const records = [...generateRecords({ count: s.count, seed: Date.now() % 2 ** 31, payloadBytes: s.payloadBytes })].map((r) => ({
    key: r.key,
    value: r.value,
  }));
  const patientsBefore = await patients();
  const before = await scrape();
  const wal0 = await walStats();
  const procs0 = sampleProcesses(runDir);
  const cpu0 = sampleCpu();
  const t0 = Date.now();
  const summary = await produceRecords({
    records,
    topic,
    kafka,
    logger: log,
    progress: false,
    summary: false,
    ...(s.rate === undefined ? {} : { rate: s.rate }),
  });
  // Done when the consumers have stored and published every record.
  for (;;) {
    const now = await scrape();
    if (now.records - before.records >= s.count) break;
    if (Date.now() - t0 > 600_000) throw new Error(`scenario ${s.name}: consumers did not finish within 10 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuDelta(cpu0, sampleCpu());
  const wal1 = await walStats();
  const perProcess = new Map<string, number>();
  for (const [name, secs] of sampleProcesses(runDir)) perProcess.set(name, ((secs - (procs0.get(name) ?? secs)) / s.count) * 1e6);
  const after = await scrape();
  const fresh = subtractBuckets(after.fresh, before.fresh);
  return {
    perProcess,
    walBytesPerRecord: (wal1.bytes - wal0.bytes) / s.count,
    walFpiPerRecord: (wal1.fpi - wal0.fpi) / s.count,
    checkpoints: wal1.checkpoints - wal0.checkpoints,
    patientsBefore,
    scenario: s.name,
    records: s.count,
    bytes: summary.bytes,
    seconds,
    recordsPerSecond: s.count / seconds,
    mbPerSecond: summary.bytes / 1e6 / seconds,
    cpuMicrosPerRecord: (cpu.busy / s.count) * 1e6,
    coresBusy: cpu.busy / seconds,
    p50: total(fresh) > 0 ? quantile(fresh, 0.5) : undefined,
    p99: total(fresh) > 0 ? quantile(fresh, 0.99) : undefined,
  };
}

/**
 * The COPY baseline three times, the run with the median CPU per record: a small-record COPY
 * lasts a second or two, and one run's CPU per record varied from 6 to 9 µs between runs.
 */
async function steadyCopyBaseline(s: Scenario): ReturnType<typeof copyBaseline> {
  const runs: Awaited<ReturnType<typeof copyBaseline>>[] = [];
  for (let i = 0; i < 3; i++) runs.push(await copyBaseline(s));
  return runs.sort((a, b) => a.cpuMicrosPerRecord - b.cpuMicrosPerRecord)[1]!;
}

/** A raw COPY of the same bytes (key and value of the same generated records) into a scratch table. */
async function copyBaseline(s: Scenario): Promise<{ mbPerSecond: number; recordsPerSecond: number; cpuMicrosPerRecord: number }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS public.bench_copy');
    await client.query('CREATE UNLOGGED TABLE public.bench_copy (k bytea, v bytea)');
    await client.query('ALTER TABLE public.bench_copy SET LOGGED');
    // Pre-render the COPY text so that the measurement is PostgreSQL's, not the generator's.
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (const r of generateRecords({ count: s.count, seed: 7, payloadBytes: s.payloadBytes })) {
      const line = Buffer.from(`\\\\x${Buffer.from(r.key).toString('hex')}\t\\\\x${r.value.toString('hex')}\n`);
      chunks.push(line);
      bytes += Buffer.byteLength(r.key) + r.value.length;
    }
    const cpu0 = sampleCpu();
    const t0 = Date.now();
    const stream = client.query(copyStreams.from('COPY public.bench_copy (k, v) FROM STDIN'));
    await pipeline(
      (async function* () {
        for (let i = 0; i < chunks.length; i += 1000) yield Buffer.concat(chunks.slice(i, i + 1000));
      })(),
      stream as unknown as Writable,
    );
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuDelta(cpu0, sampleCpu());
    return { mbPerSecond: bytes / 1e6 / seconds, recordsPerSecond: s.count / seconds, cpuMicrosPerRecord: (cpu.busy / s.count) * 1e6 };
  } finally {
    await client.query('DROP TABLE IF EXISTS public.bench_copy').catch(() => {});
    await client.end();
  }
}

async function main(): Promise<void> {
  const log = createLogger('intake-bench', { level: 'warn' }, process.stderr);
  const wanted = process.env['BENCH_SCENARIOS']?.split(',');
  const scenarios = SCENARIOS.filter((s) => !wanted || wanted.includes(s.name));
  const store = env('PUBLIC_STORE', 'dynamodb');
  out(`bench: public store ${store}, ${metricsUrls.length} consumer(s), topic ${topic}`);
  // Warm-up, not measured: a broker or consumer just started compiles its hot paths first (a
  // fresh Kafka broker spent 3x its warm CPU per 20 KB record while its JIT ran).
  if (process.env['BENCH_WARMUP'] !== '0') {
    for (const w of WARMUP) await runScenario(w, log);
  }
  const rows: Result[] = [];
  for (const s of scenarios) {
    const r = await runScenario(s, log);
    const copy = s.rate === undefined ? await steadyCopyBaseline(s) : undefined;
    rows.push(copy ? { ...r, copyMbPerSecond: copy.mbPerSecond, copyCpuMicrosPerRecord: copy.cpuMicrosPerRecord } : r);
    out(
      `  ${r.scenario.padEnd(12)} ${r.records} records in ${r.seconds.toFixed(1)} s: ${Math.round(r.recordsPerSecond)} rec/s, ${r.mbPerSecond.toFixed(1)} MB/s, ` +
        `${r.cpuMicrosPerRecord.toFixed(0)} µs CPU/record (${r.coresBusy.toFixed(2)} cores busy), freshness p50 ${fmt(r.p50)} s p99 ${fmt(r.p99)} s` +
        (copy
          ? `; raw COPY of the same bytes: ${copy.mbPerSecond.toFixed(1)} MB/s (${Math.round(copy.recordsPerSecond)} rec/s, ${copy.cpuMicrosPerRecord.toFixed(1)} µs CPU/record)`
          : ''),
    );
    if (copy) {
      out(
        `               vs COPY: CPU per record ${(r.cpuMicrosPerRecord / copy.cpuMicrosPerRecord).toFixed(1)}× COPY's (goal for small records ≤ 6×), ` +
          `MB/s ${(r.mbPerSecond / copy.mbPerSecond).toFixed(2)} of COPY's (goal for 20 KB ≥ 0.6)`,
      );
    }
    out(
      `               CPU µs/record by process: ${[...r.perProcess]
        .sort((a, b) => b[1] - a[1])
        .map(([n, us]) => `${n} ${us.toFixed(0)}`)
        .join(', ')}`,
    );
    out(
      `               WAL ${Math.round(r.walBytesPerRecord)} B/record (${r.walFpiPerRecord.toFixed(2)} full-page images a record, ${r.checkpoints} checkpoint(s) began); master store held ≈ ${r.patientsBefore.toLocaleString('en-US')} patients before the run`,
    );
  }
  out('');
  out('| store | scenario | records/s | MB/s | CPU µs/record | cores busy | freshness p50 | p99 | COPY µs/record | CPU ÷ COPY | COPY MB/s | MB/s ÷ COPY |');
  out('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const cpuRatio = r.copyCpuMicrosPerRecord ? `${(r.cpuMicrosPerRecord / r.copyCpuMicrosPerRecord).toFixed(1)}×` : '–';
    out(
      `| ${store} | ${r.scenario} | ${Math.round(r.recordsPerSecond)} | ${r.mbPerSecond.toFixed(1)} | ${r.cpuMicrosPerRecord.toFixed(0)} | ${r.coresBusy.toFixed(2)} | ${fmt(r.p50)} s | ${fmt(r.p99)} s | ` +
        `${r.copyCpuMicrosPerRecord?.toFixed(1) ?? '–'} | ${cpuRatio} | ${r.copyMbPerSecond?.toFixed(1) ?? '–'} | ${r.copyMbPerSecond ? (r.mbPerSecond / r.copyMbPerSecond).toFixed(2) : '–'} |`,
    );
  }

  // The capacity model needs both record sizes at full speed.
  const small = rows.find((r) => r.scenario === 'small-max');
  const large = rows.find((r) => r.scenario === '20KB-max');
  const costs = (r: Result): StageCosts => ({
    microsPerRecord: byStage(r.perProcess),
    bytesPerRecord: r.bytes / r.records,
    walBytesPerRecord: r.walBytesPerRecord,
  });
  const shape =
    small && large ? capacity(costs(small), costs(large), { recordsPerSecond: 1_000_000 / 60, bytesPerRecord: large.bytes / large.records }) : undefined;
  if (shape) {
    out('');
    for (const line of formatShape(shape)) out(line);
  }

  const reportPath = process.env['BENCH_REPORT_JSON'];
  if (reportPath) {
    const scenarios = rows.map((r) => ({
      scenario: r.scenario,
      records: r.records,
      recordsPerSecond: r.recordsPerSecond,
      mbPerSecond: r.mbPerSecond,
      cpuMicrosPerRecord: r.cpuMicrosPerRecord,
      coresBusy: r.coresBusy,
      cpuMicrosPerRecordByProcess: Object.fromEntries(r.perProcess),
      cpuMicrosPerRecordByStage: byStage(r.perProcess),
      walBytesPerRecord: r.walBytesPerRecord,
      walFpiPerRecord: r.walFpiPerRecord,
      checkpoints: r.checkpoints,
      patientsBefore: r.patientsBefore,
      freshnessSeconds: { p50: r.p50 ?? null, p99: r.p99 ?? null },
      copy:
        r.copyMbPerSecond === undefined
          ? null
          : {
              mbPerSecond: r.copyMbPerSecond,
              cpuMicrosPerRecord: r.copyCpuMicrosPerRecord,
              cpuRatio: r.cpuMicrosPerRecord / r.copyCpuMicrosPerRecord!,
              mbPerSecondRatio: r.mbPerSecond / r.copyMbPerSecond,
            },
    }));
    writeFileSync(
      reportPath,
      `${JSON.stringify({ publicStore: store, consumers: metricsUrls.length, at: new Date().toISOString(), scenarios, capacity: shape ? { rules: DEFAULT_RULES, shape } : null }, null, 2)}\n`,
    );
    out(`bench: report ${reportPath}`);
  }
}

function fmt(x: number | undefined): string {
  return x === undefined ? 'n/a' : x.toFixed(2);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
