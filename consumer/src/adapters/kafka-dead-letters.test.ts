import { describe, expect, it } from 'vitest';
import type { RejectedRow } from '../ports.js';
import { chunkByBytes } from './kafka-dead-letters.js';

const row = (offset: number, valueBytes: number): RejectedRow => ({
  offset,
  producedAtMs: 0,
  key: Buffer.alloc(22),
  value: Buffer.alloc(valueBytes),
  reason: 'oversized',
});

describe('chunkByBytes (DLQ sends under the broker limit)', () => {
  it('keeps small rows together and in order', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i, 100));
    expect(chunkByBytes(rows, 1_000_000)).toEqual([rows]);
  });

  it('splits two 600 KiB values into two sends', () => {
    const rows = [row(0, 600 * 1024), row(1, 600 * 1024)];
    expect(chunkByBytes(rows, 900 * 1024).map((c) => c.map((r) => r.offset))).toEqual([[0], [1]]);
  });

  it('splits thousands of small rows into sends that each stay under the limit', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row(i, 300));
    const chunks = chunkByBytes(rows, 900 * 1024);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat().map((r) => r.offset)).toEqual(rows.map((r) => r.offset));
    for (const c of chunks) expect(c.reduce((n, r) => n + r.value!.length + r.key!.length, 0)).toBeLessThanOrEqual(900 * 1024);
  });

  it('sends a row larger than the limit alone, and nothing when there are no rows', () => {
    expect(chunkByBytes([row(0, 10), row(1, 2_000_000), row(2, 10)], 1_000_000).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(chunkByBytes([], 1000)).toEqual([]);
  });
});
