import { encodeRecord, partitionKey, identityOf, type IntakeRecordWire } from '@clinical-ingest/intake-core';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage } from './ports.js';
// The built package: ConsumerProcess runs consumer/dist/main.js.
import { ConsumerProcess, env, freePort, TestPlatform, uniquePerson } from '@clinical-ingest/testkit';

/**
 * Faults a review found to stop or skip partitions, each on the real servers with real consumer
 * processes: nothing blocks, nothing is skipped.
 */

let platform: TestPlatform;
const running: ConsumerProcess[] = [];
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});
afterAll(async () => {
  await platform?.close();
});

async function consumer(topic: string): Promise<ConsumerProcess> {
  const c = await ConsumerProcess.start({ topic, group: `itest-${randomUUID().slice(0, 8)}`, metricsPort: freePort(), publicStore: 'postgres' });
  running.push(c);
  return c;
}

function record(color = 'teal'): IntakeRecordWire {
  const p = uniquePerson();
  return { v: 1, recordId: randomUUID(), name: p.name, dateOfBirth: p.dateOfBirth, favoriteColor: color, eventTime: new Date(Date.now() - 1000).toISOString() };
}

async function produce(topic: string, partition: number, values: (IntakeRecordWire | Buffer)[]): Promise<void> {
  const producer = platform.kafka.producer();
  await producer.connect();
  // One send per 500 records, one per large one: a send is one record batch, under the broker's limit.
  const step = values.some((v) => Buffer.isBuffer(v) && v.length > 100_000) ? 1 : 500;
  for (let i = 0; i < values.length; i += step) {
    await producer.send({
      topic,
      acks: -1,
      messages: values.slice(i, i + step).map((v) => ({
        partition,
        key: Buffer.isBuffer(v) ? null : partitionKey(identityOf(v.name, v.dateOfBirth)),
        value: Buffer.isBuffer(v) ? v : encodeRecord(v),
      })),
    });
  }
  await producer.disconnect();
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const stored = (topic: string, partition: number) =>
  platform.admin
    .query<{ n: string; distinct_offsets: string; max: string | null }>(
      'SELECT count(*) AS n, count(DISTINCT kafka_offset) AS distinct_offsets, max(kafka_offset) AS max FROM ingest.intake_log WHERE topic = $1 AND kafka_partition = $2',
      [topic, partition],
    )
    .then((r) => ({ n: Number(r.rows[0]!.n), distinct: Number(r.rows[0]!.distinct_offsets), max: r.rows[0]!.max === null ? -1 : Number(r.rows[0]!.max) }));

const nextOffset = (topic: string, partition: number) =>
  platform.admin
    .query<{ next_offset: string }>('SELECT next_offset FROM ingest.partition_offset WHERE topic = $1 AND kafka_partition = $2', [topic, partition])
    .then((r) => (r.rows[0] ? Number(r.rows[0].next_offset) : -1));

/** A new consumer group whose Kafka offset of partition 0 is `offset` (what a previous owner committed). */
async function groupCommittedAt(topic: string, offset: number): Promise<string> {
  const group = `itest-${randomUUID().slice(0, 8)}`;
  const admin = platform.kafka.admin();
  await admin.connect();
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: String(offset) }] });
  await admin.disconnect();
  return group;
}

const asMessages = (from: number, values: IntakeRecordWire[]): InboundMessage[] =>
  values.map((v, i) => ({ offset: from + i, key: null, value: encodeRecord(v), timestampMs: Date.now() }));

