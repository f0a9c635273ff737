/**
 * KEDA's Kafka scaler (kedacore/keda, pkg/scalers/kafka_scaler.go, `getTotalLag` and
 * `getLagForPartition`, read at commit 8b4f083 of the main branch), with the defaults
 * `lagThreshold` 10 (we set it; see the simulation), `activationLagThreshold` 0,
 * `allowIdleConsumers` false, `excludePersistentLag` false, `limitToPartitionsWithLag` false,
 * `ensureEvenDistributionOfPartitions` false. Per HPA request (KEDA's metrics server asks the
 * scaler each time unless `useCachedMetrics`):
 *
 *   lag_q    = logEnd_q − committed_q           (no committed offset: 1 with offsetResetPolicy latest)
 *   totalLag = Σ lag_q                            (stuck partitions included unless excludePersistentLag)
 *   if !allowIdleConsumers and totalLag / lagThreshold > P   (Go integer division)
 *       totalLag = P × lagThreshold
 *   metric   = totalLag (as milli-quantity), HPA target AverageValue = lagThreshold
 *
 * So the HPA asks for ceil(totalLag / lagThreshold): capped at P, except that integer division
 * lets a total in (P·t, (P+1)·t) through uncapped, which asks for P + 1 (the brief overshoot);
 * and at P − 1 replicas the capped metric is a ratio P/(P−1) ≤ 1.1 for P ≥ 11, inside the HPA's
 * tolerance (stuck one short). With `ensureEvenDistributionOfPartitions` the lag is rounded up to
 * the next factor of P times the threshold (`getNextFactorThatBalancesConsumersToTopicPartitions`).
 * With `excludePersistentLag`, a partition whose committed offset equals the one seen at the
 * previous poll counts 0.
 */

export interface KedaKafkaOptions {
  readonly lagThreshold: number;
  readonly allowIdleConsumers?: boolean;
  readonly ensureEvenDistributionOfPartitions?: boolean;
  readonly excludePersistentLag?: boolean;
}

export interface PartitionView {
  readonly partition: number;
  readonly logEndOffset: number;
  /** -1 when the group has committed nothing. */
  readonly committedOffset: number;
}

export class KedaKafkaScaler {
  private previous = new Map<number, number>();

  constructor(readonly opts: KedaKafkaOptions) {
    if (!(opts.lagThreshold > 0)) throw new Error('lagThreshold must be positive');
  }

  /** The External metric value the HPA reads (records). */
  metric(partitions: readonly PartitionView[]): number {
    const t = Math.trunc(this.opts.lagThreshold);
    let total = 0;
    for (const p of partitions) {
      let lag: number;
      if (p.committedOffset < 0)
        lag = 1; // offsetResetPolicy latest, scaleToZeroOnInvalidOffset false
      else {
        lag = p.logEndOffset - p.committedOffset;
        if (this.opts.excludePersistentLag) {
          const prev = this.previous.get(p.partition);
          this.previous.set(p.partition, p.committedOffset);
          if (prev === p.committedOffset) lag = 0;
        }
      }
      total += lag;
    }
    const P = partitions.length;
    if (!(this.opts.allowIdleConsumers ?? false) || this.opts.ensureEvenDistributionOfPartitions) {
      if (this.opts.ensureEvenDistributionOfPartitions) total = nextFactor(total, P, t) * t;
      if (Math.trunc(total / t) > P) total = P * t;
    }
    return total;
  }
}

function nextFactor(totalLag: number, P: number, t: number): number {
  const factors: number[] = [];
  for (let i = 1; i * i <= P; i++) {
    if (P % i === 0) {
      factors.push(i);
      if (i !== P / i) factors.push(P / i);
    }
  }
  factors.sort((a, b) => a - b);
  for (const f of factors) if (f * t >= totalLag) return f;
  return P;
}
