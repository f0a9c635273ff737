import type { Observation } from '../policy/policy.js';

/**
 * Offsets of a topic for policy tests: arrivals and consumption per partition per second, moved
 * forward in whole seconds, read as an `Observation`.
 */
export class OffsetFeed {
  t = 0;
  readonly logEnd: number[];
  readonly committed: number[];

  constructor(readonly partitions: number) {
    this.logEnd = new Array<number>(partitions).fill(0);
    this.committed = new Array<number>(partitions).fill(0);
  }

  /** `seconds` of `arrivals` records/s per partition; each partition's consumer drains up to `drain` records/s (or the backlog). */
  advance(seconds: number, arrivals: number | readonly number[], drain: number | readonly number[] = Number.POSITIVE_INFINITY): this {
    for (let q = 0; q < this.partitions; q++) {
      const a = typeof arrivals === 'number' ? arrivals : (arrivals[q] ?? 0);
      const d = typeof drain === 'number' ? drain : (drain[q] ?? 0);
      this.logEnd[q]! += a * seconds;
      this.committed[q] = Math.min(this.logEnd[q]!, this.committed[q]! + d * seconds);
    }
    this.t += seconds;
    return this;
  }

  /** Sets the lag of partitions (committed = logEnd − lag). */
  withLag(lag: number | readonly number[]): this {
    for (let q = 0; q < this.partitions; q++) this.committed[q] = this.logEnd[q]! - (typeof lag === 'number' ? lag : (lag[q] ?? 0));
    return this;
  }

  observe(replicas: number, readyReplicas = replicas): Observation {
    return {
      at: this.t * 1000,
      replicas,
      readyReplicas,
      partitions: this.logEnd.map((e, q) => ({ partition: q, logEndOffset: e, committedOffset: this.committed[q]! })),
    };
  }
}