describe('resume from the master store, never skip a gap', () => {
  it('a master store behind Kafka (a restore, a failover): the partition resumes at the stored offset and every record lands once', async () => {
    const topic = await platform.topic(1);
    const records = Array.from({ length: 350 }, () => record());
    await produce(topic, 0, records.slice(0, 300));
    // The restored database holds offsets 0..199 only, while the group's Kafka offset says 300.
    await platform.processor(topic, platform.pgPublic()).process(0, asMessages(0, records.slice(0, 200)));
    const group = await groupCommittedAt(topic, 300);
    running.push(await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres' }));
    await produce(topic, 0, records.slice(300));
    await until(
      'offset 350 stored',
      () => nextOffset(topic, 0),
      (n) => n === 350,
    );
    expect(await stored(topic, 0)).toEqual({ n: 350, distinct: 350, max: 349 });
  });

  it('and when no record arrives after the restore, the partition still goes back on assignment', async () => {
    const topic = await platform.topic(1);
    const records = Array.from({ length: 300 }, () => record());
    await produce(topic, 0, records);
    await platform.processor(topic, platform.pgPublic()).process(0, asMessages(0, records.slice(0, 200)));
    const group = await groupCommittedAt(topic, 300);
    running.push(await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres' }));
    await until(
      'offset 300 stored',
      () => nextOffset(topic, 0),
      (n) => n === 300,
    );
    expect(await stored(topic, 0)).toEqual({ n: 300, distinct: 300, max: 299 });
  });

  it('a batch committed by a consumer that died before its public write is published by the next owner, even if no record follows', async () => {
    const topic = await platform.topic(1);
    const records = Array.from({ length: 50 }, () => record('violet'));
    await produce(topic, 0, records);
    const store = platform.pgPublic();
    const dying = Object.assign(Object.create(store) as typeof store, {
      put: async () => {
        throw new Error('killed between the commit and the public write');
      },
    });
    await expect(platform.processor(topic, dying).process(0, asMessages(0, records))).rejects.toThrow(/killed/);
    const pids = (await platform.admin.query<{ patient_id: string }>('SELECT patient_id FROM ingest.intake_log WHERE topic = $1', [topic])).rows.map(
      (r) => r.patient_id,
    );
    expect(pids).toHaveLength(50);
    expect((await store.get(pids)).size).toBe(0);
    const group = await groupCommittedAt(topic, 50);
    running.push(await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres' }));
    await until(
      'the 50 patients published',
      async () => (await store.get(pids)).size,
      (n) => n === 50,
      30_000,
    );
  });

  it('records that retention deleted behind the stored offset stop that partition loudly; the other partitions flow', async () => {
    const topic = await platform.topic(2);
    const records = Array.from({ length: 100 }, () => record());
    await produce(topic, 0, records.slice(0, 60));
    // Stored through offset 9; then offsets up to 39 are deleted from Kafka (as retention would).
    await platform.processor(topic, platform.pgPublic()).process(0, asMessages(0, records.slice(0, 10)));
    const admin = platform.kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '40' }] });
    await admin.disconnect();
    const c = await consumer(topic);
    await produce(topic, 1, records.slice(60));
    await until(
      'partition 1 drained',
      () => nextOffset(topic, 1),
      (n) => n === 40,
    );
    await until(
      'partition 0 reported stalled',
      () => c.metric('intake_partition_stalled{partition="0"}'),
      (v) => v === 1,
    );
    expect(await nextOffset(topic, 0)).toBe(10); // nothing passed over the gap
    expect((await stored(topic, 0)).n).toBe(10);
    expect(c.child.exitCode).toBe(null); // the consumer lives on
    expect(c.log()).toMatch(/deleted by retention; partition stopped/);
  });
});

describe('no record can stop a partition', () => {
  it('two 600 KiB values and 4,000 malformed records in one partition all reach the DLQ, and the records after them are stored', async () => {
    const topic = await platform.topic(1);
    // A DLQ topic with the broker's default limit (1 MiB a record batch), as an operator may have made it.
    const setup = platform.kafka.admin();
    await setup.connect();
    await setup.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: `${topic}.dlq`, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }],
    });
    await setup.disconnect();
    const big = (fill: string) => Buffer.from(JSON.stringify({ ...record(), payload: fill.repeat(600 * 1024) }));
    const small = Array.from({ length: 4000 }, (_, i) => Buffer.from(`{"v":1,"recordId":"not json ${i}`));
    const valid = Array.from({ length: 20 }, () => record());
    await produce(topic, 0, [big('a')]);
    await produce(topic, 0, [big('b')]);
    await produce(topic, 0, small);
    await produce(topic, 0, valid);
    await consumer(topic);
    await until(
      'every offset stored',
      () => nextOffset(topic, 0),
      (n) => n === 4022,
      90_000,
    );
    expect((await stored(topic, 0)).n).toBe(20);
    expect(await platform.count('SELECT count(*) AS n FROM ingest.rejected_record WHERE topic = $1', [topic])).toBe(4002);
    // The DLQ is written after the commit: wait for the last send, then check that nothing is there twice.
    const admin = platform.kafka.admin();
    await admin.connect();
    const dlqRecords = async () => (await admin.fetchTopicOffsets(`${topic}.dlq`)).reduce((a, e) => a + Number(e.high), 0);
    await until('4,002 DLQ records', dlqRecords, (n) => n >= 4002);
    await new Promise((r) => setTimeout(r, 500));
    expect(await dlqRecords()).toBe(4002);
    await admin.disconnect();
  });
});

