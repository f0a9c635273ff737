import { describe, expect, it } from 'vitest';
import { DESIRED_REPLICAS_METRIC } from '../api/metrics.js';
import { samplePipeline } from '../testing/fixtures.js';
import { buildConsumerHpa } from './hpa.js';

const base = samplePipeline();

describe('buildConsumerHpa', () => {
  it('targets the consumer Deployment, owned by the pipeline', () => {
    const h = buildConsumerHpa(base);
    expect(h.metadata).toMatchObject({ name: 'intake-consumer', namespace: 'ingest' });
    expect(h.metadata!.ownerReferences![0]).toMatchObject({ kind: 'IngestPipeline', name: 'intake', controller: true });
    expect(h.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'intake-consumer' });
  });

  it('scales on the desired-replicas External metric with AverageValue 1 (lands on the decision)', () => {
    const m = buildConsumerHpa(base).spec!.metrics!;
    expect(m).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: DESIRED_REPLICAS_METRIC, selector: { matchLabels: { 'ingest.clinical.dev/pipeline': 'intake' } } },
          target: { type: 'AverageValue', averageValue: '1' },
        },
      },
    ]);
  });

  it.each([
    ['spec bounds', { minReplicas: 2, maxReplicas: 12 }, undefined, 2, 12],
    ['partitions cap the maximum', { minReplicas: 1, maxReplicas: 12 }, 6, 1, 6],
    ['more partitions than maximum', { minReplicas: 1, maxReplicas: 4 }, 24, 1, 4],
    ['even spread: the top even count under the maximum', { minReplicas: 1, maxReplicas: 10 }, 12, 1, 6],
    ['no even spread: the maximum', { minReplicas: 1, maxReplicas: 10, policy: { evenSpread: false } }, 12, 1, 10],
    ['scale to zero keeps the HPA at 1 or more', { minReplicas: 0, maxReplicas: 4, policy: { scaleToZero: true } }, undefined, 1, 4],
    ['minimum above the partition cap is cut', { minReplicas: 8, maxReplicas: 12 }, 6, 6, 6],
    ['default minimum', { maxReplicas: 3 }, undefined, 1, 3],
  ])('%s', (_l, scaling, partitions, min, max) => {
    const h = buildConsumerHpa(samplePipeline({ scaling }), partitions === undefined ? {} : { partitions });
    expect([h.spec!.minReplicas, h.spec!.maxReplicas]).toEqual([min, max]);
  });

  it('behaviour neither delays nor fights the policy', () => {
    const b = buildConsumerHpa(base, { partitions: 12 }).spec!.behavior!;
    expect(b.scaleUp!.stabilizationWindowSeconds).toBe(0);
    expect(b.scaleDown!.stabilizationWindowSeconds).toBe(0);
    // one period may reach any count: +1000 % or +max pods up, −100 % down
    expect(b.scaleUp!.policies).toContainEqual({ type: 'Pods', value: 12, periodSeconds: 15 });
    expect(b.scaleDown!.policies).toEqual([{ type: 'Percent', value: 100, periodSeconds: 15 }]);
    expect([b.scaleUp!.tolerance, b.scaleDown!.tolerance]).toEqual(['0', '0']);
  });

  it('tolerance can be left to the cluster', () => {
    const b = buildConsumerHpa(base, { zeroTolerance: false }).spec!.behavior!;
    expect(b.scaleUp!.tolerance).toBeUndefined();
    expect(b.scaleDown!.tolerance).toBeUndefined();
  });
});
