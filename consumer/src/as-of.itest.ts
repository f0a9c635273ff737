import { encodeRecord, type IntakeRecordWire } from '@clinical-ingest/intake-core';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgMasterStore } from './adapters/pg-master-store.js';
import type { InboundMessage } from './ports.js';
import { historyBounds, patientAsOf, patientHistory, publicProjectionAsOf, stateAsOf } from './queries.js';
import { env, TestPlatform, uniquePerson } from '@clinical-ingest/testkit';

/** Point-in-time queries against an oracle, on the real PostgreSQL. */

let platform: TestPlatform;
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterAll(async () => {
  await platform?.close();
});

// Text, not Date: a Date keeps milliseconds, and an instant µs after a commit could round to before it.
const dbNow = async () => (await platform.admin.query<{ t: string }>('SELECT clock_timestamp()::text AS t')).rows[0]!.t;
const msg = (offset: number, r: IntakeRecordWire): InboundMessage => ({ offset, key: null, value: encodeRecord(r), timestampMs: Date.now() });
const rec = (p: { name: string; dateOfBirth: string }, color: string, eventTimeMs: number): IntakeRecordWire => ({
  v: 1,
  recordId: randomUUID(),
  name: p.name,
  dateOfBirth: p.dateOfBirth,
  favoriteColor: color,
  eventTime: new Date(eventTimeMs).toISOString(),
});

describe('AS OF', () => {
  it('returns exactly the oracle state at instants between and during updates', async () => {
    const topic = `itest.${randomUUID()}`;
    const processor = platform.processor(topic, platform.pgPublic());
    const people = Array.from({ length: 5 }, () => uniquePerson());
    const colors = ['red', 'blue', 'green', 'black', 'white', 'orange', 'purple'];
    const oracle: Map<number, string>[] = []; // person index → color, after each step
    const instants: string[] = [await dbNow()];
    oracle.push(new Map());
    let offset = 0;
    const t0 = Date.now() - 3_600_000;
    let state = new Map<number, { color: string; eventTime: number }>();
    for (let step = 0; step < 6; step++) {
      // Each step updates a few people; some records are older than the state and must not win.
      const batch: InboundMessage[] = [];
      for (let k = 0; k < 3; k++) {
        const who = (step * 2 + k) % people.length;
        const eventTime = t0 + step * 1000 + (k === 2 ? -5000 : k * 10);
        const color = colors[(step + k) % colors.length]!;
        batch.push(msg(offset++, rec(people[who]!, color, eventTime)));
        const cur = state.get(who);
        if (!cur || eventTime > cur.eventTime) state.set(who, { color, eventTime });
      }
      await processor.process(0, batch);
      state = new Map(state);
      oracle.push(new Map([...state].map(([who, s]) => [who, s.color])));
      instants.push(await dbNow());
    }
    await platform.master.stampCommits();

    const ids = new Map<number, string>();
    const r = await platform.admin.query<{ patient_id: string; name: string }>('SELECT DISTINCT patient_id, name FROM ingest.intake_log WHERE topic = $1', [
      topic,
    ]);
    for (const row of r.rows)
      ids.set(
        people.findIndex((p) => p.name === row.name),
        row.patient_id,
      );
    const mine = new Set(ids.values());

    for (let i = 0; i < instants.length; i++) {
      const want = new Map([...oracle[i]!].map(([who, color]) => [ids.get(who)!, color]));
      const got = new Map((await stateAsOf(platform.admin, instants[i]!, [...mine])).map((s) => [s.patientId, s.favoriteColor]));
      expect(got, `state as of instant ${i}`).toEqual(want);
      const pub = await publicProjectionAsOf(platform.admin, instants[i]!, [...mine]);
      expect(pub, `public projection as of instant ${i}`).toEqual(want);
      for (const [who, pid] of ids) {
        const one = await patientAsOf(platform.admin, pid, instants[i]!);
        expect(one?.favoriteColor, `patient ${who} as of instant ${i}`).toBe(oracle[i]!.get(who));
      }
    }
    // Each step's records are the history of its interval, in commit order; all of them, overall.
    const sent = new Map<number, number>();
    for (let step = 0; step < 6; step++)
      for (let k = 0; k < 3; k++) sent.set((step * 2 + k) % people.length, (sent.get((step * 2 + k) % people.length) ?? 0) + 1);
    for (const [who, pid] of ids) {
      const all = await patientHistory(platform.admin, pid, instants[0]!, instants.at(-1)!);
      expect(all.length, `history of patient ${who}`).toBe(sent.get(who));
      expect(all.map((h) => h.committedAt.getTime())).toEqual(all.map((h) => h.committedAt.getTime()).sort((a, b) => a - b));
      for (let i = 1; i < instants.length; i++) {
        const step = await patientHistory(platform.admin, pid, instants[i - 1]!, instants[i]!);
        const inStep = [0, 1, 2].filter((k) => ((i - 1) * 2 + k) % people.length === who).length;
        expect(step.length, `history of patient ${who} in step ${i}`).toBe(inStep);
      }
    }
    const bounds = await historyBounds(platform.admin);
    expect(bounds && bounds.first <= instants[1]! && bounds.last >= instants[0]!).toBe(true);
    // "Now" equals the current state table.
    const current = await platform.admin.query<{ patient_id: string; favorite_color: string }>(
      'SELECT patient_id, favorite_color FROM ingest.patient_state WHERE patient_id = ANY($1::uuid[])',
      [[...mine]],
    );
    expect(new Map(current.rows.map((x) => [x.patient_id, x.favorite_color]))).toEqual(new Map([...oracle.at(-1)!].map(([who, c]) => [ids.get(who)!, c])));
  });

  it('a transaction that started before T but committed after T is not visible at T', async () => {
    const topic = `itest.${randomUUID()}`;
    const person = uniquePerson();
    const client = new pg.Client({ connectionString: env.appDb });
    await client.connect();
    try {
      // Prime the partition position, then hold a batch's transaction open across instant T.
      const { epoch } = await platform.master.position(topic, 0, 0);
      // The consumer's own SQL path (PgMasterStore.commitBatch), inside a transaction we hold open.
      const inTx = new PgMasterStore(client as unknown as pg.Pool);
      const patientId = randomUUID();
      const row = {
        offset: 0,
        producedAtMs: Date.now(),
        patientId,
        newIdentity: false,
        record: {
          recordId: randomUUID(),
          name: person.name,
          dateOfBirth: person.dateOfBirth,
          favoriteColor: 'red',
          eventTimeMs: Date.now() - 1000,
          payload: null,
        },
      };
      await client.query('BEGIN');
      await inTx.commitBatch({
        epoch,
        topic,
        partition: 0,
        expectedNext: 0,
        next: 1,
        publishedThrough: 0,
        rejected: [],
        accepted: [row],
        newestPerPatient: [row],
      });
      await new Promise((r) => setTimeout(r, 20));
      const t = await dbNow();
      await new Promise((r) => setTimeout(r, 20));
      await client.query('COMMIT');
      const after = await dbNow();
      expect(await patientAsOf(platform.admin, patientId, t)).toBeUndefined();
      expect((await patientAsOf(platform.admin, patientId, after))?.favoriteColor).toBe('red');
      await platform.master.stampCommits();
      expect(await patientAsOf(platform.admin, patientId, t)).toBeUndefined();
      expect((await patientAsOf(platform.admin, patientId, after))?.favoriteColor).toBe('red');
    } finally {
      await client.end();
    }
  });
});

