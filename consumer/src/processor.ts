import { IngestError, type IdentityKeyer, type Logger } from '@clinical-ingest/intake-core';
import {
  FencedError,
  type Clock,
  type DeadLetters,
  type InboundMessage,
  type IntakeLog,
  type MasterStore,
  type PartitionPosition,
  type PublicItem,
  type PublicStoreWriter,
  type RejectedRow,
} from './ports.js';
import { attachPatients, decodeBatch, newestPerPatient } from './plan.js';
import type { IdentityResolver } from './identity-resolver.js';
import type { ConsumerMetrics } from './metrics.js';

export interface BatchOutcome {
  readonly skipped: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly published: number;
  /** The offset to resume from (last processed + 1), for the advisory Kafka commit. */
  readonly next: number;
  /**
   * Set when the batch started after the stored offset: nothing was written, and the partition
   * must be read again from this offset (the runner seeks there).
   */
  readonly seekTo?: number;
}

type Counts = Pick<BatchOutcome, 'accepted' | 'rejected' | 'published'>;

interface Tracked extends PartitionPosition {
  /** Everything below this is in the public store and the DLQ (not yet written to the master store). */
  readonly publishedThrough: number;
}

/** Why a record the master store refused is rejected (`REJECT_REASONS` in intake-core). */
const STORE_REFUSED = 'store_refused';

/**
 * Processes one partition's batch end to end. One instance serves all partitions of a consumer;
 * batches of one partition never run concurrently (Kafka's consumer guarantees that).
 *
 *  decode+validate → resolve identities → ONE master-store transaction (records, rejects, state,
 *  fenced offset) → public store and DLQ → cache fill.
 *
 * Nothing blocks and nothing is skipped:
 * - a batch the master store refuses because of a record's content is narrowed down (bisected) to
 *   the records at fault, which are rejected as `store_refused`; the rest commits;
 * - the public store and the DLQ are written after the commit, so a retried batch sends its
 *   rejects once; a batch committed by an owner that died before those writes is published by
 *   the next owner, from the master store;
 * - a batch that starts after the stored offset is not committed over the gap: the partition goes
 *   back to the stored offset, and if Kafka no longer holds it (retention), the partition stops
 *   with OFFSET_GAP until an operator decides.
 */
export class BatchProcessor {
  readonly #positions = new Map<number, Tracked>();
  /** Per partition, the stored offset the runner was last asked to go back to. */
  readonly #soughtTo = new Map<number, number>();

  constructor(
    private readonly deps: {
      readonly topic: string;
      readonly keyer: IdentityKeyer;
      readonly resolver: IdentityResolver;
      readonly master: MasterStore;
      readonly publicStore: PublicStoreWriter;
      readonly deadLetters: DeadLetters;
      readonly intakeLog: IntakeLog;
      readonly clock: Clock;
      readonly metrics: ConsumerMetrics;
      readonly log: Logger;
      readonly maxRecordBytes?: number;
    },
  ) {}

  /**
   * On assignment: publishes what a previous owner committed but did not publish (it may have
   * died between the two, and no further record may ever arrive to trigger it), and returns where
   * the master store resumes the partition (undefined for one it never stored). Leaves the cached
   * position alone: the partition's next batch reads it afresh.
   */
  async resume(partition: number): Promise<number | undefined> {
    const stored = await this.deps.master.storedPosition(this.deps.topic, partition);
    if (stored === undefined) return undefined;
    if (stored.published < stored.next) await this.#publishCommitted(partition, stored.published, stored.next);
    return stored.next;
  }

  /**
   * Per partition, the republish running now. The resume on assignment and the partition's first
   * batch both find the same committed range unpublished; run at once, their two upserts of the
   * same patients deadlocked (chaos, kill -9). The second waits for the first instead.
   */
  readonly #republishing = new Map<number, { from: number; to: number; done: Promise<void> }>();

  /** Publishes the current state of the patients of [from, to), and the range's rejects. */
  async #publishCommitted(partition: number, from: number, to: number): Promise<void> {
    const running = this.#republishing.get(partition);
    if (running && running.from <= from && running.to >= to) return running.done;
    const done = this.#republish(partition, from, to);
    this.#republishing.set(partition, { from, to, done });
    try {
      await done;
    } finally {
      if (this.#republishing.get(partition)?.done === done) this.#republishing.delete(partition);
    }
  }

