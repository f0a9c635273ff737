import { describe, expect, it } from 'vitest';
import { dbError } from './pg-master-store.js';

describe('dbError', () => {
  it.each([
    ['a server restart drops the connection (ECONNRESET)', { code: 'ECONNRESET', message: 'read ECONNRESET' }, true, 'DB_CONNECTION'],
    ['the server is down (ECONNREFUSED)', { code: 'ECONNREFUSED' }, true, 'DB_CONNECTION'],
    ['the driver lost the connection (no code)', { message: 'Connection terminated unexpectedly' }, true, 'DB_CONNECTION'],
    ['admin shutdown (57P01)', { code: '57P01' }, true, 'DB_57P01'],
    ['serialization failure (40001)', { code: '40001' }, true, 'DB_40001'],
    ['a statement over its timeout (57014)', { code: '57014' }, true, 'DB_57014'],
    ['the client-side query timeout (no code)', { message: 'Query read timeout' }, true, 'DB_CONNECTION'],
    ['unique violation (23505)', { code: '23505' }, false, 'DB_23505', false],
    ['invalid byte sequence (22021)', { code: '22021' }, false, 'DB_22021', true],
    ['a check constraint (23514)', { code: '23514' }, false, 'DB_23514', true],
    ['an index row too large (54000)', { code: '54000' }, false, 'DB_54000', true],
    ['permission denied (42501)', { code: '42501' }, false, 'DB_42501', false],
  ])('%s', (_name, err, retriable, code, recordFault = false) => {
    const e = dbError('op', Object.assign(new Error((err as { message?: string }).message ?? 'x'), err));
    expect(e.retriable).toBe(retriable);
    expect(e.code).toBe(code);
    expect(e.recordFault).toBe(recordFault);
    expect(e.message).not.toMatch(/ECONNRESET|terminated/); // names the operation and SQLSTATE only
  });
});
