import type { Admin } from 'kafkajs';
import type { IntakeLog } from '../ports.js';

/** The intake topic's log start offsets, from the brokers (kafkajs admin, ListOffsets). */
export class KafkaIntakeLog implements IntakeLog {
  constructor(private readonly admin: Admin) {}

  async earliestOffset(topic: string, partition: number): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    const p = offsets.find((o) => o.partition === partition);
    if (p === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
    return Number(p.low);
  }
}
