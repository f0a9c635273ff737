#!/usr/bin/env node
// Creates, idempotently, what the local platform needs besides its servers: the Kafka intake topic
// and its dead-letter topic, and the DynamoDB table of the public store. Waits (retrying) until the
// broker serves metadata and the DynamoDB endpoint answers, so scripts/platform.sh also uses it as
// its readiness check. Plain Node ESM, no build step.
//
// Environment (defaults in brackets):
//   KAFKA_BROKERS [127.0.0.1:19092]   comma-separated
//   INTAKE_TOPIC [intake.records.v1]   DLQ_TOPIC [intake.records.v1.dlq]   PARTITIONS [6]
//   TOPIC_RETENTION_MS [3600000]
//   DYNAMODB_ENDPOINT [http://127.0.0.1:18000]   PUBLIC_TABLE [public_patients]
//   BOOTSTRAP_TIMEOUT_S [90]   how long to wait for Kafka and DynamoDB to answer
//   BOOTSTRAP_SKIP [] "kafka" or "dynamodb" to skip that part
import kafkajs from 'kafkajs';
import { DynamoDBClient, DescribeTableCommand, CreateTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

// The SDK warns on Node < 22 (support notice, not an error); the repository runs Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const env = process.env;
const brokers = (env.KAFKA_BROKERS || '127.0.0.1:19092')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const intakeTopic = env.INTAKE_TOPIC || 'intake.records.v1';
const dlqTopic = env.DLQ_TOPIC || 'intake.records.v1.dlq';
const partitions = Number.parseInt(env.PARTITIONS || '6', 10);
const retentionMs = String(env.TOPIC_RETENTION_MS || '3600000');
// The DLQ takes any record the intake topic took, plus its headers: twice the broker default.
const DLQ_MAX_MESSAGE_BYTES = '2097152';
const dynamoEndpoint = env.DYNAMODB_ENDPOINT || 'http://127.0.0.1:18000';
const publicTable = env.PUBLIC_TABLE || 'public_patients';
const timeoutMs = Number.parseInt(env.BOOTSTRAP_TIMEOUT_S || '90', 10) * 1000;
const skip = new Set(
  (env.BOOTSTRAP_SKIP || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

class BootstrapError extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => console.log(`bootstrap: ${line}`);

function errText(e) {
  if (!e) return 'unknown error';
  const parts = [e.name && e.name !== 'Error' ? e.name : null, e.message || String(e)];
  if (e.cause && e.cause.message) parts.push(`(cause: ${e.cause.message})`);
  return parts.filter(Boolean).join(': ');
}

// Retries fn until it resolves or the deadline passes; the last error is reported.
async function retry(what, deadline, fn) {
  let last;
  let attempt = 0;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof BootstrapError) throw e;
      last = e;
    }
    attempt += 1;
    if (Date.now() >= deadline) {
      throw new BootstrapError(`${what}: no answer within ${timeoutMs / 1000} s: ${errText(last)}`);
    }
    if (attempt === 5) say(`waiting for ${what} (${errText(last)})`);
    await sleep(Math.min(250 * attempt, 1000));
  }
}

async function bootstrapKafka(deadline) {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new BootstrapError(`PARTITIONS must be a positive integer, got ${JSON.stringify(env.PARTITIONS)}`);
  }
  const kafka = new Kafka({
    clientId: 'platform-bootstrap',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  try {
    // Ready = connected and the cluster answers a metadata request with a controller.
    const cluster = await retry(`Kafka at ${brokers.join(',')}`, deadline, async () => {
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        if (!c.brokers.length || c.controller == null || c.controller < 0) {
          throw new Error('cluster has no broker or controller yet');
        }
        return c;
      } catch (e) {
        await admin.disconnect().catch(() => {});
        throw e;
      }
    });
    say(`kafka ready: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), controller ${cluster.controller}`);

    // A topic just created may not be in the broker's metadata yet ("does not host this
    // topic-partition" on a busy box): each topic is ensured with retries, re-reading what exists.
    for (const topic of [intakeTopic, dlqTopic]) {
      await retry(`kafka topic ${topic}`, deadline, () => ensureTopic(admin, topic));
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function ensureTopic(admin, topic) {
  const existing = new Set(await admin.listTopics());
  if (!existing.has(topic)) {
    const created = await admin.createTopics({
      waitForLeaders: true,
      timeout: 30000,
      topics: [{ topic, numPartitions: partitions, configEntries: topicConfig(topic, retentionMs) }],
    });
    say(`kafka topic ${topic}: ${created ? 'created' : 'found (created concurrently)'}, ${partitions} partitions, retention.ms=${retentionMs}`);
    return;
  }
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const count = meta.topics[0].partitions.length;
  if (count < partitions) {
    await admin.createPartitions({ timeout: 30000, topicPartitions: [{ topic, count: partitions }] });
    say(`kafka topic ${topic}: found with ${count} partitions, increased to ${partitions}`);
  } else {
    const extra = count > partitions ? ` (more than PARTITIONS=${partitions}; partitions are never removed)` : '';
    say(`kafka topic ${topic}: found, ${count} partitions${extra}`);
  }
  const cfg = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'max.message.bytes'] }],
  });
  const value = (name) => cfg.resources[0]?.configEntries.find((c) => c.configName === name)?.configValue;
  const retention = value('retention.ms');
  if (retention !== retentionMs) {
    say(`kafka topic ${topic}: note: retention.ms is ${retention}, not ${retentionMs} (left unchanged)`);
  }
  if (topic === dlqTopic && value('max.message.bytes') !== DLQ_MAX_MESSAGE_BYTES) {
    // AlterConfigs replaces the topic's dynamic configuration: restate the retention found.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: topicConfig(topic, retention ?? retentionMs) }],
    });
    say(`kafka topic ${topic}: max.message.bytes set to ${DLQ_MAX_MESSAGE_BYTES}`);
  }
}

