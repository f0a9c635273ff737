/**
 * The public store's authorizing front (platform/dynalite/authorizer.mjs, what the DynamoDB-API
 * image serves on Kubernetes), run as its own process in front of the local platform's dynalite,
 * with the consumer's real adapter and the AWS SDK signing: the consumers' key writes, the
 * validation's key only reads, and an unknown key, a wrong secret, an unsigned or a replayed
 * stale request are refused, so that only the consumers can write into the anonymized store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPublicStore } from './adapters/dynamo-public-store.js';
import { env, TestPlatform } from '@clinical-ingest/testkit';
import { freePort } from '@clinical-ingest/testkit';

const AUTHORIZER = join(dirname(fileURLToPath(import.meta.url)), '../../platform/dynalite/authorizer.mjs');
const WRITER = { accessKeyId: 'writer-key', secretAccessKey: 'writer-secret-0123456789' };
const READER = { accessKeyId: 'reader-key', secretAccessKey: 'reader-secret-0123456789' };

let platform: TestPlatform;
let front: ChildProcess;
let endpoint: string;
let table: string;

const storeAs = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new DynamoPublicStore({ client: new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }), table, maxRetries: 0 });

async function listening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the authorizer did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  platform = await TestPlatform.connect();
  // The table, made directly on dynalite (the image's bootstrap does the same, inside the pod).
  table = `itest_auth_${Date.now().toString(36)}`;
  await platform.dynamoPublicNamed(table);
  const port = freePort();
  endpoint = `http://127.0.0.1:${port}`;
  front = spawn(process.execPath, [AUTHORIZER], {
    env: {
      PATH: process.env['PATH'],
      PORT: String(port),
      HOST: '127.0.0.1',
      UPSTREAM_PORT: new URL(env.dynamo).port,
      PUBLIC_STORE_WRITER_KEY_ID: WRITER.accessKeyId,
      PUBLIC_STORE_WRITER_SECRET: WRITER.secretAccessKey,
      PUBLIC_STORE_READER_KEY_ID: READER.accessKeyId,
      PUBLIC_STORE_READER_SECRET: READER.secretAccessKey,
    },
    stdio: 'ignore',
  });
  await listening(port);
});

afterAll(async () => {
  front?.kill('SIGTERM');
  await platform?.close();
});

describe('the public store behind its authorizer', () => {
  it("the consumers' key writes; the validation's key reads what was written", async () => {
    await storeAs(WRITER).put([{ patientId: 'p-1', favoriteColor: 'teal', rev: 1 }]);
    const reader = storeAs(READER);
    expect((await reader.get(['p-1'])).get('p-1')).toEqual({ patientId: 'p-1', favoriteColor: 'teal', rev: 1 });
    expect(await reader.count()).toBe(1);
  });

  it("the validation's key cannot write: AccessDeniedException, nothing stored", async () => {
    await expect(storeAs(READER).put([{ patientId: 'p-2', favoriteColor: 'red', rev: 1 }])).rejects.toThrow(/AccessDeniedException/);
    expect((await storeAs(READER).get(['p-2'])).size).toBe(0);
  });

  it("the consumers' key cannot scan the store nor create tables", async () => {
    await expect(storeAs(WRITER).count()).rejects.toThrow(/not authorized|may not call Scan/);
  });

  it('an unknown key and a wrong secret are refused', async () => {
    await expect(storeAs({ accessKeyId: 'dynalite', secretAccessKey: 'dynalite' }).put([{ patientId: 'p-3', favoriteColor: 'red', rev: 1 }])).rejects.toThrow(
      /UnrecognizedClientException/,
    );
    await expect(storeAs({ ...WRITER, secretAccessKey: 'not-the-secret' }).put([{ patientId: 'p-3', favoriteColor: 'red', rev: 1 }])).rejects.toThrow(
      /InvalidSignatureException/,
    );
    expect((await storeAs(READER).get(['p-3'])).size).toBe(0);
  });

  const body = () => JSON.stringify({ TableName: table, Item: { patient_id: { S: 'p-4' }, favorite_color: { S: 'red' }, rev: { N: '1' } } });
  const headers = (host: string) => ({ host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.PutItem' });

  it('an unsigned request is refused', async () => {
    const r = await fetch(endpoint, { method: 'POST', headers: headers(new URL(endpoint).host), body: body() });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { __type: string }).__type).toMatch(/MissingAuthenticationTokenException/);
  });

  it('a correctly signed request replayed after 15 minutes is refused', async () => {
    type Data = string | ArrayBuffer | ArrayBufferView;
    const bytes = (d: Data) =>
      typeof d === 'string' ? Buffer.from(d) : d instanceof ArrayBuffer ? Buffer.from(new Uint8Array(d)) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    class Sha256 {
      readonly #h;
      constructor(secret?: Data) {
        this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
      }
      update(d: Data) {
        this.#h.update(bytes(d));
      }
      digest() {
        return Promise.resolve(new Uint8Array(this.#h.digest()));
      }
    }
    const signer = new SignatureV4({ service: 'dynamodb', region: 'us-east-1', sha256: Sha256, credentials: WRITER });
    const url = new URL(endpoint);
    const signed = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: headers(url.host), body: body() },
      { signingDate: new Date(Date.now() - 20 * 60_000) },
    );
    const r = await fetch(endpoint, { method: 'POST', headers: signed.headers, body: body() });
    expect(((await r.json()) as { message: string }).message).toMatch(/Signature expired/);
    expect((await storeAs(READER).get(['p-4'])).size).toBe(0);
  });
});
