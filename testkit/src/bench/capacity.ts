/**
 * The capacity model: from the per-stage costs `make bench` measured (µs of CPU per record, for
 * small and for 20 KB records, on the bench's own machine), the shape that carries a given load.
 * Pure: the measurements and the sizing rules go in, the shape comes out.
 *
 * Each stage's cost is fitted as `a + b × KB` (a fixed cost per record plus a cost per KB of
 * value) through the two measured record sizes. The sizing rules below are assumptions, stated
 * once, so that a reader can change one and see the shape move.
 */

export interface StageCosts {
  /** µs of CPU per record, by stage: kafka, consumers (all replicas together), postgres, … */
  readonly microsPerRecord: Readonly<Record<string, number>>;
  /** Mean key+value bytes per record in the scenario. */
  readonly bytesPerRecord: number;
  /** WAL bytes PostgreSQL wrote per record. */
  readonly walBytesPerRecord: number;
}

export interface SizingRules {
  /** Usable cores of one Kafka broker, and the share of them to plan for. */
  readonly brokerCores: number;
  /** Kafka replication factor: each byte is written and fetched by RF brokers. */
  readonly replicationFactor: number;
  /** A consumer replica is one Node.js event loop: one core, planned at this share. */
  readonly consumerCoreShare: number;
  /** Largest PostgreSQL primary planned for, in cores, and the share of them to plan for. */
  readonly primaryCores: number;
  /** WAL one primary (and its synchronous standby) sustains, MB/s. */
  readonly primaryWalMbPerSecond: number;
  /** Share of CPU to plan for on brokers and the primary. */
  readonly serverCoreShare: number;
  /** Partitions per consumer replica at the planned size (room to scale out without repartitioning). */
  readonly partitionsPerReplica: number;
}

export const DEFAULT_RULES: SizingRules = Object.freeze({
  brokerCores: 8,
  replicationFactor: 3,
  consumerCoreShare: 0.7,
  primaryCores: 64,
  primaryWalMbPerSecond: 400,
  serverCoreShare: 0.6,
  partitionsPerReplica: 2,
});

export interface Load {
  readonly recordsPerSecond: number;
  /** Key+value bytes per record. */
  readonly bytesPerRecord: number;
}

export interface Shape {
  readonly load: Load & { readonly mbPerSecond: number };
  /** Cores each stage needs at this load, at the bench machine's speed. */
  readonly cores: Readonly<Record<string, number>>;
  readonly kafka: { readonly brokers: number; readonly partitions: number };
  readonly consumerReplicas: number;
  readonly postgres: {
    readonly cores: number;
    readonly walMbPerSecond: number;
    /** Records/s at which one primary stops, and what stops it. */
    readonly onePrimaryStopsAt: { readonly recordsPerSecond: number; readonly limit: 'cores' | 'wal' };
    /** Primaries needed (1 when one carries the load; more means sharding by identity). */
    readonly primaries: number;
  };
  readonly publicStoreWritesPerSecond: number;
}

/** `a + b × KB` through two points; a and b never below zero (noise can tilt a line). */
export function fitLine(kb0: number, y0: number, kb1: number, y1: number): { a: number; b: number } {
  if (kb1 === kb0) return { a: Math.max(0, y0), b: 0 };
  const b = Math.max(0, (y1 - y0) / (kb1 - kb0));
  return { a: Math.max(0, y0 - b * kb0), b };
}

const KB = 1024;

export function capacity(small: StageCosts, large: StageCosts, load: Load, rules: SizingRules = DEFAULT_RULES): Shape {
  const kb0 = small.bytesPerRecord / KB;
  const kb1 = large.bytesPerRecord / KB;
  const kb = load.bytesPerRecord / KB;
  const at = (y0: number, y1: number) => {
    const { a, b } = fitLine(kb0, y0, kb1, y1);
    return a + b * kb;
  };
  const stages = new Set([...Object.keys(small.microsPerRecord), ...Object.keys(large.microsPerRecord)]);
  const cores: Record<string, number> = {};
  for (const s of stages) cores[s] = (load.recordsPerSecond * at(small.microsPerRecord[s] ?? 0, large.microsPerRecord[s] ?? 0)) / 1e6;

  const kafkaCores = (cores['kafka'] ?? 0) * rules.replicationFactor;
  const brokers = Math.max(rules.replicationFactor, Math.ceil(kafkaCores / (rules.brokerCores * rules.serverCoreShare)));
  const consumerReplicas = Math.max(1, Math.ceil((cores['consumers'] ?? 0) / rules.consumerCoreShare));
  const partitions = roundUpTo(consumerReplicas * rules.partitionsPerReplica, 12);

  const pgMicros = at(small.microsPerRecord['postgres'] ?? 0, large.microsPerRecord['postgres'] ?? 0);
  const walBytes = at(small.walBytesPerRecord, large.walBytesPerRecord);
  const byCores = pgMicros > 0 ? (rules.primaryCores * rules.serverCoreShare * 1e6) / pgMicros : Infinity;
  const byWal = walBytes > 0 ? (rules.primaryWalMbPerSecond * 1e6) / walBytes : Infinity;
  const stopsAt = Math.min(byCores, byWal);
  return {
    load: { ...load, mbPerSecond: (load.recordsPerSecond * load.bytesPerRecord) / 1e6 },
    cores,
    kafka: { brokers, partitions },
    consumerReplicas,
    postgres: {
      cores: cores['postgres'] ?? 0,
      walMbPerSecond: (load.recordsPerSecond * walBytes) / 1e6,
      onePrimaryStopsAt: { recordsPerSecond: Math.floor(stopsAt), limit: byCores <= byWal ? 'cores' : 'wal' },
      primaries: Math.max(1, Math.ceil(load.recordsPerSecond / stopsAt)),
    },
    publicStoreWritesPerSecond: load.recordsPerSecond,
  };
}

function roundUpTo(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

export function formatShape(s: Shape, rules: SizingRules = DEFAULT_RULES): string[] {
  const c = (x: number) => x.toFixed(1);
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const stageCores = Object.entries(s.cores)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${c(v)}`)
    .join(', ');
  return [
    `capacity model: ${n(s.load.recordsPerSecond)} records/s of ${n(s.load.bytesPerRecord)} B (${n(s.load.mbPerSecond)} MB/s), at this machine's measured cost per record`,
    `  cores by stage           ${stageCores}`,
    `  Kafka                    ${s.kafka.brokers} brokers (${rules.brokerCores} cores each at ${rules.serverCoreShare * 100} %, replication ${rules.replicationFactor}), ${s.kafka.partitions} partitions`,
    `  consumers                ${s.consumerReplicas} replicas (one core each at ${rules.consumerCoreShare * 100} %)`,
    `  PostgreSQL primary       ${c(s.postgres.cores)} cores, WAL ${c(s.postgres.walMbPerSecond)} MB/s`,
    `  one primary stops at     ${n(s.postgres.onePrimaryStopsAt.recordsPerSecond)} records/s (${s.postgres.onePrimaryStopsAt.limit === 'cores' ? `${rules.primaryCores} cores at ${rules.serverCoreShare * 100} %` : `${rules.primaryWalMbPerSecond} MB/s of WAL`})` +
      (s.postgres.primaries > 1 ? `: ${s.postgres.primaries} primaries, the master store sharded by identity key` : ': one primary carries it'),
    `  public store             ${n(s.publicStoreWritesPerSecond)} writes/s`,
  ];
}
