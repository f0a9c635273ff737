import { FencedError, type IdentityKeyer, type Logger } from '@clinical-ingest/intake-core';
import type { Clock, DeadLetters, InboundMessage, MasterStore, PartitionPosition, PublicItem, PublicStore } from './ports.js';
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
}

interface Tracked extends PartitionPosition {
  /** Everything below this is in the public store (not yet written to the master store). */
  readonly publishedThrough: number;
}

/**
 * Processes one partition's batch end to end. One instance serves all partitions of a consumer;
 * batches of one partition never run concurrently (Kafka's consumer guarantees that).
 *
 *  decode+validate → DLQ the bad ones → resolve identities → ONE master-store transaction
 *  (records, rejects, state, fenced offset) → public store → cache fill.
 */
export class BatchProcessor {
  readonly #positions = new Map<string, Tracked>();

  constructor(
    private readonly deps: {
      readonly topic: string;
      readonly keyer: IdentityKeyer;
      readonly resolver: IdentityResolver;
      readonly master: MasterStore;
      readonly publicStore: PublicStore;
      readonly deadLetters: DeadLetters;
      readonly clock: Clock;
      readonly metrics: ConsumerMetrics;
      readonly log: Logger;
      readonly maxRecordBytes?: number;
    },
  ) {}

  /** Forgets cached positions (on rebalance): the next batch re-reads them from the master store. */
  forget(partition?: number): void {
    if (partition === undefined) this.#positions.clear();
    else this.#positions.delete(String(partition));
  }

  async process(partition: number, messages: readonly InboundMessage[]): Promise<BatchOutcome> {
    const first = messages[0];
    if (first === undefined) return { skipped: 0, accepted: 0, rejected: 0, published: 0, next: -1 };
    const { topic, metrics } = this.deps;
    const pos = await this.#position(partition, first.offset);
    const fresh = messages.filter((m) => m.offset >= pos.next);
    const skipped = messages.length - fresh.length;
    if (fresh.length === 0) return { skipped, accepted: 0, rejected: 0, published: 0, next: pos.next };
    if (fresh[0]!.offset > pos.next) metrics.offsetGaps.inc({ partition: String(partition) });

    const stop = metrics.stage('decode');
    const batch = decodeBatch(fresh, this.deps.keyer, new Date(this.deps.clock.now()), this.deps.maxRecordBytes);
    stop();

    if (batch.rejected.length > 0) {
      const stopDlq = metrics.stage('dlq');
      await this.deps.deadLetters.publish(topic, partition, batch.rejected);
      stopDlq();
    }

    const stopResolve = metrics.stage('resolve');
    const resolution = await this.deps.resolver.resolve(batch.identities);
    stopResolve();
    metrics.cacheHits.inc(resolution.hits);
    metrics.cacheMisses.inc(resolution.misses);

    const accepted = attachPatients(batch.decoded, resolution.patientIds, resolution.created);
    const next = fresh[fresh.length - 1]!.offset + 1;
    const stopMaster = metrics.stage('master');
    let changed: PublicItem[];
    try {
      changed = await this.deps.master.commitBatch({
        topic,
        partition,
        expectedNext: pos.next,
        next,
        publishedThrough: pos.publishedThrough,
        accepted,
        rejected: batch.rejected,
        newestPerPatient: newestPerPatient(accepted),
      });
    } catch (err) {
      if (err instanceof FencedError) {
        metrics.fenced.inc();
        this.forget(partition);
      }
      throw err;
    } finally {
      stopMaster();
    }
    // Committed: from here on the batch is durable and the offset has moved.
    this.#positions.set(String(partition), { next, published: pos.publishedThrough, publishedThrough: pos.publishedThrough });

    const stopPublic = metrics.stage('public');
    await this.deps.publicStore.put(changed);
    stopPublic();
    this.#positions.set(String(partition), { next, published: pos.publishedThrough, publishedThrough: next });

    const now = this.deps.clock.now();
    for (const r of accepted) metrics.freshness.observe((now - r.producedAtMs) / 1000);

    const stopCache = metrics.stage('cache');
    await this.deps.resolver.fill(resolution.toCache);
    stopCache();

    metrics.records.inc({ outcome: 'accepted' }, accepted.length);
    metrics.records.inc({ outcome: 'rejected' }, batch.rejected.length);
    for (const r of batch.rejected) metrics.rejected.inc({ reason: r.reason.split(':')[0]! });
    metrics.publicWrites.inc(changed.length);
    return { skipped, accepted: accepted.length, rejected: batch.rejected.length, published: changed.length, next };
  }

  /** Records, for every partition this consumer touched, how far the public store is written. */
  async flushPublished(): Promise<void> {
    for (const [p, pos] of this.#positions) {
      if (pos.publishedThrough > pos.published) {
        await this.deps.master.markPublished(this.deps.topic, Number(p), pos.publishedThrough);
        this.#positions.set(p, { ...pos, published: pos.publishedThrough });
      }
    }
  }

  async #position(partition: number, firstOffset: number): Promise<Tracked> {
    const { topic, master, publicStore } = this.deps;
    let pos = this.#positions.get(String(partition));
    if (pos === undefined) {
      const stored = await master.position(topic, partition, firstOffset);
      pos = { next: stored.next, published: stored.published, publishedThrough: stored.published };
    }
    if (pos.publishedThrough < pos.next) {
      // Committed batches whose public writes did not happen: a previous owner crashed between
      // the two, or our own public write failed and the batch is being retried. Publish the
      // current state of the patients they touched before going on.
      const items = await master.publicStateForRange(topic, partition, pos.publishedThrough, pos.next);
      await publicStore.put(items);
      await master.markPublished(topic, partition, pos.next);
      this.deps.metrics.republished.inc(items.length);
      this.deps.log.info({ partition, from: pos.publishedThrough, to: pos.next, items: items.length }, 'republished committed records');
      pos = { next: pos.next, published: pos.next, publishedThrough: pos.next };
    }
    this.#positions.set(String(partition), pos);
    return pos;
  }
}
