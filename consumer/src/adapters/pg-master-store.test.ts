import { describe, expect, it } from 'vitest';
import { byPatient, inOrderOf } from './pg-master-store.js';

const row = (patientId: string, offset: number) => ({ patientId, offset });

describe('inOrderOf', () => {
  const batch = [row('c', 0), row('a', 1), row('d', 2), row('a', 3), row('b', 4)];
  const sorted = [...batch].sort(byPatient);

  it('takes rows of the batch itself in the sorted batch’s order', () => {
    const newest = [batch[4]!, batch[3]!, batch[0]!, batch[2]!];
    const out = inOrderOf(sorted, newest);
    expect(out.map((r) => r.patientId)).toEqual(['a', 'b', 'c', 'd']);
    expect(out[0]).toBe(batch[3]);
  });

  it('sorts rows that are not the batch’s own objects', () => {
    const copies = [row('d', 2), row('b', 4), row('a', 3)];
    expect(inOrderOf(sorted, copies)).toEqual([row('a', 3), row('b', 4), row('d', 2)]);
  });

  it('keeps every row of a list that holds one twice', () => {
    const twice = [batch[2]!, batch[1]!, batch[2]!];
    expect(inOrderOf(sorted, twice).map((r) => r.patientId)).toEqual(['a', 'd', 'd']);
  });

  it('returns nothing for nothing', () => {
    expect(inOrderOf(sorted, [])).toEqual([]);
  });
});
