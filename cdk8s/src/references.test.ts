/**
 * No secret value in any synthesized file, and every reference resolves: Secret keys to the
 * Secrets `make deploy` generates or Strimzi writes, ConfigMap keys and ServiceAccounts to
 * synthesized objects, Service selectors to pods.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { secretPlan } from './lib/secrets.js';
import { referenceErrors, secretValueErrors, serviceSelectorErrors } from './validation/references.js';
import { allowedLiterals, runtimeConfigMaps, runtimeSecrets, synthesize, type Synthesized } from './validation/platform.js';
import type { KubeObject } from './validation/types.js';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

const clone = <T>(v: T): T => structuredClone(v);
const find = (kind: string, name?: string): KubeObject => clone(s.all.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name))!);

describe('secrets', () => {
  it('no synthesized object holds a secret value: no Secret, no literal password, no URL with credentials', () => {
    expect(secretValueErrors([...s.all, ...s.operatorBuilt], { allowed: allowedLiterals(s) })).toEqual([]);
  });

  it('every Secret key a pod or a resource reads is generated at deploy time or written by an operator', () => {
    expect(referenceErrors([...s.all, ...s.operatorBuilt], { secrets: runtimeSecrets(s), configMaps: runtimeConfigMaps(s) })).toEqual([]);
  });

  it('the deploy-time plan generates every key it declares, from fresh randomness, and never the same twice', () => {
    const ctx = { namespace: 'ns', database: 'clinical', poolerHost: 'pg-pooler-rw', primaryHost: 'pg-rw', redisHost: 'redis', redisPort: 6379 };
    const random = () => randomBytes(32).toString('hex');
    const a = secretPlan(ctx).map((p) => ({ name: p.name, data: p.generate(random), keys: p.keys }));
    const b = secretPlan(ctx).map((p) => p.generate(random));
    for (const [i, p] of a.entries()) {
      expect(Object.keys(p.data).sort()).toEqual([...p.keys].sort());
      expect(p.data).not.toEqual(b[i]);
    }
    const app = a.find((p) => p.name === 'pg-ingest-app')!.data;
    expect(app['url']).toBe(
      `postgres://ingest_app:${app['password']}@pg-pooler-rw:5432/clinical?sslmode=verify-full&sslrootcert=/etc/intake/database-ca/ca.crt`,
    );
    const redis = a.find((p) => p.name === 'redis-users')!.data;
    expect(redis['consumer-url']).toBe(`rediss://consumer:${redis['consumer-password']}@redis:6379`);
    expect(a.find((p) => p.name === 'ingest-identity')!.data['hmac-secret']!.length).toBeGreaterThanOrEqual(32);
  });

  it('no file under cdk8s/ or charts/ carries a generated-looking secret', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', 'dist-manifests', '__snapshots__'].includes(e.name)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (!e.name.endsWith('.test.ts')) files.push(p);
      }
    };
    walk(join(import.meta.dirname, '..'));
    walk(join(import.meta.dirname, '..', '..', 'charts'));
    const hits = files.filter((f) => /-----BEGIN [A-Z ]*PRIVATE KEY-----|\b[a-f0-9]{64}\b|:\/\/[^\s/:@'"`$]+:[^\s/@'"`$<{]+@/.test(readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
  });
});

describe('references', () => {
  it('every Service selects pods that will exist', () => {
    const operatorManagedPods = [{ 'app.kubernetes.io/name': 'intake-consumer', 'app.kubernetes.io/instance': 'intake' }];
    expect(serviceSelectorErrors([...s.all, ...s.operatorBuilt], operatorManagedPods)).toEqual([]);
  });
});

describe('the secret and reference checks refuse', () => {
  it('a synthesized Secret, a literal password, credentials in a URL', () => {
    const cm = find('ConfigMap', 'intake-consumer-config') as KubeObject & { data: Record<string, string> };
    cm.data['REDIS_URL'] = 'redis://consumer:hunter2@redis:6379';
    cm.data['DB_PASSWORD'] = 'hunter2';
    const job = find('Job') as KubeObject & { spec: { template: { spec: { containers: { env: unknown[] }[] } } } };
    job.spec.template.spec.containers[0]!.env.push({ name: 'KAFKA_SASL_PASSWORD', value: 'hunter2' });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, stringData: { a: 'b' } };
    const text = secretValueErrors([cm, job, secret], { allowed: allowedLiterals(s) }).join('\n');
    expect(text).toMatch(/REDIS_URL: URL with credentials/);
    expect(text).toMatch(/DB_PASSWORD: secret-looking key/);
    expect(text).toMatch(/literal value for KAFKA_SASL_PASSWORD/);
    expect(text).toMatch(/a Secret is synthesized/);
  });

  it('a Secret or key nobody creates, a missing ConfigMap key, a missing ServiceAccount', () => {
    const job = find('Job') as KubeObject & { spec: { template: { spec: { serviceAccountName: string; containers: { env: unknown[] }[] } } } };
    job.spec.template.spec.containers[0]!.env.push({ name: 'A', valueFrom: { secretKeyRef: { name: 'nobody-makes-this', key: 'k' } } });
    job.spec.template.spec.containers[0]!.env.push({ name: 'B', valueFrom: { secretKeyRef: { name: 'ingest-identity', key: 'hmac' } } });
    job.spec.template.spec.serviceAccountName = 'ghost';
    const cluster = find('Cluster') as KubeObject & { spec: { bootstrap: { initdb: { postInitApplicationSQLRefs: { configMapRefs: { key: string }[] } } } } };
    cluster.spec.bootstrap.initdb.postInitApplicationSQLRefs.configMapRefs[0]!.key = '000_missing.sql';
    const objects = [...s.all.filter((o) => o.kind !== 'Job' && o.kind !== 'Cluster'), job, cluster];
    const text = referenceErrors(objects, { secrets: runtimeSecrets(s), configMaps: runtimeConfigMaps(s) }).join('\n');
    expect(text).toMatch(/Secret nobody-makes-this is neither generated/);
    expect(text).toMatch(/Secret ingest-identity has no key hmac/);
    expect(text).toMatch(/ServiceAccount ghost is not synthesized/);
    expect(text).toMatch(/ConfigMap pg-migrations has no key 000_missing.sql/);
  });

  it('a Service that selects nothing', () => {
    const svc = find('Service', 'redis') as KubeObject & { spec: { selector: Record<string, string> } };
    svc.spec.selector = { 'app.kubernetes.io/name': 'rediss' };
    expect(serviceSelectorErrors([...s.all.filter((o) => o.metadata.name !== 'redis' || o.kind !== 'Service'), svc])).toHaveLength(2); // and the consumer metrics Service, without the operator's pods
  });
});