  async #republish(partition: number, from: number, to: number): Promise<void> {
    const { topic, master, publicStore } = this.deps;
    const items = await master.publicStateForRange(topic, partition, from, to);
    await publicStore.put(items);
    const rejects = await master.rejectedForRange(topic, partition, from, to);
    await this.#deadLetter(partition, rejects);
    await master.markPublished(topic, partition, to);
    this.deps.metrics.republished.inc(items.length);
    this.deps.log.info({ partition, from, to, items: items.length, rejects: rejects.length }, 'republished committed records');
  }

  /** Forgets cached positions (on rebalance): the next batch re-reads them from the master store. */
  forget(partition?: number): void {
    if (partition === undefined) this.#positions.clear();
    else this.#positions.delete(partition);
  }

  /**
   * `heartbeat` is called between the stages of a long batch, so that a slow store slows the
   * partition instead of getting the member evicted from its group mid-batch.
   */
  async process(partition: number, messages: readonly InboundMessage[], heartbeat: () => Promise<void> = async () => {}): Promise<BatchOutcome> {
    try {
      return await this.#process(partition, messages, heartbeat);
    } catch (err) {
      // Whatever failed, the next attempt re-reads the position from the master store.
      this.forget(partition);
      if (err instanceof FencedError) this.deps.metrics.fenced.inc();
      throw err;
    }
  }

  async #process(partition: number, messages: readonly InboundMessage[], heartbeat: () => Promise<void>): Promise<BatchOutcome> {
    const first = messages[0];
    if (first === undefined) return { skipped: 0, accepted: 0, rejected: 0, published: 0, next: -1 };
    const pos = await this.#position(partition, first.offset);
    const fresh = messages.filter((m) => m.offset >= pos.next);
    const skipped = messages.length - fresh.length;
    if (fresh.length === 0) return { skipped, accepted: 0, rejected: 0, published: 0, next: pos.next };
    if (fresh[0]!.offset > pos.next && (await this.#goBack(partition, pos.next, fresh[0]!.offset))) {
      return { skipped, accepted: 0, rejected: 0, published: 0, next: pos.next, seekTo: pos.next };
    }
    const counts = await this.#commitNarrowing(partition, fresh, heartbeat);
    return { skipped, ...counts, next: fresh[fresh.length - 1]!.offset + 1 };
  }

  /**
   * A batch starts after the stored offset: the stored offset is where this partition resumes.
   * Returns true when the partition must be read again from `expected`; false when Kafka holds no
   * record in the gap (transaction markers, compaction), seen after going back once.
   */
  async #goBack(partition: number, expected: number, firstOffset: number): Promise<boolean> {
    const { topic, metrics, log } = this.deps;
    const earliest = await this.deps.intakeLog.earliestOffset(topic, partition);
    if (earliest > expected) {
      log.error(
        { partition, storedNext: expected, kafkaEarliest: earliest },
        'records between the stored offset and the log start were deleted by retention; partition stopped',
      );
      throw new IngestError(
        'OFFSET_GAP',
        `partition ${partition}: the master store resumes at offset ${expected}, but Kafka holds offsets from ${earliest} only (retention); stopped instead of skipping ${earliest - expected} records (see docs/operations.md)`,
        { retriable: false },
      );
    }
    if (this.#soughtTo.get(partition) !== expected) {
      this.#soughtTo.set(partition, expected);
      log.warn({ partition, storedNext: expected, firstOffset }, 'batch starts after the stored offset; reading the partition again from the stored offset');
      return true;
    }
    metrics.offsetGaps.inc({ partition: String(partition) });
    log.info({ partition, from: expected, to: firstOffset }, 'Kafka holds no records in the offset gap; passing it');
    return false;
  }

  /** Commits `messages` (a contiguous run of one partition), narrowing down records the store refuses. */
  async #commitNarrowing(partition: number, messages: readonly InboundMessage[], heartbeat: () => Promise<void>, refused = false): Promise<Counts> {
    try {
      return await this.#commit(partition, messages, heartbeat, refused);
    } catch (err) {
      if (!(err instanceof IngestError) || !err.recordFault || refused) throw err;
      if (messages.length === 1) {
        this.deps.log.warn({ partition, offset: messages[0]!.offset, code: err.code }, 'the master store refused a record; rejecting it as store_refused');
        return this.#commitNarrowing(partition, messages, heartbeat, true);
      }
      const mid = messages.length >> 1;
      const a = await this.#commitNarrowing(partition, messages.slice(0, mid), heartbeat);
      const b = await this.#commitNarrowing(partition, messages.slice(mid), heartbeat);
      return { accepted: a.accepted + b.accepted, rejected: a.rejected + b.rejected, published: a.published + b.published };
    }
  }

  /** One master-store transaction for `messages`, then the public store and the DLQ. */
  async #commit(partition: number, messages: readonly InboundMessage[], heartbeat: () => Promise<void>, refused: boolean): Promise<Counts> {
    const { topic, metrics } = this.deps;
    const pos = this.#positions.get(partition)!;
    const next = messages[messages.length - 1]!.offset + 1;

    const stop = metrics.stage('decode');
    const batch = refused
      ? { decoded: [], identities: new Map(), keyMismatches: 0, rejected: messages.map((m) => rejectRow(m, STORE_REFUSED)) }
      : decodeBatch(messages, this.deps.keyer, new Date(this.deps.clock.now()), this.deps.maxRecordBytes);
    stop();

    const stopResolve = metrics.stage('resolve');
    const resolution = await this.deps.resolver.resolve(batch.identities, pos.epoch);
    stopResolve();
    metrics.cacheHits.inc(resolution.hits);
    metrics.cacheMisses.inc(resolution.misses);

    const accepted = attachPatients(batch.decoded, resolution.patientIds, resolution.created);
    await heartbeat();
    const stopMaster = metrics.stage('master');
    let changed: PublicItem[];
    try {
      changed = await this.deps.master.commitBatch({
        topic,
        partition,
        expectedNext: pos.next,
        next,
        epoch: pos.epoch,
        publishedThrough: pos.publishedThrough,
        accepted,
        rejected: batch.rejected,
        newestPerPatient: newestPerPatient(accepted),
      });
    } finally {
      stopMaster();
    }
    // Committed: from here on the batch is durable and the offset has moved.
    this.#positions.set(partition, { ...pos, next, published: pos.publishedThrough });

    await heartbeat();
    const stopPublic = metrics.stage('public');
    await this.deps.publicStore.put(changed);
    stopPublic();
    await heartbeat();
    await this.#deadLetter(partition, batch.rejected);
    this.#positions.set(partition, { ...pos, next, published: pos.publishedThrough, publishedThrough: next });

    const now = this.deps.clock.now();
    for (const r of accepted) metrics.freshness.observe((now - r.producedAtMs) / 1000);

    const stopCache = metrics.stage('cache');
    await this.deps.resolver.fill(resolution.toCache, pos.epoch);
    stopCache();

    metrics.records.inc({ outcome: 'accepted' }, accepted.length);
    metrics.records.inc({ outcome: 'rejected' }, batch.rejected.length);
    metrics.keyMismatches.inc(batch.keyMismatches);
    for (const r of batch.rejected) metrics.rejected.inc({ reason: r.reason.split(':')[0]! });
    metrics.publicWrites.inc(changed.length);
    return { accepted: accepted.length, rejected: batch.rejected.length, published: changed.length };
  }

  async #deadLetter(partition: number, rows: readonly RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const stop = this.deps.metrics.stage('dlq');
    await this.deps.deadLetters.publish(this.deps.topic, partition, rows);
    stop();
  }

  /** Records, for every partition this consumer touched, how far the public store is written. */
  async flushPublished(): Promise<void> {
    for (const [p, pos] of this.#positions) {
      if (pos.publishedThrough > pos.published) {
        await this.deps.master.markPublished(this.deps.topic, p, pos.publishedThrough);
        this.#positions.set(p, { ...pos, published: pos.publishedThrough });
      }
    }
  }

  async #position(partition: number, firstOffset: number): Promise<Tracked> {
    const { topic, master } = this.deps;
    let pos = this.#positions.get(partition);
    if (pos === undefined) {
      const stored = await master.position(topic, partition, firstOffset);
      pos = { ...stored, publishedThrough: stored.published };
    }
    if (pos.publishedThrough < pos.next) {
      // Committed batches whose public and DLQ writes did not happen: a previous owner crashed
      // between the two, or our own write failed and the batch is being retried. Publish the
      // current state of the patients they touched, and their rejects, before going on.
      await this.#publishCommitted(partition, pos.publishedThrough, pos.next);
      pos = { ...pos, published: pos.next, publishedThrough: pos.next };
    }
    this.#positions.set(partition, pos);
    return pos;
  }
}

function rejectRow(m: InboundMessage, reason: string): RejectedRow {
  return { offset: m.offset, producedAtMs: m.timestampMs, key: m.key, value: m.value, reason };
}
