/**
 * What `make synth` produces: the charts and their objects (snapshots), the deploy order, and the
 * shape rules every object follows (names, namespaces, labels).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlatform, DEPLOY_ORDER, ON_DEMAND, OPTIONAL } from './charts.js';
import { CLUSTER_SCOPED_KINDS } from './lib/scope.js';
import { defaultSettings, settingsFromEnvironment } from './settings.js';
import { synthesize, type Synthesized } from './validation/platform.js';
import type { KubeObject } from './validation/types.js';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

/**
 * Snapshots hold what this package decides. The migrations' text (db/migrations) and the CRD's
 * schema (@clinical-ingest/operator) belong to other packages and have their own tests here.
 */
function forSnapshot(objects: readonly KubeObject[]): unknown[] {
  return objects.map((o) => {
    if (o.kind === 'ConfigMap' && o.metadata.name === 'pg-migrations') {
      return { ...o, data: Object.fromEntries(Object.keys(o['data'] as object).map((k) => [k, `<db/migrations/${k}>`])) };
    }
    if (o.kind === 'CustomResourceDefinition') return { ...o, spec: '<ingestPipelineCrd() from @clinical-ingest/operator>' };
    return o;
  });
}

describe('make synth', () => {
  it('has one chart per deployable unit, each applied by make deploy or on demand', () => {
    expect([...s.charts.keys()].sort()).toEqual([...DEPLOY_ORDER, ...ON_DEMAND, ...OPTIONAL].sort());
  });

  it.each([...DEPLOY_ORDER, ...ON_DEMAND, ...OPTIONAL])('chart %s matches its snapshot', (id) => {
    expect(forSnapshot(s.charts.get(id) ?? [])).toMatchSnapshot();
  });

  it('gives namespaced objects the platform namespace and cluster-scoped ones none', () => {
    const wrong = s.all.filter((o) => (CLUSTER_SCOPED_KINDS.has(o.kind) ? o.metadata.namespace !== undefined : o.metadata.namespace === undefined));
    expect(wrong.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('names every object uniquely within its kind and namespace', () => {
    const keys = s.all.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? o.metadata.generateName}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  it('labels every object as part of the platform', () => {
    expect(s.all.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] !== 'clinical-ingest').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('writes one file per chart, which parse back to the same objects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    try {
      const app = new App({ outdir: dir });
      buildPlatform(app, defaultSettings());
      app.synth();
      expect(readdirSync(dir).sort()).toEqual([...DEPLOY_ORDER, ...ON_DEMAND, ...OPTIONAL].map((c) => `${c}.k8s.yaml`).sort());
      for (const id of s.charts.keys()) {
        const docs = parseAllDocuments(readFileSync(join(dir, `${id}.k8s.yaml`), 'utf8')).map((d) => d.toJS());
        expect(docs).toEqual(s.charts.get(id));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes partitions and retention from the same variables as the local platform', () => {
    const t = settingsFromEnvironment({ PARTITIONS: '12', TOPIC_RETENTION_MS: '60000' });
    const p = buildPlatform(new App({ outdir: '/nonexistent' }), t);
    const topics = p.kafka.node.findAll().filter((c) => (c as { kind?: string }).kind === 'KafkaTopic') as unknown as {
      toJson(): { spec: { partitions: number; config: Record<string, unknown> } };
    }[];
    expect(topics.map((x) => [x.toJson().spec.partitions, x.toJson().spec.config['retention.ms']])).toEqual([
      [12, 60000],
      [12, 60000],
    ]);
    expect(t.consumer.maxReplicas).toBe(12);
    expect(() => settingsFromEnvironment({ PARTITIONS: 'six' })).toThrow(/PARTITIONS must be a positive integer/);
  });

  it('deploys no in-cluster store when the public store is an external DynamoDB endpoint', () => {
    const ext = synthesize({ publicStore: { externalEndpoint: 'https://dynamodb.eu-west-1.amazonaws.com' } });
    expect(ext.charts.has('public-store')).toBe(false);
    const cm = ext.all.find((o) => o.metadata.name === 'intake-consumer-config') as unknown as { data: Record<string, string> };
    expect(cm.data['DYNAMODB_ENDPOINT']).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(cm.data['AWS_SECRET_ACCESS_KEY']).toBeUndefined();
  });
});
