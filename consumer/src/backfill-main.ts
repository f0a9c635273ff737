#!/usr/bin/env node
import { createLogger } from '@clinical-ingest/intake-core';
import pg from 'pg';
import { PgMasterStore } from './adapters/pg-master-store.js';
import { backfillPublicStore } from './backfill.js';
import { parseConsumerConfig, pgPoolOptions } from './config.js';
import { buildPublicStore } from './public-store-factory.js';

/** `intake-backfill`: re-publish every patient's current state into the configured public store. */
async function main(): Promise<void> {
  const cfg = parseConsumerConfig(process.env);
  const log = createLogger('backfill', { level: cfg.logLevel });
  const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 2, application_name: 'intake-backfill', ...pgPoolOptions(cfg) });
  const store = await buildPublicStore(cfg, log, 2);
  const t0 = Date.now();
  let last = 0;
  try {
    const n = await backfillPublicStore(new PgMasterStore(pool), store, {
      onProgress: (written) => {
        if (Date.now() - last > 5_000) {
          last = Date.now();
          log.info({ written }, 'backfilling the public store');
        }
      },
    });
    log.info({ written: n, seconds: (Date.now() - t0) / 1000, publicStore: store.kind }, 'public store backfilled');
  } finally {
    await store.close();
    await pool.end();
  }
}

main().catch((err: unknown) => {
  createLogger('backfill').fatal({ err }, 'backfill failed');
  process.exit(1);
});
