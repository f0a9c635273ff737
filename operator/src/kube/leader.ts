import type { Logger } from '@clinical-ingest/intake-core';
import type { Clock } from '../controller/ports.js';
import { realTimers, type Timers } from '../controller/queue.js';

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, after client-go's leaderelection package
 * (@kubernetes/client-node 1.x has none). Two operator replicas never both act:
 * - a replica takes the lease only when it is free, its own, or expired — expired judged by this
 *   replica's clock since it last saw the record change (not by the holder's renewTime, so
 *   clock skew between nodes does not matter);
 * - every write carries the resourceVersion read, so two candidates cannot both win a round;
 * - the leader renews every `retryPeriodMs`; one that cannot renew within `renewDeadlineMs`
 *   (shorter than the lease) stops leading before anyone else may take over;
 * - on a clean stop the leader waits for a round in flight, then releases the lease (holder
 *   emptied, re-read and retried on a conflict) so a successor need not wait a lease duration.
 */

export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
  /** Optimistic concurrency token of the stored object. */
  readonly resourceVersion?: string;
}

export class LeaseConflict extends Error {
  constructor() {
    super('lease changed since it was read');
    this.name = 'LeaseConflict';
  }
}

/** Where the lease lives (the Kubernetes API in the operator; memory in tests). */
export interface LeaseStore {
  get(): Promise<LeaseRecord | undefined>;
  /** Throws LeaseConflict if it exists already. */
  create(r: LeaseRecord): Promise<LeaseRecord>;
  /** Throws LeaseConflict if `r.resourceVersion` is not the stored one. */
  update(r: LeaseRecord): Promise<LeaseRecord>;
}

export interface ElectorOptions {
  readonly identity: string;
  /** @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

/** RFC 3339 with microseconds (metav1.MicroTime). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private lastRenew = Number.NEGATIVE_INFINITY;
  private leading = false;
  private stopped = false;
  private timer: unknown;
  /** The round in flight, if any: `stop` waits for it before releasing. */
  private inflight: Promise<void> | undefined;
  private readonly durationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly opts: ElectorOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {
    this.durationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.durationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** One round: true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    let current: LeaseRecord | undefined;
    try {
      current = await this.store.get();
    } catch (e) {
      this.log.warn({ err: e }, 'cannot read the lease');
      return false;
    }
    const me = this.opts.identity;
    const fresh: LeaseRecord = {
      holderIdentity: me,
      leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (current === undefined) {
      try {
        this.remember(await this.store.create(fresh), now);
        return true;
      } catch (e) {
        if (!(e instanceof LeaseConflict)) this.log.warn({ err: e }, 'cannot create the lease');
        return false;
      }
    }
    if (this.observed?.renewTime !== current.renewTime || this.observed?.holderIdentity !== current.holderIdentity) {
      this.observed = current;
      this.observedAt = now;
    }
    const holder = current.holderIdentity ?? '';
    const duration = (current.leaseDurationSeconds ?? Math.ceil(this.durationMs / 1000)) * 1000;
    if (holder !== '' && holder !== me && this.observedAt + duration > now) return false;
    const mine = holder === me;
    const next: LeaseRecord = {
      ...fresh,
      acquireTime: mine ? (current.acquireTime ?? fresh.acquireTime!) : fresh.acquireTime!,
      leaseTransitions: (current.leaseTransitions ?? 0) + (mine ? 0 : 1),
      ...(current.resourceVersion === undefined ? {} : { resourceVersion: current.resourceVersion }),
    };
    try {
      this.remember(await this.store.update(next), now);
      return true;
    } catch (e) {
      if (!(e instanceof LeaseConflict)) this.log.warn({ err: e }, 'cannot update the lease');
      return false;
    }
  }

  private remember(r: LeaseRecord, now: number): void {
    this.observed = r;
    this.observedAt = now;
  }

  /** Runs rounds every retry period until `stop`; calls back on every change of leadership. */
  run(cb: LeaderCallbacks): void {
    let lastHolder: string | undefined;
    const round = async () => {
      if (this.stopped) return;
      const ok = await this.tryAcquireOrRenew();
      const now = this.clock.now();
      if (ok) this.lastRenew = now;
      const holder = this.observed?.holderIdentity;
      if (holder !== undefined && holder !== lastHolder) {
        lastHolder = holder;
        cb.onNewLeader?.(holder);
      }
      if (ok && !this.leading) {
        this.leading = true;
        this.log.info({ holder: this.opts.identity }, 'started leading');
        cb.onStartedLeading();
      } else if (!ok && this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        this.log.error({ holder: this.opts.identity }, 'lost the lease: stopped leading');
        cb.onStoppedLeading();
      }
      if (!this.stopped) this.timer = this.timers.setTimeout(start, this.retryMs);
    };
    const start = () => {
      this.inflight = round().finally(() => {
        this.inflight = undefined;
      });
    };
    start();
  }

  /**
   * Stops the rounds and releases the lease if this replica holds it: after the round in flight
   * (which may have just acquired or renewed it), from a fresh read, retried on a conflict.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.inflight?.catch(() => undefined);
    this.leading = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await this.store.get();
        if (r?.holderIdentity !== this.opts.identity) return;
        await this.store.update({ ...r, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.clock.now()) });
        this.log.info({ holder: this.opts.identity }, 'released the lease');
        return;
      } catch (e) {
        if (!(e instanceof LeaseConflict)) {
          this.log.warn({ err: e }, 'cannot release the lease');
          return;
        }
      }
    }
    this.log.warn('cannot release the lease: it kept changing');
  }
}
