import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../index.js';

/** `make bench-floor` on the local PostgreSQL: figures printed, nothing kept. */

const script = fileURLToPath(new URL('../../../scripts/bench-floor.sh', import.meta.url));
let platform: TestPlatform;
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterAll(async () => {
  await platform?.close();
});

const counts = async () =>
  (
    await platform.admin.query<{ identity: string; log: string; state: string; pub: string; scratch: string | null }>(
      `SELECT (SELECT count(*) FROM ingest.identity) AS identity, (SELECT count(*) FROM ingest.intake_log) AS log,
              (SELECT count(*) FROM ingest.patient_state) AS state, (SELECT count(*) FROM anon.patient) AS pub,
              to_regclass('public.bench_floor_heap')::text AS scratch`,
    )
  ).rows[0];

describe('bench-floor', () => {
  it('prints µs a row for each table and leaves every store as it found it', async () => {
    const before = await counts();
    const { stdout } = await promisify(execFile)(script, [], { env: { ...process.env, BENCH_FLOOR_ROWS: '200', BENCH_FLOOR_ROUNDS: '3' } });
    expect(stdout).toMatch(/200 rows a table, median of 3 rounds/);
    for (const name of ['heap only', 'identity', 'intake log', 'patient state', 'public store']) {
      expect(stdout).toMatch(new RegExp(`^  ${name}.* \\d+\\.\\d$`, 'm'));
    }
    expect(stdout).toMatch(/^ {2}a new patient, the four together +\d+\.\d {2}\(\d+\.\d× the heap-only insert\)$/m);
    expect(await counts()).toEqual(before);
    expect(before?.scratch).toBeNull();
  });

  it('refuses a row count that is not a positive integer', async () => {
    await expect(promisify(execFile)(script, [], { env: { ...process.env, BENCH_FLOOR_ROWS: '0' } })).rejects.toMatchObject({ code: 2 });
  });
});
