import { describe, expect, it } from 'vitest';
import { camelCase, ConfigError, env, loadConfig } from './index.js';

describe('loadConfig: the environment, parsed once into camel-cased options', () => {
  it('names each option after its variable, camel-cased, typed and frozen', () => {
    const cfg = loadConfig({ KAFKA_SSL_CA: env.string('x'), PG_POOL_SIZE: env.int(8, 1), FETCH_MAX_WAIT_MS: env.int(150) }, { PG_POOL_SIZE: '4' });
    expect(cfg).toEqual({ kafkaSslCa: 'x', pgPoolSize: 4, fetchMaxWaitMs: 150 });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(camelCase('KAFKA_SASL_PASSWORD')).toBe('kafkaSaslPassword');
  });

  it('a bad value stops it, naming the variable (never the option)', () => {
    expect(() => loadConfig({ PG_POOL_SIZE: env.int(8, 1) }, { PG_POOL_SIZE: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ PG_POOL_SIZE: env.int(8, 1) }, { PG_POOL_SIZE: '0' })).toThrow(/^invalid configuration: PG_POOL_SIZE: /);
  });
});
