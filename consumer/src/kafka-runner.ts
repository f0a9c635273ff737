import { IngestError, type Logger } from '@clinical-ingest/intake-core';
import { FencedError } from './ports.js';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { InboundMessage } from './ports.js';
import type { BatchOutcome, BatchProcessor } from './processor.js';
import type { ConsumerMetrics } from './metrics.js';

export interface RunnerOptions {
  readonly topic: string;
  readonly partitionConcurrency: number;
  /** Retries in place of a batch that failed with a retriable error, before its partition is paused. @default 3 */
  readonly quickRetries?: number;
  /** Heartbeats while a batch runs (the group's heartbeat interval). @default 3 s */
  readonly heartbeatIntervalMs?: number;
  /** How long a stalled partition is paused before it is tried again: doubling from `first` up to `max`. @default 1 s to 60 s */
  readonly stallBackoffMs?: { readonly first: number; readonly max: number };
}

/**
 * Binds the batch processor to a kafkajs consumer group. Kafka's own committed offsets are
 * advisory (for lag monitoring): the master store's offset, committed with each batch, is the one
 * that decides where a partition resumes.
 *
 * A batch failure never stops the consumer, nor any other partition: a fenced batch is left to
 * the partition's new owner; a retriable failure (a server restarting) is retried a few times in
 * place; after that, or for any other failure, the partition alone is paused and tried again
 * with a growing backoff, and shows as stalled (`intake_partition_stalled`, an error log line with
 * the error code, never a value). kafkajs fetches the same batch again when it resumes.
 */
export async function runConsumer(
  consumer: Consumer,
  processor: BatchProcessor,
  metrics: ConsumerMetrics,
  log: Logger,
  o: RunnerOptions,
): Promise<StallTracker> {
  const quickRetries = o.quickRetries ?? 3;
  const stalls = new StallTracker(metrics, log, o.stallBackoffMs ?? { first: 1_000, max: 60_000 });
  /** Each assignment's number: a resume still retrying for an older one stops. */
  let generation = 0;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Reconcile positions by key, not by event: forget them all and re-read each one from the
    // master store when its partition's next batch arrives.
    processor.forget();
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
    // The master store decides where a partition resumes, not Kafka's (advisory) committed offset:
    // a database restored behind Kafka is read again from its stored offset, and what a previous
    // owner committed but did not publish is published, even if no new record ever arrives. (A
    // batch fetched before the seek lands is handled by the processor: below the stored offset it
    // is skipped, above it the partition goes back; a pending range is published by either.)
    const assigned = e.payload.memberAssignment[o.topic] ?? [];
    const gen = ++generation;
    for (const partition of assigned) {
      void resumeOnAssignment(partition, {
        resume: (p) => processor.resume(p),
        seek: (p, next) => consumer.seek({ topic: o.topic, partition: p, offset: String(next) }),
        current: () => gen === generation,
        log,
      });
    }
  });
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.partitionConcurrency,
    eachBatch: async (p: EachBatchPayload) => {
      if (p.batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
      // Keeps the membership alive during a long batch, between its stages and while one stage
      // waits on a slow store; a rebalance it reports is handled once the batch is done (the fence
      // guards the commit if the partition moved meanwhile).
      const heartbeat = () => p.heartbeat().catch(() => {});
      const beating = setInterval(() => void heartbeat(), o.heartbeatIntervalMs ?? 3_000);
      let done: boolean;
      try {
        done = await handleBatch(p, heartbeat);
      } finally {
        clearInterval(beating);
      }
      // After a committed batch: a rebalance reported here is kafkajs's to handle (it rejoins), not a batch error.
      if (done) await p.heartbeat();
    },
  });

  /** One batch, retried in place while that helps; true once it is committed (or skipped). */
  async function handleBatch(p: EachBatchPayload, heartbeat: () => Promise<void>): Promise<boolean> {
    const { batch } = p;
    const partition = batch.partition;
    const messages: InboundMessage[] = batch.messages.map((m) => ({
      offset: Number(m.offset),
      key: m.key,
      value: m.value,
      timestampMs: Number(m.timestamp),
    }));
    const stop = metrics.batchDuration.startTimer();
    let outcome: BatchOutcome | undefined;
    for (let attempt = 0; outcome === undefined; attempt++) {
      try {
        outcome = await processor.process(partition, messages, heartbeat);
      } catch (err) {
        const code = err instanceof IngestError ? err.code : 'UNEXPECTED';
        if (err instanceof FencedError) {
          // Another member moved the offset: re-read the position and let the skip rule drop what it stored.
          log.warn({ partition, attempt }, 'batch fenced; re-reading position');
          if (attempt >= 1) return false; // not ours any more: leave the partition to its owner
          continue;
        }
        metrics.batchErrors.inc({ code });
        const retriable = err instanceof IngestError && err.retriable;
        if (retriable && attempt < quickRetries && p.isRunning() && !p.isStale()) {
          log.warn({ err, partition, attempt }, 'batch failed; retrying');
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          await heartbeat();
          continue;
        }
        stalls.stall(partition, code, err, () => p.pause());
        return false;
      }
    }
    stalls.clear(partition);
    if (outcome.seekTo !== undefined) {
      consumer.seek({ topic: batch.topic, partition, offset: String(outcome.seekTo) });
      return false;
    }
    p.resolveOffset(batch.lastOffset());
    metrics.batchSize.observe(messages.length);
    metrics.lag.set({ partition: String(partition) }, Math.max(0, Number(batch.highWatermark) - outcome.next));
    if (outcome.next >= 0) {
      await consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(outcome.next) }]).catch((err: unknown) => {
        log.warn({ err, partition }, 'advisory Kafka offset commit failed');
      });
    }
    stop();
    return true;
  }
  return stalls;
}

