import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { IngestError } from '@clinical-ingest/intake-core';
import type { PublicItem, PublicStore } from '../ports.js';

export interface DynamoPublicStoreOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /** PutItem calls in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Retries of a throttled or failed put before giving up. @default 8 */
  readonly maxRetries?: number;
}

/**
 * The public store on the DynamoDB API (dynalite locally, any DynamoDB endpoint elsewhere).
 * Items: patient_id (S, key), favorite_color (S), rev (N). Nothing else may be written.
 *
 * Every write is conditional on the master's revision: a put lands only if the item is absent or
 * holds a lower `rev`. One ordered writer per patient cannot be relied on (a member evicted during
 * a long batch keeps writing after the new owner re-published; a backfill runs beside the
 * consumers; an upstream producer may key one person two ways), so the store itself orders the
 * writes. BatchWriteItem takes no condition, hence one PutItem per item, `concurrency` in flight
 * (README, Performance: what that costs on dynalite; scripts/bench-dynamo-writes.mjs measures it).
 *
 * A call that fails returns only after every put it started has finished: a retried batch never
 * races writes of its own failed attempt.
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
    let next = 0;
    let failure: Error | undefined;
    const worker = async () => {
      while (next < items.length && failure === undefined) {
        try {
          await this.#putIfNewer(items[next++]!);
        } catch (err) {
          failure ??= err instanceof Error ? err : new Error(String(err));
        }
      }
    };
    // Workers never reject: all of them, and so every put in flight, are done when this returns.
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, items.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  async #putIfNewer(it: PublicItem): Promise<void> {
    const command = new PutItemCommand({
      TableName: this.#table,
      Item: toItem(it),
      ConditionExpression: 'attribute_not_exists(patient_id) OR #rev < :rev',
      ExpressionAttributeNames: { '#rev': 'rev' },
      ExpressionAttributeValues: { ':rev': { N: String(it.rev) } },
    });
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#client.send(command);
        return;
      } catch (err) {
        const e = err as { name?: string; $retryable?: unknown };
        // The same or a newer revision is stored: nothing to do.
        if (e.name === 'ConditionalCheckFailedException') return;
        const retriable = e.name === 'ProvisionedThroughputExceededException' || e.name === 'ThrottlingException' || e.$retryable !== undefined;
        if (!retriable || attempt >= this.#maxRetries) {
          throw new IngestError('PUBLIC_STORE_WRITE', `public store write failed (${e.name ?? 'error'})`, { retriable: true, cause: err });
        }
      }
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

  /** Attribute names present on any stored item (a full scan: the validation's "no PHI attribute" check). */
  async attributeNames(): Promise<string[]> {
    const found = new Set<string>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.#client.send(new ScanCommand({ TableName: this.#table, ExclusiveStartKey: start }));
      for (const item of r.Items ?? []) for (const k of Object.keys(item)) found.add(k);
      start = r.LastEvaluatedKey;
    } while (start);
    return [...found].sort();
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
