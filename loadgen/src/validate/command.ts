import { mkdirSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildPublicStoreReader, PgValidationReads } from '@clinical-ingest/consumer';
import {
  checkKafkaSecurity,
  createLogger,
  env,
  kafkaSecurityShape,
  LOCAL_DEFAULTS,
  loadConfig,
  localDatabaseUrl,
  logShape,
} from '@clinical-ingest/intake-core';
import pg from 'pg';
import { z } from 'zod';
import { createKafka, produceRecords, type ProducibleRecord } from '../producer.js';
import { pacedLeg, PACED_LEG_SECONDS, PACED_SHARE, probeCarriedRate } from './probe.js';
import { formatReport, runValidation } from './run.js';

export const VALIDATE_USAGE = `Usage: intake-loadgen validate [--count N] [--seed S] [--payload-bytes B] [--wait-seconds W] [--rate R|unlimited|carried] [--report FILE]

Produces N fresh records (default 1000000), waits until the public store holds every patient,
checks the master against what was sent (--rate paces the producer, records/s; default unlimited) and the public store against the master, and prints
PASS or FAIL against the seed's criteria (exit code 0 or 1). Run it alone: records another
producer sends meanwhile (make bench) change the stores under the comparison, which then reports
differences and unknown patients that are not the pipeline's. A second validation against the
same master store is refused (exit code 2).

--rate carried first measures what the running pipeline carries on this machine (20,000 records
as fast as they go), then paces the run at 70 % of it, with at most 50 s of records: for a public
store that shares the machine's cores (dynalite), whose rate no fixed number fits on every box.

Environment: KAFKA_BROKERS, INTAKE_TOPIC, VALIDATE_DATABASE_URL (read-only role, default
validation_reader on the local platform: identity keys and IDs, no names), PUBLIC_STORE (dynamodb|postgres), DYNAMODB_ENDPOINT,
PUBLIC_TABLE, IDENTITY_HMAC_SECRET (the consumers' secret), CONSUMER_METRICS_URLS (comma list
of the consumers' /metrics, for freshness).
`;

const shape = {
  KAFKA_BROKERS: env.list(LOCAL_DEFAULTS.KAFKA_BROKERS),
  INTAKE_TOPIC: env.string(LOCAL_DEFAULTS.INTAKE_TOPIC),
  VALIDATE_DATABASE_URL: env.string(localDatabaseUrl('validation_reader')),
  PUBLIC_STORE: env.enum(['dynamodb', 'postgres'], 'dynamodb'),
  DYNAMODB_ENDPOINT: env.string(LOCAL_DEFAULTS.DYNAMODB_ENDPOINT),
  DYNAMODB_REGION: env.string('us-east-1'),
  PUBLIC_TABLE: env.string(LOCAL_DEFAULTS.PUBLIC_TABLE),
  IDENTITY_HMAC_SECRET: z.string().min(32, 'IDENTITY_HMAC_SECRET must be the consumers’ secret (≥ 32 characters)'),
  CONSUMER_METRICS_URLS: env.list('http://127.0.0.1:9464/metrics'),
  ...kafkaSecurityShape,
  ...logShape,
};

export async function validateCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      count: { type: 'string', default: '1000000' },
      seed: { type: 'string' },
      'payload-bytes': { type: 'string', default: '0' },
      'wait-seconds': { type: 'string', default: '120' },
      rate: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(VALIDATE_USAGE);
    return 0;
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const count = int('count', values.count, 1);
  const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : int('seed', values.seed, 0);
  const payloadBytes = int('payload-bytes', values['payload-bytes'], 0);
  const waitSeconds = int('wait-seconds', values['wait-seconds'], 1);
  const carried = values.rate === 'carried';
  let rate = values.rate === undefined || values.rate === 'unlimited' || carried ? undefined : int('rate', values.rate, 1);
  let runCount = count;
  const cfg = checkKafkaSecurity(loadConfig(shape, process.env));

  // Logs to stderr: stdout carries only the report.
  const log = createLogger('intake-validate', { level: cfg.logLevel }, process.stderr);
  const master = new pg.Pool({ connectionString: cfg.validateDatabaseUrl, max: 4, application_name: 'intake-validate' });
  // The consumer's package holds the stores' adapters and every master-store query: the
  // validation reads through them (validation_reader: identity keys, IDs and colors only).
  const store = buildPublicStoreReader({
    kind: cfg.publicStore,
    databaseUrl: cfg.validateDatabaseUrl,
    dynamodb: { endpoint: cfg.dynamodbEndpoint, region: cfg.dynamodbRegion, table: cfg.publicTable },
  });
  const kafka = createKafka(cfg.kafkaBrokers, log, 'intake-validate', cfg);
  const produce = (records: readonly ProducibleRecord[], total: number, pace: number | undefined, progress = true) =>
    produceRecords({
      records,
      total,
      topic: cfg.intakeTopic,
      kafka,
      logger: log,
      summary: false,
      ...(progress ? {} : { progress: false }),
      ...(pace === undefined ? {} : { rate: pace }),
    });
  let lock: pg.PoolClient | undefined;
  try {
    // One validation at a time against a master store: another one's records would change the
    // stores under this one's comparison. The lock is the session's: it goes with the connection.
    lock = await master.connect();
    const free = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('intake-validate')) AS ok");
    if (free.rows[0]?.ok !== true) {
      process.stderr.write('intake-validate: another validation is running against this master store; run one at a time\n');
      return 2;
    }
    if (carried) {
      const probe = await probeCarriedRate({
        metricsUrls: cfg.consumerMetricsUrls,
        produce: (records) => produce(records, records.length, undefined, false),
        runDir: process.env['PLATFORM_RUN_DIR'] ?? '.local/run',
      });
      const leg = pacedLeg(probe, count);
      rate = leg.rate;
      runCount = leg.count;
      const store =
        probe.publicStoreMicrosPerItem === undefined ? '' : `; the public store's server used ${probe.publicStoreMicrosPerItem.toFixed(0)} µs of CPU an item`;
      process.stderr.write(
        `intake-validate: this machine carried ${Math.round(probe.carriedPerSecond)} records/s through the pipeline on ${cfg.publicStore} (${probe.records} records as fast as they went${store}); ` +
          `pacing at ${Math.round(PACED_SHARE * 100)} % of it: ${rate} records/s, ${runCount} records${runCount < count ? ` (${PACED_LEG_SECONDS} s worth, of ${count} asked)` : ''}\n`,
      );
    }
    process.stderr.write(
      `intake-validate: ${runCount} records, seed ${seed}, public store ${cfg.publicStore}, topic ${cfg.intakeTopic}${rate === undefined ? '' : `, ${rate} records/s`}\n`,
    );
    const report = await runValidation(
      {
        master: new PgValidationReads(master),
        publicStore: store,
        hmacSecret: cfg.identityHmacSecret,
        metricsUrls: cfg.consumerMetricsUrls,
        produce: (records) => produce(records, runCount, rate),
        progress: (line) => process.stderr.write(`intake-validate: ${line}\n`),
      },
      { count: runCount, seed, payloadBytes, waitSeconds },
    );
    process.stdout.write(formatReport(report));
    const file = values.report ?? `reports/validate-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    mkdirSync(file.replace(/\/[^/]*$/, '') || '.', { recursive: true });
    writeFileSync(file, JSON.stringify(report, null, 2));
    process.stdout.write(`  report: ${file}\n`);
    return report.pass ? 0 : 1;
  } finally {
    lock?.release(true);
    await store.close();
    await master.end().catch(() => {});
  }
}
