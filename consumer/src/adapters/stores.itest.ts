import { identityOf, IdentityKeyer, type IntakeRecord } from '@clinical-ingest/intake-core';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedRow, IdentityToResolve, PublicItem } from '../ports.js';
import { env, TEST_SECRET, TestPlatform, uniquePerson } from '@clinical-ingest/testkit';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPublicStore } from './dynamo-public-store.js';
import { PgMasterStore } from './pg-master-store.js';

/**
 * The store adapters' guarantees on the real PostgreSQL, whatever fast path the statements take:
 * one ID per identity under concurrency, a state for every patient whatever attempt created its
 * identity, and a public store that only ever moves forward.
 */

let platform: TestPlatform;
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterAll(async () => {
  await platform?.close();
});

const keyer = new IdentityKeyer(TEST_SECRET);
function toResolve(person: { name: string; dateOfBirth: string }): IdentityToResolve {
  const identity = identityOf(person.name, person.dateOfBirth);
  const key = keyer.key(identity);
  return { keyB64: key.toString('base64url'), key, identity };
}

function accepted(person: { name: string; dateOfBirth: string }, patientId: string, offset: number, color: string, newIdentity: boolean): AcceptedRow {
  const record: IntakeRecord = {
    recordId: randomUUID(),
    name: person.name,
    dateOfBirth: person.dateOfBirth,
    favoriteColor: color,
    eventTimeMs: Date.now() - 10_000 + offset,
    payload: null,
  };
  return { offset, producedAtMs: Date.now(), record, patientId, newIdentity };
}

describe('identity store', () => {
  it('gives one ID per identity when several connections create the same identities at once', async () => {
    const people = Array.from({ length: 200 }, () => uniquePerson());
    const wanted = people.map(toResolve);
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: env.appDb, max: 1 }));
    try {
      const results = await Promise.all(pools.map((p, i) => new PgMasterStore(p).resolve(i % 2 === 0 ? wanted : [...wanted].reverse())));
      for (const r of results) expect(r.ids).toEqual(results[0]!.ids);
      expect(results[0]!.ids.size).toBe(200);
      // Each identity was created by exactly one of the callers.
      for (const w of wanted) expect(results.filter((r) => r.created.has(w.keyB64))).toHaveLength(1);
      const rows = await platform.count('SELECT count(*) AS n FROM ingest.identity WHERE id_key = ANY($1::bytea[])', [wanted.map((w) => w.key)]);
      expect(rows).toBe(200);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('gives each new identity a random version-4 UUID of its own, on the plain and on the conflict-checking path', async () => {
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const plain = await new PgMasterStore(platform.app).resolve(Array.from({ length: 50 }, () => toResolve(uniquePerson())));
    // A known identity among new ones: the plain insert fails and the claim creates the rest.
    const known = toResolve(uniquePerson());
    await platform.master.resolve([known]);
    const claimed = await new PgMasterStore(platform.app).resolve([known, ...Array.from({ length: 50 }, () => toResolve(uniquePerson()))]);
    for (const r of [plain, claimed]) {
      const created = [...r.created].map((k) => r.ids.get(k)!);
      expect(created).toHaveLength(50);
      for (const id of created) expect(id).toMatch(v4);
      expect(new Set(created).size).toBe(50);
    }
  });

  it('returns the stored ID of known identities mixed with new ones (a flushed cache), creating only the new', async () => {
    const known = Array.from({ length: 20 }, () => toResolve(uniquePerson()));
    const first = await platform.master.resolve(known);
    const fresh = Array.from({ length: 20 }, () => toResolve(uniquePerson()));
    const again = await platform.master.resolve([...fresh, ...known]);
    for (const k of known) expect(again.ids.get(k.keyB64)).toBe(first.ids.get(k.keyB64));
    expect([...again.created].sort()).toEqual(fresh.map((f) => f.keyB64).sort());
  });
});

/** The master store's epoch, as a batch carries it (PartitionPosition.epoch). */
const epoch = async () => (await platform.admin.query<{ e: string }>('SELECT ingest.cache_epoch() AS e')).rows[0]!.e;