describe('upstream producers compress', () => {
  // Kafka's own Java client, from the jars `make up` downloads for the broker (scripts/platform.sh).
  const libs = process.env['KAFKA_LIBS'] ?? fileURLToPath(new URL('../../.local/kafka/libs', import.meta.url));
  const program = fileURLToPath(new URL('./testing/ProduceCompressed.java', import.meta.url));

  it('records from the Java producer with every codec Kafka supports are all stored', async () => {
    expect(existsSync(libs), `Kafka's jars are not in ${libs}: run 'make up' (or set KAFKA_LIBS)`).toBe(true);
    const topic = await platform.topic(2);
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    const perCodec = 20;
    for (const codec of codecs) {
      const lines = Array.from({ length: perCodec }, () => {
        const r = { ...record(), payload: `${codec} `.repeat(200) };
        return `${Buffer.from(partitionKey(identityOf(r.name, r.dateOfBirth))).toString('base64')}\t${encodeRecord(r).toString('base64')}`;
      });
      const child = promisify(execFile)(process.env['JAVA'] ?? 'java', ['-cp', `${libs}/*`, program, env.brokers.join(','), topic, codec], {
        timeout: 120_000,
      });
      child.child.stdin!.end(`${lines.join('\n')}\n`);
      const { stdout } = await child;
      expect(stdout.trim().split('\n').pop()).toBe(String(perCodec));
    }
    await consumer(topic);
    const total = codecs.length * perCodec;
    const storedAll = () => platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic]);
    await until(`${total} records stored`, storedAll, (n) => n >= total, 60_000);
    expect(await storedAll()).toBe(total);
    expect(await platform.count('SELECT count(*) AS n FROM ingest.rejected_record WHERE topic = $1', [topic])).toBe(0);
  });
});

