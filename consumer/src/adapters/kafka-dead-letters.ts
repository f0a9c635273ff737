import type { Producer } from 'kafkajs';
import type { DeadLetters, RejectedRow } from '../ports.js';

/**
 * Bytes of one DLQ send, at most (key, value and headers of its records): one send to one
 * partition is one record batch, and the broker refuses a batch above the topic's
 * `max.message.bytes` (1 MiB by default; the DLQ topic is created with 2 MiB, so that one record
 * that fit the intake topic always fits, headers included).
 */
export const DLQ_MAX_SEND_BYTES = 900 * 1024;
/** Per-record overhead of the record format, and the headers' names. */
const RECORD_OVERHEAD = 256;

/**
 * Rejected records to the DLQ topic, unchanged, with PHI-free headers naming the reason and the
 * source coordinates (which also let a DLQ reader drop the duplicates a crash can produce: a
 * batch's rejects are sent after its commit, and sent again only by a new owner that cannot know
 * whether the previous one finished). The key is kept, so a replay lands in the same intake
 * partition. Sends are split to stay under the broker's limit.
 */
export class KafkaDeadLetters implements DeadLetters {
  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
    private readonly maxSendBytes = DLQ_MAX_SEND_BYTES,
  ) {}

  async publish(topic: string, partition: number, rows: readonly RejectedRow[]): Promise<void> {
    const at = new Date().toISOString();
    for (const chunk of chunkByBytes(rows, this.maxSendBytes)) {
      await this.producer.send({
        topic: this.dlqTopic,
        acks: -1,
        messages: chunk.map((r) => ({
          key: r.key,
          value: r.value,
          headers: {
            'x-reject-reason': r.reason,
            'x-source-topic': topic,
            'x-source-partition': String(partition),
            'x-source-offset': String(r.offset),
            'x-rejected-at': at,
          },
        })),
      });
    }
  }
}

/** Splits rows, in order, into runs of at most `maxBytes` (a larger row goes alone). */
export function chunkByBytes<R extends Pick<RejectedRow, 'key' | 'value' | 'reason'>>(rows: readonly R[], maxBytes: number): R[][] {
  const chunks: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const r of rows) {
    const size = (r.key?.length ?? 0) + (r.value?.length ?? 0) + r.reason.length + RECORD_OVERHEAD;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
