import { describe, expect, it } from 'vitest';
import { pacedLeg, PACED_LEG_SECONDS, PACED_SHARE } from './probe.js';

describe('pacedLeg', () => {
  it.each([
    ['a fast box: the wanted count at 70 % of the carried rate', 10_000, 100_000, { rate: 7_000, count: 100_000 }],
    ['a slow box: fewer records, so that the leg fits its 60 s', 2_000, 100_000, { rate: 1_400, count: 1_400 * PACED_LEG_SECONDS }],
    ['never a zero rate', 0.5, 10, { rate: 1, count: 10 }],
  ])('%s', (_name, carried, wanted, expected) => {
    expect(pacedLeg({ records: 20_000, carriedPerSecond: carried }, wanted)).toEqual(expected);
    expect(expected.rate).toBeLessThanOrEqual(Math.max(1, carried * PACED_SHARE));
  });
});
