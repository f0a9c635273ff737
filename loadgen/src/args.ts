import { parseArgs } from 'node:util';
import { env, LOCAL_DEFAULTS, loadConfig } from '@clinical-ingest/intake-core';
import { MAX_PAYLOAD_BYTES } from './generator.js';

/**
 * Command-line parsing of `intake-loadgen`, pure: argv and the environment in, options out. Every
 * error is a `UsageError` whose message names the flag (or environment variable); the CLI prints it
 * and exits with code 2.
 */
export class UsageError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const COMMANDS = ['produce', 'validate'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type Environment = Readonly<Record<string, string | undefined>>;

export const USAGE = `Usage: intake-loadgen <command> [options]

Commands:
  produce    generate intake records and send them to Kafka
  validate   the seed's acceptance test: produce N records, check both stores, PASS/FAIL

Run 'intake-loadgen <command> --help' for the options of a command.
`;

export const PRODUCE_USAGE = `Usage: intake-loadgen produce --count N [options]

Generates N intake records (deterministic for a seed) and sends them to Kafka.

Options:
  --count N              number of records to send (required, >= 1)
  --rate R               records per second (default: as fast as possible)
  --payload-bytes B      payload size per record, 0..${MAX_PAYLOAD_BYTES} bytes (default 0: no payload)
  --returning-ratio X    share of records for a patient already sent, 0..1 (default 0)
  --invalid-ratio Y      share of malformed records, 0..1 (default 0); X + Y <= 1
  --seed S               random seed, an integer (default: random, printed at start)
  --brokers H:P,...      Kafka bootstrap brokers (default: $KAFKA_BROKERS or ${LOCAL_DEFAULTS.KAFKA_BROKERS})
  --topic T              topic (default: $INTAKE_TOPIC or ${LOCAL_DEFAULTS.INTAKE_TOPIC})
  --batch-size N         records per send, 1..100000 (default 1000)
  --in-flight N          sends awaiting acknowledgement at once, 1..64 (default 8)
  -h, --help             show this help
`;

/** The first argument names the command; `--help` alone (or nothing) asks for the usage. */
export type ParsedCommand = { readonly command: 'help' } | { readonly command: CommandName; readonly args: readonly string[] };

export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command (produce or validate)');
  if (first === '--help' || first === '-h' || first === 'help') return { command: 'help' };
  if ((COMMANDS as readonly string[]).includes(first)) return { command: first as CommandName, args: rest };
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first} (produce or validate)`);
  throw new UsageError(`unknown command '${first}' (produce or validate)`);
}

export interface ProduceArgs {
  readonly count: number;
  /** Records per second; undefined: unlimited. */
  readonly rate: number | undefined;
  readonly payloadBytes: number;
  readonly returningRatio: number;
  readonly invalidRatio: number;
  /** Undefined: the CLI picks a random seed and prints it. */
  readonly seed: number | undefined;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly batchSize: number;
  readonly inFlight: number;
}

export type ProduceCommand = { readonly help: true } | { readonly help: false; readonly options: ProduceArgs };

const PRODUCE_OPTIONS = {
  count: { type: 'string' },
  rate: { type: 'string' },
  'payload-bytes': { type: 'string' },
  'returning-ratio': { type: 'string' },
  'invalid-ratio': { type: 'string' },
  seed: { type: 'string' },
  brokers: { type: 'string' },
  topic: { type: 'string' },
  'batch-size': { type: 'string' },
  'in-flight': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseProduceArgs(args: readonly string[], environment: Environment): ProduceCommand {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof PRODUCE_OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...args], options: PRODUCE_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new UsageError(`produce: ${message}`);
  }
  if (values.help === true) return { help: true };

  if (values.count === undefined) throw new UsageError('produce: --count is required');
  const count = integer('--count', values.count, 1, Number.MAX_SAFE_INTEGER);
  const rate = values.rate === undefined ? undefined : positiveNumber('--rate', values.rate);
  const payloadBytes = values['payload-bytes'] === undefined ? 0 : integer('--payload-bytes', values['payload-bytes'], 0, MAX_PAYLOAD_BYTES);
  const returningRatio = values['returning-ratio'] === undefined ? 0 : ratio('--returning-ratio', values['returning-ratio']);
  const invalidRatio = values['invalid-ratio'] === undefined ? 0 : ratio('--invalid-ratio', values['invalid-ratio']);
  if (returningRatio + invalidRatio > 1) throw new UsageError('produce: --returning-ratio plus --invalid-ratio must not exceed 1');
  const seed = values.seed === undefined ? undefined : seedOf(values.seed);
  const batchSize = values['batch-size'] === undefined ? 1000 : integer('--batch-size', values['batch-size'], 1, 100_000);
  const inFlight = values['in-flight'] === undefined ? 8 : integer('--in-flight', values['in-flight'], 1, 64);

  const brokers =
    values.brokers !== undefined ? brokerList('--brokers', values.brokers) : brokerList('KAFKA_BROKERS', fromEnv('KAFKA_BROKERS', environment).join(','));
  const topic = values.topic !== undefined ? topicName('--topic', values.topic) : topicName('INTAKE_TOPIC', fromEnv('INTAKE_TOPIC', environment));

  return { help: false, options: { count, rate, payloadBytes, returningRatio, invalidRatio, seed, brokers, topic, batchSize, inFlight } };
}

// ---------------------------------------------------------------------------------------------

function fromEnv(name: 'KAFKA_BROKERS', environment: Environment): string[];
function fromEnv(name: 'INTAKE_TOPIC', environment: Environment): string;
function fromEnv(name: 'KAFKA_BROKERS' | 'INTAKE_TOPIC', environment: Environment): string | string[] {
  try {
    if (name === 'KAFKA_BROKERS') return loadConfig({ KAFKA_BROKERS: env.list(LOCAL_DEFAULTS.KAFKA_BROKERS) }, environment).kafkaBrokers;
    return loadConfig({ INTAKE_TOPIC: env.string(LOCAL_DEFAULTS.INTAKE_TOPIC) }, environment).intakeTopic;
  } catch (err) {
    throw new UsageError(`produce: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Digits, optionally grouped with underscores (1_000_000). */
const INTEGER = /^\d+(_\d+)*$/;
/** A plain decimal number: 12, 0.5, .5 */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

function integer(flag: string, text: string, min: number, max: number): number {
  const n = INTEGER.test(text) ? Number(text.replaceAll('_', '')) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`produce: ${flag} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${text}'`);
  }
  return n;
}

function positiveNumber(flag: string, text: string): number {
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`produce: ${flag} must be a number > 0, got '${text}'`);
  return n;
}

function ratio(flag: string, text: string): number {
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new UsageError(`produce: ${flag} must be a number in 0..1, got '${text}'`);
  return n;
}

function seedOf(text: string): number {
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`produce: --seed must be an integer, got '${text}'`);
  return n;
}

/** host:port, host a name, an IPv4 address or a bracketed IPv6 address. */
const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

function brokerList(source: string, text: string): string[] {
  const brokers = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (brokers.length === 0) throw new UsageError(`produce: ${source} must list at least one host:port`);
  for (const b of brokers) {
    const m = BROKER.exec(b);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65_535) throw new UsageError(`produce: ${source} must be a comma-separated list of host:port, got '${b}'`);
  }
  return brokers;
}

/** Kafka's rule for topic names. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function topicName(source: string, text: string): string {
  if (!TOPIC.test(text) || text === '.' || text === '..') {
    throw new UsageError(`produce: ${source} must be a Kafka topic name (letters, digits, '.', '_', '-'; at most 249), got '${text}'`);
  }
  return text;
}
