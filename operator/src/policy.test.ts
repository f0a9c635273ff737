import { describe, expect, it } from 'vitest';
import { desiredReplicas } from './policy.js';

const base = { ratePerReplica: 1000, freshnessTargetSeconds: 2, minReplicas: 1, maxReplicas: 10 };

describe('desiredReplicas', () => {
  it.each([
    ['idle topic keeps the minimum', [0, 0, 0, 0], 1],
    ['backlog drained by one replica in time', [500, 500, 500, 0], 1],
    ['backlog needing three replicas', [1500, 1500, 1500, 1000], 3],
    ['never above the partition count', [1e6, 1e6, 1e6, 1e6], 4],
    ['negative lag (offsets ahead) counts as zero', [-5, 0, 0, 0], 1],
  ])('%s', (_l, lag, expected) => {
    expect(desiredReplicas({ ...base, lagPerPartition: lag })).toBe(expected);
  });

  it('never above maxReplicas', () => {
    expect(desiredReplicas({ ...base, maxReplicas: 2, lagPerPartition: [1e6, 1e6, 1e6, 1e6] })).toBe(2);
  });

  it('without a measured rate it scales to the ceiling', () => {
    expect(desiredReplicas({ ...base, ratePerReplica: 0, lagPerPartition: [1, 1, 1] })).toBe(3);
  });
});
