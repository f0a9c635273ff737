/**
 * A discrete-time model (1 s steps) of a Kafka topic with P partitions consumed by a group of
 * Deployment pods:
 * - arrivals split evenly over the partitions (keys hashed), ±5 % seeded noise per partition;
 * - a new pod is ready `startupSeconds` after the HPA adds it; it costs from the moment it exists;
 * - every change of the group's membership (a pod becomes ready, a ready pod leaves) is an eager
 *   rebalance: every consumer stops for `rebalancePauseSeconds` (kafkajs, like the classic
 *   protocol, revokes all partitions on a rebalance);
 * - partitions are assigned round-robin to the ready consumers (at most P are busy); each
 *   consumer drains up to `ratePerReplica` records/s, shared among its partitions with backlog
 *   (water-filling), oldest records first; a stuck partition makes no progress;
 * - the committed offset the group reports trails consumption by one step (records fetched and
 *   in flight are lag until their batch commits), so a busy group always shows about a second
 *   of arrivals as lag, as a real one does.
 * Each record's latency is (second consumed − second produced + 0.5 s).
 */

import { prng } from '@clinical-ingest/intake-core';

export interface ModelParams {
  readonly partitions: number;
  readonly ratePerReplica: number;
  readonly startupSeconds: number;
  readonly rebalancePauseSeconds: number;
  readonly seed: number;
}

interface Cohort {
  t: number;
  n: number;
}

interface Pod {
  readyAt: number;
  ready: boolean;
}

export class TopicModel {
  readonly logEnd: number[];
  /** Committed offsets as the group reports them (one step behind consumption). */
  readonly committed: number[];
  private readonly consumed: number[];
  private readonly queues: Cohort[][];
  private readonly carry: number[];
  private pods: Pod[] = [];
  private pauseUntil = Number.NEGATIVE_INFINITY;
  private readonly random: () => number;
  /** Latency histogram in whole seconds (index) → records, excluding `excludeFromStats` partitions. */
  readonly latency: number[] = [];
  excludeFromStats = new Set<number>();
  /** Records produced before this second are left out of the latency histogram (warm-up). */
  statsFrom = Number.NEGATIVE_INFINITY;
  rebalances = 0;

  constructor(
    readonly p: ModelParams,
    initialReplicas: number,
  ) {
    this.logEnd = new Array<number>(p.partitions).fill(0);
    this.committed = new Array<number>(p.partitions).fill(0);
    this.consumed = new Array<number>(p.partitions).fill(0);
    this.queues = Array.from({ length: p.partitions }, () => []);
    this.carry = new Array<number>(p.partitions).fill(0);
    this.random = prng(p.seed);
    for (let i = 0; i < initialReplicas; i++) this.pods.push({ readyAt: 0, ready: true });
  }

  get replicas(): number {
    return this.pods.length;
  }

  get readyReplicas(): number {
    return this.pods.filter((p) => p.ready).length;
  }

  /** Lag as Kafka reports it (log end minus committed). */
  lag(q: number): number {
    return this.logEnd[q]! - this.committed[q]!;
  }

  private backlog(q: number): number {
    return this.logEnd[q]! - this.consumed[q]!;
  }

  /** Age in seconds of the oldest record not consumed on partition q at the end of second t. */
  oldestAge(q: number, t: number): number {
    const head = this.queues[q]![0];
    return head === undefined ? 0 : t - head.t + 1;
  }

  /** The HPA set the Deployment's replicas. */
  scaleTo(n: number, t: number): void {
    while (this.pods.length < n) this.pods.push({ readyAt: t + this.p.startupSeconds, ready: false });
    while (this.pods.length > n) {
      // The ReplicaSet deletes pods that are not ready first.
      const i = this.pods.findIndex((p) => !p.ready);
      const [gone] = this.pods.splice(i >= 0 ? i : this.pods.length - 1, 1);
      if (gone?.ready) this.rebalance(t);
    }
  }

  private lastRebalanceAt = Number.NEGATIVE_INFINITY;

  /** Members joining or leaving in the same second make one rebalance. */
  private rebalance(t: number): void {
    this.pauseUntil = Math.max(this.pauseUntil, t + this.p.rebalancePauseSeconds);
    if (t !== this.lastRebalanceAt) this.rebalances++;
    this.lastRebalanceAt = t;
  }

  /** Advances one second: arrivals at `rate` total, pods becoming ready, consumption. */
  step(t: number, rate: number, stuck: ReadonlySet<number>): void {
    const P = this.p.partitions;
    for (let q = 0; q < P; q++) this.committed[q] = this.consumed[q]!;
    for (let q = 0; q < P; q++) {
      const exact = (rate / P) * (1 + 0.1 * (this.random() - 0.5)) + this.carry[q]!;
      const n = Math.floor(exact);
      this.carry[q] = exact - n;
      if (n > 0) {
        this.queues[q]!.push({ t, n });
        this.logEnd[q]! += n;
      }
    }
    for (const pod of this.pods) {
      if (!pod.ready && t >= pod.readyAt) {
        pod.ready = true;
        this.rebalance(t);
      }
    }
    if (t < this.pauseUntil) return;
    const consumers = Math.min(this.readyReplicas, P);
    if (consumers === 0) return;
    for (let c = 0; c < consumers; c++) {
      const mine: number[] = [];
      for (let q = c; q < P; q += consumers) if (!stuck.has(q)) mine.push(q);
      this.drain(mine, this.p.ratePerReplica, t);
    }
  }

  /** Water-filling: equal shares of the capacity, what one partition leaves goes to the others. */
  private drain(partitions: number[], capacity: number, t: number): void {
    let left = capacity;
    let open = partitions.filter((q) => this.backlog(q) > 0);
    while (left >= 1 && open.length > 0) {
      const share = Math.max(1, Math.floor(left / open.length));
      const next: number[] = [];
      let progressed = 0;
      for (const q of open) {
        if (left < 1) break;
        const took = this.consume(q, Math.min(share, left), t);
        left -= took;
        progressed += took;
        if (this.backlog(q) > 0) next.push(q);
      }
      if (progressed === 0) break;
      open = next;
    }
  }

  private consume(q: number, max: number, t: number): number {
    const queue = this.queues[q]!;
    let took = 0;
    while (took < max && queue.length > 0) {
      const head = queue[0]!;
      const n = Math.min(head.n, max - took);
      head.n -= n;
      took += n;
      if (!this.excludeFromStats.has(q) && head.t >= this.statsFrom) {
        const bucket = t - head.t;
        this.latency[bucket] = (this.latency[bucket] ?? 0) + n;
      }
      if (head.n === 0) queue.shift();
    }
    this.consumed[q]! += took;
    return took;
  }
}
