import { Writable } from 'node:stream';
import { Partitioners, type Kafka, type ProducerConfig, type ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { formatProgress, formatSummary, produceRecords, type KafkaLike, type ProducibleRecord } from './producer.js';

/** A stand-in for kafkajs: records the config and every send, acknowledges after `delayMs`. */
function fakeKafka(opts: { delayMs?: number; failOnSend?: number } = {}) {
  const state = {
    config: undefined as ProducerConfig | undefined,
    sends: [] as ProducerRecord[],
    inFlight: 0,
    maxInFlight: 0,
    connected: false,
    disconnects: 0,
  };
  const kafka = {
    producer(config?: ProducerConfig) {
      state.config = config;
      return {
        connect: async () => {
          state.connected = true;
        },
        disconnect: async () => {
          state.connected = false;
          state.disconnects++;
        },
        send: async (record: ProducerRecord) => {
          if (!state.connected) throw new Error('not connected');
          state.sends.push(record);
          const n = state.sends.length;
          state.inFlight++;
          state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
          await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
          state.inFlight--;
          if (opts.failOnSend === n) throw new Error('broker said no');
          return [];
        },
      };
    },
  } as unknown as KafkaLike & Kafka;
  return { kafka, state };
}

function records(n: number): ProducibleRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(`value-${i}`) }));
}

