import { hostname } from 'node:os';
import { checkKafkaSecurity, ConfigError, env, kafkaSecurityShape, LOCAL_DEFAULTS, loadConfig, localDatabaseUrl, logShape } from '@clinical-ingest/intake-core';
import type { RedisOptions } from 'ioredis';
import { z } from 'zod';

/**
 * The consumer's configuration, from the environment. Defaults point at the local platform
 * (`make up`); on Kubernetes the ConfigMap and Secrets set them.
 */
export const consumerConfigShape = {
  KAFKA_BROKERS: env.list(LOCAL_DEFAULTS.KAFKA_BROKERS),
  INTAKE_TOPIC: env.string(LOCAL_DEFAULTS.INTAKE_TOPIC),
  DLQ_TOPIC: env.string(LOCAL_DEFAULTS.DLQ_TOPIC),
  CONSUMER_GROUP: env.string('intake-consumer'),
  KAFKA_CLIENT_ID: env.string(`intake-consumer-${hostname()}-${process.pid}`),
  /** TLS and SASL to the brokers (KAFKA_SASL_MECHANISM, …; none locally): see intake-core kafka.ts. */
  ...kafkaSecurityShape,
  ...logShape,
  /** Kafka session timeout: how long a silent member keeps its partitions. */
  KAFKA_SESSION_TIMEOUT_MS: env.int(30_000, 6_000), // thirty seconds
  /**
   * How long a rebalance waits for every member to rejoin; a member that crashed holds its
   * partitions that long. Longer than a batch takes. @default 30 s
   */
  KAFKA_REBALANCE_TIMEOUT_MS: env.int(30_000, 1_000),
  /**
   * A fetch returns once it holds FETCH_MIN_BYTES or has waited FETCH_MAX_WAIT_MS. Under load the
   * bytes come first and batches are large (every batch costs a few round trips and commits, so
   * small ones cost CPU per record); when traffic is light the wait bounds freshness.
   */
  FETCH_MIN_BYTES: env.int(256 * 1024, 1, 16 * 1024 * 1024), // ~1,300 small records
  FETCH_MAX_WAIT_MS: env.int(150, 1, 5_000),
  FETCH_MAX_BYTES_PER_PARTITION: env.int(2 * 1024 * 1024, 64 * 1024), // 2 MiB: ~10k small records
  FETCH_MAX_BYTES: env.int(16 * 1024 * 1024, 1024 * 1024),
  /** Partitions processed in parallel by one consumer process. */
  PARTITION_CONCURRENCY: env.int(3, 1, 64),
  /** Largest accepted record value; larger ones are rejected as `oversized`. */
  MAX_RECORD_BYTES: env.int(32 * 1024, 1024, 1024 * 1024),
  DATABASE_URL: env.string(LOCAL_DEFAULTS.DATABASE_URL),
  PG_POOL_SIZE: env.int(8, 1, 200),
  /**
   * Every I/O has a bound. A timed-out statement, command or request is a retriable failure: the
   * batch is retried, and after a few tries its partition pauses and shows as stalled, so a slow
   * store slows consumption instead of hanging it. A batch statement writes thousands of records:
   * its bound is generous. @default 30 s
   */
  PG_STATEMENT_TIMEOUT_MS: env.int(30_000, 100),
  /** Connecting to PostgreSQL, Redis or the DynamoDB API. */
  CONNECT_TIMEOUT_MS: env.int(5_000, 100),
  /** `redis://` (plaintext, the local platform) or `rediss://` (TLS, the server's name verified). */
  REDIS_URL: env.string(LOCAL_DEFAULTS.REDIS_URL),
  /** The CA certificate (PEM) that signed Redis's certificate, for a `rediss://` URL; default: the system's CAs. */
  REDIS_TLS_CA: z.string().min(1).optional(),
  REDIS_COMMAND_TIMEOUT_MS: env.int(2_000, 10),
  /** One DynamoDB API request (the SDK retries it up to 3 times). */
  DYNAMODB_REQUEST_TIMEOUT_MS: env.int(5_000, 100),
  /**
   * HMAC secret for identity keys (≥ 32 characters). It cannot be rotated in place: every stored
   * identity key was made with it, and a new secret would give every returning patient a new ID.
   */
  IDENTITY_HMAC_SECRET: z.string().min(32, 'IDENTITY_HMAC_SECRET must be at least 32 characters'),
  PUBLIC_STORE: env.enum(['dynamodb', 'postgres'], 'dynamodb'),
  PUBLIC_DATABASE_URL: env.string(localDatabaseUrl('anon_writer')),
  DYNAMODB_ENDPOINT: z.string().url().optional().default(LOCAL_DEFAULTS.DYNAMODB_ENDPOINT),
  DYNAMODB_REGION: env.string('us-east-1'),
  PUBLIC_TABLE: env.string(LOCAL_DEFAULTS.PUBLIC_TABLE),
  /** Conditional PutItem calls in flight per batch (one per patient state). */
  DYNAMODB_CONCURRENCY: env.int(16, 1, 256),
  METRICS_HOST: env.string('127.0.0.1'),
  METRICS_PORT: env.int(9464, 0, 65535),
  /** Bound on the whole graceful shutdown; past it the process exits non-zero. */
  SHUTDOWN_TIMEOUT_MS: env.int(25_000, 1_000),
};

export type ConsumerConfig = ReturnType<typeof parseConsumerConfig>;

export function parseConsumerConfig(source: Readonly<Record<string, string | undefined>>) {
  return checkRedisTls(checkKafkaSecurity(loadConfig(consumerConfigShape, source)));
}

function checkRedisTls<T extends { redisUrl: string; redisTlsCa?: string | undefined }>(cfg: T): T {
  if (cfg.redisTlsCa !== undefined && !cfg.redisUrl.startsWith('rediss://')) {
    throw new ConfigError('invalid configuration: REDIS_TLS_CA needs a rediss:// REDIS_URL (TLS); the URL given is not one');
  }
  return cfg;
}

/**
 * ioredis options for the configured bounds and TLS: a `rediss://` URL turns TLS on and Node
 * verifies the server's certificate and name; REDIS_TLS_CA names the CA it must chain to.
 */
export function redisOptions(cfg: Pick<ConsumerConfig, 'redisUrl' | 'redisTlsCa' | 'connectTimeoutMs' | 'redisCommandTimeoutMs'>): RedisOptions {
  return {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    connectTimeout: cfg.connectTimeoutMs,
    commandTimeout: cfg.redisCommandTimeoutMs,
    ...(cfg.redisUrl.startsWith('rediss://') ? { tls: cfg.redisTlsCa === undefined ? {} : { ca: [cfg.redisTlsCa] } } : {}),
  };
}

/** node-postgres pool options with the configured bounds (client side slightly above the server's). */
export function pgPoolOptions(cfg: Pick<ConsumerConfig, 'pgStatementTimeoutMs' | 'connectTimeoutMs'>) {
  return {
    connectionTimeoutMillis: cfg.connectTimeoutMs,
    statement_timeout: cfg.pgStatementTimeoutMs,
    query_timeout: cfg.pgStatementTimeoutMs + 5_000,
    idle_in_transaction_session_timeout: cfg.pgStatementTimeoutMs * 2,
  };
}