describe('rejects go where they can be replayed', () => {
  const replayMain = fileURLToPath(new URL('../dist/replay-main.js', import.meta.url));
  const replay = async (topic: string, args: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, [replayMain, ...args, '--json'], {
      env: { ...process.env, INTAKE_TOPIC: topic, DATABASE_URL: env.appDb, KAFKA_BROKERS: env.brokers.join(','), LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number; byReason: Record<string, number> };
  };
  const endOffset = async (topic: string) => {
    const admin = platform.kafka.admin();
    await admin.connect();
    const [p] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    return Number(p!.high);
  };

  it('the chosen rejects are re-sent to the intake topic once, whatever the number of runs, and decoded again', async () => {
    const topic = await platform.topic(1);
    const badDate = Array.from({ length: 3 }, () => ({ ...record(), dateOfBirth: '2023-02-30' }));
    await produce(topic, 0, [
      ...Array.from({ length: 5 }, (_, i) => Buffer.from(`{"v":1,"oops":${i}`)),
      ...badDate,
      ...Array.from({ length: 10 }, () => record()),
    ]);
    const c = await consumer(topic);
    await until(
      '18 offsets stored',
      () => nextOffset(topic, 0),
      (n) => n === 18,
    );
    await c.stop();
    running.splice(running.indexOf(c), 1);

    expect(await replay(topic, ['--reason', 'invalid_date', '--dry-run'])).toMatchObject({ sent: 3, byReason: { 'invalid_date:dateOfBirth': 3 } });
    expect(await endOffset(topic)).toBe(18);
    expect(await replay(topic, ['--reason', 'invalid_date'])).toMatchObject({ sent: 3 });
    expect(await endOffset(topic)).toBe(21);
    expect(await replay(topic, ['--reason', 'invalid_date'])).toMatchObject({ sent: 0 });
    expect(await endOffset(topic)).toBe(21);

    // Still invalid (no upstream fix here): decoded again, rejected again with the same reason and bytes.
    await consumer(topic);
    await until(
      '21 offsets stored',
      () => nextOffset(topic, 0),
      (n) => n === 21,
    );
    const r = await platform.admin.query<{ n: string; values: string }>(
      "SELECT count(*) AS n, count(DISTINCT raw_value) AS values FROM ingest.rejected_record WHERE topic = $1 AND reason = 'invalid_date:dateOfBirth'",
      [topic],
    );
    expect([Number(r.rows[0]!.n), Number(r.rows[0]!.values)]).toEqual([6, 3]);
  });
});

describe('a crash the Kafka client will not restart', () => {
  it('ends the process with a non-zero exit code, so that its supervisor restarts it', async () => {
    const topic = await platform.topic(1);
    // A session timeout beyond the broker's group.max.session.timeout.ms (30 min by default): the
    // JoinGroup fails with INVALID_SESSION_TIMEOUT, which kafkajs does not retry (restart: false).
    let code: number | null;
    try {
      const c = await ConsumerProcess.start({
        topic,
        group: `itest-${randomUUID().slice(0, 8)}`,
        metricsPort: freePort(),
        publicStore: 'postgres',
        extraEnv: { KAFKA_SESSION_TIMEOUT_MS: '1900000' },
      });
      running.push(c);
      code = await c.exited();
      expect(c.log()).toMatch(/consumer crashed/);
    } catch (err) {
      // It may crash before it reports ready: start() then says how it exited.
      code = Number(/consumer exited with (\d+)/.exec((err as Error).message)?.[1]);
      expect((err as Error).message).toMatch(/consumer crashed/);
    }
    expect(code).toBe(1);
  });
});

describe('a slow store slows the partition, it does not get the member evicted', () => {
  it('a batch held by the database longer than the session timeout keeps its member in the group and commits', async () => {
    const topic = await platform.topic(1);
    const group = `itest-${randomUUID().slice(0, 8)}`;
    // Session 10 s (the harness's); statements may wait a minute, so the batch waits, not fails.
    const c = await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres', extraEnv: { PG_STATEMENT_TIMEOUT_MS: '60000' } });
    running.push(c);
    await produce(topic, 0, [record()]);
    await until(
      'the first record',
      () => stored(topic, 0),
      (s) => s.n === 1,
    );
    const member = async () => {
      const admin = platform.kafka.admin();
      await admin.connect();
      try {
        const g = (await admin.describeGroups([group])).groups[0]!;
        return { state: g.state, members: g.members.map((m) => m.memberId) };
      } finally {
        await admin.disconnect();
      }
    };
    const before = await member();
    expect(before.members).toHaveLength(1);
    // Hold the partition's position row: the next batch's commit waits on it for 25 s.
    const holder = await platform.admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM ingest.partition_offset WHERE topic = $1 AND kafka_partition = 0 FOR UPDATE', [topic]);
      await produce(
        topic,
        0,
        Array.from({ length: 10 }, () => record()),
      );
      await new Promise((r) => setTimeout(r, 25_000));
      expect((await stored(topic, 0)).n).toBe(1); // the batch was waiting all along
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await until(
      'the held batch',
      () => stored(topic, 0),
      (s) => s.n === 11,
    );
    expect(await member()).toEqual({ state: 'Stable', members: before.members });
    expect(await c.metric('intake_batch_errors_total')).toBe(0);
  }, 120_000);
});

describe('rebalances', () => {
  it('a rebalance storm counts no batch error: successful batches and rebalances are not failures', async () => {
    const topic = await platform.topic(6);
    const group = `itest-${randomUUID().slice(0, 8)}`;
    const start = async () => {
      const c = await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres' });
      running.push(c);
      return c;
    };
    const first = await start();
    const records = Array.from({ length: 12_000 }, () => record());
    const producing = (async () => {
      for (let i = 0; i < records.length; i += 1_000) {
        await produce(topic, i % 6, records.slice(i, i + 1_000));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const more = [await start(), await start()];
    await producing;
    await until(
      'all stored',
      async () => (await stored(topic, 0)).n + (await Promise.all([1, 2, 3, 4, 5].map((p) => stored(topic, p)))).reduce((a, x) => a + x.n, 0),
      (n) => n === records.length,
      60_000,
    );
    const errors = await Promise.all([first, ...more].map((c) => c.metric('intake_batch_errors_total')));
    expect(errors).toEqual([0, 0, 0]);
  });
});
