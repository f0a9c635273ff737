import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ConsumerProcess, freePort, TEST_SECRET, type TestPlatform } from '../index.js';
import { PgValidationReads } from '@clinical-ingest/consumer';
import { encodeRecord, IdentityKeyer, identityOf, partitionKey, type Identity } from '@clinical-ingest/intake-core';
import { generateRecords, INVALID_KINDS, type GeneratedRecord } from '@clinical-ingest/loadgen';
import { produceRecords, type ProducibleRecord } from '@clinical-ingest/loadgen';
import { checkMasterAgainstOracle } from '@clinical-ingest/loadgen';

/**
 * The standing fault suite (`make chaos`): each scenario runs real consumer processes on a fresh
 * topic of the local platform, sends a poison mix (about 1 % of records of every reject kind, NUL
 * bytes, invalid Unicode, oversized values, records keyed other than by identity, and canary PHI)
 * while a fault strikes, and then counts, exactly: what was sent, stored and rejected, what was
 * lost or stored twice, which person got two patient IDs, whether the public store equals the
 * master, and whether the canary reached a log, a metric, a DLQ header or the public store.
 */

export interface ChaosOptions {
  readonly platform: TestPlatform;
  /** The repository root (scripts/platform.sh restarts the servers). */
  readonly root: string;
  readonly records: number;
  /** Records per second while the fault strikes. */
  readonly rate: number;
  readonly partitions: number;
  readonly log: (line: string) => void;
}

export interface ScenarioResult {
  readonly name: string;
  readonly sent: number;
  readonly valid: number;
  readonly stored: number;
  readonly rejected: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly splitPatients: number;
  readonly publicDiffers: number;
  readonly phiHits: number;
  readonly keyMismatches: number;
  readonly seconds: number;
  readonly pass: boolean;
  readonly problems: readonly string[];
}

interface Context {
  readonly topic: string;
  readonly group: string;
  readonly consumers: ConsumerProcess[];
  readonly o: ChaosOptions;
  /** Share of the sent records the master store holds (stored offsets over the topic's end offsets). */
  progress(): Promise<number>;
  /** Resolves once the progress reached `share` (0..1). */
  until(share: number): Promise<void>;
  start(n?: number): Promise<void>;
  /** Sends the records; resolves when all are acknowledged. */
  produce(records: readonly ProducibleRecord[], rate?: number): Promise<void>;
  records: readonly ProducibleRecord[];
}

