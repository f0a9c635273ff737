import { describe, expect, it } from 'vitest';
import { capacity, DEFAULT_RULES, fitLine, type StageCosts } from './capacity.js';

const small: StageCosts = { microsPerRecord: { kafka: 10, consumers: 60, postgres: 80 }, bytesPerRecord: 200, walBytesPerRecord: 900 };
const large: StageCosts = {
  microsPerRecord: { kafka: 210, consumers: 460, postgres: 580 },
  bytesPerRecord: 200 + 20 * 1024,
  walBytesPerRecord: 900 + 20 * 400,
};

describe('fitLine', () => {
  it.each([
    ['through two points', 0, 10, 20, 210, { a: 10, b: 10 }],
    ['a falling line (noise) is held flat at zero slope', 0, 50, 20, 40, { a: 50, b: 0 }],
    ['one size only: a constant', 5, 30, 5, 99, { a: 30, b: 0 }],
    ['never a negative fixed cost', 1, 0, 2, 100, { a: 0, b: 100 }],
  ])('%s', (_name, kb0, y0, kb1, y1, want) => {
    expect(fitLine(kb0, y0, kb1, y1)).toEqual(want);
  });
});

describe('capacity', () => {
  it('at the measured small size, each stage costs what was measured', () => {
    const s = capacity(small, large, { recordsPerSecond: 1e6, bytesPerRecord: 200 });
    expect(s.cores['kafka']).toBeCloseTo(10);
    expect(s.cores['consumers']).toBeCloseTo(60);
    expect(s.cores['postgres']).toBeCloseTo(80);
  });

  it("sizes the seed's full load at 20 KB: brokers, replicas, partitions, WAL and where one primary stops", () => {
    const load = { recordsPerSecond: 1_000_000 / 60, bytesPerRecord: 20 * 1024 + 200 };
    const s = capacity(small, large, load);
    // Kafka: 210 µs × 16,667/s = 3.5 cores, × RF 3 = 10.5, over 8 × 0.6 = 4.8 a broker → 3 brokers.
    expect(s.kafka.brokers).toBe(3);
    // Consumers: 460 µs × 16,667/s = 7.67 cores at 0.7 a replica → 11 replicas, 22 partitions → 24.
    expect(s.consumerReplicas).toBe(11);
    expect(s.kafka.partitions).toBe(24);
    expect(s.postgres.cores).toBeCloseTo((580 * load.recordsPerSecond) / 1e6);
    expect(s.postgres.walMbPerSecond).toBeCloseTo((8900 * load.recordsPerSecond) / 1e6);
    // 64 × 0.6 cores / 580 µs = 66,206 records/s; 400 MB/s / 8,900 B = 44,943: WAL stops it first.
    expect(s.postgres.onePrimaryStopsAt).toEqual({ recordsPerSecond: 44943, limit: 'wal' });
    expect(s.postgres.primaries).toBe(1);
  });

  it('asks for more primaries (sharding by identity) past the one-primary limit', () => {
    const s = capacity(small, large, { recordsPerSecond: 100_000, bytesPerRecord: 20 * 1024 + 200 });
    expect(s.postgres.primaries).toBe(3);
  });

  it('more brokers when the rules give each fewer cores', () => {
    const load = { recordsPerSecond: 1_000_000 / 60, bytesPerRecord: 20 * 1024 + 200 };
    expect(capacity(small, large, load, { ...DEFAULT_RULES, brokerCores: 2 }).kafka.brokers).toBe(9);
  });
});
