import { FencedError, IngestError, type Logger } from '@clinical-ingest/intake-core';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { InboundMessage } from './ports.js';
import type { BatchProcessor } from './processor.js';
import type { ConsumerMetrics } from './metrics.js';

export interface RunnerOptions {
  readonly topic: string;
  readonly partitionConcurrency: number;
  /** Retries of a batch that failed with a retriable error before the consumer restarts. @default 5 */
  readonly maxBatchRetries?: number;
}

/**
 * Binds the batch processor to a kafkajs consumer group. Kafka's own committed offsets are
 * advisory (for lag monitoring): the master store's offset, committed with each batch, is the one
 * that decides where a partition resumes.
 */
export async function runConsumer(consumer: Consumer, processor: BatchProcessor, metrics: ConsumerMetrics, log: Logger, o: RunnerOptions): Promise<void> {
  const maxRetries = o.maxBatchRetries ?? 5;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Reconcile positions by key, not by event: forget them all and re-read each one from the
    // master store when its partition's next batch arrives.
    processor.forget();
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
  });
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.partitionConcurrency,
    eachBatch: async (p: EachBatchPayload) => {
      const { batch } = p;
      if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
      const messages: InboundMessage[] = batch.messages.map((m) => ({
        offset: Number(m.offset),
        key: m.key,
        value: m.value,
        timestampMs: Number(m.timestamp),
      }));
      const stop = metrics.batchDuration.startTimer();
      for (let attempt = 0; ; attempt++) {
        try {
          const outcome = await processor.process(batch.partition, messages);
          p.resolveOffset(batch.lastOffset());
          metrics.batchSize.observe(messages.length);
          metrics.lag.set({ partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - outcome.next));
          if (outcome.next >= 0) {
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(outcome.next) }]).catch((err: unknown) => {
              log.warn({ err, partition: batch.partition }, 'advisory Kafka offset commit failed');
            });
          }
          await p.heartbeat();
          stop();
          return;
        } catch (err) {
          const code = err instanceof IngestError ? err.code : 'UNEXPECTED';
          metrics.batchErrors.inc({ code });
          if (err instanceof FencedError) {
            // Another member moved the offset: re-read the position and let the skip rule drop what it stored.
            log.warn({ partition: batch.partition, attempt }, 'batch fenced; re-reading position');
            if (attempt >= 1) return; // not ours any more: leave the partition to its owner
            continue;
          }
          const retriable = err instanceof IngestError && err.retriable;
          if (!retriable || attempt >= maxRetries || !p.isRunning()) {
            log.error({ err, partition: batch.partition, attempt }, 'batch failed');
            throw err;
          }
          log.warn({ err, partition: batch.partition, attempt }, 'batch failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
          await p.heartbeat().catch(() => {});
        }
      }
    },
  });
}