/** Partitions paused after a failure, each resumed after its own backoff. */
export class StallTracker {
  readonly #stalled = new Map<number, { failures: number; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly metrics: ConsumerMetrics,
    private readonly log: Logger,
    private readonly backoff: { readonly first: number; readonly max: number },
  ) {}

  /** Pauses the partition (`pause` returns its resume) and schedules the resume. */
  stall(partition: number, code: string, err: unknown, pause: () => () => void): void {
    const s = this.#stalled.get(partition) ?? { failures: 0 };
    s.failures++;
    const delayMs = Math.min(this.backoff.max, this.backoff.first * 2 ** (s.failures - 1));
    this.metrics.stalled.set({ partition: String(partition) }, 1);
    this.log.error({ err, partition, code, failures: s.failures, retryInMs: delayMs }, 'partition stalled: paused, will retry');
    const resume = pause();
    clearTimeout(s.timer);
    s.timer = setTimeout(resume, delayMs);
    this.#stalled.set(partition, s);
  }

  /** The partition moved: it is not stalled (the gauge shows 0 for every partition it holds). */
  clear(partition: number): void {
    const s = this.#stalled.get(partition);
    if (s === undefined) {
      this.metrics.stalled.set({ partition: String(partition) }, 0);
      return;
    }
    clearTimeout(s.timer);
    this.#stalled.delete(partition);
    this.metrics.stalled.set({ partition: String(partition) }, 0);
    this.log.info({ partition, failures: s.failures }, 'partition moving again');
  }

  close(): void {
    for (const s of this.#stalled.values()) clearTimeout(s.timer);
  }
}

export interface ResumeDeps {
  resume(partition: number): Promise<number | undefined>;
  seek(partition: number, next: number): void;
  /** False once a newer assignment replaced the one this resume is for. */
  current(): boolean;
  readonly log: Logger;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Resumes a newly assigned partition from the master store, retrying until it succeeds or the
 * assignment changes. Giving up is not an option: what a previous owner committed but did not
 * publish is published here, and at the end of a stream no later batch would publish it (seen:
 * two new owners republishing overlapping patients, one refused with a deadlock, 1,052 public
 * items left behind the master).
 */
export async function resumeOnAssignment(partition: number, d: ResumeDeps): Promise<void> {
  const sleep = d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; d.current(); attempt++) {
    try {
      const next = await d.resume(partition);
      if (next !== undefined && d.current()) d.seek(partition, next);
      return;
    } catch (err) {
      const retryInMs = Math.min(30_000, 200 * 2 ** (attempt - 1));
      d.log.warn({ err, partition, attempt, retryInMs }, 'cannot resume the partition on assignment; retrying');
      await sleep(retryInMs);
    }
  }
}
