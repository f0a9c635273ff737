/**
 * Generation speed alone (no Kafka): `node testkit/dist/bench/generator.js [count] [payloadBytes] [returningRatio] [invalidRatio]`.
 * Prints records/s, MB/s of encoded values, the expectation's size and the heap in use.
 */
import { RecordGenerator } from '@clinical-ingest/loadgen';

function arg(i: number, def: number): number {
  const v = process.argv[i];
  return v === undefined ? def : Number(v);
}

const count = arg(2, 1_000_000);
const payloadBytes = arg(3, 0);
const returningRatio = arg(4, 0.2);
const invalidRatio = arg(5, 0.01);

const gen = new RecordGenerator({ count, seed: 7, payloadBytes, returningRatio, invalidRatio });
let bytes = 0;
const t0 = process.hrtime.bigint();
for (const r of gen) bytes += r.value.length;
const t1 = process.hrtime.bigint();
const exp = gen.expectation();
const t2 = process.hrtime.bigint();
const s = Number(t1 - t0) / 1e9;
const mem = process.memoryUsage();
process.stdout.write(
  `generated ${count} records (payload ${payloadBytes} B, returning ${returningRatio}, invalid ${invalidRatio}) in ${s.toFixed(2)} s: ` +
    `${Math.round(count / s)} records/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s; ` +
    `expectation: ${exp.distinctIdentities} identities, ${exp.invalidRecords} invalid, built in ${(Number(t2 - t1) / 1e9).toFixed(2)} s; ` +
    `heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB, rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB\n`,
);
