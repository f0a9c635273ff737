import { createLogger, encodeRecord, IdentityKeyer, identityOf, IngestError, partitionKey, type IntakeRecordWire } from '@clinical-ingest/intake-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdentityResolver } from './identity-resolver.js';
import { FencedError } from './ports.js';
import { ConsumerMetrics } from './metrics.js';
import type { InboundMessage } from './ports.js';
import { BatchProcessor } from './processor.js';
import { FakeCache, FakeDeadLetters, FakeIntakeLog, FakeMaster, FakePublic } from './testing/fakes.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
let seq = 0;
function rec(name: string, dob: string, color: string, eventOffsetMs = 0): IntakeRecordWire {
  seq++;
  return {
    v: 1,
    recordId: `3f1c2a4e-8b7d-4c1e-9a2b-${String(seq).padStart(12, '0')}`,
    name,
    dateOfBirth: dob,
    favoriteColor: color,
    eventTime: new Date(NOW - 60_000 + eventOffsetMs).toISOString(),
  };
}
const msgs = (from: number, values: (IntakeRecordWire | string)[]): InboundMessage[] =>
  values.map((v, i) => ({ offset: from + i, key: null, value: typeof v === 'string' ? Buffer.from(v) : encodeRecord(v), timestampMs: NOW - 100 }));

/** A previous owner's commit of offsets 0..1 (patient p-1, red) that never reached the public store. */
async function commitUnpublished(master: FakeMaster): Promise<void> {
  await master.position('t', 0, 0);
  const row = {
    offset: 0,
    producedAtMs: NOW,
    patientId: 'p-1',
    newIdentity: true,
    record: { recordId: 'r', name: 'n', dateOfBirth: '1990-01-01', favoriteColor: 'red', eventTimeMs: NOW, payload: null },
  };
  await master.commitBatch({
    topic: 't',
    partition: 0,
    expectedNext: 0,
    next: 2,
    publishedThrough: 0,
    rejected: [],
    epoch: master.epoch,
    accepted: [],
    newestPerPatient: [row],
  });
  master.log.push(row);
}

/** A processor over fakes; every port can be given, the others are fresh. */
function newProcessor(d: {
  master: FakeMaster;
  cache?: FakeCache;
  pub?: FakePublic;
  dlq?: FakeDeadLetters;
  intakeLog?: FakeIntakeLog;
  metrics?: ConsumerMetrics;
}): BatchProcessor {
  return new BatchProcessor({
    topic: 't',
    keyer: new IdentityKeyer('0123456789abcdef0123456789abcdef'),
    resolver: new IdentityResolver(d.master, d.cache ?? new FakeCache()),
    master: d.master,
    publicStore: d.pub ?? new FakePublic(),
    deadLetters: d.dlq ?? new FakeDeadLetters(),
    intakeLog: d.intakeLog ?? new FakeIntakeLog(),
    clock: { now: () => NOW },
    metrics: d.metrics ?? new ConsumerMetrics(false),
    log: createLogger('test', { level: 'silent' }),
  });
}

