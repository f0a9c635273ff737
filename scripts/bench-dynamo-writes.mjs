#!/usr/bin/env node
// What a conditional public write costs on dynalite, against the unconditional BatchWriteItem it
// replaced: items/s and CPU per item of dynalite and of the writing process, in one run.
//   make up && make build && node scripts/bench-dynamo-writes.mjs [items] [puts in flight]
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
const root = new URL('..', import.meta.url);
const require = createRequire(new URL('consumer/package.json', root));
const { DynamoDBClient, BatchWriteItemCommand } = require('@aws-sdk/client-dynamodb');
const { DynamoPublicStore } = await import(new URL('consumer/dist/adapters/dynamo-public-store.js', root));

const pid = readFileSync(new URL('.local/run/dynalite.pid', root), 'utf8').trim();
const ticks = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}; // µs (100 Hz)
const client = new DynamoDBClient({
  endpoint: process.env.DYNAMODB_ENDPOINT || 'http://127.0.0.1:18000',
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const N = Number(process.argv[2] ?? 10000);
async function measure(label, fn, items = Array.from({ length: N }, () => ({ patientId: randomUUID(), favoriteColor: 'teal', rev: 1 }))) {
  const d0 = ticks(),
    c0 = process.cpuUsage(),
    t0 = performance.now();
  await fn(items);
  const s = (performance.now() - t0) / 1000,
    c = process.cpuUsage(c0),
    d = ticks() - d0;
  console.log(
    `${label}: ${(N / s).toFixed(0)} items/s, dynalite ${(d / N).toFixed(0)} µs CPU/item, writer ${((c.user + c.system) / N).toFixed(0)} µs CPU/item`,
  );
  return items;
}
const table = `bench_${randomUUID().slice(0, 8)}`;
const concurrency = Number(process.argv[3] ?? 16);
const store = new DynamoPublicStore({ client, table, concurrency });
await store.ensureTable();
await measure('BatchWriteItem x25, unconditional (before)', async (items) => {
  const chunks = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < chunks.length) {
        const c = chunks[next++];
        await client.send(
          new BatchWriteItemCommand({
            RequestItems: {
              [table]: c.map((it) => ({
                PutRequest: { Item: { patient_id: { S: it.patientId }, favorite_color: { S: it.favoriteColor }, rev: { N: String(it.rev) } } },
              })),
            },
          }),
        );
      }
    }),
  );
});
const written = await measure(`PutItem conditional on rev, ${concurrency} in flight (now)`, (items) => store.put(items));
await measure('PutItem conditional, the same revisions replayed (condition false)', (items) => store.put(items), written);
client.destroy();
