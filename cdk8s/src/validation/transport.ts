/**
 * Every connection that carries PHI or credentials is encrypted and verifies the server, checked
 * on the synthesized objects, the objects the operator builds and the deploy-time Secret values:
 *
 * - a database URL (postgres://, postgresql://, jdbc:postgresql://), literal or in a Secret, says
 *   `sslmode=verify-full` and names its CA file (`sslrootcert`); `require` or `no-verify` encrypt
 *   but would talk to anyone who answers on the address;
 * - a pod that uses such a URL mounts that CA file from a volume;
 * - a Redis URL is `rediss://` (TLS), a pod that uses one gets the CA (REDIS_TLS_CA), and the Redis
 *   server has no plaintext port (`port 0` in its redis.conf).
 */
import { posix } from 'node:path';
import { podTemplates } from './posture.js';
import { describe, isRecord, type KubeObject } from './types.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (isRecord(v) ? v : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(rec) : []);

/** Secret values by Secret name and key (the deploy-time plan's, generated with placeholder randomness). */
export type SecretValues = ReadonlyMap<string, Readonly<Record<string, string>>>;

const DATABASE_URL = /^(postgres|postgresql|jdbc:postgresql):\/\//;

/** Why a database URL is not a verified TLS connection ([] when it is). */
export function databaseUrlErrors(url: string): string[] {
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const out: string[] = [];
  if (query.get('sslmode') !== 'verify-full') out.push(`sslmode is ${query.get('sslmode') ?? 'unset'}, not verify-full`);
  if (!query.get('sslrootcert')) out.push('no sslrootcert (the CA the server must chain to)');
  return out;
}

/** A database URL with its password hidden, for messages. */
const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

interface PodView {
  readonly where: string;
  readonly env: Json[];
  readonly mountPaths: string[];
}

/**
 * The environment and mounts of every container of an object's pod templates (the posture walk's
 * templates; the operators' own pod templates carry neither and are skipped).
 */
function podViews(obj: KubeObject): PodView[] {
  return podTemplates(obj).flatMap((t) =>
    t.containers.flatMap((c) => {
      if (c.container === undefined) return [];
      // spark-operator's form of secret variables: name → secretKeyRef.
      const secretEnv = Object.entries(rec(c.container['envSecretKeyRefs'])).map(([name, secretKeyRef]) => ({ name, valueFrom: { secretKeyRef } }));
      return [
        {
          where: t.fullSpec ? c.where : t.where,
          env: [...list(c.container['env']), ...secretEnv],
          mountPaths: list(c.container['volumeMounts']).map((m) => String(m['mountPath'])),
        },
      ];
    }),
  );
}

/** The value of an environment variable: its literal, or the Secret value it refers to. */
function valueOf(e: Json, secrets: SecretValues): string | undefined {
  if (typeof e['value'] === 'string') return e['value'];
  const ref = rec(rec(e['valueFrom'])['secretKeyRef']);
  if (typeof ref['name'] !== 'string' || typeof ref['key'] !== 'string') return undefined;
  return secrets.get(ref['name'])?.[ref['key']];
}

/**
 * Variables that carry a URL for other pods, not for the pod itself: the operator hands
 * SNAPSHOT_JDBC_URL to the SparkApplications it builds (checked there, with their mounts).
 */
const PASSED_ON: ReadonlySet<string> = new Set(['Deployment/ingest-operator SNAPSHOT_JDBC_URL']);

export function transportErrors(objects: readonly KubeObject[], secrets: SecretValues): string[] {
  const out: string[] = [];
  for (const [name, data] of secrets) {
    for (const [key, value] of Object.entries(data)) {
      if (DATABASE_URL.test(value)) for (const e of databaseUrlErrors(value)) out.push(`Secret ${name} key ${key}: database URL ${redact(value)}: ${e}`);
      if (value.startsWith('redis://')) out.push(`Secret ${name} key ${key}: Redis URL ${redact(value)} is plaintext: use rediss://`);
    }
  }
  for (const obj of objects) {
    for (const pod of podViews(obj)) {
      const at = (msg: string) => out.push(`${describe(obj)}: ${pod.where}: ${msg}`);
      const names = new Set(pod.env.map((e) => String(e['name'])));
      for (const e of pod.env) {
        const value = valueOf(e, secrets);
        if (value === undefined) continue;
        if (DATABASE_URL.test(value)) {
          for (const err of databaseUrlErrors(value)) at(`${String(e['name'])}: ${err}`);
          const ca = new URLSearchParams(value.slice(value.indexOf('?') + 1)).get('sslrootcert');
          const passedOn = PASSED_ON.has(`${obj.kind}/${obj.metadata.name ?? ''} ${String(e['name'])}`);
          if (ca && !passedOn && !pod.mountPaths.includes(posix.dirname(ca)))
            at(`${String(e['name'])}: its CA file ${ca} is on no volume the container mounts`);
        }
        if (value.startsWith('redis://')) at(`${String(e['name'])}: plaintext Redis URL: use rediss://`);
        if (value.startsWith('rediss://') && !names.has('REDIS_TLS_CA'))
          at(`${String(e['name'])}: rediss:// without REDIS_TLS_CA: the server's certificate is not verified against its CA`);
      }
    }
    if (obj.kind === 'ConfigMap') {
      for (const [key, conf] of Object.entries(rec(obj['data']))) {
        if (!key.endsWith('redis.conf') || typeof conf !== 'string') continue;
        const port = /^port\s+(\d+)/m.exec(conf)?.[1];
        if (port !== '0') out.push(`${describe(obj)}: ${key}: plaintext port ${port ?? '6379 (the default)'}: set 'port 0' and a tls-port`);
        if (!/^tls-port\s+\d+/m.test(conf)) out.push(`${describe(obj)}: ${key}: no tls-port`);
      }
    }
  }
  return out;
}
