import { LOCAL_DEFAULTS } from '@clinical-ingest/intake-core';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorError } from '../controller/ports.js';
import { KafkaLagReader } from './lag-reader.js';

// Against the local platform's real Kafka (`make up`); nothing mocked.
const brokers = process.env['KAFKA_BROKERS'] ?? LOCAL_DEFAULTS.KAFKA_BROKERS;
const topic = `operator-lag-itest-${randomUUID()}`;
const group = `operator-lag-itest-${randomUUID()}`;
const kafka = new Kafka({ clientId: 'operator-itest', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
let admin: Admin;
let producer: Producer;
const reader = new KafkaLagReader({ clientId: 'operator-itest' });

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  producer = kafka.producer();
  await producer.connect();
  // 5, 3 and 0 records on partitions 0, 1, 2
  for (const [partition, n] of [
    [0, 5],
    [1, 3],
  ] as const) {
    await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition, value: `r${i}` })) });
  }
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.deleteGroups([group]).catch(() => undefined);
  await admin?.disconnect();
  await reader.close();
});

describe('KafkaLagReader on a real broker', () => {
  it('nothing committed: the whole retained log is lag', async () => {
    const offsets = await reader.read(brokers, topic, group);
    expect(offsets.map((o) => [o.partition, o.logEndOffset - o.committedOffset])).toEqual([
      [0, 5],
      [1, 3],
      [2, 0],
    ]);
  });

  it('log end minus the committed offset, per partition', async () => {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '3' },
      ],
    });
    const offsets = await reader.read(brokers, topic, group);
    expect(offsets).toEqual([
      { partition: 0, logEndOffset: 5, committedOffset: 2 },
      { partition: 1, logEndOffset: 3, committedOffset: 3 },
      { partition: 2, logEndOffset: 0, committedOffset: 0 },
    ]);
  });

  it('a missing topic is a retriable OperatorError', async () => {
    await expect(reader.read(brokers, `missing-${randomUUID()}`, group)).rejects.toBeInstanceOf(OperatorError);
  });
});
