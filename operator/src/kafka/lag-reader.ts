import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaSecurity, type KafkaSecurityConfig, type Logger } from '@clinical-ingest/intake-core';
import { OperatorError, type LagReader } from '../controller/ports.js';
import type { PartitionOffsets } from '../policy/policy.js';

export interface KafkaLagReaderOptions {
  readonly clientId?: string;
  /** @default 5000 */
  readonly requestTimeoutMs?: number;
  readonly log?: Logger;
  /** TLS and SASL to the brokers. @default parsed from the environment (KAFKA_SASL_MECHANISM, …) */
  readonly security?: KafkaSecurityConfig;
}

/**
 * Lag through the Kafka admin API (kafkajs): log-end offsets from `fetchTopicOffsets` (`high`),
 * the group's committed offsets from `fetchOffsets`. A partition with nothing committed (-1)
 * reads as committed at the log start (`low`): the consumer subscribes from the beginning, so
 * everything retained is still to consume. One admin client per bootstrap list, connected once.
 */
export class KafkaLagReader implements LagReader {
  private readonly admins = new Map<string, Promise<Admin>>();

  constructor(private readonly opts: KafkaLagReaderOptions = {}) {}

  private admin(bootstrapServers: string): Promise<Admin> {
    let a = this.admins.get(bootstrapServers);
    if (a === undefined) {
      const kafka = new Kafka({
        clientId: this.opts.clientId ?? 'ingest-operator',
        brokers: bootstrapServers
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b.length > 0),
        requestTimeout: this.opts.requestTimeoutMs ?? 5000,
        connectionTimeout: 3000,
        retry: { retries: 2 },
        logLevel: logLevel.NOTHING,
        ...(this.opts.security === undefined ? {} : kafkaSecurity(this.opts.security)),
      });
      const admin = kafka.admin();
      a = admin.connect().then(() => admin);
      a.catch(() => this.admins.delete(bootstrapServers));
      this.admins.set(bootstrapServers, a);
    }
    return a;
  }

  async read(bootstrapServers: string, topic: string, group: string): Promise<PartitionOffsets[]> {
    try {
      const admin = await this.admin(bootstrapServers);
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
      const byPartition = new Map<number, string>();
      for (const t of committed) if (t.topic === topic) for (const p of t.partitions) byPartition.set(p.partition, p.offset);
      return ends
        .map((e) => {
          const high = Number(e.high);
          const low = Number(e.low);
          const c = Number(byPartition.get(e.partition) ?? '-1');
          return { partition: e.partition, logEndOffset: high, committedOffset: c < 0 ? low : Math.min(c, high) };
        })
        .sort((a, b) => a.partition - b.partition);
    } catch (e) {
      // A broken connection is dropped so the next read reconnects.
      const a = this.admins.get(bootstrapServers);
      this.admins.delete(bootstrapServers);
      a?.then((x) => x.disconnect()).catch(() => undefined);
      throw new OperatorError('KAFKA_LAG', `cannot read offsets of topic ${topic} for group ${group}: ${e instanceof Error ? e.message : String(e)}`, true, {
        cause: e,
      });
    }
  }

  async close(): Promise<void> {
    const all = [...this.admins.values()];
    this.admins.clear();
    await Promise.all(all.map((a) => a.then((x) => x.disconnect()).catch(() => undefined)));
  }
}