describe('master store', () => {
  it('writes the state of a patient whose identity an earlier, failed attempt created', async () => {
    const topic = `itest.${randomUUID()}`;
    const person = uniquePerson();
    const first = await platform.master.resolve([toResolve(person)]);
    // The batch that created the identity never committed; its retry finds the identity known.
    const retry = await platform.master.resolve([toResolve(person)]);
    expect(retry.created.size).toBe(0);
    const pid = retry.ids.get(toResolve(person).keyB64)!;
    expect(pid).toBe(first.ids.get(toResolve(person).keyB64));
    const pos = await platform.master.position(topic, 0, 0);
    const row = accepted(person, pid, 0, 'teal', false);
    const changed = await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: pos.next,
      next: 1,
      publishedThrough: 0,
      accepted: [row],
      rejected: [],
      newestPerPatient: [row],
    });
    expect(changed).toEqual([{ patientId: pid, favoriteColor: 'teal', rev: 1 }]);
    const later = accepted(person, pid, 1, 'plum', false);
    const changed2 = await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: 1,
      next: 2,
      publishedThrough: 1,
      accepted: [later],
      rejected: [],
      newestPerPatient: [later],
    });
    expect(changed2).toEqual([{ patientId: pid, favoriteColor: 'plum', rev: 2 }]);
  });

  it('stores exactly what it was given: names in any script, leap days and old dates, IDs, colors, payloads, instants', async () => {
    const topic = `itest.${randomUUID()}`;
    const tag = randomUUID().slice(0, 8);
    const people = [
      { name: `Zoë Ωμέγα-${tag} 名前 "quoted" \\ back\\slash, {brace}`, dateOfBirth: '1984-02-29' },
      { name: `Ólafur Ñúñez ${tag} 🩺`, dateOfBirth: '1890-01-01' },
      { name: `Plain ${tag}`, dateOfBirth: '2000-01-01' },
    ];
    const wanted = people.map(toResolve);
    const resolved = await platform.master.resolve(wanted);
    const identities = await platform.admin.query<{ id_key: Buffer; name_norm: string; dob: string }>(
      'SELECT id_key, name_norm, date_of_birth::text AS dob FROM ingest.identity WHERE id_key = ANY($1::bytea[]) ORDER BY id_key',
      [wanted.map((w) => w.key)],
    );
    expect(identities.rows.map((r) => [r.id_key.toString('base64url'), r.name_norm, r.dob]).sort()).toEqual(
      wanted.map((w) => [w.keyB64, w.identity.nameNorm, w.identity.dateOfBirth]).sort(),
    );
    const rows = people.map((p, i) => {
      const row = accepted(p, resolved.ids.get(wanted[i]!.keyB64)!, i, ['teal', 'vert d’eau', 'rouge "vif"'][i]!, true);
      return {
        ...row,
        record: { ...row.record, recordId: i === 0 ? randomUUID().toUpperCase() : randomUUID(), payload: i === 1 ? `note ${'°µ'.repeat(5_000)} end` : null },
      };
    });
    await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: (await platform.master.position(topic, 0, 0)).next,
      next: rows.length,
      publishedThrough: 0,
      accepted: rows,
      rejected: [],
      newestPerPatient: rows,
    });
    const log = await platform.admin.query<{
      record_id: string;
      patient_id: string;
      name: string;
      dob: string;
      color: string;
      payload: string | null;
      event_ms: number;
    }>(
      `SELECT record_id::text, patient_id::text, name, date_of_birth::text AS dob, favorite_color AS color, payload,
              (extract(epoch FROM event_time) * 1000)::float8 AS event_ms
         FROM ingest.intake_log WHERE topic = $1 ORDER BY kafka_offset`,
      [topic],
    );
    expect(log.rows).toEqual(
      rows.map((r) => ({
        record_id: r.record.recordId.toLowerCase(),
        patient_id: r.patientId,
        name: r.record.name,
        dob: r.record.dateOfBirth,
        color: r.record.favoriteColor,
        payload: r.record.payload,
        event_ms: r.record.eventTimeMs,
      })),
    );
    const state = await platform.admin.query<{ patient_id: string; name: string; dob: string; color: string }>(
      'SELECT patient_id::text, name, date_of_birth::text AS dob, favorite_color AS color FROM ingest.patient_state WHERE patient_id = ANY($1::uuid[]) ORDER BY patient_id',
      [rows.map((r) => r.patientId)],
    );
    expect(state.rows).toEqual(
      [...rows]
        .sort((x, y) => (x.patientId < y.patientId ? -1 : 1))
        .map((r) => ({ patient_id: r.patientId, name: r.record.name, dob: r.record.dateOfBirth, color: r.record.favoriteColor })),
    );
  });

  it('new and returning patients in one batch each get their state and revision', async () => {
    const topic = `itest.${randomUUID()}`;
    const returning = uniquePerson();
    const r0 = await platform.master.resolve([toResolve(returning)]);
    const rid = r0.ids.get(toResolve(returning).keyB64)!;
    const a = accepted(returning, rid, 0, 'red', true);
    await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: (await platform.master.position(topic, 0, 0)).next,
      next: 1,
      publishedThrough: 0,
      accepted: [a],
      rejected: [],
      newestPerPatient: [a],
    });
    const fresh = uniquePerson();
    const f0 = await platform.master.resolve([toResolve(fresh), toResolve(returning)]);
    const fid = f0.ids.get(toResolve(fresh).keyB64)!;
    const b = [
      accepted(fresh, fid, 1, 'blue', f0.created.has(toResolve(fresh).keyB64)),
      accepted(returning, rid, 2, 'green', f0.created.has(toResolve(returning).keyB64)),
    ];
    const changed = await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: 1,
      next: 3,
      publishedThrough: 1,
      accepted: b,
      rejected: [],
      newestPerPatient: b,
    });
    expect(new Map(changed.map((c) => [c.patientId, c]))).toEqual(
      new Map([
        [fid, { patientId: fid, favoriteColor: 'blue', rev: 1 }],
        [rid, { patientId: rid, favoriteColor: 'green', rev: 2 }],
      ]),
    );
  });
  it('a patient marked new that got a state elsewhere first (keyed to two partitions) still gets one state', async () => {
    const topic = `itest.${randomUUID()}`;
    const person = uniquePerson();
    const pid = (await platform.master.resolve([toResolve(person)])).ids.get(toResolve(person).keyB64)!;
    const there = accepted(person, pid, 0, 'red', true);
    await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 1,
      expectedNext: (await platform.master.position(topic, 1, 0)).next,
      next: 1,
      publishedThrough: 0,
      accepted: [there],
      rejected: [],
      newestPerPatient: [there],
    });
    const here = accepted(person, pid, 5, 'blue', true);
    const changed = await platform.master.commitBatch({
      epoch: await epoch(),
      topic,
      partition: 0,
      expectedNext: (await platform.master.position(topic, 0, 5)).next,
      next: 6,
      publishedThrough: 5,
      accepted: [here],
      rejected: [],
      newestPerPatient: [here],
    });
    expect(changed).toEqual([{ patientId: pid, favoriteColor: 'blue', rev: 2 }]);
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic])).toBe(2);
  });
});

