import { encodeRecord, type IntakeRecordWire } from '@clinical-ingest/intake-core';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage, PublicItem, PublicStore } from './ports.js';
import { TestPlatform, uniquePerson } from '@clinical-ingest/testkit';

/** The batch processor against the real PostgreSQL, Redis and DynamoDB API (dynalite). */

let platform: TestPlatform;
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterAll(async () => {
  await platform?.close();
});

function record(person: { name: string; dateOfBirth: string }, color: string, eventTimeMs: number): IntakeRecordWire {
  return {
    v: 1,
    recordId: randomUUID(),
    name: person.name,
    dateOfBirth: person.dateOfBirth,
    favoriteColor: color,
    eventTime: new Date(eventTimeMs).toISOString(),
  };
}
function messages(from: number, records: IntakeRecordWire[]): InboundMessage[] {
  return records.map((r, i) => ({ offset: from + i, key: null, value: encodeRecord(r), timestampMs: Date.now() }));
}
const patientIdsOf = (topic: string) =>
  platform.admin
    .query<{ patient_id: string }>('SELECT DISTINCT patient_id FROM ingest.intake_log WHERE topic = $1', [topic])
    .then((r) => r.rows.map((x) => x.patient_id));

describe.each(['postgres', 'dynamodb'] as const)('processor on real servers, public store %s', (kind) => {
  const publicStore = async (): Promise<PublicStore> => (kind === 'postgres' ? platform.pgPublic() : platform.dynamoPublic());

  it('gives one patient ID to all records of a person; flushing Redis changes no ID', async () => {
    const topic = `itest.${randomUUID()}`;
    const person = uniquePerson();
    const store = await publicStore();
    const variants = [person.name, person.name.toUpperCase(), `  ${person.name.replace(' ', '   ')} `, person.name.toLowerCase()];
    const t0 = Date.now() - 60_000;
    await platform.processor(topic, store).process(
      0,
      messages(
        0,
        variants.map((n, i) => record({ ...person, name: n }, 'red', t0 + i)),
      ),
    );
    let ids = await patientIdsOf(topic);
    expect(ids).toHaveLength(1);
    const [pid] = ids;
    expect(await platform.redis.dbsize()).toBeGreaterThan(0);
    await platform.redis.flushall();
    await platform.processor(topic, store).process(0, messages(4, [record(person, 'blue', t0 + 10)]));
    ids = await patientIdsOf(topic);
    expect(ids).toEqual([pid]);
    expect((await store.get([pid!])).get(pid!)?.favoriteColor).toBe('blue');
  });

  it('a replayed batch (crash after the PostgreSQL commit, before the Kafka commit) duplicates nothing', async () => {
    const topic = `itest.${randomUUID()}`;
    const store = await publicStore();
    const t0 = Date.now() - 60_000;
    const batch = messages(
      0,
      Array.from({ length: 50 }, (_, i) => record(uniquePerson(), 'green', t0 + i)),
    );
    await platform.processor(topic, store).process(3, batch);
    const restarted = platform.processor(topic, store);
    const out = await restarted.process(3, batch);
    expect(out).toMatchObject({ skipped: 50, accepted: 0 });
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic])).toBe(50);
    const ids = await patientIdsOf(topic);
    expect(ids).toHaveLength(50);
    expect((await store.get(ids)).size).toBe(50);
  });

  it('a crash between the PostgreSQL commit and the public write still ends with the public record written', async () => {
    const topic = `itest.${randomUUID()}`;
    const store = await publicStore();
    const crashing: PublicStore = Object.assign(Object.create(store) as PublicStore, {
      put: async (_items: readonly PublicItem[]) => {
        throw new Error('simulated crash before the public write');
      },
    });
    const person = uniquePerson();
    await expect(platform.processor(topic, crashing).process(0, messages(0, [record(person, 'violet', Date.now() - 1000)]))).rejects.toThrow(/simulated crash/);
    const [pid] = await patientIdsOf(topic);
    expect((await store.get([pid!])).size).toBe(0);
    // The next owner of the partition finds published < next and re-publishes.
    await platform.processor(topic, store).process(0, messages(1, [record(uniquePerson(), 'red', Date.now() - 500)]));
    expect((await store.get([pid!])).get(pid!)?.favoriteColor).toBe('violet');
  });

  it('a stale consumer that lost its partition cannot commit', async () => {
    const topic = `itest.${randomUUID()}`;
    const store = await publicStore();
    const stale = platform.processor(topic, store);
    const owner = platform.processor(topic, store);
    const t0 = Date.now() - 60_000;
    await stale.process(1, messages(0, [record(uniquePerson(), 'red', t0)]));
    await owner.process(1, messages(1, [record(uniquePerson(), 'red', t0 + 1), record(uniquePerson(), 'red', t0 + 2)]));
    const late = record(uniquePerson(), 'black', t0 + 3);
    // By name and code: the harness (testkit) builds the stores from the consumer's built package.
    await expect(stale.process(1, messages(1, [late]))).rejects.toMatchObject({ name: 'FencedError', code: 'FENCED' });
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE topic = $1', [topic])).toBe(3);
    expect(await platform.count('SELECT count(*) AS n FROM ingest.intake_log WHERE record_id = $1', [late.recordId])).toBe(0);
  });

  it('the newest record wins by event time, whatever the arrival order', async () => {
    const topic = `itest.${randomUUID()}`;
    const store = await publicStore();
    const person = uniquePerson();
    const t0 = Date.now() - 60_000;
    const p = platform.processor(topic, store);
    await p.process(0, messages(0, [record(person, 'red', t0 + 500)]));
    await p.process(0, messages(1, [record(person, 'blue', t0 + 100), record(person, 'green', t0 + 200)]));
    const [pid] = await patientIdsOf(topic);
    expect((await store.get([pid!])).get(pid!)?.favoriteColor).toBe('red');
    const r = await platform.admin.query('SELECT favorite_color FROM ingest.patient_state WHERE patient_id = $1', [pid]);
    expect(r.rows[0].favorite_color).toBe('red');
  });
});

describe('history', () => {
  it('cannot be updated or deleted by the application role', async () => {
    await expect(platform.app.query('UPDATE ingest.intake_log SET favorite_color = favorite_color WHERE false')).rejects.toThrow();
    await expect(platform.app.query('DELETE FROM ingest.intake_log WHERE false')).rejects.toThrow();
    await expect(platform.app.query('UPDATE ingest.ingest_txn SET committed_at = now() WHERE false')).rejects.toThrow();
  });

  it('cannot be updated even by the owner (append-only triggers)', async () => {
    const topic = `itest.${randomUUID()}`;
    await platform.processor(topic, platform.pgPublic()).process(0, messages(0, [record(uniquePerson(), 'red', Date.now() - 1000)]));
    await expect(platform.admin.query('UPDATE ingest.intake_log SET favorite_color = $2 WHERE topic = $1', [topic, 'blue'])).rejects.toThrow(/append-only/);
    await expect(platform.admin.query('DELETE FROM ingest.intake_log WHERE topic = $1', [topic])).rejects.toThrow(/append-only/);
  });
});
