import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
// CommonJS packages whose exports Node's ESM loader cannot all detect: imported whole.
import kafkajs from 'kafkajs';
import lz4 from 'lz4-napi';
import snappy from 'snappy';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * Every compression Kafka supports, for reading what upstream producers send (kafkajs has gzip
 * only; a record batch in another codec crashed the consumer). Native implementations: `snappy`
 * and `lz4-napi` (napi-rs, prebuilt for each platform) and Node's own zstd. The kafkajs codec
 * packages were not used: kafkajs-snappy is pure JavaScript, and kafkajs-lz4 and @kafkajs/zstd
 * compile native code at install time from sources this project's registries do not serve.
 *
 * - snappy: Kafka's Java client writes xerial's framing (a magic header, then length-prefixed
 *   blocks); other clients write a bare snappy block. Both are read.
 * - lz4: the LZ4 frame format (Kafka's KafkaLZ4BlockOutputStream, message format v2).
 * - zstd: a standard zstd frame.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic, version, compatible version

export function decompressSnappy(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) return snappy.uncompressSync(buffer) as Buffer;
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at + 4 <= buffer.length;) {
    const size = buffer.readUInt32BE(at);
    at += 4;
    if (at + size > buffer.length) throw new Error('truncated xerial snappy block');
    blocks.push(snappy.uncompressSync(buffer.subarray(at, at + size)) as Buffer);
    at += size;
  }
  return Buffer.concat(blocks);
}

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const codecs: Record<'snappy' | 'lz4' | 'zstd', Codec> = {
  snappy: { compress: async (e) => snappy.compressSync(e.buffer), decompress: async (b) => decompressSnappy(b) },
  lz4: { compress: async (e) => lz4.compressFrameSync(e.buffer), decompress: async (b) => lz4.decompressFrameSync(b) },
  zstd: { compress: async (e) => zstdCompressSync(e.buffer), decompress: async (b) => zstdDecompressSync(b) },
};

/** Registers the codecs with kafkajs (a process-wide table); idempotent. */
export function registerCompressionCodecs(): void {
  const table = CompressionCodecs as Record<number, () => Codec>;
  table[CompressionTypes.Snappy] = () => codecs.snappy;
  table[CompressionTypes.LZ4] = () => codecs.lz4;
  table[CompressionTypes.ZSTD] = () => codecs.zstd;
}
