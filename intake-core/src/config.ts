import { z } from 'zod';
import { ConfigError } from './errors.js';

/** An environment variable's name as an option's: `KAFKA_SSL_CA` → `kafkaSslCa`. */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${Lowercase<H>}${Capitalize<CamelCase<T>>}` : Lowercase<S>;

/** Parsed settings, camel-cased: what `loadConfig` returns for a shape of environment variables. */
export type Options<T> = { readonly [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** The shape's options type (`Options` of what the shape parses to). */
export type OptionsOf<S extends z.ZodRawShape> = Options<z.infer<z.ZodObject<S>>>;

export function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parses environment variables once at start into frozen, typed, camel-cased options. Every
 * failure names the variable, so a misconfigured deployment says what to fix and stops before
 * any client exists.
 *
 * ```ts
 * const cfg = loadConfig({ KAFKA_BROKERS: z.string() }, process.env); // cfg.kafkaBrokers
 * ```
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv | Record<string, string | undefined>): OptionsOf<S> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return Object.freeze(Object.fromEntries(Object.entries(result.data).map(([k, v]) => [camelCase(k), v]))) as OptionsOf<S>;
}

/** Reusable field parsers for environment variables. */
export const env = {
  string: (def?: string) => (def === undefined ? z.string().min(1) : z.string().min(1).default(def)),
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def),
  number: (def: number, min = 0) => z.coerce.number().min(min).default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
  enum: <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) => z.enum(values).default(def as never),
};

/** LOG_LEVEL, as every process parses it (passed to createLogger as `level`). */
export const logShape = {
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
};

/**
 * The local platform's default ports (`make up`): the fallbacks of processes run outside make.
 * platform/ports.env states them for the scripts and make (which passes a changed port on as the
 * endpoint variables); a unit test keeps the two equal.
 */
export const LOCAL_PORTS = Object.freeze({ kafka: 19092, postgres: 15432, redis: 16379, redisTls: 16380, dynalite: 18000 });

/** The local platform's database URL for a role (`make up` creates the roles without passwords). */
export const localDatabaseUrl = (role: string): string => `postgres://${role}@127.0.0.1:${LOCAL_PORTS.postgres}/clinical`;

/** Shared connection settings, with the local platform's endpoints as defaults. */
export const LOCAL_DEFAULTS = Object.freeze({
  KAFKA_BROKERS: `127.0.0.1:${LOCAL_PORTS.kafka}`,
  INTAKE_TOPIC: 'intake.records.v1',
  DLQ_TOPIC: 'intake.records.v1.dlq',
  DATABASE_URL: localDatabaseUrl('ingest_app'),
  REDIS_URL: `redis://127.0.0.1:${LOCAL_PORTS.redis}`,
  DYNAMODB_ENDPOINT: `http://127.0.0.1:${LOCAL_PORTS.dynalite}`,
  PUBLIC_TABLE: 'public_patients',
});
