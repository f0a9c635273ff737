import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

describe('createLogger', () => {
  it('redacts patient fields at the top level and nested', () => {
    const { lines, stream } = capture();
    const log = createLogger('test', {}, stream);
    log.info(
      { name: 'Ada Lovelace', dateOfBirth: '1965-12-10', record: { payload: 'notes' }, batch: { favoriteColor: 'teal', identity: { nameNorm: 'ada' } } },
      'processing',
    );
    const out = lines.join('');
    expect(out).not.toMatch(/Ada|1965|notes|teal|ada/);
    expect(JSON.parse(out)).toMatchObject({
      name: '[PHI]',
      dateOfBirth: '[PHI]',
      record: '[PHI]',
      batch: { favoriteColor: '[PHI]', identity: '[PHI]' },
      msg: 'processing',
      service: 'test',
    });
  });

  it('keeps what operators need: partitions, counts, codes', () => {
    const { lines, stream } = capture();
    createLogger('test', {}, stream).warn({ partition: 3, records: undefined, reason: 'invalid_date:dateOfBirth', count: 12 }, 'rejected');
    expect(JSON.parse(lines.join(''))).toMatchObject({ partition: 3, reason: 'invalid_date:dateOfBirth', count: 12 });
  });

  it('logs errors by type, code and message only', () => {
    const { lines, stream } = capture();
    const err = Object.assign(new Error('database operation commit_batch failed (SQLSTATE 23505)'), {
      code: 'DB_23505',
      detail: 'Key (id_key)=(secret) already exists',
    });
    createLogger('test', {}, stream).error({ err }, 'batch failed');
    const out = lines.join('');
    expect(out).toContain('DB_23505');
    expect(out).not.toContain('already exists');
  });
});