describe.each(['postgres', 'dynamodb'] as const)('public store on %s: ordered by the master revision', (kind) => {
  // These rows have no state in the master store: remove them, or the seed validation that runs
  // later against the same store counts them as unknown patients (the DynamoDB tables are fresh).
  const written: string[] = [];
  const item = (patientId: string, favoriteColor: string, rev: number): PublicItem => {
    written.push(patientId);
    return { patientId, favoriteColor, rev };
  };
  afterAll(async () => {
    if (kind === 'postgres') await platform.admin.query('DELETE FROM anon.patient WHERE patient_id = ANY($1::uuid[])', [written]);
  });
  const open = async () => (kind === 'postgres' ? platform.pgPublic() : platform.dynamoPublic());

  it('is idempotent: the same first revisions written twice, alone and mixed with new ones', async () => {
    const store = await open();
    const a = Array.from({ length: 5 }, () => item(randomUUID(), 'red', 1));
    await store.put(a);
    await store.put(a);
    const b = Array.from({ length: 5 }, () => item(randomUUID(), 'blue', 1));
    await store.put([...b, ...a]);
    const got = await store.get([...a, ...b].map((i) => i.patientId));
    expect([...got.values()].sort((x, y) => x.patientId.localeCompare(y.patientId))).toEqual(
      [...a, ...b].sort((x, y) => x.patientId.localeCompare(y.patientId)),
    );
  });

  it('lists the attributes it holds: patient ID, color and revision, nothing else', async () => {
    const store = await open();
    await store.put([item(randomUUID(), 'red', 1)]);
    expect(await store.attributeNames()).toEqual(['favorite_color', 'patient_id', 'rev']);
  });

  it('never goes back: an older revision never overwrites a newer one, whatever the order', async () => {
    const store = await open();
    const pid = randomUUID();
    const other = randomUUID();
    await store.put([item(pid, 'green', 3)]);
    await store.put([item(pid, 'red', 1), item(other, 'red', 1)]);
    await store.put([item(pid, 'blue', 2)]);
    const got = await store.get([pid, other]);
    expect(got.get(pid)).toEqual(item(pid, 'green', 3));
    expect(got.get(other)).toEqual(item(other, 'red', 1));
    await store.put([item(pid, 'teal', 4)]);
    expect((await store.get([pid])).get(pid)).toEqual(item(pid, 'teal', 4));
  });

  it('writers racing on the same patients (an evicted owner, a backfill, two keys for one person) end at the newest revision', async () => {
    const stores = await Promise.all([open(), open(), open()]);
    const pids = Array.from({ length: 40 }, () => randomUUID());
    // Each writer sends every patient's revisions 1..6 in its own shuffled order, all at once.
    const revs = [1, 2, 3, 4, 5, 6];
    const shuffled = <T>(xs: T[]) =>
      xs
        .map((x) => [Math.random(), x] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, x]) => x);
    await Promise.all(stores.flatMap((store) => shuffled(revs).map((rev) => store.put(shuffled(pids).map((pid) => item(pid, `color ${rev}`, rev))))));
    const got = await stores[0].get(pids);
    expect(pids.filter((pid) => got.get(pid)?.rev !== 6 || got.get(pid)?.favoriteColor !== 'color 6')).toEqual([]);
  });
});

