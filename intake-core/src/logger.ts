import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Every patient field, wherever it sits in a log object: pino replaces it with "[PHI]". Log
 * through this logger only (never console.*), so that a field logged by mistake cannot leak.
 */
export const PHI_FIELDS = [
  'name',
  'nameNorm',
  'dateOfBirth',
  'date_of_birth',
  'dob',
  'payload',
  'favoriteColor',
  'favorite_color',
  'value',
  'key',
  'record',
  'records',
  'identity',
];

export const REDACT_PATHS = PHI_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/**
 * A pino logger with PHI redaction; `destination` defaults to stdout. The level is the caller's
 * (`options.level`, from its parsed LOG_LEVEL: see `logShape`), `info` if none.
 */
export function createLogger(name: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    // `service`, not pino's `name`: "name" is a patient field and is redacted wherever it appears.
    base: { service: name, pid: process.pid },
    level: 'info',
    redact: { paths: REDACT_PATHS, censor: '[PHI]' },
    // Errors are logged by code and message only: a cause may quote a query parameter.
    serializers: { err: serializeError },
    ...options,
  };
  return destination === undefined ? pino(settings) : pino(settings, destination);
}

export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const e = err as Error & { code?: unknown; retriable?: unknown };
  return { type: e.name, code: e.code, retriable: e.retriable, message: e.message, stack: e.stack };
}

export type { Logger };
