import { describe, expect, it } from 'vitest';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaModel } from './hpa.js';
import { KedaKafkaScaler } from './keda.js';

const parts = (lags: number[]) => lags.map((lag, q) => ({ partition: q, logEndOffset: 1_000_000 + lag, committedOffset: 1_000_000 }));

describe("KEDA's Kafka scaler formula", () => {
  it.each([
    ['sum of lags under the cap', [10, 20, 30], 60],
    ['capped at partitions × lagThreshold', [1000, 1000, 1000], 300],
    ['integer division lets (P·t, (P+1)·t) through uncapped', [100, 100, 139], 339],
  ])('%s', (_l, lags, expected) => {
    expect(new KedaKafkaScaler({ lagThreshold: 100 }).metric(parts(lags))).toBe(expected);
  });

  it('no committed offset counts 1 (offsetResetPolicy latest)', () => {
    expect(new KedaKafkaScaler({ lagThreshold: 10 }).metric([{ partition: 0, logEndOffset: 500, committedOffset: -1 }])).toBe(1);
  });

  it('excludePersistentLag: a partition whose offset did not move since the last poll counts 0', () => {
    const k = new KedaKafkaScaler({ lagThreshold: 100, excludePersistentLag: true });
    expect(k.metric(parts([50]))).toBe(50);
    expect(k.metric(parts([80]))).toBe(0);
  });

  it('ensureEvenDistributionOfPartitions rounds up to a factor of P', () => {
    expect(new KedaKafkaScaler({ lagThreshold: 10, ensureEvenDistributionOfPartitions: true }).metric(parts(new Array(12).fill(4.5)))).toBe(60);
  });

  it('overshoot: the uncapped band asks the HPA for P + 1', () => {
    const metric = new KedaKafkaScaler({ lagThreshold: 100 }).metric(parts(new Array(12).fill(108)));
    const hpa = new HpaModel({ minReplicas: 1, maxReplicas: 100, scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });
    expect(hpa.sync(0, metric, 100, 8)).toBe(13);
  });

  it('stuck one short: at P − 1 the capped metric is inside the tolerance (P = 12)', () => {
    const metric = new KedaKafkaScaler({ lagThreshold: 100 }).metric(parts(new Array(12).fill(1e6)));
    const hpa = new HpaModel({ minReplicas: 1, maxReplicas: 100, scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });
    let r = 11;
    for (let t = 0; t < 600; t += 15) r = hpa.sync(t, metric, 100, r);
    expect(r).toBe(11);
  });
});
