import { describe, expect, it } from 'vitest';
import { parseConsumerConfig, pgPoolOptions, redisOptions } from './config.js';

const base = { IDENTITY_HMAC_SECRET: 'x'.repeat(32) };

describe('consumer configuration', () => {
  it('bounds every database I/O by default (connect, statement, client read, idle transaction)', () => {
    const o = pgPoolOptions(parseConsumerConfig(base));
    expect(o).toEqual({ connectionTimeoutMillis: 5_000, statement_timeout: 30_000, query_timeout: 35_000, idle_in_transaction_session_timeout: 60_000 });
  });

  it('takes the bounds from the environment', () => {
    const cfg = parseConsumerConfig({
      ...base,
      PG_STATEMENT_TIMEOUT_MS: '2000',
      CONNECT_TIMEOUT_MS: '750',
      REDIS_COMMAND_TIMEOUT_MS: '300',
      DYNAMODB_REQUEST_TIMEOUT_MS: '900',
    });
    expect(pgPoolOptions(cfg)).toMatchObject({ connectionTimeoutMillis: 750, statement_timeout: 2000 });
    expect([cfg.redisCommandTimeoutMs, cfg.dynamodbRequestTimeoutMs]).toEqual([300, 900]);
  });

  it('refuses a bound of zero, which would mean no bound', () => {
    expect(() => parseConsumerConfig({ ...base, PG_STATEMENT_TIMEOUT_MS: '0' })).toThrow(/PG_STATEMENT_TIMEOUT_MS/);
  });
});

describe('Redis over TLS', () => {
  it('a rediss:// URL turns TLS on, verified against REDIS_TLS_CA when given', () => {
    expect(redisOptions(parseConsumerConfig(base)).tls).toBeUndefined();
    expect(redisOptions(parseConsumerConfig({ ...base, REDIS_URL: 'rediss://redis:6379' })).tls).toEqual({});
    expect(redisOptions(parseConsumerConfig({ ...base, REDIS_URL: 'rediss://redis:6379', REDIS_TLS_CA: 'PEM' })).tls).toEqual({ ca: ['PEM'] });
  });

  it('refuses a CA for a plaintext URL: the setting would otherwise be ignored', () => {
    expect(() => parseConsumerConfig({ ...base, REDIS_URL: 'redis://redis:6379', REDIS_TLS_CA: 'PEM' })).toThrow(/REDIS_TLS_CA needs a rediss:\/\/ REDIS_URL/);
  });
});

describe('configuration parsed once, at the edge', () => {
  it('a rule across settings stops start-up, naming the variables, before any client exists', () => {
    expect(() => parseConsumerConfig({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'intake-consumer' })).toThrow(
      /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM=scram-sha-512/,
    );
    expect(parseConsumerConfig({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafkaSaslUsername).toBe(
      'u',
    );
  });

  it('LOG_LEVEL is a setting like the others: parsed, checked, named when wrong', () => {
    expect(parseConsumerConfig(base).logLevel).toBe('info');
    expect(parseConsumerConfig({ ...base, LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => parseConsumerConfig({ ...base, LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
