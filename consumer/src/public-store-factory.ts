import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@clinical-ingest/intake-core';
import pg from 'pg';
import { DynamoPublicStore } from './adapters/dynamo-public-store.js';
import { PgPublicStore } from './adapters/pg-public-store.js';
import { pgPoolOptions, type ConsumerConfig } from './config.js';
import type { PublicStore } from './ports.js';

/** Builds the configured public-store adapter (and creates the DynamoDB table if missing). */
export async function buildPublicStore(cfg: ConsumerConfig, log: Logger, connections: number): Promise<PublicStore> {
  if (cfg.PUBLIC_STORE === 'postgres') {
    const pool = new pg.Pool({ connectionString: cfg.PUBLIC_DATABASE_URL, max: connections, application_name: 'intake-public-writer', ...pgPoolOptions(cfg) });
    pool.on('error', (err) => log.warn({ err }, 'idle public-store connection failed'));
    return new PgPublicStore(pool);
  }
  const store = new DynamoPublicStore({
    client: new DynamoDBClient({
      endpoint: cfg.DYNAMODB_ENDPOINT,
      region: cfg.DYNAMODB_REGION,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: cfg.CONNECT_TIMEOUT_MS, requestTimeout: cfg.DYNAMODB_REQUEST_TIMEOUT_MS },
    }),
    table: cfg.PUBLIC_TABLE,
    concurrency: cfg.DYNAMODB_CONCURRENCY,
  });
  await store.ensureTable();
  return store;
}
