import { describe, expect, it } from 'vitest';
import type { IngestPipeline } from '../api/types.js';
import { samplePipeline } from '../testing/fixtures.js';
import { handleExternalMetrics, quantity, type PipelineSource } from './external.js';

const withStatus = (name: string, status: IngestPipeline['status'], labels: Record<string, string> = {}): IngestPipeline => {
  const p = samplePipeline({}, { name, labels });
  return { ...p, status };
};

const pipelines: Record<string, IngestPipeline[]> = {
  ingest: [
    withStatus('intake', { desiredReplicas: 6, metricValue: 6, lag: 1234, lagSeconds: 3 }, { team: 'a' }),
    withStatus('edge', { desiredReplicas: 12, metricValue: 14, lag: 5, lagSeconds: 0 }, { team: 'b' }),
    withStatus('fresh', undefined),
  ],
  other: [withStatus('intake', { desiredReplicas: 2, lag: 0 })],
};
const source: PipelineSource = { list: (ns) => pipelines[ns] ?? [] };
const NOW = new Date('2026-01-01T00:00:00.123Z');
const get = (url: string, method = 'GET') => {
  const r = handleExternalMetrics({ method, url }, source, NOW);
  return {
    status: r.status,
    body: JSON.parse(r.body) as Record<string, unknown> & { items?: { metricName: string; value: string; metricLabels: Record<string, string> }[] },
  };
};
const BASE = '/apis/external.metrics.k8s.io/v1beta1';

describe('external metrics API', () => {
  it('discovery: an APIResourceList of the served metrics', () => {
    const { status, body } = get(BASE);
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'external.metrics.k8s.io/v1beta1' });
    expect((body['resources'] as { name: string; namespaced: boolean; verbs: string[] }[]).map((r) => r.name)).toEqual([
      'ingestpipeline-desired-replicas',
      'ingestpipeline-lag',
      'ingestpipeline-lag-seconds',
    ]);
    expect(get(`${BASE}/`).status).toBe(200);
    expect(get('/apis/external.metrics.k8s.io').body).toMatchObject({ kind: 'APIGroup', preferredVersion: { version: 'v1beta1' } });
  });

  it.each([
    ['the HPA’s selector: one pipeline, its metric value', 'ingestpipeline-desired-replicas', 'ingest.clinical.dev/pipeline=intake', [['intake', '6']]],
    ['the metric value past the tolerance band, not the decision', 'ingestpipeline-desired-replicas', 'ingest.clinical.dev/pipeline==edge', [['edge', '14']]],
    [
      'raw lag for people',
      'ingestpipeline-lag',
      'ingest.clinical.dev/pipeline in (intake,edge)',
      [
        ['intake', '1234'],
        ['edge', '5'],
      ],
    ],
    ['lag in seconds, by a label of the pipeline', 'ingestpipeline-lag-seconds', 'team=a', [['intake', '3']]],
    [
      'no selector: every pipeline with a value',
      'ingestpipeline-lag',
      '',
      [
        ['intake', '1234'],
        ['edge', '5'],
      ],
    ],
    ['set-based: notin and !', 'ingestpipeline-lag', 'team notin (b),!missing', [['intake', '1234']]],
    ['no match: an empty list', 'ingestpipeline-lag', 'ingest.clinical.dev/pipeline=nope', []],
  ])('%s', (_l, metric, selector, expected) => {
    const { status, body } = get(`${BASE}/namespaces/ingest/${metric}?labelSelector=${encodeURIComponent(selector)}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'ExternalMetricValueList', apiVersion: 'external.metrics.k8s.io/v1beta1' });
    expect(body.items!.map((i) => [i.metricLabels['ingest.clinical.dev/pipeline'], i.value])).toEqual(expected);
    for (const i of body.items!) expect(i).toMatchObject({ metricName: metric, timestamp: '2026-01-01T00:00:00Z' });
  });

  it('namespaces are separate', () => {
    const { body } = get(`${BASE}/namespaces/other/ingestpipeline-desired-replicas?labelSelector=ingest.clinical.dev%2Fpipeline%3Dintake`);
    expect(body.items!.map((i) => i.value)).toEqual(['2']);
  });

  it.each([
    ['an unknown metric', `${BASE}/namespaces/ingest/cpu`, 'GET', 404],
    ['an unknown path', '/apis/metrics.k8s.io/v1beta1/pods', 'GET', 404],
    ['a bad selector', `${BASE}/namespaces/ingest/ingestpipeline-lag?labelSelector=%3D%3D%3D`, 'GET', 400],
    ['a write', `${BASE}/namespaces/ingest/ingestpipeline-lag`, 'POST', 405],
  ])('%s: a Status failure', (_l, url, method, code) => {
    const { status, body } = get(url, method);
    expect(status).toBe(code);
    expect(body).toMatchObject({ kind: 'Status', status: 'Failure', code });
  });

  it.each([
    [6, '6'],
    [0, '0'],
    [1.5, '1500m'],
    [-1, '0'],
    [Number.NaN, '0'],
  ])('quantity(%f) = %s', (v, q) => {
    expect(quantity(v)).toBe(q);
  });
});
