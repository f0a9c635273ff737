/**
 * The verified connections the Kubernetes manifests configure, proven on the real servers of
 * `make up` (PostgreSQL and Redis serve TLS with a certificate for `localhost` from a local CA):
 * a database URL with `sslmode=verify-full&sslrootcert=…` (what every generated URL says) and a
 * `rediss://` URL with REDIS_TLS_CA (what the consumers get) connect when the server's certificate
 * chains to the CA and names the host, and are refused when it does not. A URL that only asked for
 * encryption would connect in every case below.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConsumerConfig, redisOptions } from './config.js';
import { env } from '@clinical-ingest/testkit';

let otherCa: string;
let dir: string;

beforeAll(() => {
  if (!existsSync(env.tlsCaFile)) throw new Error(`no local CA at ${env.tlsCaFile}: start the local platform with 'make up'`);
  // A CA the servers' certificates do not chain to.
  dir = mkdtempSync(join(tmpdir(), 'tls-itest-'));
  otherCa = join(dir, 'other-ca.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-new', '-nodes', '-newkey', 'rsa:2048', '-days', '1', '-subj', '/CN=not the platform CA', '-keyout', join(dir, 'k'), '-out', otherCa],
    {
      stdio: 'ignore',
    },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const port = new URL(env.adminDb).port;

async function pgTls(host: string, ca: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: `postgres://postgres@${host}:${port}/clinical?sslmode=verify-full&sslrootcert=${ca}`,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const r = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return r.rows[0]!.ssl;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL with sslmode=verify-full', () => {
  it('connects over TLS when the certificate chains to sslrootcert and names the host', async () => {
    expect(await pgTls('localhost', env.tlsCaFile)).toBe(true);
  });

  it('refuses a server whose certificate another CA signed', async () => {
    await expect(pgTls('localhost', otherCa)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses a server whose certificate does not name the host it was reached by', async () => {
    await expect(pgTls('127.0.0.1', env.tlsCaFile)).rejects.toThrow(/IP: 127\.0\.0\.1 is not in the cert's list|altnames|does not match/i);
  });
});

async function redisTls(url: string, ca: string): Promise<string> {
  const cfg = parseConsumerConfig({ IDENTITY_HMAC_SECRET: 'x'.repeat(32), REDIS_URL: url, REDIS_TLS_CA: readFileSync(ca, 'utf8'), CONNECT_TIMEOUT_MS: '3000' });
  const redis = new Redis(cfg.redisUrl, { ...redisOptions(cfg), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // ioredis reports a refused handshake as "Connection is closed."; its 'error' event has the cause.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    return await redis.ping();
  } catch (err) {
    throw cause ?? err;
  } finally {
    redis.disconnect();
  }
}

describe('Redis over rediss:// with REDIS_TLS_CA', () => {
  it('connects when the certificate chains to the CA and names the host', async () => {
    expect(await redisTls(env.redisTls, env.tlsCaFile)).toBe('PONG');
  });

  it('refuses a server whose certificate another CA signed', async () => {
    await expect(redisTls(env.redisTls, otherCa)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses a server whose certificate does not name the host it was reached by', async () => {
    const url = new URL(env.redisTls);
    url.hostname = '127.0.0.1';
    await expect(redisTls(url.toString(), env.tlsCaFile)).rejects.toThrow(/IP: 127\.0\.0\.1 is not in the cert's list|altnames|does not match/i);
  });
});