function topicConfig(topic, retention) {
  const entries = [{ name: 'retention.ms', value: retention }];
  if (topic === dlqTopic) entries.push({ name: 'max.message.bytes', value: DLQ_MAX_MESSAGE_BYTES });
  return entries;
}

async function bootstrapDynamo(deadline) {
  const client = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await retry(`DynamoDB at ${dynamoEndpoint}`, deadline, () => client.send(new ListTablesCommand({ Limit: 1 })));

    let table;
    try {
      table = (await client.send(new DescribeTableCommand({ TableName: publicTable }))).Table;
    } catch (e) {
      if (e.name !== 'ResourceNotFoundException') throw e;
    }
    if (table) {
      const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH');
      const hashType = table.AttributeDefinitions?.find((a) => a.AttributeName === hash?.AttributeName)?.AttributeType;
      if (hash?.AttributeName !== 'patient_id' || hashType !== 'S' || table.KeySchema.length !== 1) {
        throw new BootstrapError(
          `DynamoDB table ${publicTable} exists with key ${JSON.stringify(table.KeySchema)}, expected patient_id (S) only; ` +
            'delete it (scripts/platform.sh reset) to recreate it',
        );
      }
      say(`dynamodb table ${publicTable}: found (${table.TableStatus})`);
    } else {
      try {
        await client.send(
          new CreateTableCommand({
            TableName: publicTable,
            AttributeDefinitions: [{ AttributeName: 'patient_id', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'patient_id', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        say(`dynamodb table ${publicTable}: created (patient_id S, PAY_PER_REQUEST)`);
      } catch (e) {
        if (e.name !== 'ResourceInUseException') throw e;
        say(`dynamodb table ${publicTable}: found (created concurrently)`);
      }
    }

    if (table?.TableStatus === 'ACTIVE') return;
    // Wait until ACTIVE.
    for (;;) {
      const status = (await client.send(new DescribeTableCommand({ TableName: publicTable }))).Table?.TableStatus;
      if (status === 'ACTIVE') break;
      if (Date.now() >= deadline) throw new BootstrapError(`DynamoDB table ${publicTable} still ${status} after ${timeoutMs / 1000} s`);
      await sleep(200);
    }
    say(`dynamodb table ${publicTable}: ACTIVE`);
  } finally {
    client.destroy();
  }
}

async function main() {
  const deadline = Date.now() + timeoutMs;
  // Both parts run concurrently: each waits for its own server.
  const parts = [];
  if (!skip.has('kafka')) parts.push(bootstrapKafka(deadline).catch((e) => Promise.reject(tag('kafka', e))));
  if (!skip.has('dynamodb')) parts.push(bootstrapDynamo(deadline).catch((e) => Promise.reject(tag('dynamodb', e))));
  const results = await Promise.allSettled(parts);
  const failed = results.filter((r) => r.status === 'rejected');
  for (const f of failed) console.error(`bootstrap: FAILED: ${f.reason.message}`);
  process.exitCode = failed.length ? 1 : 0;
}

function tag(part, e) {
  return new Error(e instanceof BootstrapError ? e.message : `${part}: ${errText(e)}`);
}

main().catch((e) => {
  console.error(`bootstrap: FAILED: ${errText(e)}`);
  process.exitCode = 1;
});
