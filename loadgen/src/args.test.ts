import { describe, expect, it } from 'vitest';
import { parseCommand, parseProduceArgs, UsageError, type ProduceArgs } from './args.js';

function produce(args: string[], environment: Record<string, string | undefined> = {}): ProduceArgs {
  const r = parseProduceArgs(args, environment);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('no UsageError thrown');
}

describe('parseCommand', () => {
  it('splits the command from its arguments', () => {
    expect(parseCommand(['produce', '--count', '5'])).toEqual({ command: 'produce', args: ['--count', '5'] });
    expect(parseCommand(['validate', '--x'])).toEqual({ command: 'validate', args: ['--x'] });
    expect(parseCommand(['--help'])).toEqual({ command: 'help' });
    expect(parseCommand(['-h'])).toEqual({ command: 'help' });
  });

  it('rejects a missing or unknown command with exit code 2', () => {
    expect(usageError(() => parseCommand([])).message).toMatch(/missing command/);
    const e = usageError(() => parseCommand(['prodce']));
    expect(e.message).toMatch(/unknown command 'prodce'/);
    expect(e.exitCode).toBe(2);
    expect(usageError(() => parseCommand(['--count', '5'])).message).toMatch(/--count/);
  });
});

describe('parseProduceArgs', () => {
  it('applies the defaults, from the environment when set', () => {
    expect(produce(['--count', '10'])).toEqual({
      count: 10,
      rate: undefined,
      payloadBytes: 0,
      returningRatio: 0,
      invalidRatio: 0,
      seed: undefined,
      brokers: ['127.0.0.1:19092'],
      topic: 'intake.records.v1',
      batchSize: 1000,
      inFlight: 8,
    });
    const fromEnv = produce(['--count', '1'], { KAFKA_BROKERS: 'k1:9092, k2:9093', INTAKE_TOPIC: 'other.topic' });
    expect(fromEnv.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(fromEnv.topic).toBe('other.topic');
  });

  it('parses every flag, flags over the environment', () => {
    const o = produce(
      [
        '--count',
        '1_000_000',
        '--rate',
        '2500.5',
        '--payload-bytes',
        '20480',
        '--returning-ratio',
        '0.3',
        '--invalid-ratio',
        '.05',
        '--seed=-7',
        '--brokers',
        'a:1,[::1]:9092',
        '--topic',
        't_1',
        '--batch-size',
        '250',
        '--in-flight',
        '3',
      ],
      { KAFKA_BROKERS: 'env:1', INTAKE_TOPIC: 'env.topic' },
    );
    expect(o).toEqual({
      count: 1_000_000,
      rate: 2500.5,
      payloadBytes: 20480,
      returningRatio: 0.3,
      invalidRatio: 0.05,
      seed: -7,
      brokers: ['a:1', '[::1]:9092'],
      topic: 't_1',
      batchSize: 250,
      inFlight: 3,
    });
    expect(produce(['--count=3', '--seed=12']).seed).toBe(12);
  });

  it('returns help for --help', () => {
    expect(parseProduceArgs(['--help'], {})).toEqual({ help: true });
    expect(parseProduceArgs(['-h', '--count', 'x'], {})).toEqual({ help: true });
  });

  it.each([
    [[], '--count is required'],
    [['--count', '0'], '--count'],
    [['--count', '-5'], '--count'],
    [['--count', '1.5'], '--count'],
    [['--count', '10abc'], '--count'],
    [['--count', ''], '--count'],
    [['--count'], '--count'],
    [['--count', '5', '--rate', '0'], '--rate'],
    [['--count', '5', '--rate', 'fast'], '--rate'],
    [['--count', '5', '--payload-bytes', '20481'], '--payload-bytes'],
    [['--count', '5', '--payload-bytes', '-1'], '--payload-bytes'],
    [['--count', '5', '--returning-ratio', '1.2'], '--returning-ratio'],
    [['--count', '5', '--invalid-ratio', 'NaN'], '--invalid-ratio'],
    [['--count', '5', '--returning-ratio', '0.7', '--invalid-ratio', '0.4'], '--returning-ratio plus --invalid-ratio'],
    [['--count', '5', '--seed', '1e3'], '--seed'],
    [['--count', '5', '--brokers', 'localhost'], '--brokers'],
    [['--count', '5', '--brokers', 'a:1,b:99999'], '--brokers'],
    [['--count', '5', '--brokers', ','], '--brokers'],
    [['--count', '5', '--topic', 'bad topic'], '--topic'],
    [['--count', '5', '--batch-size', '0'], '--batch-size'],
    [['--count', '5', '--in-flight', '65'], '--in-flight'],
    [['--count', '5', '--unknown'], '--unknown'],
    [['--count', '5', 'extra'], 'extra'],
  ])('rejects %j naming %s', (args, flag) => {
    const e = usageError(() => parseProduceArgs(args, {}));
    expect(e.message).toContain(flag);
    expect(e.exitCode).toBe(2);
  });

  it('names the environment variable when its value is bad', () => {
    expect(usageError(() => parseProduceArgs(['--count', '1'], { KAFKA_BROKERS: 'nohost' })).message).toContain('KAFKA_BROKERS');
    expect(usageError(() => parseProduceArgs(['--count', '1'], { INTAKE_TOPIC: '' })).message).toContain('INTAKE_TOPIC');
    expect(usageError(() => parseProduceArgs(['--count', '1'], { INTAKE_TOPIC: 'a/b' })).message).toContain('INTAKE_TOPIC');
    // A flag makes the variable irrelevant.
    expect(produce(['--count', '1', '--brokers', 'x:1'], { KAFKA_BROKERS: 'nohost' }).brokers).toEqual(['x:1']);
  });
});
