import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { decompressSnappy, registerCompressionCodecs } from './kafka-codecs.js';

const data = Buffer.from(JSON.stringify({ v: 1, payload: 'x'.repeat(10_000) + 'end' }));

/** Xerial framing as Kafka's Java client (snappy-java's SnappyOutputStream) writes it. */
function xerial(blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts: Buffer[] = [header];
  for (const b of blocks) {
    const c = compressSync(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(c.length);
    parts.push(len, c);
  }
  return Buffer.concat(parts);
}

describe('Kafka compression codecs', () => {
  it('reads xerial-framed snappy (Java client) in several blocks, and a bare snappy block', () => {
    expect(decompressSnappy(xerial([data.subarray(0, 4000), data.subarray(4000)]))).toEqual(data);
    expect(decompressSnappy(compressSync(data))).toEqual(data);
  });

  it('refuses a truncated xerial block instead of returning part of the batch', () => {
    const framed = xerial([data]);
    expect(() => decompressSnappy(framed.subarray(0, framed.length - 10))).toThrow(/truncated/);
  });

  it.each([
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const)('registers %s with kafkajs, round trip', async (_name, type) => {
    registerCompressionCodecs();
    const codec = (CompressionCodecs as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>)[
      type
    ]!();
    const compressed = await codec.compress({ buffer: data });
    expect(compressed.length).toBeLessThan(data.length / 4);
    expect(await codec.decompress(compressed)).toEqual(data);
  });
});
