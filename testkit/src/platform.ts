import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLogger, IdentityKeyer, LOCAL_DEFAULTS, LOCAL_PORTS, localDatabaseUrl } from '@clinical-ingest/intake-core';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import {
  BatchProcessor,
  ConsumerMetrics,
  DynamoPublicStore,
  IdentityResolver,
  KafkaIntakeLog,
  PgMasterStore,
  PgPublicStore,
  RedisIdentityCache,
  systemClock,
  type DeadLetters,
  type IntakeLog,
  type PublicStore,
} from '@clinical-ingest/consumer';

/**
 * Connections to the local platform's real servers (`make up`) for integration tests. A test
 * that cannot reach them fails with a message saying so; it never passes silently.
 */
export const env = {
  brokers: (process.env['KAFKA_BROKERS'] ?? LOCAL_DEFAULTS.KAFKA_BROKERS).split(','),
  appDb: process.env['DATABASE_URL'] ?? LOCAL_DEFAULTS.DATABASE_URL,
  adminDb: process.env['ADMIN_DATABASE_URL'] ?? localDatabaseUrl('postgres'),
  publicDb: process.env['PUBLIC_DATABASE_URL'] ?? localDatabaseUrl('anon_writer'),
  redis: process.env['REDIS_URL'] ?? LOCAL_DEFAULTS.REDIS_URL,
  dynamo: process.env['DYNAMODB_ENDPOINT'] ?? LOCAL_DEFAULTS.DYNAMODB_ENDPOINT,
  /** The same Redis over TLS, with a certificate for `localhost` from the local CA (scripts/platform.sh). */
  redisTls: process.env['REDIS_TLS_URL'] ?? `rediss://localhost:${LOCAL_PORTS.redisTls}`,
  /** The local CA that signed the TLS certificate of PostgreSQL and Redis. */
  tlsCaFile: process.env['LOCAL_TLS_CA'] ?? join(dirname(fileURLToPath(import.meta.url)), '../../.local/tls/ca.crt'),
};

export const TEST_SECRET = 'integration-test-identity-secret-0123456789';

export class TestPlatform {
  readonly app = new pg.Pool({ connectionString: env.appDb, max: 6 });
  readonly admin = new pg.Pool({ connectionString: env.adminDb, max: 4 });
  readonly publicPool = new pg.Pool({ connectionString: env.publicDb, max: 4 });
  readonly redis = new Redis(env.redis, { maxRetriesPerRequest: 1, lazyConnect: true });
  readonly kafka = new Kafka({ clientId: 'itest', brokers: env.brokers, logLevel: logLevel.NOTHING });
  readonly master = new PgMasterStore(this.app);
  readonly cache = new RedisIdentityCache(this.redis, `itest:${randomBytes(4).toString('hex')}:`);
  #dynamoTables: string[] = [];

  static async connect(): Promise<TestPlatform> {
    const p = new TestPlatform();
    // An idle connection dropped by a server restart (the fault suite restarts PostgreSQL) is
    // replaced on the next query; without a listener node-postgres would crash the process.
    for (const pool of [p.app, p.admin, p.publicPool]) pool.on('error', () => {});
    try {
      await p.admin.query('SELECT 1');
      await p.redis.connect();
      const admin = p.kafka.admin();
      await admin.connect();
      await admin.disconnect();
    } catch (err) {
      await p.close().catch(() => {});
      throw new Error(`the local platform is not reachable (${(err as Error).message}); start it with 'make up'`, { cause: err });
    }
    return p;
  }

  /** A fresh topic, so that tests never see each other's records. */
  async topic(partitions: number): Promise<string> {
    const name = `itest.${randomUUID().slice(0, 8)}`;
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: name, numPartitions: partitions },
        // As scripts/bootstrap.mjs creates the DLQ: any record the intake topic took fits.
        { topic: `${name}.dlq`, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(2 * 1024 * 1024) }] },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    return name;
  }

  pgPublic(): PgPublicStore {
    return new PgPublicStore(this.publicPool);
  }

  async dynamoPublic(): Promise<DynamoPublicStore> {
    return this.dynamoPublicNamed(`itest_${randomUUID().slice(0, 8)}`);
  }

  /** A DynamoDB-API public store on the named table (created if missing). */
  async dynamoPublicNamed(table: string): Promise<DynamoPublicStore> {
    const store = new DynamoPublicStore({
      client: new DynamoDBClient({ endpoint: env.dynamo, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      table,
    });
    await store.ensureTable();
    this.#dynamoTables.push(table);
    return store;
  }

  /** The brokers' log start offsets (connects on first use). */
  readonly intakeLog: IntakeLog = {
    earliestOffset: async (topic, partition) => {
      this.#admin ??= this.kafka.admin();
      await this.#admin.connect();
      return new KafkaIntakeLog(this.#admin).earliestOffset(topic, partition);
    },
  };
  #admin: Admin | undefined;

  processor(topic: string, publicStore: PublicStore, deadLetters: DeadLetters = { publish: async () => {} }): BatchProcessor {
    return new BatchProcessor({
      topic,
      keyer: new IdentityKeyer(TEST_SECRET),
      resolver: new IdentityResolver(this.master, this.cache),
      master: this.master,
      publicStore,
      deadLetters,
      intakeLog: this.intakeLog,
      clock: systemClock,
      metrics: new ConsumerMetrics(false),
      log: createLogger('itest', { level: 'silent' }),
    });
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const r = await this.admin.query<{ n: string }>(sql, params);
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.app.end(), this.admin.end(), this.publicPool.end(), this.#admin?.disconnect()]);
    this.redis.disconnect();
  }
}

/** A person no other test run can produce: names carry a random tag (letters only). */
export function uniquePerson(): { name: string; dateOfBirth: string } {
  const tag = [...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
  return { name: `Test ${tag} Person`, dateOfBirth: '1980-05-17' };
}

/**
 * A new, empty database on the local platform's server with every migration of db/migrations
 * applied (for tests and benchmarks that need a store of their own). Drops it first if it exists.
 * Returns connection URLs for the superuser and for a role of the migrations.
 */
export async function createScratchDatabase(name: string, adminUrl = env.adminDb): Promise<{ url: (role?: string) => string; drop: () => Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = (role?: string) => {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    if (role) u.username = role;
    return u.toString();
  };
  const migrate = new pg.Client({ connectionString: url() });
  await migrate.connect();
  try {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../db/migrations');
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.sql'))
      .sort())
      await migrate.query(readFileSync(join(dir, f), 'utf8'));
  } finally {
    await migrate.end();
  }
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
