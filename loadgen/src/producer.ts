import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { createKafkaClient, createLogger, type KafkaSecurityConfig, type Logger } from '@clinical-ingest/intake-core';
import { Partitioners, type CompressionTypes, type Kafka, type Message, type ProducerConfig, type Producer } from 'kafkajs';
import type { GeneratedRecord } from './generator.js';

/**
 * Sends records to Kafka as fast as the cluster acknowledges them (or at a given rate): an
 * idempotent producer, `acks: -1`, batches of `batchSize` records with up to `inFlight` sends
 * awaiting acknowledgement. kafkajs serializes the produce requests of an idempotent producer per
 * broker, so several sends in flight overlap batching and acknowledgement rather than requests.
 */

export type ProducibleRecord = Pick<GeneratedRecord, 'key' | 'value'>;

/** What `produceRecords` needs of a kafkajs `Kafka` instance. */
export type KafkaLike = Pick<Kafka, 'producer'>;

/** A stream the progress goes to; `isTTY` selects the progress bar. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProduceOptions {
  readonly records: Iterable<ProducibleRecord> | AsyncIterable<ProducibleRecord>;
  readonly topic: string;
  /** A Kafka instance to use; otherwise one is created for `brokers`. */
  readonly kafka?: KafkaLike;
  readonly brokers?: readonly string[];
  readonly clientId?: string;
  /** Records per send (default 1000). With a `rate`, sends hold at most ~50 ms worth of records. */
  readonly batchSize?: number;
  /** Sends awaiting acknowledgement at once (default 8). */
  readonly inFlight?: number;
  /** Records per second; unlimited when absent. */
  readonly rate?: number;
  /** Number of records expected, for the progress bar's percentage. */
  readonly total?: number;
  readonly compression?: CompressionTypes;
  /** Where progress goes (default process.stderr); `false`: none. */
  readonly progress?: ProgressStream | false;
  /** Where the final summary line goes (default process.stdout); `false`: none. */
  readonly summary?: NodeJS.WritableStream | false;
  /** Stops taking records; the sends in flight are awaited, and the summary says `aborted`. */
  readonly signal?: AbortSignal;
  /** For the Kafka client's own log lines (default: an intake-core logger). */
  readonly logger?: Logger;
}

export interface ProduceSummary {
  /** Records acknowledged by Kafka. */
  readonly records: number;
  /** Key and value bytes of the acknowledged records. */
  readonly bytes: number;
  /** From the first send to the last acknowledgement. */
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** Megabytes (10^6 bytes) per second. */
  readonly mbPerSecond: number;
  /** Epoch milliseconds of the first send (when nothing was sent: of the end, as lastAckAt). */
  readonly firstSendAt: number;
  /** Epoch milliseconds of the last acknowledgement (when nothing was acknowledged: of the end). */
  readonly lastAckAt: number;
  /** True when stopped by the signal before all records were sent. */
  readonly aborted: boolean;
}

export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_IN_FLIGHT = 8;
/**
 * A send holds at most about this many bytes: the broker refuses a record batch over its
 * message.max.bytes (1 MiB by default), and one send becomes one batch per partition.
 */
export const MAX_SEND_BYTES = 512 * 1024;
/**
 * With a rate, a send holds at most this much time's worth of records: long enough that kafkajs's
 * per-send cost is spread (28 µs of CPU a record at 3,000 a send, 41 at 250), short against the
 * 2 s freshness target.
 */
const RATE_SLICE_MS = 50;

/** The producer settings: idempotent (acks -1 enforced per send), the Java-compatible partitioner. */
export const PRODUCER_CONFIG: ProducerConfig = Object.freeze({
  idempotent: true,
  createPartitioner: Partitioners.DefaultPartitioner,
  // A missing topic is an error, not a topic created with broker defaults.
  allowAutoTopicCreation: false,
});

