import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { IngestError } from '@clinical-ingest/intake-core';
import type { PublicItem, PublicStore } from '../ports.js';

export interface DynamoPublicStoreOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /** BatchWriteItem calls in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Retries of unprocessed items and throttles before giving up. @default 8 */
  readonly maxRetries?: number;
}

/**
 * The public store on the DynamoDB API (dynalite locally, any DynamoDB endpoint elsewhere).
 * Items: patient_id (S, key), favorite_color (S), rev (N). Nothing else may be written.
 *
 * Writes are BatchWriteItem of 25 unconditional puts: replaying one is idempotent, and the newest
 * state wins because each patient's states are published in order by the one consumer that owns
 * its partition (a conditional put per item costs ten times more on dynalite, see ARCHITECTURE §4).
 */
export class DynamoPublicStore implements PublicStore {
  readonly kind = 'dynamodb' as const;
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #concurrency: number;
  readonly #maxRetries: number;

  constructor(o: DynamoPublicStoreOptions) {
    this.#client = o.client;
    this.#table = o.table;
    this.#concurrency = o.concurrency ?? 16;
    this.#maxRetries = o.maxRetries ?? 8;
  }

  async put(items: readonly PublicItem[]): Promise<void> {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < items.length; i += 25) {
      chunks.push(items.slice(i, i + 25).map((it) => ({ PutRequest: { Item: toItem(it) } })));
    }
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) await this.#write(chunks[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, chunks.length) }, worker));
  }

  async #write(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.#table]: pending } }));
        const left = out.UnprocessedItems?.[this.#table] ?? [];
        if (left.length === 0) return;
        pending = left;
      } catch (err) {
        const e = err as { name?: string; $retryable?: unknown };
        const retriable = e.name === 'ProvisionedThroughputExceededException' || e.name === 'ThrottlingException' || e.$retryable !== undefined;
        if (!retriable || attempt >= this.#maxRetries) {
          throw new IngestError('PUBLIC_STORE_WRITE', `public store write failed (${e.name ?? 'error'})`, { retriable: true, cause: err });
        }
      }
      if (attempt >= this.#maxRetries) throw new IngestError('PUBLIC_STORE_WRITE', 'public store left items unprocessed', { retriable: true });
      await sleep(Math.min(1000, 20 * 2 ** attempt));
    }
  }

  async get(patientIds: readonly string[]): Promise<Map<string, PublicItem>> {
    const out = new Map<string, PublicItem>();
    for (let i = 0; i < patientIds.length; i += 100) {
      let keys: Record<string, AttributeValue>[] | undefined = patientIds.slice(i, i + 100).map((id) => ({ patient_id: { S: id } }));
      while (keys && keys.length > 0) {
        const r: BatchGetItemCommandOutput = await this.#client.send(new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: keys } } }));
        for (const item of r.Responses?.[this.#table] ?? []) {
          const it = fromItem(item);
          out.set(it.patientId, it);
        }
        keys = r.UnprocessedKeys?.[this.#table]?.Keys;
      }
    }
    return out;
  }

  async count(): Promise<number> {
    let n = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.#client.send(new ScanCommand({ TableName: this.#table, Select: 'COUNT', ExclusiveStartKey: start }));
      n += r.Count ?? 0;
      start = r.LastEvaluatedKey;
    } while (start);
    return n;
  }

  async *scan(): AsyncIterable<PublicItem[]> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.#client.send(new ScanCommand({ TableName: this.#table, ExclusiveStartKey: start }));
      yield (r.Items ?? []).map(fromItem);
      start = r.LastEvaluatedKey;
    } while (start);
  }

  /** Attribute names present on stored items (for the validation's "no PHI attribute" check). */
  async *scanRaw(): AsyncIterable<Record<string, AttributeValue>[]> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.#client.send(new ScanCommand({ TableName: this.#table, ExclusiveStartKey: start }));
      yield r.Items ?? [];
      start = r.LastEvaluatedKey;
    } while (start);
  }

  async ensureTable(): Promise<void> {
    try {
      await this.#client.send(new DescribeTableCommand({ TableName: this.#table }));
      return;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
    }
    try {
      await this.#client.send(
        new CreateTableCommand({
          TableName: this.#table,
          AttributeDefinitions: [{ AttributeName: 'patient_id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'patient_id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      // Another consumer starting at the same time created it first: wait for it like for ours.
      if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
    }
    for (let i = 0; i < 100; i++) {
      const d = await this.#client.send(new DescribeTableCommand({ TableName: this.#table }));
      if (d.Table?.TableStatus === 'ACTIVE') return;
      await sleep(100);
    }
    throw new IngestError('PUBLIC_TABLE_NOT_ACTIVE', `table ${this.#table} did not become active`, { retriable: true });
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

function toItem(it: PublicItem): Record<string, AttributeValue> {
  return { patient_id: { S: it.patientId }, favorite_color: { S: it.favoriteColor }, rev: { N: String(it.rev) } };
}

function fromItem(item: Record<string, AttributeValue>): PublicItem {
  return { patientId: item['patient_id']?.S ?? '', favoriteColor: item['favorite_color']?.S ?? '', rev: Number(item['rev']?.N ?? 0) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