describe('history cannot be forged, and AS OF never answers from an unsettled or lost history', () => {
  /** Runs `sql` as the application role inside a transaction that is always rolled back. */
  async function asAppRolledBack(sql: string, params: unknown[] = []): Promise<unknown> {
    const client = await platform.app.connect();
    try {
      await client.query('BEGIN');
      return await client.query(sql, params);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('the application role cannot write a commit time, nor register another transaction', async () => {
    await expect(asAppRolledBack(`INSERT INTO ingest.ingest_txn (txid, committed_at) VALUES ('1000'::xid8, '2020-01-01T00:00:00Z')`)).rejects.toMatchObject({
      code: '42501',
    });
    await expect(asAppRolledBack(`INSERT INTO ingest.ingest_txn (txid) VALUES ('1000'::xid8)`)).rejects.toMatchObject({ code: '42501' });
  });

  it('the application role cannot tie a record or a reject to any transaction but its own', async () => {
    await expect(
      asAppRolledBack(
        `INSERT INTO ingest.intake_log (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at, name, date_of_birth, favorite_color, txid)
         VALUES ('itest.forged', 0, 0, gen_random_uuid(), gen_random_uuid(), now(), now(), 'x', '1990-01-01', 'red', '1000'::xid8)`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      asAppRolledBack(
        `INSERT INTO ingest.rejected_record (topic, kafka_partition, kafka_offset, reason, produced_at, txid) VALUES ('itest.forged', 0, 0, 'x', now(), '1000'::xid8)`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    // Left to the column default, a record belongs to the transaction that inserts it.
    const r = (await asAppRolledBack(
      `INSERT INTO ingest.intake_log (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at, name, date_of_birth, favorite_color)
       VALUES ('itest.forged', 0, 0, gen_random_uuid(), gen_random_uuid(), now(), now(), 'x', '1990-01-01', 'red') RETURNING txid = pg_current_xact_id() AS own`,
    )) as { rows: { own: boolean }[] };
    expect(r.rows[0]!.own).toBe(true);
  });

  it('AS OF an instant in the future is refused, not answered with a state that may still change', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await expect(patientAsOf(platform.admin, randomUUID(), future)).rejects.toMatchObject({ code: '22023', message: expect.stringMatching(/future/) });
    await expect(stateAsOf(platform.admin, future, [randomUUID()])).rejects.toMatchObject({ code: '22023' });
    await expect(publicProjectionAsOf(platform.admin, future, [randomUUID()])).rejects.toMatchObject({ code: '22023' });
  });

  it('a committed transaction whose commit time is gone and was never stamped makes AS OF fail loudly', async () => {
    const client = await platform.admin.connect();
    const pid = randomUUID();
    try {
      await client.query('BEGIN');
      // Transaction 3 is older than any commit timestamp the server keeps: as if stamping had
      // never run before the server's commit-timestamp horizon passed it.
      await client.query(`INSERT INTO ingest.ingest_txn (txid) VALUES ('3'::xid8) ON CONFLICT DO NOTHING`);
      await client.query(
        `INSERT INTO ingest.intake_log (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at, name, date_of_birth, favorite_color, txid)
         VALUES ('itest.lost', 0, 0, gen_random_uuid(), $1, now(), now(), 'x', '1990-01-01', 'red', '3'::xid8)`,
        [pid],
      );
      await expect(client.query('SELECT * FROM ingest.patient_as_of($1, now())', [pid])).rejects.toMatchObject({
        message: expect.stringMatching(/commit time/),
      });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('snapshots read the current state where nothing changed since T, and only trust what history backs', () => {
  it('the application role cannot name the transaction of a current state: not when inserting, not when updating', async () => {
    const client = await platform.app.connect();
    try {
      await client.query('BEGIN');
      const own = async (sql: string, values: unknown[] = []) => (await client.query<{ own: boolean; pid: string }>(sql, values)).rows[0]!;
      const inserted = await own(
        `INSERT INTO ingest.patient_state (patient_id, name, date_of_birth, favorite_color, event_time, kafka_partition, kafka_offset, txid)
         VALUES (gen_random_uuid(), 'x', '1990-01-01', 'red', now(), 0, 0, '1000'::xid8) RETURNING txid = pg_current_xact_id() AS own, patient_id AS pid`,
      );
      expect(inserted.own).toBe(true);
      // The consumers' upsert path, naming another transaction.
      const upserted = await own(
        `INSERT INTO ingest.patient_state AS s (patient_id, name, date_of_birth, favorite_color, event_time, kafka_partition, kafka_offset, txid)
         VALUES ($1, 'x', '1990-01-01', 'blue', now(), 0, 1, '1001'::xid8)
         ON CONFLICT (patient_id) DO UPDATE SET favorite_color = excluded.favorite_color, txid = excluded.txid
         RETURNING s.txid = pg_current_xact_id() AS own, s.patient_id AS pid`,
        [inserted.pid],
      );
      expect(upserted.own).toBe(true);
      const updated = await own(
        `UPDATE ingest.patient_state SET txid = '1002'::xid8 WHERE patient_id = $1 RETURNING txid = pg_current_xact_id() AS own, patient_id AS pid`,
        [inserted.pid],
      );
      expect(updated.own).toBe(true);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('a current state written outside an ingest transaction is not trusted: AS OF answers from history, and the audit finds it', async () => {
    const topic = `itest.${randomUUID()}`;
    const processor = platform.processor(topic, platform.pgPublic());
    const person = uniquePerson();
    await processor.process(0, [msg(0, rec(person, 'red', Date.now() - 60_000))]);
    const pid = (await platform.admin.query<{ patient_id: string }>('SELECT patient_id FROM ingest.intake_log WHERE topic = $1', [topic])).rows[0]!.patient_id;
    await platform.master.stampCommits();
    expect((await platform.admin.query('SELECT * FROM ingest.state_drift($1::uuid[])', [[pid]])).rows).toEqual([]);
    // A write that no ingest transaction made (the owner, by hand): history does not back it.
    await platform.admin.query(`UPDATE ingest.patient_state SET favorite_color = 'forged' WHERE patient_id = $1`, [pid]);
    try {
      const t = await dbNow();
      expect((await stateAsOf(platform.admin, t, [pid])).map((s) => s.favoriteColor)).toEqual(['red']);
      expect(await publicProjectionAsOf(platform.admin, t, [pid])).toEqual(new Map([[pid, 'red']]));
      expect((await platform.admin.query<{ patient_id: string }>('SELECT * FROM ingest.state_drift($1::uuid[])', [[pid]])).rows).toEqual([{ patient_id: pid }]);
    } finally {
      await platform.admin.query(`UPDATE ingest.patient_state SET favorite_color = 'red' WHERE patient_id = $1`, [pid]);
    }
  });

  it('a whole-store snapshot walks the history only of the patients changed since T', async () => {
    const at = await dbNow();
    const plan = (await platform.admin.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT * FROM ingest.patient_state_as_of($1)', [at])).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    // One pass over the current state, one index walk per patient changed since T; no sort of the log.
    expect(plan).toMatch(/Seq Scan on patient_state/);
    expect(plan).toMatch(/Index Scan using intake_log_patient/);
    expect(plan).not.toMatch(/Seq Scan on intake_log/);
  });
});
