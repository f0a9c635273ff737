import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOCAL_DEFAULTS, LOCAL_PORTS } from './config.js';

/** platform/ports.env: the local ports the scripts and make read (the environment may override each). */
function portsFile(): Record<string, number> {
  const text = readFileSync(new URL('../../platform/ports.env', import.meta.url), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('the local ports, stated once', () => {
  it("the code's fallbacks are platform/ports.env's defaults", () => {
    const p = portsFile();
    expect(LOCAL_PORTS).toEqual({
      kafka: p['PLATFORM_KAFKA_PORT'],
      postgres: p['PLATFORM_PG_PORT'],
      redis: p['PLATFORM_REDIS_PORT'],
      redisTls: p['PLATFORM_REDIS_TLS_PORT'],
      dynalite: p['PLATFORM_DYNALITE_PORT'],
    });
    expect(LOCAL_DEFAULTS.KAFKA_BROKERS).toBe(`127.0.0.1:${p['PLATFORM_KAFKA_PORT']}`);
  });
});
