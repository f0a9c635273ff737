#!/usr/bin/env node
import { parseArgs } from 'node:util';
import {
  checkKafkaSecurity,
  createKafkaClient,
  createLogger,
  env,
  kafkaSecurityShape,
  LOCAL_DEFAULTS,
  loadConfig,
  logShape,
} from '@clinical-ingest/intake-core';
import { Partitioners } from 'kafkajs';
import pg from 'pg';
import { chunkByBytes, DLQ_MAX_SEND_BYTES } from './adapters/kafka-dead-letters.js';
import { PgRejectsToReplay } from './adapters/pg-rejects.js';
import { formatReplayReport, replayRejects, type ReplayCandidate } from './replay.js';

const USAGE = `intake-replay: re-send rejected records to the intake topic (idempotent)

  intake-replay [--reason CODE]... [--partition N]... [--from ISO-8601] [--to ISO-8601]
                [--limit N] [--dry-run] [--json]

  --reason     a reason code, e.g. invalid_date or invalid_date:dateOfBirth (repeatable; default all)
  --partition  an intake partition (repeatable; default all)
  --from/--to  produced at or after / before these instants
  --limit      at most this many records (default 100000)
  --dry-run    count what would be sent, send nothing
Environment: DATABASE_URL, KAFKA_BROKERS, INTAKE_TOPIC, KAFKA_SASL_* / KAFKA_SSL* (as the consumer).`;

const configShape = {
  KAFKA_BROKERS: env.list(LOCAL_DEFAULTS.KAFKA_BROKERS),
  INTAKE_TOPIC: env.string(LOCAL_DEFAULTS.INTAKE_TOPIC),
  DATABASE_URL: env.string(LOCAL_DEFAULTS.DATABASE_URL),
  ...kafkaSecurityShape,
  ...logShape,
};

/** A wrong argument: said plainly on stderr (it holds only what the user typed). */
class UsageError extends Error {}

function instant(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${name}: not an ISO-8601 instant: ${v}`);
  return new Date(t);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reason: { type: 'string', multiple: true, default: [] },
      partition: { type: 'string', multiple: true, default: [] },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string', default: '100000' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const partitions = values.partition.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--partition: not a partition number: ${p}`);
    return n;
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: not a positive integer: ${values.limit}`);
  const from = instant('from', values.from);
  const to = instant('to', values.to);
  const cfg = checkKafkaSecurity(loadConfig(configShape, process.env));
  const log = createLogger('replay', { level: cfg.logLevel });

  const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 1, application_name: 'intake-replay' });
  const kafka = createKafkaClient({ clientId: 'intake-replay', brokers: cfg.kafkaBrokers, logger: log, security: cfg });
  // The default (murmur2) partitioner, as every producer of the platform: a key lands where it did.
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const client = await pool.connect();
  try {
    const at = new Date().toISOString();
    const send = async (topic: string, rows: readonly ReplayCandidate[]) => {
      for (const chunk of chunkByBytes(rows, DLQ_MAX_SEND_BYTES)) {
        await producer.send({
          topic,
          acks: -1,
          messages: chunk.map((r) => ({ key: r.key, value: r.value, headers: { 'x-replay-of': `${topic}/${r.partition}/${r.offset}`, 'x-replayed-at': at } })),
        });
      }
    };
    const report = await replayRejects(
      new PgRejectsToReplay(client),
      send,
      { topic: cfg.intakeTopic, reasons: values.reason, partitions, ...(from ? { from } : {}), ...(to ? { to } : {}) },
      {
        limit,
        dryRun: values['dry-run'],
        onPage: (sent) => log.info({ sent }, 'replaying'),
      },
    );
    // The report: counts, reason codes, partitions and instants only.
    process.stdout.write(`${values.json ? JSON.stringify(report) : formatReplayReport(report)}\n`);
  } finally {
    client.release();
    await pool.end();
    await producer.disconnect();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`intake-replay: ${err.message}\nRun 'intake-replay --help' for usage.\n`);
  // Anything else through the redacting logger: a driver's error may quote a value.
  else createLogger('replay').fatal({ err }, 'intake-replay failed');
  process.exit(1);
});