class Sink extends Writable {
  text = '';
  isTTY: boolean;
  columns = 120;
  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('produceRecords', () => {
  it('sends every record once, in order, in batches, with acks -1 from an idempotent producer', async () => {
    const { kafka, state } = fakeKafka({ delayMs: 1 });
    const input = records(2345);
    const summaryOut = new Sink();
    const s = await produceRecords({ kafka, topic: 't1', records: input, batchSize: 500, progress: false, summary: summaryOut });
    expect(state.config).toMatchObject({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    expect(state.sends.map((r) => r.messages.length)).toEqual([500, 500, 500, 500, 345]);
    expect(state.sends.every((r) => r.topic === 't1' && r.acks === -1)).toBe(true);
    const sent = state.sends.flatMap((r) => r.messages);
    expect(sent.map((m) => m.value)).toEqual(input.map((r) => r.value));
    expect(sent.map((m) => m.key)).toEqual(input.map((r) => r.key));
    expect(s.records).toBe(2345);
    expect(s.bytes).toBe(input.reduce((a, r) => a + r.key.length + r.value.length, 0));
    expect(s.aborted).toBe(false);
    expect(s.lastAckAt).toBeGreaterThanOrEqual(s.firstSendAt);
    expect(s.seconds).toBeCloseTo((s.lastAckAt - s.firstSendAt) / 1000, 6);
    expect(state.disconnects).toBe(1);
    expect(summaryOut.text).toMatch(/^produced 2,345 records in \d+\.\d\d s: [\d,]+ records\/s, [\d.]+ MB\/s\n$/);
  });

  it('keeps at most inFlight sends awaiting acknowledgement, and uses them', async () => {
    const { kafka, state } = fakeKafka({ delayMs: 5 });
    await produceRecords({ kafka, topic: 't', records: records(4000), batchSize: 100, inFlight: 4, progress: false, summary: false });
    expect(state.sends).toHaveLength(40);
    expect(state.maxInFlight).toBe(4);
  });

  it('accepts an async record source', async () => {
    const { kafka, state } = fakeKafka();
    async function* source() {
      yield* records(25);
    }
    const s = await produceRecords({ kafka, topic: 't', records: source(), batchSize: 10, progress: false, summary: false });
    expect(state.sends.map((r) => r.messages.length)).toEqual([10, 10, 5]);
    expect(s.records).toBe(25);
  });

  it('paces sends to the rate in small slices', async () => {
    const { kafka, state } = fakeKafka();
    const started = Date.now();
    const s = await produceRecords({ kafka, topic: 't', records: records(800), rate: 2000, batchSize: 1000, progress: false, summary: false });
    const elapsed = Date.now() - started;
    // 50 ms slices at 2000/s: 100 records per send, 8 sends, the last one due after 350 ms.
    expect(state.sends.map((r) => r.messages.length)).toEqual(Array(8).fill(100));
    expect(elapsed).toBeGreaterThanOrEqual(340);
    expect(elapsed).toBeLessThan(1500);
    expect(s.recordsPerSecond).toBeLessThan(2600);
  });

  it('fails with the send error, stops taking records and disconnects', async () => {
    const { kafka, state } = fakeKafka({ delayMs: 2, failOnSend: 3 });
    let taken = 0;
    function* source() {
      for (const r of records(100_000)) {
        taken++;
        yield r;
      }
    }
    await expect(produceRecords({ kafka, topic: 't', records: source(), batchSize: 100, inFlight: 2, progress: false, summary: false })).rejects.toThrow(
      'broker said no',
    );
    expect(taken).toBeLessThan(2000);
    expect(state.disconnects).toBe(1);
  });

  it('stops on abort, awaits the sends in flight, and says so', async () => {
    const { kafka, state } = fakeKafka({ delayMs: 2 });
    const controller = new AbortController();
    let taken = 0;
    function* source() {
      for (const r of records(100_000)) {
        if (++taken === 1000) controller.abort();
        yield r;
      }
    }
    const out = new Sink();
    const s = await produceRecords({ kafka, topic: 't', records: source(), batchSize: 100, signal: controller.signal, progress: false, summary: out });
    expect(s.aborted).toBe(true);
    expect(s.records).toBe(1000);
    expect(state.sends.reduce((a, r) => a + r.messages.length, 0)).toBe(1000);
    expect(out.text).toMatch(/^aborted: produced 1,000 records/);
  });

  it('draws a progress bar on a terminal', async () => {
    const { kafka } = fakeKafka({ delayMs: 40 });
    const tty = new Sink(true);
    await produceRecords({ kafka, topic: 't', records: records(1000), total: 1000, batchSize: 100, inFlight: 1, progress: tty, summary: false });
    expect(tty.text).toContain('\r[');
    expect(tty.text).toMatch(/\] 100\.0% 1,000\/1,000 /);
    expect(tty.text.endsWith('\n')).toBe(true);
    const plain = new Sink(false);
    await produceRecords({ kafka, topic: 't', records: records(100), total: 100, batchSize: 100, progress: plain, summary: false });
    expect(plain.text).not.toContain('\r'); // plain lines only, every 5 s: none in so short a run
  });

  it('validates its options', async () => {
    const { kafka } = fakeKafka();
    await expect(produceRecords({ kafka, topic: 't', records: [], batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(produceRecords({ kafka, topic: 't', records: [], rate: -1 })).rejects.toThrow(/rate/);
    await expect(produceRecords({ topic: 't', records: [] })).rejects.toThrow(/brokers/);
    const empty = await produceRecords({ kafka, topic: 't', records: [], progress: false, summary: false });
    expect(empty).toMatchObject({ records: 0, bytes: 0, seconds: 0, recordsPerSecond: 0, aborted: false });
    expect(empty.firstSendAt).toBe(empty.lastAckAt);
  });
});

describe('formatting', () => {
  it('formats progress with and without a bar', () => {
    const p = { acked: 250_000, ackedBytes: 50e6, total: 1_000_000, elapsedMs: 2500 };
    expect(formatProgress(p, 10)).toBe('[###.......] 25.0% 250,000/1,000,000 100,000 records/s, 20.0 MB/s, eta 8 s');
    expect(formatProgress(p, 0)).toBe('250,000/1,000,000 records acknowledged (25.0%), 100,000 records/s, 20.0 MB/s, eta 8 s');
    expect(formatProgress({ ...p, total: undefined }, 10)).toBe('250,000 records acknowledged, 100,000 records/s, 20.0 MB/s');
  });

  it('formats the summary line', () => {
    const line = formatSummary({
      records: 1_000_000,
      bytes: 210e6,
      seconds: 10,
      recordsPerSecond: 100_000,
      mbPerSecond: 21,
      firstSendAt: 0,
      lastAckAt: 10_000,
      aborted: false,
    });
    expect(line).toBe('produced 1,000,000 records in 10.00 s: 100,000 records/s, 21.0 MB/s');
  });
});
