/**
 * The replica policy (ARCHITECTURE §5), a pure function. This first cut sizes the consumers by
 * drain time and keeps the guard rails; issue #4 grows it (trend, stuck partitions, rebalance
 * hold, even spread) with its table tests and the KEDA simulation.
 */
export interface PolicyInput {
  /** Lag per partition (log-end offset minus committed offset). */
  readonly lagPerPartition: readonly number[];
  /** Measured records per second one replica drains. */
  readonly ratePerReplica: number;
  /** Drain the backlog within this many seconds. */
  readonly freshnessTargetSeconds: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

export function desiredReplicas(i: PolicyInput): number {
  const partitions = i.lagPerPartition.length;
  const ceiling = Math.max(1, Math.min(i.maxReplicas, partitions));
  const floor = Math.min(Math.max(0, i.minReplicas), ceiling);
  const lag = i.lagPerPartition.reduce((a, b) => a + Math.max(0, b), 0);
  if (i.ratePerReplica <= 0 || i.freshnessTargetSeconds <= 0) return ceiling;
  const needed = Math.ceil(lag / (i.ratePerReplica * i.freshnessTargetSeconds));
  return Math.min(ceiling, Math.max(floor, needed));
}
