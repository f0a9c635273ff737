import { describe, expect, it } from 'vitest';
import { profiles } from './profiles.js';
import { DEFAULT_SIM, percentile, runOne } from './run.js';
import { SCALERS } from './scenarios.js';

const short = { ...DEFAULT_SIM, warmupSeconds: 120 };

describe('simulation', () => {
  it('is deterministic for a seed', () => {
    const p = profiles(12_000)[1]!;
    const a = runOne(p, SCALERS[0]!, short);
    const b = runOne(p, SCALERS[0]!, short);
    expect({ ...a, series: undefined }).toEqual({ ...b, series: undefined });
  });

  it('never consumes more than arrived, and never runs more than the HPA maximum', () => {
    for (const s of SCALERS) {
      const r = runOne(profiles(12_000)[2]!, s, short);
      expect(Math.min(...r.series.lag)).toBeGreaterThanOrEqual(0);
      expect(r.maxReplicas).toBeLessThanOrEqual(short.maxReplicas);
    }
  });

  it('our policy never runs more replicas than partitions', () => {
    for (const p of profiles(12_000)) expect(runOne(p, SCALERS[0]!, short).maxReplicas).toBeLessThanOrEqual(12);
  });

  it.each([
    [[0, 10, 0, 5], 0.5, 1.5],
    [[0, 10, 0, 5], 1, 3.5],
    [[100], 0.99, 0.5],
    [[], 0.99, 0],
  ])('percentile of %j at %f = %f', (hist, q, expected) => {
    expect(percentile(hist, q)).toBe(expected);
  });
});