/** A Kafka client for the producer (TLS and SASL as the caller parsed them: intake-core's kafka.ts). */
export function createKafka(brokers: readonly string[], logger: Logger, clientId = 'intake-loadgen', security?: KafkaSecurityConfig): Kafka {
  return createKafkaClient({ clientId, brokers, logger, ...(security === undefined ? {} : { security }) });
}

export async function produceRecords(options: ProduceOptions): Promise<ProduceSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const inFlight = options.inFlight ?? DEFAULT_IN_FLIGHT;
  const rate = options.rate;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be an integer >= 1');
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError('inFlight must be an integer >= 1');
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate))) throw new RangeError('rate must be a number > 0');
  if (options.topic.length === 0) throw new RangeError('topic must not be empty');

  let kafka = options.kafka;
  if (kafka === undefined) {
    if (options.brokers === undefined || options.brokers.length === 0) throw new RangeError('either kafka or brokers must be given');
    kafka = createKafka(options.brokers, options.logger ?? createLogger('intake-loadgen'), options.clientId);
  }
  const sendSize = rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.floor((rate * RATE_SLICE_MS) / 1000)));

  const stats = { sent: 0, acked: 0, ackedBytes: 0, firstSendAt: undefined as number | undefined, lastAckAt: undefined as number | undefined };
  const progressStream = options.progress === undefined ? process.stderr : options.progress;
  const progress = progressStream === false ? undefined : new Progress(progressStream, options.total, stats);

  const producer: Producer = kafka.producer(PRODUCER_CONFIG);
  const pending = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let aborted = false;

  const dispatch = async (messages: Message[], bytes: number): Promise<void> => {
    if (rate !== undefined && stats.firstSendAt !== undefined) {
      const due = stats.firstSendAt + (stats.sent / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    stats.firstSendAt ??= Date.now();
    stats.sent += messages.length;
    const p: Promise<void> = producer
      .send({ topic: options.topic, acks: -1, messages, ...(options.compression === undefined ? {} : { compression: options.compression }) })
      .then(
        () => {
          stats.acked += messages.length;
          stats.ackedBytes += bytes;
          stats.lastAckAt = Date.now();
          pending.delete(p);
        },
        (error: unknown) => {
          failure ??= { error };
          pending.delete(p);
        },
      );
    pending.add(p);
    if (pending.size >= inFlight) {
      while (pending.size >= inFlight) await Promise.race(pending);
    } else {
      await yieldToLoop(); // let the sends and the progress timer run between batches
    }
  };

  try {
    await producer.connect();
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    throw err;
  }
  progress?.start();
  try {
    let batch: Message[] = [];
    let bytes = 0;
    /** Sends the batch; false when taking records must stop (a send failed, or aborted). */
    const flush = async (): Promise<boolean> => {
      const full = batch;
      const fullBytes = bytes;
      batch = [];
      bytes = 0;
      await dispatch(full, fullBytes);
      if (options.signal?.aborted === true) aborted = true;
      return failure === undefined && !aborted;
    };
    if (options.signal?.aborted === true) aborted = true;
    const records = options.records;
    if (!aborted && Symbol.asyncIterator in records) {
      for await (const r of records) {
        batch.push({ key: r.key, value: r.value });
        bytes += Buffer.byteLength(r.key) + r.value.length;
        if ((batch.length >= sendSize || bytes >= MAX_SEND_BYTES) && !(await flush())) break;
      }
    } else if (!aborted) {
      for (const r of records as Iterable<ProducibleRecord>) {
        batch.push({ key: r.key, value: r.value });
        bytes += Buffer.byteLength(r.key) + r.value.length;
        if ((batch.length >= sendSize || bytes >= MAX_SEND_BYTES) && !(await flush())) break;
      }
    }
    if (failure === undefined && !aborted && batch.length > 0) await flush();
    while (pending.size > 0) await Promise.race(pending);
  } finally {
    // Also on an exception from the record source: let the sends in flight finish first.
    await Promise.allSettled([...pending]);
    progress?.stop();
    await producer.disconnect();
  }
  if (failure !== undefined) throw failure.error;

  const summary = summarize(stats, aborted);
  const summaryStream = options.summary === undefined ? process.stdout : options.summary;
  if (summaryStream !== false) summaryStream.write(`${formatSummary(summary)}\n`);
  return summary;
}

function summarize(
  stats: { acked: number; ackedBytes: number; firstSendAt: number | undefined; lastAckAt: number | undefined },
  aborted: boolean,
): ProduceSummary {
  const end = Date.now();
  const lastAckAt = stats.lastAckAt ?? end;
  const firstSendAt = Math.min(stats.firstSendAt ?? end, lastAckAt);
  const seconds = (lastAckAt - firstSendAt) / 1000;
  return {
    records: stats.acked,
    bytes: stats.ackedBytes,
    seconds,
    recordsPerSecond: seconds > 0 ? stats.acked / seconds : 0,
    mbPerSecond: seconds > 0 ? stats.ackedBytes / 1e6 / seconds : 0,
    firstSendAt,
    lastAckAt,
    aborted,
  };
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function formatSummary(s: ProduceSummary): string {
  return `${s.aborted ? 'aborted: ' : ''}produced ${INT.format(s.records)} records in ${s.seconds.toFixed(2)} s: ${INT.format(s.recordsPerSecond)} records/s, ${ONE.format(s.mbPerSecond)} MB/s`;
}

export interface ProgressState {
  readonly acked: number;
  readonly ackedBytes: number;
  readonly total: number | undefined;
  readonly elapsedMs: number;
}

/** One progress line: a bar when `barWidth` > 0 and the total is known. */
export function formatProgress(p: ProgressState, barWidth: number): string {
  const seconds = p.elapsedMs / 1000;
  const rps = seconds > 0 ? p.acked / seconds : 0;
  const mbps = seconds > 0 ? p.ackedBytes / 1e6 / seconds : 0;
  const rates = `${INT.format(rps)} records/s, ${ONE.format(mbps)} MB/s`;
  if (p.total === undefined || p.total <= 0) return `${INT.format(p.acked)} records acknowledged, ${rates}`;
  const fraction = Math.min(1, p.acked / p.total);
  const percent = `${ONE.format(fraction * 100)}%`;
  const eta = rps > 0 && fraction < 1 ? `, eta ${Math.ceil((p.total - p.acked) / rps)} s` : '';
  const counts = `${INT.format(p.acked)}/${INT.format(p.total)}`;
  if (barWidth <= 0) return `${counts} records acknowledged (${percent}), ${rates}${eta}`;
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${percent} ${counts} ${rates}${eta}`;
}

/** A one-line progress bar on a terminal (4 updates a second), else a line every 5 s. */
class Progress {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #total: number | undefined;
  readonly #stats: { acked: number; ackedBytes: number; firstSendAt: number | undefined };
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: ProgressStream, total: number | undefined, stats: { acked: number; ackedBytes: number; firstSendAt: number | undefined }) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#total = total;
    this.#stats = stats;
  }

  start(): void {
    this.#timer = setInterval(() => this.#render(), this.#tty ? 250 : 5000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty) {
      this.#render();
      this.#stream.write('\n');
    }
  }

  #render(): void {
    const s = this.#stats;
    const state = { acked: s.acked, ackedBytes: s.ackedBytes, total: this.#total, elapsedMs: s.firstSendAt === undefined ? 0 : Date.now() - s.firstSendAt };
    if (this.#tty) {
      const columns = this.#stream.columns ?? 100;
      const width = Math.max(10, Math.min(40, columns - 80));
      this.#stream.write(`\r${formatProgress(state, width)}\u001b[K`);
    } else {
      this.#stream.write(`intake-loadgen: ${formatProgress(state, 0)}\n`);
    }
  }
}