describe('BatchProcessor', () => {
  let master: FakeMaster, cache: FakeCache, pub: FakePublic, dlq: FakeDeadLetters, processor: BatchProcessor;
  const make = () => newProcessor({ master, cache, pub, dlq });
  beforeEach(() => {
    master = new FakeMaster();
    cache = new FakeCache();
    pub = new FakePublic();
    dlq = new FakeDeadLetters();
    processor = make();
  });

  it('gives one patient ID to all records of a person, and publishes only the newest state', async () => {
    const out = await processor.process(
      0,
      msgs(0, [rec('Ada Lovelace', '1965-12-10', 'red', 0), rec('ADA  lovelace', '1965-12-10', 'blue', 10), rec('Ada Lovelace', '1965-12-10', 'green', 5)]),
    );
    expect(out).toMatchObject({ accepted: 3, rejected: 0, published: 1, next: 3 });
    expect(new Set(master.log.map((r) => r.patientId)).size).toBe(1);
    expect([...pub.items.values()].map((i) => i.favoriteColor)).toEqual(['blue']);
    expect(cache.map.size).toBe(1);
  });

  it('rejects bad input to the DLQ and the master store without stopping the batch', async () => {
    const out = await processor.process(
      0,
      msgs(0, [rec('A B', '1990-01-01', 'red'), '{nope', rec('C D', '2023-02-30', 'red'), rec('E F', '1991-01-01', 'red')]),
    );
    expect(out).toMatchObject({ accepted: 2, rejected: 2, next: 4 });
    expect(master.rejected.map((r) => [r.offset, r.reason])).toEqual([
      [1, 'malformed_json'],
      [2, 'invalid_date:dateOfBirth'],
    ]);
    expect(dlq.sent.map((s) => s.row.offset)).toEqual([1, 2]);
  });

  it('skips messages below the stored offset (a replay after a crash before the Kafka commit)', async () => {
    await processor.process(0, msgs(0, [rec('A B', '1990-01-01', 'red'), rec('C D', '1990-01-01', 'red')]));
    const fresh = make(); // a restarted consumer
    const out = await fresh.process(0, msgs(0, [rec('A B', '1990-01-01', 'red'), rec('C D', '1990-01-01', 'red'), rec('E F', '1990-01-01', 'red')]));
    expect(out).toMatchObject({ skipped: 2, accepted: 1, next: 3 });
    expect(master.log.map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('a consumer whose partition moved on cannot commit', async () => {
    const stale = make();
    await stale.process(0, msgs(0, [rec('A B', '1990-01-01', 'red')]));
    await processor.process(0, msgs(1, [rec('C D', '1990-01-01', 'red')])); // the new owner moved the offset to 2
    await expect(stale.process(0, msgs(1, [rec('X Y', '1990-01-01', 'red')]))).rejects.toBeInstanceOf(FencedError);
    expect(master.log.map((r) => r.offset)).toEqual([0, 1]);
  });

  it('re-publishes after a takeover when the previous owner crashed before its public write', async () => {
    await commitUnpublished(master);
    expect(pub.items.size).toBe(0);
    await processor.process(0, msgs(2, [rec('C D', '1990-01-01', 'red')]));
    expect(pub.items.get('p-1')?.favoriteColor).toBe('red');
    expect(master.positions.get(0)!.published).toBe(2);
  });

  it('the resume on assignment and the first batch republish a committed range once, not twice at once', async () => {
    await commitUnpublished(master);
    let reads = 0;
    const read = master.publicStateForRange.bind(master);
    master.publicStateForRange = async (...a: Parameters<FakeMaster['publicStateForRange']>) => {
      reads++;
      await new Promise((r) => setTimeout(r, 20));
      return read(...a);
    };
    const [resumed] = await Promise.all([processor.resume(0), processor.process(0, msgs(2, [rec('C D', '1990-01-01', 'red')]))]);
    expect(resumed).toBe(2);
    expect(reads).toBe(1);
    expect(pub.items.get('p-1')?.favoriteColor).toBe('red');
    // Later ranges are republished again (nothing is left shared once it is done).
    expect(await processor.resume(0)).toBe(3);
  });

  it('a public write that fails after the commit is made good when the batch is retried', async () => {
    const batch = msgs(0, [rec('A B', '1990-01-01', 'red'), rec('C D', '1990-01-01', 'blue')]);
    const put = pub.put.bind(pub);
    let failures = 1;
    pub.put = async (items) => {
      if (failures-- > 0) throw new Error('public store unavailable');
      return put(items);
    };
    await expect(processor.process(0, batch)).rejects.toThrow(/unavailable/);
    expect(pub.items.size).toBe(0);
    const out = await processor.process(0, batch); // the runner's retry, same consumer
    expect(out).toMatchObject({ skipped: 2, accepted: 0 });
    expect([...pub.items.values()].map((i) => i.favoriteColor).sort()).toEqual(['blue', 'red']);
    expect(master.positions.get(0)).toEqual({ next: 2, published: 2 });
  });

  it('an older record arriving later changes nothing public', async () => {
    await processor.process(0, msgs(0, [rec('A B', '1990-01-01', 'red', 1000)]));
    const out = await processor.process(0, msgs(1, [rec('A B', '1990-01-01', 'blue', 0)]));
    expect(out.published).toBe(0);
    expect([...pub.items.values()][0]?.favoriteColor).toBe('red');
  });

  it('a failing cache changes no ID: the identity store answers', async () => {
    await processor.process(0, msgs(0, [rec('A B', '1990-01-01', 'red')]));
    cache.failing = true;
    await processor.process(0, msgs(1, [rec('a b', '1990-01-01', 'blue', 10)]));
    expect(new Set(master.log.map((r) => r.patientId)).size).toBe(1);
  });
});

describe('BatchProcessor: nothing blocks, nothing is skipped, rejects reach the DLQ once', () => {
  let master: FakeMaster, cache: FakeCache, pub: FakePublic, dlq: FakeDeadLetters, log: FakeIntakeLog, metrics: ConsumerMetrics;
  const make = () => newProcessor({ master, cache, pub, dlq, intakeLog: log, metrics });
  beforeEach(() => {
    master = new FakeMaster();
    cache = new FakeCache();
    pub = new FakePublic();
    dlq = new FakeDeadLetters();
    log = new FakeIntakeLog();
    metrics = new ConsumerMetrics(false);
  });

  it('a record the master store refuses is narrowed down and rejected; the rest of the batch commits', async () => {
    // The store refuses a value only it can judge (PostgreSQL: SQLSTATE class 22, data exception).
    master.refuse = (name) => name.startsWith('Poison');
    const names = ['A B', 'C D', 'Poison One', 'E F', 'G H', 'I J', 'Poison Two', 'K L', 'M N', 'O P'];
    const out = await make().process(
      0,
      msgs(
        100,
        names.map((n) => rec(n, '1990-01-01', 'red')),
      ),
    );
    expect(out).toMatchObject({ accepted: 8, rejected: 2, next: 110 });
    expect(master.rejected.map((r) => [r.offset, r.reason])).toEqual([
      [102, 'store_refused'],
      [106, 'store_refused'],
    ]);
    expect(master.log.map((r) => r.offset).sort()).toEqual([100, 101, 103, 104, 105, 107, 108, 109]);
    expect(master.positions.get(0)?.next).toBe(110);
    expect(dlq.sent.map((s) => [s.row.offset, s.row.reason])).toEqual([
      [102, 'store_refused'],
      [106, 'store_refused'],
    ]);
    expect(pub.items.size).toBe(8);
    expect(await metrics.registry.getSingleMetricAsString('intake_rejected_total')).toContain('reason="store_refused"} 2');
  });

  it('a store failure that no record causes is not narrowed down: nothing is rejected, the batch fails', async () => {
    master.failNext = new IngestError('DB_42501', 'permission denied', { retriable: false });
    await expect(make().process(0, msgs(0, [rec('A B', '1990-01-01', 'red'), rec('C D', '1990-01-01', 'red')]))).rejects.toMatchObject({ code: 'DB_42501' });
    expect(master.rejected).toEqual([]);
    expect(dlq.sent).toEqual([]);
    expect(master.positions.get(0)?.next).toBe(0);
  });

  it('a batch retried after a failed commit sends its rejects to the DLQ once', async () => {
    const batch = msgs(0, [rec('A B', '1990-01-01', 'red'), '{nope', rec('C D', '2023-02-30', 'red')]);
    master.failNext = new IngestError('DB_CONNECTION', 'connection lost', { retriable: true });
    const processor = make();
    await expect(processor.process(0, batch)).rejects.toMatchObject({ code: 'DB_CONNECTION' });
    expect(dlq.sent).toEqual([]);
    await processor.process(0, batch);
    expect(dlq.sent.map((s) => s.row.offset)).toEqual([1, 2]);
  });

  it('rejects of a batch whose DLQ send failed after the commit are sent by the next owner, once', async () => {
    const send = dlq.publish.bind(dlq);
    dlq.publish = async () => {
      throw new Error('Kafka unavailable');
    };
    await expect(make().process(0, msgs(0, [rec('A B', '1990-01-01', 'red'), '{nope', '{nope']))).rejects.toThrow(/unavailable/);
    expect(master.positions.get(0)).toEqual({ next: 3, published: 0 });
    dlq.publish = send;
    const next = make(); // the partition's next owner
    await next.process(0, msgs(3, [rec('C D', '1990-01-01', 'red')]));
    expect(dlq.sent.map((s) => s.row.offset)).toEqual([1, 2]);
    expect(master.positions.get(0)).toEqual({ next: 4, published: 3 }); // recorded with the next commit
    await make().process(0, msgs(4, ['{nope']));
    expect(dlq.sent.map((s) => s.row.offset)).toEqual([1, 2, 4]);
  });

  it('a batch that starts after the stored offset asks to go back to it instead of committing over the gap', async () => {
    await master.position('t', 0, 0);
    master.positions.set(0, { next: 5, published: 5 }); // e.g. the database restored behind Kafka
    const processor = make();
    const out = await processor.process(0, msgs(8, [rec('A B', '1990-01-01', 'red')]));
    expect(out).toMatchObject({ accepted: 0, seekTo: 5 });
    expect(master.log).toEqual([]);
    const after = await processor.process(0, msgs(5, [rec('C D', '1990-01-01', 'red'), rec('E F', '1990-01-01', 'red'), rec('A B', '1990-01-01', 'red')]));
    expect(after).toMatchObject({ accepted: 3, next: 8 });
  });

  it('a gap Kafka holds no records for (transaction markers, compaction) is passed after going back once', async () => {
    await master.position('t', 0, 0);
    master.positions.set(0, { next: 5, published: 5 });
    const processor = make();
    expect(await processor.process(0, msgs(6, [rec('A B', '1990-01-01', 'red')]))).toMatchObject({ seekTo: 5 });
    expect(await processor.process(0, msgs(6, [rec('A B', '1990-01-01', 'red')]))).toMatchObject({ accepted: 1, next: 7 });
    expect(await metrics.registry.getSingleMetricAsString('intake_offset_gaps_total')).toContain('partition="0"} 1');
  });

  it('a gap that retention deleted stops the partition loudly instead of skipping the records', async () => {
    await master.position('t', 0, 0);
    master.positions.set(0, { next: 5, published: 5 });
    log.earliest = 9;
    await expect(make().process(0, msgs(9, [rec('A B', '1990-01-01', 'red')]))).rejects.toMatchObject({ code: 'OFFSET_GAP', retriable: false });
    expect(master.log).toEqual([]);
    expect(master.positions.get(0)?.next).toBe(5);
  });
});

describe('BatchProcessor: records keyed other than by identity', () => {
  it('are stored, and counted', async () => {
    const master = new FakeMaster();
    const metrics = new ConsumerMetrics(false);
    const processor = newProcessor({ master, metrics });
    const [right, wrong, none] = [
      rec('Ada Lovelace', '1965-12-10', 'red'),
      rec('Ada Lovelace', '1965-12-10', 'blue', 10),
      rec('Ada Lovelace', '1965-12-10', 'green', 20),
    ];
    const key = Buffer.from(partitionKey(identityOf(' ADA lovelace', '1965-12-10')));
    const out = await processor.process(0, [
      { offset: 0, key, value: encodeRecord(right), timestampMs: NOW },
      { offset: 1, key: Buffer.from('upstream-patient-4711'), value: encodeRecord(wrong), timestampMs: NOW },
      { offset: 2, key: null, value: encodeRecord(none), timestampMs: NOW },
    ]);
    expect(out).toMatchObject({ accepted: 3, rejected: 0 });
    expect(new Set(master.log.map((r) => r.patientId)).size).toBe(1);
    expect(await metrics.registry.getSingleMetricAsString('intake_key_mismatch_total')).toMatch(/intake_key_mismatch_total 2$/m);
  });
});

describe('BatchProcessor: the identity cache is tied to the database it caches', () => {
  it('after a restore (a new database epoch) no cached patient ID is trusted: one person keeps one ID the store holds', async () => {
    const master = new FakeMaster();
    const cache = new FakeCache();
    const make = () => newProcessor({ master, cache });
    const processor = make();
    await processor.process(0, msgs(0, [rec('Ada Lovelace', '1965-12-10', 'red')]));
    const first = master.log[0]!.patientId;
    // The database is restored to before that identity existed; the cache, elsewhere, still has it.
    master.restoreEmpty();
    master.epoch = 'restored';
    const next = msgs(1, [rec('Ada Lovelace', '1965-12-10', 'blue', 10)]);
    await expect(processor.process(0, next)).rejects.toMatchObject({ code: 'EPOCH_CHANGED', retriable: true });
    await processor.process(0, next); // the runner's retry
    const id = master.log[0]!.patientId;
    expect([...master.ids.values()]).toEqual([id]); // the ID used is the one the store holds
    expect(id).not.toBe(first);
    await make().process(0, msgs(2, [rec('ADA lovelace', '1965-12-10', 'green', 20)]));
    expect(new Set(master.log.map((r) => r.patientId))).toEqual(new Set([id]));
  });
});
