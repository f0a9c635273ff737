import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { env } from '@clinical-ingest/testkit';

/**
 * One database role per purpose, each reading only what it needs (db/migrations/009 and 010), on
 * the real PostgreSQL: what each may read, and what it is refused (SQLSTATE 42501).
 */

const pools: pg.Pool[] = [];
function as(role: string): pg.Pool {
  const u = new URL(env.adminDb);
  u.username = role;
  const p = new pg.Pool({ connectionString: u.toString(), max: 1 });
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

const reads = (pool: pg.Pool, sql: string) => expect(pool.query(sql)).resolves.toBeDefined();
const refused = (pool: pg.Pool, sql: string) => expect(pool.query(sql)).rejects.toMatchObject({ code: '42501' });

describe('roles per purpose', () => {
  it("validation_reader (the seed's validation): identity keys and patient IDs, never a name or a date of birth", async () => {
    const v = as('validation_reader');
    await reads(v, 'SELECT id_key, patient_id FROM ingest.identity LIMIT 1');
    await reads(v, 'SELECT patient_id, favorite_color, rev FROM ingest.patient_state LIMIT 1');
    await reads(v, 'SELECT patient_id, favorite_color FROM anon.patient LIMIT 1');
    await refused(v, 'SELECT name_norm FROM ingest.identity LIMIT 1');
    await refused(v, 'SELECT date_of_birth FROM ingest.identity LIMIT 1');
    await refused(v, 'SELECT name FROM ingest.patient_state LIMIT 1');
    await refused(v, 'SELECT 1 FROM ingest.intake_log LIMIT 1');
    await refused(v, 'SELECT 1 FROM ingest.rejected_record LIMIT 1');
  });

  it('ingest_reader (analysts): history and AS OF, rejects without their raw values, no identity table', async () => {
    const r = as('ingest_reader');
    await reads(r, 'SELECT patient_id, name FROM ingest.intake_log LIMIT 1');
    await reads(r, 'SELECT count(*) FROM ingest.rejected_record');
    await reads(r, 'SELECT reason, kafka_offset FROM ingest.rejected_record LIMIT 1');
    await refused(r, 'SELECT raw_value FROM ingest.rejected_record LIMIT 1');
    await refused(r, 'SELECT raw_key FROM ingest.rejected_record LIMIT 1');
    await refused(r, 'SELECT 1 FROM ingest.identity LIMIT 1');
  });

  it('history_reader (the snapshot export): history and current state, nothing else', async () => {
    const h = as('history_reader');
    await reads(h, 'SELECT patient_id FROM ingest.intake_log LIMIT 1');
    await reads(h, 'SELECT patient_id FROM ingest.patient_state LIMIT 1');
    await refused(h, 'SELECT 1 FROM ingest.identity LIMIT 1');
    await refused(h, 'SELECT 1 FROM ingest.rejected_record LIMIT 1');
    await refused(h, 'SELECT 1 FROM ingest.partition_offset LIMIT 1');
  });
});
