/**
 * The Kustomize overlays (cdk8s/kustomize/overlays/) build with the kubectl of the local control
 * plane (`make k8s-build`) over the bases `make synth` writes, and what they build passes the
 * same checks as the synthesized charts: the Kubernetes schema, the upstream CRDs (../shared/crds)
 * and ours, and the restricted pod posture.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/paths.js';
import { coreErrors, isCoreKind } from '../src/validation/k8s-schema.js';
import { crdRegistry } from '../src/validation/platform.js';
import { postureErrors } from '../src/validation/posture.js';
import type { KubeObject } from '../src/validation/types.js';

const KUBECTL = join(REPO_ROOT, '.local', 'k8s', 'bin', 'kubectl');
const OVERLAYS = join(REPO_ROOT, 'cdk8s', 'kustomize', 'overlays');

function build(overlay: string): KubeObject[] {
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} is missing: run make k8s-build`);
  if (!existsSync(join(REPO_ROOT, 'cdk8s', 'dist-manifests', 'kustomize', 'base'))) throw new Error('no Kustomize base: run make synth');
  const out = execFileSync(KUBECTL, ['kustomize', join(OVERLAYS, overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out).map((d) => d.toJSON() as KubeObject);
}

const opts = { apiClients: new Set(['ingest-operator', 'spark-driver']) };
const errorsOf = (o: KubeObject) => [...(isCoreKind(o.apiVersion) ? coreErrors(o) : crdRegistry().errors(o)), ...postureErrors(o, opts)];
const has = (objs: KubeObject[], kind: string, name?: string) => objs.some((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe.each(['kind', 'production'])('the %s overlay', (overlay) => {
  it('builds, and every object passes the schema and posture checks', () => {
    const objs = build(overlay);
    expect(objs.length).toBeGreaterThan(40);
    expect(objs.flatMap(errorsOf)).toEqual([]);
    expect(objs.every((o) => (o.metadata.labels ?? {})['clinical-ingest/environment'] === overlay)).toBe(true);
    expect(has(objs, 'Job')).toBe(false); // the load test runs on demand only
  });
});

describe('what the overlays change', () => {
  it('kind: the synthesized platform with the in-cluster DynamoDB-API store, no monitoring', () => {
    const objs = build('kind');
    expect(has(objs, 'StatefulSet', 'public-store')).toBe(true);
    expect(has(objs, 'PodMonitor')).toBe(false);
  });

  it('production: replicated Kafka and PostgreSQL, an external DynamoDB endpoint, monitoring', () => {
    const objs = build('production');
    const spec = (kind: string, name?: string) =>
      objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as unknown as { spec: Record<string, unknown> };
    expect(spec('KafkaNodePool', 'combined').spec['replicas']).toBe(3);
    expect((spec('Kafka', 'intake').spec['kafka'] as { config: Record<string, unknown> }).config['min.insync.replicas']).toBe(2);
    expect(objs.filter((o) => o.kind === 'KafkaTopic').map((o) => (o as unknown as { spec: { replicas: number } }).spec.replicas)).toEqual([3, 3]);
    expect(spec('Cluster', 'pg').spec['instances']).toBe(3);
    expect(has(objs, 'StatefulSet', 'public-store')).toBe(false);
    expect(JSON.stringify(objs.filter((o) => o.kind === 'ConfigMap'))).toContain('https://dynamodb.us-east-1.amazonaws.com');
    expect(has(objs, 'PodMonitor')).toBe(true);
    expect(has(objs, 'PrometheusRule')).toBe(true);
  });
});
