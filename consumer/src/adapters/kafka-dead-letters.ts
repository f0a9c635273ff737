import type { Producer } from 'kafkajs';
import type { DeadLetters, RejectedRow } from '../ports.js';

/**
 * Rejected records to the DLQ topic, unchanged, with PHI-free headers naming the reason and the
 * source coordinates (which also let a DLQ reader drop the duplicates a replay can produce).
 * The key is kept, so a replay of the DLQ lands in the same intake partition.
 */
export class KafkaDeadLetters implements DeadLetters {
  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
  ) {}

  async publish(topic: string, partition: number, rows: readonly RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const at = new Date().toISOString();
    await this.producer.send({
      topic: this.dlqTopic,
      acks: -1,
      messages: rows.map((r) => ({
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
