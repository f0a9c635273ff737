import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@clinical-ingest/intake-core';
import pg from 'pg';
import { DynamoPublicStore } from './adapters/dynamo-public-store.js';
import { PgPublicStore } from './adapters/pg-public-store.js';
import { pgPoolOptions, type ConsumerConfig } from './config.js';
import type { PublicStore, PublicStoreReader } from './ports.js';

/** Builds the configured public-store adapter (and creates the DynamoDB table if missing). */
export async function buildPublicStore(cfg: ConsumerConfig, log: Logger, connections: number): Promise<PublicStore> {
  if (cfg.publicStore === 'postgres') {
    const pool = new pg.Pool({ connectionString: cfg.publicDatabaseUrl, max: connections, application_name: 'intake-public-writer', ...pgPoolOptions(cfg) });
    pool.on('error', (err) => log.warn({ err }, 'idle public-store connection failed'));
    return new PgPublicStore(pool);
  }
  const store = new DynamoPublicStore({
    client: new DynamoDBClient({
      endpoint: cfg.dynamodbEndpoint,
      region: cfg.dynamodbRegion,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: cfg.connectTimeoutMs, requestTimeout: cfg.dynamodbRequestTimeoutMs },
    }),
    table: cfg.publicTable,
    concurrency: cfg.dynamodbConcurrency,
  });
  await store.ensureTable();
  return store;
}

export interface PublicStoreReaderOptions {
  readonly kind: 'dynamodb' | 'postgres';
  /** PostgreSQL public store: a role that may read the anon schema. */
  readonly databaseUrl: string;
  readonly dynamodb: { readonly endpoint: string; readonly region: string; readonly table: string };
}

/** The public store's reading side (the validation, exports), for the configured adapter. */
export function buildPublicStoreReader(o: PublicStoreReaderOptions): PublicStoreReader {
  if (o.kind === 'postgres') return new PgPublicStore(new pg.Pool({ connectionString: o.databaseUrl, max: 2, application_name: 'intake-public-reader' }));
  return new DynamoPublicStore({ client: new DynamoDBClient({ endpoint: o.dynamodb.endpoint, region: o.dynamodb.region }), table: o.dynamodb.table });
}
