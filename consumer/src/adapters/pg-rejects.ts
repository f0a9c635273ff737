import type { PoolClient } from 'pg';
import type { RejectFilter, RejectsToReplay, ReplayCandidate } from '../replay.js';
import { dbError } from './pg-master-store.js';

/**
 * Claims rejected records for a replay: inserts their coordinates into ingest.replayed_reject
 * (ON CONFLICT DO NOTHING: a record is claimed once, ever) and returns them with their raw key
 * and value, in partition and offset order. Runs inside the caller's transaction: a replay
 * commits its claims only after Kafka acknowledged the records.
 */
const CLAIM = `
WITH claimed AS (
  INSERT INTO ingest.replayed_reject (topic, kafka_partition, kafka_offset)
  SELECT r.topic, r.kafka_partition, r.kafka_offset
    FROM ingest.rejected_record r
   WHERE r.topic = $1
     AND ($2::text[] IS NULL OR r.reason = ANY($2) OR split_part(r.reason, ':', 1) = ANY($2))
     AND ($3::int[] IS NULL OR r.kafka_partition = ANY($3))
     AND ($4::timestamptz IS NULL OR r.produced_at >= $4)
     AND ($5::timestamptz IS NULL OR r.produced_at < $5)
     AND NOT EXISTS (SELECT 1 FROM ingest.replayed_reject p
                      WHERE p.topic = r.topic AND p.kafka_partition = r.kafka_partition AND p.kafka_offset = r.kafka_offset)
   ORDER BY r.kafka_partition, r.kafka_offset
   LIMIT $6
  ON CONFLICT DO NOTHING
  RETURNING topic, kafka_partition, kafka_offset
)
SELECT r.kafka_partition, r.kafka_offset, r.reason, r.raw_key, r.raw_value, r.produced_at
  FROM claimed c
  JOIN ingest.rejected_record r USING (topic, kafka_partition, kafka_offset)
 ORDER BY r.kafka_partition, r.kafka_offset`;

export class PgRejectsToReplay implements RejectsToReplay {
  constructor(private readonly client: PoolClient) {}

  async begin(): Promise<void> {
    await this.#query('BEGIN');
  }

  async claim(f: RejectFilter, limit: number): Promise<ReplayCandidate[]> {
    const r = await this.#query<{
      kafka_partition: number;
      kafka_offset: string;
      reason: string;
      raw_key: Buffer | null;
      raw_value: Buffer | null;
      produced_at: Date;
    }>(CLAIM, [f.topic, f.reasons.length > 0 ? f.reasons : null, f.partitions.length > 0 ? f.partitions : null, f.from ?? null, f.to ?? null, limit]);
    return r.rows.map((x) => ({
      partition: x.kafka_partition,
      offset: Number(x.kafka_offset),
      reason: x.reason,
      key: x.raw_key,
      value: x.raw_value,
      producedAt: x.produced_at,
    }));
  }

  async commit(): Promise<void> {
    await this.#query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.#query('ROLLBACK');
  }

  async #query<R extends import('pg').QueryResultRow>(text: string, values: unknown[] = []) {
    try {
      return await this.client.query<R>(text, values);
    } catch (err) {
      throw dbError('replay', err);
    }
  }
}
