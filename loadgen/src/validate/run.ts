import { IdentityKeyer } from '@clinical-ingest/intake-core';
import type { PublicStoreReader, ValidationReads } from '@clinical-ingest/consumer';
import { generateRecords } from '../generator.js';
import type { ProducibleRecord, ProduceSummary } from '../producer.js';
import {
  checkMasterAgainstOracle,
  checkPublicAgainstMaster,
  countKnownIdentities,
  unexpectedPublicAttributes,
  type OracleResult,
  type PublicConsistency,
} from './checks.js';
import { addBuckets, parseHistogram, quantile, subtractBuckets, total, type Buckets } from './histogram.js';

/** The seed's acceptance criteria (docs/architecture.md §4). */
export const CRITERIA = Object.freeze({ produceWithinSeconds: 60, completeWithinSeconds: 5, freshnessP99Seconds: 2 });

export interface ValidationDeps {
  readonly master: ValidationReads;
  readonly publicStore: PublicStoreReader;
  readonly hmacSecret: string;
  readonly metricsUrls: readonly string[];
  readonly produce: (records: readonly ProducibleRecord[]) => Promise<ProduceSummary>;
  readonly progress?: (line: string) => void;
}

export interface ValidationOptions {
  readonly count: number;
  readonly seed: number;
  readonly payloadBytes?: number;
  /** Give up waiting for completeness after this many seconds past the last write. @default 120 */
  readonly waitSeconds?: number;
}

export interface ValidationReport {
  readonly publicStore: string;
  readonly count: number;
  readonly seed: number;
  readonly produce: ProduceSummary;
  readonly expectedPatients: number;
  readonly distinctIdentities: number;
  readonly knownBefore: number;
  /** Seconds from the last acknowledged write until the public store held every patient (undefined: never). */
  readonly completeAfterSeconds: number | undefined;
  readonly freshness: { samples: number; p50?: number | undefined; p99?: number | undefined; max?: number | undefined };
  readonly master: Omit<OracleResult, 'expected'>;
  readonly publicCheck: PublicConsistency;
  readonly phiAttributes: string[];
  readonly checks: { name: string; pass: boolean; detail: string }[];
  readonly pass: boolean;
}

/** The consumers' freshness histogram and their count of records done (stored and published). */
export async function scrape(urls: readonly string[]): Promise<{ fresh: Buckets; records: number }> {
  let fresh: Buckets = new Map();
  let records = 0;
  for (const url of urls) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`metrics endpoint ${url} answered ${res.status}`);
    const text = await res.text();
    fresh = addBuckets(fresh, parseHistogram(text, 'intake_freshness_seconds'));
    for (const m of text.matchAll(/^intake_records_total\{[^}]*\} (\S+)$/gm)) records += Number(m[1]);
  }
  return { fresh, records };
}

/**
 * The seed's validation: produce N fresh records, wait until the public store holds every patient,
 * then prove the master matches what was sent and the public store matches the master.
 */