export interface Scenario {
  readonly name: string;
  /** Starts consumers, sends `ctx.records` and strikes; returns once everything is sent. */
  run(ctx: Context): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long after the drain the public store may take to match the master (see the comparison). */
const PUBLIC_SETTLE_MS = 30_000;

async function platformRestart(root: string, service: string): Promise<void> {
  await promisify(execFile)(`${root}/scripts/platform.sh`, ['restart', service], { timeout: 180_000 });
}

/** Two consumers, the records sent at the scenario's rate, and `strike` once `share` of them is stored. */
const strikeAt =
  (share: number, strike: (ctx: Context) => Promise<void>): Scenario['run'] =>
  async (ctx) => {
    await ctx.start(2);
    const producing = ctx.produce(ctx.records);
    await ctx.until(share);
    await strike(ctx);
    await producing;
  };

/** The fault suite's scenarios, in the order they run. */
export function scenarios(): Scenario[] {
  return [
    { name: 'poison mix, no fault', run: strikeAt(0, async () => {}) },
    {
      name: 'consumer kill -9 mid-batch, three times',
      run: strikeAt(0.2, async (ctx) => {
        for (const share of [0.2, 0.45, 0.7]) {
          await ctx.until(share);
          await ctx.consumers.shift()!.kill();
          await ctx.start(1);
        }
      }),
    },
    { name: 'Redis FLUSHALL mid-run', run: strikeAt(0.4, async (ctx) => void (await ctx.o.platform.redis.flushall())) },
    { name: 'PostgreSQL restart mid-run', run: strikeAt(0.4, (ctx) => platformRestart(ctx.o.root, 'postgres')) },
    {
      name: 'Kafka broker restart mid-run',
      run: async (ctx) => {
        await ctx.start(2);
        // The producer is not under test: it sends the first half, waits out the restart, sends the rest.
        const half = Math.floor(ctx.records.length / 2);
        await ctx.produce(ctx.records.slice(0, half));
        await platformRestart(ctx.o.root, 'kafka');
        await sleep(2_000);
        await ctx.produce(ctx.records.slice(half));
      },
    },
    {
      name: 'rebalance storm 2 → 6 → 2 consumers',
      run: strikeAt(0.2, async (ctx) => {
        await ctx.start(4);
        await ctx.until(0.6);
        await Promise.all(ctx.consumers.splice(2).map((c) => c.stop()));
      }),
    },
    {
      name: 'database rolled back 100 records behind Kafka',
      run: strikeAt(1, async (ctx) => {
        await Promise.all(ctx.consumers.splice(0).map((c) => c.stop()));
        await rollBack(ctx.o.platform, ctx.topic, 0, 100);
        await ctx.start(2);
      }),
    },
  ];
}

/**
 * As a point-in-time restore leaves one partition: its last `n` records, their rejects and the
 * stored offset gone from the master store (as the superuser, with the history triggers
 * bypassed for this session only), while Kafka and the group's committed offset are ahead.
 */
async function rollBack(platform: TestPlatform, topic: string, partition: number, n: number): Promise<void> {
  const client = await platform.admin.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const r = await client.query<{ next_offset: string }>(
      'SELECT next_offset FROM ingest.partition_offset WHERE topic = $1 AND kafka_partition = $2 FOR UPDATE',
      [topic, partition],
    );
    const to = Math.max(0, Number(r.rows[0]!.next_offset) - n);
    await client.query('DELETE FROM ingest.intake_log WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset >= $3', [topic, partition, to]);
    await client.query('DELETE FROM ingest.rejected_record WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset >= $3', [topic, partition, to]);
    await client.query(
      'UPDATE ingest.partition_offset SET next_offset = $3, published_offset = LEAST(published_offset, $3) WHERE topic = $1 AND kafka_partition = $2',
      [topic, partition, to],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** The records of a scenario: the generator's poison mix, some keyed otherwise, and canaries. */
function buildRecords(
  count: number,
  canary: string,
): { records: ProducibleRecord[]; generated: GeneratedRecord[]; extra: { identity: Identity; color: string; recordId: string }[] } {
  // About 1 % of the records of every reject kind.
  const gen = generateRecords({
    count,
    seed: randomBytes(4).readUInt32BE(0),
    returningRatio: 0.2,
    invalidRatio: INVALID_KINDS.length / 100,
    payloadBytes: 200,
  });
  const generated = [...gen];
  const records: ProducibleRecord[] = generated.map((r, i) =>
    // One valid record in a hundred keyed by an upstream number instead of the identity.
    r.kind !== 'invalid' && i % 100 === 7 ? { key: `upstream-${i}`, value: r.value } : r,
  );
  // Canaries: valid new people whose name and payload carry the canary, and a malformed one.
  const extra = Array.from({ length: 20 }, (_, i) => {
    const name = `Canary ${canary} Person${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`;
    const wire = {
      v: 1 as const,
      recordId: randomUUID(),
      name,
      dateOfBirth: '1971-03-04',
      favoriteColor: 'olive',
      eventTime: new Date().toISOString(),
      payload: `notes ${canary}`,
    };
    records.splice(Math.floor(((i + 1) * records.length) / 21), 0, { key: partitionKey(identityOf(name, wire.dateOfBirth)), value: encodeRecord(wire) });
    return { identity: identityOf(name, wire.dateOfBirth), color: 'olive', recordId: wire.recordId };
  });
  records.push({ key: 'chaos-malformed', value: Buffer.from(`{"v":1,"name":"Canary ${canary}",`) });
  return { records, generated, extra };
}

export async function runScenario(s: Scenario, o: ChaosOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const { platform } = o;
  const topic = await platform.topic(o.partitions);
  const group = `chaos-${randomUUID().slice(0, 8)}`;
  const canary = `Zq${randomBytes(6)
    .toString('hex')
    .replace(/[0-9]/g, (d) => String.fromCharCode(103 + Number(d)))}`;
  const { records, generated, extra } = buildRecords(o.records, canary);
  const pgLog = `${o.root}/.local/logs/postgres.log`;
  const pgLogFrom = fileSize(pgLog);
  const consumers: ConsumerProcess[] = [];
  const all: ConsumerProcess[] = [];
  const admin = platform.kafka.admin();
  await admin.connect();
  let ends: Map<number, number> | undefined;
  const stored = async () => {
    const r = await platform.admin.query<{ kafka_partition: number; next_offset: string }>(
      'SELECT kafka_partition, next_offset FROM ingest.partition_offset WHERE topic = $1',
      [topic],
    );
    return new Map(r.rows.map((x) => [x.kafka_partition, Number(x.next_offset)]));
  };
  const ctx: Context = {
    topic,
    group,
    consumers,
    o,
    records,
    async progress() {
      const done = [...(await stored()).values()].reduce((a, b) => a + b, 0);
      return done / records.length;
    },
    async until(share) {
      const deadline = Date.now() + 300_000;
      while ((await ctx.progress()) < share) {
        if (Date.now() > deadline) throw new Error(`${s.name}: progress stayed below ${share}`);
        await sleep(100);
      }
    },
    async start(n = 1) {
      const started = await Promise.all(
        Array.from({ length: n }, () => ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres', fullLog: true })),
      );
      consumers.push(...started);
      all.push(...started);
    },
    async produce(rs, rate = o.rate) {
      await produceRecords({ records: rs, topic, kafka: platform.kafka, rate, progress: false, summary: false });
    },
  };
  const problems: string[] = [];
  try {
    await s.run(ctx);
    // Drained: every partition's stored offset at the topic's end.
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const now = await stored();
      if ([...ends].every(([p, end]) => end === 0 || now.get(p) === end)) break;
      if (Date.now() > deadline) {
        problems.push(`not drained: ${JSON.stringify([...now])} of ${JSON.stringify([...ends])}`);
        break;
      }
      await sleep(200);
    }
    await sleep(1_000); // the last batches' public writes and DLQ sends follow their commit
  } catch (err) {
    problems.push(`scenario failed: ${(err as Error).message}`);
  }

  // Counts, exactly.
  const validRecords = generated.filter((r) => r.kind !== 'invalid');
  const validIds = new Map<string, Identity>();
  for (const r of validRecords) validIds.set((JSON.parse(r.value.toString('utf8')) as { recordId: string }).recordId.toLowerCase(), r.identity!);
  for (const e of extra) validIds.set(e.recordId, e.identity);
  const log = await platform.admin.query<{ record_id: string; patient_id: string; kafka_partition: number; kafka_offset: string }>(
    'SELECT record_id, patient_id, kafka_partition, kafka_offset FROM ingest.intake_log WHERE topic = $1',
    [topic],
  );
  const byRecord = new Map<string, string>();
  const positions = new Set<string>();
  let duplicated = 0;
  for (const row of log.rows) {
    const pos = `${row.kafka_partition}/${row.kafka_offset}`;
    if (positions.has(pos)) duplicated++;
    positions.add(pos);
    byRecord.set(row.record_id, row.patient_id);
  }
  const lost = [...validIds.keys()].filter((id) => !byRecord.has(id)).length;
  const idsPerPerson = new Map<string, Set<string>>();
  for (const [recordId, identity] of validIds) {
    const pid = byRecord.get(recordId);
    if (pid === undefined) continue;
    const k = `${identity.nameNorm}\u0000${identity.dateOfBirth}`;
    if (!idsPerPerson.has(k)) idsPerPerson.set(k, new Set());
    idsPerPerson.get(k)!.add(pid);
  }
  const splitPatients = [...idsPerPerson.values()].filter((ids) => ids.size > 1).length;
  const rejected = await platform.count('SELECT count(*) AS n FROM ingest.rejected_record WHERE topic = $1', [topic]);
  const expectedRejected = records.length - validIds.size;

  // The master against the generator's oracle, and the public store against the master.
  const patients = [...new Set(byRecord.values())];
  // The public store follows each commit, and a new owner republishes what a killed one committed,
  // retrying (with backoff) when two republishes deadlock: it converges after the drain, not at it.
  // Compared until equal, or for at most PUBLIC_SETTLE_MS (a store that never converges fails).
  let publicRows: { patient_id: string; favorite_color: string; rev: number }[] = [];
  const publicDiffersNow = async () => {
    const master = await platform.admin.query<{ patient_id: string; favorite_color: string; rev: number }>(
      'SELECT patient_id, favorite_color, rev FROM ingest.patient_state WHERE patient_id = ANY($1::uuid[])',
      [patients],
    );
    const pub = await platform.admin.query<{ patient_id: string; favorite_color: string; rev: number }>(
      'SELECT patient_id, favorite_color, rev FROM anon.patient WHERE patient_id = ANY($1::uuid[])',
      [patients],
    );
    publicRows = pub.rows;
    const pubBy = new Map(pub.rows.map((r) => [r.patient_id, r]));
    return master.rows.filter((m) => pubBy.get(m.patient_id)?.favorite_color !== m.favorite_color || pubBy.get(m.patient_id)?.rev !== m.rev).length;
  };
  let publicDiffers = await publicDiffersNow();
  for (const settleBy = Date.now() + PUBLIC_SETTLE_MS; publicDiffers > 0 && Date.now() < settleBy;) {
    await sleep(250);
    publicDiffers = await publicDiffersNow();
  }
  const oracle = await checkMasterAgainstOracle(
    new PgValidationReads(platform.admin),
    new IdentityKeyer(TEST_SECRET),
    extra.map((e) => e.identity),
    extra.map((e) => e.color),
  );
  if (oracle.missing + oracle.wrongColor > 0) problems.push(`canary patients: ${oracle.missing} missing, ${oracle.wrongColor} wrong color`);

  // Where the canary must never be: logs, metrics, DLQ headers, the public store.
  let keyMismatches = 0;
  let phiHits = 0;
  for (const c of all) {
    const text = c.log();
    if (text.includes(canary)) phiHits++;
    if (c.child.exitCode === null) {
      try {
        const metrics = await (await fetch(c.metricsUrl)).text();
        if (metrics.includes(canary)) phiHits++;
        keyMismatches += await c.metric('intake_key_mismatch_total');
      } catch {
        /* stopped meanwhile */
      }
    }
  }
  if (readSince(pgLog, pgLogFrom).includes(canary)) phiHits++;
  phiHits += await dlqHeaderHits(platform, `${topic}.dlq`, canary, expectedRejected);
  if (publicRows.some((r) => r.favorite_color.includes(canary))) phiHits++;

  await Promise.all(consumers.map((c) => c.stop()));
  await admin.disconnect();
  if (problems.length > 0 || lost + duplicated + splitPatients + publicDiffers + phiHits > 0) {
    // The consumers' own logs (PHI-free by construction, and checked for the canary above).
    mkdirSync(`${o.root}/reports`, { recursive: true });
    all.forEach((c, i) => writeFileSync(`${o.root}/reports/chaos-${topic}-consumer-${i + 1}.log`, c.log()));
    o.log(`consumer logs in reports/chaos-${topic}-consumer-*.log`);
  }

  if (lost > 0) problems.push(`${lost} lost`);
  if (duplicated > 0) problems.push(`${duplicated} stored twice`);
  if (splitPatients > 0) problems.push(`${splitPatients} people with two patient IDs`);
  if (publicDiffers > 0) problems.push(`${publicDiffers} public items differ from the master`);
  if (phiHits > 0) problems.push(`the canary reached ${phiHits} place(s) it must not`);
  if (rejected !== expectedRejected) problems.push(`${rejected} rejected, ${expectedRejected} expected`);
  if (byRecord.size !== validIds.size) problems.push(`${byRecord.size} stored, ${validIds.size} expected`);
  o.log(`${s.name} (topic ${topic}): ${problems.length === 0 ? 'ok' : problems.join('; ')}`);
  return {
    name: s.name,
    sent: records.length,
    valid: validIds.size,
    stored: byRecord.size,
    rejected,
    lost,
    duplicated,
    splitPatients,
    publicDiffers,
    phiHits,
    keyMismatches,
    seconds: (Date.now() - t0) / 1000,
    pass: problems.length === 0,
    problems,
  };
}

/** DLQ headers holding the canary (the DLQ's values are the rejected records themselves). */
async function dlqHeaderHits(platform: TestPlatform, dlq: string, canary: string, expected: number): Promise<number> {
  const reader = platform.kafka.consumer({ groupId: `chaos-dlq-${randomUUID().slice(0, 8)}` });
  await reader.connect();
  await reader.subscribe({ topic: dlq, fromBeginning: true });
  let seen = 0;
  let hits = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    void reader.run({
      eachMessage: async ({ message }) => {
        for (const v of Object.values(message.headers ?? {})) if (String(v).includes(canary)) hits++;
        if (++seen >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await reader.disconnect();
  return hits;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readSince(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

/** The table `make chaos` prints. */
export function formatChaosTable(results: readonly ScenarioResult[]): string {
  const head =
    '| scenario | sent | valid | stored | rejected | lost | duplicated | split patients | public ≠ master | PHI hits | keyed otherwise | s | result |';
  const rule = '|---|---|---|---|---|---|---|---|---|---|---|---|---|';
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.sent} | ${r.valid} | ${r.stored} | ${r.rejected} | ${r.lost} | ${r.duplicated} | ${r.splitPatients} | ${r.publicDiffers} | ${r.phiHits} | ${r.keyMismatches} | ${r.seconds.toFixed(0)} | ${r.pass ? 'PASS' : `FAIL: ${r.problems.join('; ')}`} |`,
  );
  return [head, rule, ...rows].join('\n');
}
