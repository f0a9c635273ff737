#!/usr/bin/env node
import { randomInt } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig, logShape, parseKafkaSecurity } from '@clinical-ingest/intake-core';
import { parseCommand, parseProduceArgs, PRODUCE_USAGE, USAGE, UsageError, type CommandName, type Environment } from './args.js';
import { RecordGenerator } from './generator.js';
import { createKafka, produceRecords } from './producer.js';
import { validateCommand } from './validate/command.js';

/**
 * `intake-loadgen <command> [options]`. Human output goes to stdout/stderr through
 * process.stdout.write/process.stderr.write; never a record's content.
 * Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
 */

type CommandHandler = (args: readonly string[], environment: Environment) => Promise<number>;

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

async function produceCommand(args: readonly string[], environment: Environment): Promise<number> {
  const parsed = parseProduceArgs(args, environment);
  if (parsed.help) {
    process.stdout.write(PRODUCE_USAGE);
    return 0;
  }
  // Parsed here, before anything connects: a bad setting stops the command naming its variable.
  const security = parseKafkaSecurity(environment);
  const { logLevel } = loadConfig(logShape, environment);
  const o = parsed.options;
  const seed = o.seed ?? randomInt(0, 2 ** 31);
  const generator = new RecordGenerator({
    count: o.count,
    seed,
    payloadBytes: o.payloadBytes,
    returningRatio: o.returningRatio,
    invalidRatio: o.invalidRatio,
  });
  err(
    `intake-loadgen: producing ${o.count} records to ${o.topic} on ${o.brokers.join(',')} ` +
      `(seed ${seed}, payload ${o.payloadBytes} B, returning ${o.returningRatio}, invalid ${o.invalidRatio}, ` +
      `rate ${o.rate === undefined ? 'unlimited' : `${o.rate}/s`}, batch ${o.batchSize}, in flight ${o.inFlight})`,
  );

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    err('intake-loadgen: interrupted, waiting for the sends in flight (interrupt again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Logs to stderr: stdout carries only the summary.
    const logger = createLogger('intake-loadgen', { level: logLevel }, process.stderr);
    const summary = await produceRecords({
      records: generator,
      total: o.count,
      topic: o.topic,
      kafka: createKafka(o.brokers, logger, 'intake-loadgen', security),
      batchSize: o.batchSize,
      inFlight: o.inFlight,
      ...(o.rate === undefined ? {} : { rate: o.rate }),
      signal: controller.signal,
      logger,
    });
    const e = generator.expectation();
    const invalid = Object.entries(e.invalidByReject)
      .map(([code, n]) => `${code}=${n}`)
      .join(' ');
    out(
      `sent: ${e.records} records, ${e.validRecords} valid (${e.newRecords} new, ${e.returningRecords} returning), ` +
        `${e.distinctIdentities} distinct patients, ${e.invalidRecords} invalid${invalid.length > 0 ? ` (${invalid})` : ''}`,
    );
    return summary.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One handler per command. */
export const COMMAND_HANDLERS: Record<CommandName, CommandHandler> = {
  produce: produceCommand,
  validate: (args) => validateCommand(args),
};

export async function main(argv: readonly string[], environment: Environment): Promise<number> {
  try {
    const parsed = parseCommand(argv);
    if (parsed.command === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    return await COMMAND_HANDLERS[parsed.command](parsed.args, environment);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`intake-loadgen: ${e.message}`);
      err("Run 'intake-loadgen --help' for usage.");
      return e.exitCode;
    }
    // Kafka client and configuration errors name what failed; they carry no record content.
    const name = e instanceof Error ? e.name : 'Error';
    const message = e instanceof Error ? e.message : String(e);
    err(`intake-loadgen: failed: ${name}: ${message}`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), process.env);
  process.exitCode = code;
}