export async function runValidation(deps: ValidationDeps, o: ValidationOptions): Promise<ValidationReport> {
  const say = deps.progress ?? (() => {});
  const keyer = new IdentityKeyer(deps.hmacSecret);
  const genOptions = { count: o.count, seed: o.seed, payloadBytes: o.payloadBytes ?? 0 };

  // 1. Build every record before the clock starts (as kafka-producer-perf-test does): the test
  // measures the platform, not Faker. The same pass tells which patients the run will create.
  const dry = generateRecords(genOptions);
  const records: ProducibleRecord[] = [];
  for (const r of dry) records.push({ key: r.key, value: r.value });
  const exp = dry.expectation();
  const knownBefore = await countKnownIdentities(deps.master, keyer, exp.identities);
  const baseline = await deps.publicStore.count();
  const expectedPatients = baseline + exp.distinctIdentities - knownBefore;
  say(
    `${exp.distinctIdentities} distinct patients in ${o.count} records (${knownBefore} already known); public store holds ${baseline}, must reach ${expectedPatients}`,
  );

  // 2. Produce.
  const before = await scrape(deps.metricsUrls);
  const produced = await deps.produce(records);
  say(`produced ${produced.records} records in ${produced.seconds.toFixed(2)} s (${Math.round(produced.recordsPerSecond)} records/s)`);

  // 3. Wait until the public store is complete: every record acknowledged by the public store (the
  // consumers count a record once its batch's public write returned), and, where counting is cheap
  // (PostgreSQL), the store's own row count. A DynamoDB count is a full scan that takes seconds at
  // a million items, so there the count is checked right after, untimed.
  const waitMs = (o.waitSeconds ?? 120) * 1000;
  const countWhilePolling = deps.publicStore.kind === 'postgres';
  let completeAt: number | undefined;
  let seen = 0;
  const lastWrite = produced.lastAckAt ?? Date.now();
  while (Date.now() - lastWrite < waitMs) {
    const done = (await scrape(deps.metricsUrls)).records - before.records >= o.count;
    if (done && countWhilePolling) seen = await deps.publicStore.count();
    if (done && (!countWhilePolling || seen >= expectedPatients)) {
      completeAt = Date.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!countWhilePolling || completeAt === undefined) seen = await deps.publicStore.count();
  const completeAfterSeconds = completeAt === undefined ? undefined : Math.max(0, (completeAt - lastWrite) / 1000);
  say(
    completeAt === undefined
      ? `public store incomplete after ${waitMs / 1000} s: ${seen} of ${expectedPatients}`
      : `public store complete ${completeAfterSeconds!.toFixed(2)} s after the last write (holds ${seen} of ${expectedPatients})`,
  );

  // Let the in-flight batches of the consumers settle before reading the freshness histograms.
  await new Promise((r) => setTimeout(r, 500));
  const fresh = subtractBuckets((await scrape(deps.metricsUrls)).fresh, before.fresh);

  // 4. Consistency.
  const oracle = await checkMasterAgainstOracle(deps.master, keyer, exp.identities, exp.newestColors);
  const publicCheck = await checkPublicAgainstMaster(deps.master, deps.publicStore, oracle.expected);
  const phiAttributes = await unexpectedPublicAttributes(deps.publicStore);

  const freshness = { samples: total(fresh), p50: quantile(fresh, 0.5), p99: quantile(fresh, 0.99), max: maxBound(fresh) };
  const checks = [
    {
      name: `all ${o.count} records written within ${CRITERIA.produceWithinSeconds} s`,
      pass: produced.records === o.count && produced.seconds <= CRITERIA.produceWithinSeconds,
      detail: `${produced.records} in ${produced.seconds.toFixed(2)} s`,
    },
    {
      name: `public store complete within ${CRITERIA.completeWithinSeconds} s of the last write`,
      pass: completeAfterSeconds !== undefined && completeAfterSeconds <= CRITERIA.completeWithinSeconds,
      detail: completeAfterSeconds === undefined ? `incomplete (${seen}/${expectedPatients})` : `${completeAfterSeconds.toFixed(2)} s`,
    },
    { name: 'public store holds every patient', pass: seen >= expectedPatients, detail: `${seen} of ${expectedPatients}` },
    {
      name: 'master holds every patient with its newest color',
      pass: oracle.missing === 0 && oracle.wrongColor === 0,
      detail: `${oracle.matched} matched, ${oracle.wrongColor} wrong, ${oracle.missing} missing`,
    },
    {
      name: 'public store consistent with the master',
      pass:
        publicCheck.differsFromMaster === 0 && publicCheck.unknownPatients === 0 && publicCheck.runPatientsMissing === 0 && publicCheck.runPatientsWrong === 0,
      detail: `${publicCheck.publicRows} rows; ${publicCheck.differsFromMaster} differ, ${publicCheck.unknownPatients} unknown, ${publicCheck.runPatientsMissing} of this run missing, ${publicCheck.runPatientsWrong} wrong`,
    },
    {
      name: 'no PHI attribute in the public store',
      pass: phiAttributes.length === 0,
      detail: phiAttributes.length === 0 ? 'patient_id, favorite_color, rev only' : `unexpected: ${phiAttributes.join(', ')}`,
    },
  ];
  const { expected: _e, ...master } = oracle;
  return {
    publicStore: deps.publicStore.kind,
    count: o.count,
    seed: o.seed,
    produce: produced,
    expectedPatients,
    distinctIdentities: exp.distinctIdentities,
    knownBefore,
    completeAfterSeconds,
    freshness,
    master,
    publicCheck,
    phiAttributes,
    checks,
    pass: checks.every((c) => c.pass),
  };
}

function maxBound(b: Buckets): number | undefined {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  let prev = 0;
  let last: number | undefined;
  for (const le of bounds) {
    if ((b.get(le) ?? 0) > prev) last = le;
    prev = b.get(le) ?? 0;
  }
  return last;
}

export function formatReport(r: ValidationReport): string {
  const f = (x: number | undefined, d = 3) => (x === undefined ? 'n/a' : x.toFixed(d));
  const lines = [
    '',
    `Seed validation: ${r.count} records, seed ${r.seed}, public store: ${r.publicStore}`,
    `  produce            ${r.produce.records} records in ${r.produce.seconds.toFixed(2)} s = ${Math.round(r.produce.recordsPerSecond)} records/s, ${r.produce.mbPerSecond.toFixed(1)} MB/s`,
    `  patients           ${r.distinctIdentities} distinct in this run (${r.knownBefore} known before); public store must hold ${r.expectedPatients}`,
    `  complete after     ${r.completeAfterSeconds === undefined ? 'never (timed out)' : `${r.completeAfterSeconds.toFixed(2)} s`} from the last write`,
    `  freshness          p50 ${f(r.freshness.p50)} s, p99 ${f(r.freshness.p99)} s, max bucket ≤ ${f(r.freshness.max, 2)} s (${r.freshness.samples} samples, produce → queryable)`,
    '',
    ...r.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
    '',
    `  RESULT: ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
  ];
  return lines.join('\n');
}