describe('public store on the DynamoDB API: a failed batch', () => {
  it('returns its error only after every write it started has finished, so a retry never races it', async () => {
    const client = new DynamoDBClient({ endpoint: env.dynamo, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const failing = randomUUID();
    const started: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const text = JSON.stringify(args.input);
        if (text.includes(failing)) throw Object.assign(new Error('refused'), { name: 'ValidationException' });
        if (text.includes('"Item":') || text.includes('PutRequest')) {
          started.push(text);
          await new Promise((r) => setTimeout(r, 150));
        }
        return next(args);
      },
      { step: 'initialize', name: 'slowWritesAndOneFailure' },
    );
    const store = new DynamoPublicStore({ client, table: `itest_${randomUUID().slice(0, 8)}`, concurrency: 8 });
    await store.ensureTable();
    const items: PublicItem[] = [
      { patientId: failing, favoriteColor: 'red', rev: 1 },
      ...Array.from({ length: 40 }, () => ({ patientId: randomUUID(), favoriteColor: 'red', rev: 1 })),
    ];
    await expect(store.put(items)).rejects.toMatchObject({ code: 'PUBLIC_STORE_WRITE' });
    // Every write that had started has landed by the time the error returned.
    const startedIds = items.filter((i) => started.some((t) => t.includes(i.patientId))).map((i) => i.patientId);
    expect(startedIds.length).toBeGreaterThan(0);
    const got = await store.get(startedIds);
    expect(got.size).toBe(startedIds.length);
    await store.close();
  });
});

describe('master store epoch (the identity cache namespace)', () => {
  it('is stable, and a batch resolved under another epoch (a restored database) does not commit', async () => {
    const topic = `itest.${randomUUID()}`;
    const pos = await platform.master.position(topic, 0, 0);
    expect(pos.epoch).toBe(await epoch());
    expect(pos.epoch).toMatch(/^\d+\.[0-9A-F]{8}\.\d+$/);
    const person = uniquePerson();
    const [pid] = [...(await platform.master.resolve([toResolve(person)])).ids.values()];
    const row = accepted(person, pid!, 0, 'red', false);
    const batch = { topic, partition: 0, expectedNext: 0, next: 1, publishedThrough: 0, accepted: [row], rejected: [], newestPerPatient: [row] };
    await expect(platform.master.commitBatch({ ...batch, epoch: '1.00000001.1' })).rejects.toMatchObject({ code: 'EPOCH_CHANGED', retriable: true });
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic])).toBe(0);
    await platform.master.commitBatch({ ...batch, epoch: pos.epoch });
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic])).toBe(1);
  });
});
