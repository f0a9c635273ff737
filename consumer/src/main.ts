#!/usr/bin/env node
import { createKafkaClient, createLogger, IdentityKeyer } from '@clinical-ingest/intake-core';
import { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import pg from 'pg';
import { KafkaDeadLetters } from './adapters/kafka-dead-letters.js';
import { KafkaIntakeLog } from './adapters/kafka-intake-log.js';
import { PgMasterStore } from './adapters/pg-master-store.js';
import { RedisIdentityCache } from './adapters/redis-identity-cache.js';
import { parseConsumerConfig, pgPoolOptions, redisOptions } from './config.js';
import { IdentityResolver } from './identity-resolver.js';
import { runConsumer, type StallTracker } from './kafka-runner.js';
import { ConsumerMetrics, serveMetrics } from './metrics.js';
import { BatchProcessor } from './processor.js';
import { systemClock } from './ports.js';
import { buildPublicStore } from './public-store-factory.js';

/** The only place real clients are built. */
async function main(): Promise<void> {
  // The environment, parsed once, before any client exists: a bad setting stops here, named.
  const cfg = parseConsumerConfig(process.env);
  const log = createLogger('consumer', { level: cfg.logLevel });
  const metrics = new ConsumerMetrics();

  const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: cfg.pgPoolSize, application_name: 'intake-consumer', ...pgPoolOptions(cfg) });
  pool.on('error', (err) => log.warn({ err }, 'idle database connection failed'));
  const redis = new Redis(cfg.redisUrl, redisOptions(cfg));
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));

  const publicStore = await buildPublicStore(cfg, log, cfg.partitionConcurrency + 1);

  const kafka = createKafkaClient({ clientId: cfg.kafkaClientId, brokers: cfg.kafkaBrokers, logger: log, security: cfg });
  const dlqProducer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await dlqProducer.connect();
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const consumer = kafka.consumer({
    groupId: cfg.consumerGroup,
    sessionTimeout: cfg.kafkaSessionTimeoutMs,
    rebalanceTimeout: cfg.kafkaRebalanceTimeoutMs,
    heartbeatInterval: Math.floor(cfg.kafkaSessionTimeoutMs / 10),
    maxWaitTimeInMs: cfg.fetchMaxWaitMs,
    minBytes: cfg.fetchMinBytes,
    maxBytesPerPartition: cfg.fetchMaxBytesPerPartition,
    maxBytes: cfg.fetchMaxBytes,
    allowAutoTopicCreation: false,
  });

  const master = new PgMasterStore(pool);
  const processor = new BatchProcessor({
    topic: cfg.intakeTopic,
    keyer: new IdentityKeyer(cfg.identityHmacSecret),
    resolver: new IdentityResolver(master, new RedisIdentityCache(redis), (err) =>
      log.warn({ err }, 'identity cache unavailable; resolving in the identity store'),
    ),
    master,
    publicStore,
    deadLetters: new KafkaDeadLetters(dlqProducer, cfg.dlqTopic),
    intakeLog: new KafkaIntakeLog(kafkaAdmin),
    clock: systemClock,
    metrics,
    log,
    maxRecordBytes: cfg.maxRecordBytes,
  });

  let ready = false;
  const server = await serveMetrics(metrics, cfg.metricsPort, cfg.metricsHost, () => ready);
  const stamper = setInterval(() => {
    master.stampCommits().catch((err: unknown) => log.warn({ err }, 'stamping commit times failed'));
  }, 1_000);

  let stopping = false;
  // eslint-disable-next-line prefer-const -- assigned once the consumer runs; shutdown() can run before
  let stalls: StallTracker | undefined;
  /** Graceful stop; exits with `exitCode` (non-zero after a crash, so that a supervisor restarts it). */
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, cfg.shutdownTimeoutMs);
    timer.unref();
    try {
      await consumer.disconnect(); // stops fetching, lets the running batch finish, leaves the group
      stalls?.close();
      await processor.flushPublished();
      clearInterval(stamper);
      await master.stampCommits().catch(() => 0);
      await dlqProducer.disconnect();
      await kafkaAdmin.disconnect();
      await publicStore.close();
      await pool.end();
      await redis.quit();
      await new Promise<void>((r) => server.close(() => r()));
      log.info({ exitCode }, 'stopped');
      process.exit(exitCode);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  consumer.on(consumer.events.CRASH, (e) => {
    log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    if (!e.payload.restart) void shutdown('CRASH', 1);
  });

  stalls = await runConsumer(consumer, processor, metrics, log, {
    topic: cfg.intakeTopic,
    partitionConcurrency: cfg.partitionConcurrency,
    heartbeatIntervalMs: Math.floor(cfg.kafkaSessionTimeoutMs / 10),
  });
  ready = true;
  log.info({ topic: cfg.intakeTopic, group: cfg.consumerGroup, publicStore: publicStore.kind, metricsPort: cfg.metricsPort }, 'consuming');
}

main().catch((err: unknown) => {
  createLogger('consumer').fatal({ err }, 'consumer failed to start');
  process.exit(1);
});
