#!/usr/bin/env node
// The public store's front door on Kubernetes: dynalite checks no credentials, so anyone who
// reached it could write into the "anonymized" store. This HTTP front verifies each request's AWS
// Signature Version 4 (recomputed with @smithy/signature-v4, the AWS SDK's own signer, with the
// secret of the access key the request names), refuses a stale signature, and lets each principal
// call only its DynamoDB actions: the consumers write, the validation reads. Allowed requests are
// passed to dynalite, listening on localhost only; refusals are answered as DynamoDB answers them
// (HTTP 400, a JSON `__type` the SDK maps to an exception, never retried).
//
//   node platform/dynalite/authorizer.mjs   (start.mjs runs it in the image)
//
// Environment: PORT [8000] (this front, on HOST [0.0.0.0]), UPSTREAM_PORT (dynalite on
// 127.0.0.1), and one access key per principal: PUBLIC_STORE_WRITER_KEY_ID and
// PUBLIC_STORE_WRITER_SECRET (the consumers), PUBLIC_STORE_READER_KEY_ID and
// PUBLIC_STORE_READER_SECRET (the seed's validation). No secret and no request body is logged.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';

/** What each principal may call (the X-Amz-Target's action). The bootstrap goes to dynalite directly. */
export const ROLES = Object.freeze({
  /** The consumers: conditional writes, and the reads their adapter and start-up make. */
  writer: ['PutItem', 'GetItem', 'BatchGetItem', 'DescribeTable', 'ListTables'],
  /** The seed's validation: reads only. */
  reader: ['GetItem', 'BatchGetItem', 'Query', 'Scan', 'DescribeTable', 'ListTables'],
});

/** How far a request's X-Amz-Date may be from now (AWS allows 15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** node:crypto as the signer's hash: HMAC with a secret, SHA-256 without. */
class Sha256 {
  #h;
  constructor(secret) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret));
  }
  update(data) {
    this.#h.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest() {
    return new Uint8Array(this.#h.digest());
  }
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/** Principals from the environment: access key id → { role, secret }. */
export function principalsFrom(env) {
  const out = new Map();
  for (const role of Object.keys(ROLES)) {
    const id = env[`PUBLIC_STORE_${role.toUpperCase()}_KEY_ID`];
    const secret = env[`PUBLIC_STORE_${role.toUpperCase()}_SECRET`];
    if (!id || !secret) throw new Error(`PUBLIC_STORE_${role.toUpperCase()}_KEY_ID and PUBLIC_STORE_${role.toUpperCase()}_SECRET are required`);
    out.set(id, { role, secret });
  }
  return out;
}

/** Why the request is refused (a DynamoDB error type and message), or undefined when it is allowed. */
export async function refusal(principals, req, body, now = Date.now()) {
  const m = AUTH.exec(String(req.headers['authorization'] ?? ''));
  if (!m) return { type: 'MissingAuthenticationTokenException', message: 'Request is missing a valid AWS Signature Version 4 Authorization header' };
  const [, keyId, day, region, service, signedList, signature] = m;
  const principal = principals.get(keyId);
  if (principal === undefined) return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid' };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!at || !amzDate.startsWith(day)) return { type: 'InvalidSignatureException', message: 'X-Amz-Date is missing or does not match the credential scope' };
  const signedAt = Date.UTC(+at[1], +at[2] - 1, +at[3], +at[4], +at[5], +at[6]);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) return { type: 'InvalidSignatureException', message: 'Signature expired: the request time is too far from now' };
  const signed = new Set(signedList.split(';'));
  if (!signed.has('host') || !signed.has('x-amz-date')) return { type: 'InvalidSignatureException', message: 'host and x-amz-date must be signed' };
  const headers = {};
  for (const name of signed) {
    const v = req.headers[name];
    if (v === undefined) return { type: 'InvalidSignatureException', message: `signed header ${name} is missing` };
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const signer = new SignatureV4({
    service,
    region,
    sha256: Sha256,
    credentials: { accessKeyId: keyId, secretAccessKey: principal.secret },
    applyChecksum: false,
  });
  const expected = await signer.sign(
    { method: req.method ?? 'POST', protocol: 'http:', hostname: 'localhost', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body },
    { signingDate: new Date(signedAt), signableHeaders: signed, unsignableHeaders: new Set() },
  );
  const got = AUTH.exec(String(expected.headers['authorization'] ?? ''))?.[6] ?? '';
  if (got.length !== signature.length || !timingSafeEqual(Buffer.from(got), Buffer.from(signature))) {
    return { type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided' };
  }
  const action = String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
  if (!ROLES[principal.role].includes(action)) {
    return { type: 'AccessDeniedException', message: `${principal.role} may not call ${action || 'this action'} on the public store` };
  }
  return undefined;
}

/** The front: verifies, authorizes, passes allowed requests to dynalite on 127.0.0.1:upstreamPort. */
export function createAuthorizer({ principals, upstreamPort, log = () => {} }) {
  return createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      refusal(principals, req, body).then(
        (refused) => {
          if (refused !== undefined) {
            log(`refused ${refused.type} (${String(req.headers['x-amz-target'] ?? '')})`);
            res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
            res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${refused.type}`, message: refused.message }));
            return;
          }
          const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          });
          up.on('error', () => {
            if (!res.headersSent) res.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' });
            res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', message: 'the store is not answering' }));
          });
          up.end(body);
        },
        () => {
          res.writeHead(500).end();
        },
      );
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT || 8000);
  const upstreamPort = Number(process.env.UPSTREAM_PORT);
  if (!upstreamPort) throw new Error('UPSTREAM_PORT is required (dynalite on 127.0.0.1)');
  const server = createAuthorizer({ principals: principalsFrom(process.env), upstreamPort, log: (l) => console.log(`public-store-authorizer: ${l}`) });
  server.listen(port, process.env.HOST || '0.0.0.0', () => console.log(`public-store-authorizer: on :${port}, dynalite on 127.0.0.1:${upstreamPort}`));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
}
