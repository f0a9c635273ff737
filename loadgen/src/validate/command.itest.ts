import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localDatabaseUrl } from '@clinical-ingest/intake-core';
import { validateCommand } from './command.js';

/** The validation against the real local platform: what it does before it produces anything. */

let holder: pg.Client;
beforeAll(async () => {
  process.env['IDENTITY_HMAC_SECRET'] ??= 'integration-test-identity-secret-0123456789';
  // Another validation, as far as the lock goes (the lock is the database's, whatever the role).
  holder = new pg.Client({ connectionString: process.env['ADMIN_DATABASE_URL'] ?? localDatabaseUrl('postgres') });
  await holder.connect();
});
afterAll(async () => {
  await holder?.end();
});

describe('intake-loadgen validate', () => {
  it('refuses to run while another validation holds the master store, and says why', async () => {
    await holder.query("SELECT pg_advisory_lock(hashtext('intake-validate'))");
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await validateCommand(['--count', '1', '--wait-seconds', '1'])).toBe(2);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('another validation is running');
    } finally {
      stderr.mockRestore();
      await holder.query("SELECT pg_advisory_unlock(hashtext('intake-validate'))");
    }
  });
});
