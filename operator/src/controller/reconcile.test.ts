import { createLogger } from '@clinical-ingest/intake-core';
import type { V1Deployment, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { beforeEach, describe, expect, it } from 'vitest';
import type { IngestPipeline } from '../api/types.js';
import { FakeClock, FakeKube, FakeLag } from '../testing/fakes.js';
import { samplePipeline } from '../testing/fixtures.js';
import { Reconciler } from './reconcile.js';

const log = createLogger('test', { level: 'silent' });
const KEY = 'ingest/intake';

let kube: FakeKube;
let lag: FakeLag;
let clock: FakeClock;
let r: Reconciler;

function pipeline(): IngestPipeline {
  return kube.find<IngestPipeline>('IngestPipeline', 'ingest', 'intake')!;
}
const deployment = () => kube.find<V1Deployment>('Deployment', 'ingest', 'intake-consumer');
const hpa = () => kube.find<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'ingest', 'intake-consumer');
const condition = (type: string) => pipeline().status?.conditions?.find((c) => c.type === type);

/** One poll: time passes, the world settles, the key is reconciled. */
async function pass(ms = 10_000) {
  clock.advance(ms);
  kube.settle('ingest', 'intake-consumer');
  return r.reconcile(KEY);
}

beforeEach(() => {
  kube = new FakeKube();
  lag = new FakeLag();
  clock = new FakeClock();
  r = new Reconciler({ kube, lag, clock, log });
  kube.put(samplePipeline() as never);
  lag.set(6, 0);
});

describe('reconcile: create', () => {
  it('creates the Deployment and the HPA, owned by the pipeline, and writes status', async () => {
    const res = await r.reconcile(KEY);
    expect(res.error).toBeUndefined();
    expect(res.requeueAfterMs).toBe(10_000);
    expect(deployment()!.metadata!.ownerReferences![0]).toMatchObject({ kind: 'IngestPipeline', name: 'intake', controller: true });
    expect(hpa()!.spec!.scaleTargetRef.name).toBe('intake-consumer');
    expect(hpa()!.spec!.maxReplicas).toBe(6); // 6 partitions cap the spec's 12
    expect(res.statusWritten).toBe(true);
    const s = pipeline().status!;
    expect(s).toMatchObject({ observedGeneration: 1, partitions: 6, lag: 0, desiredReplicas: 1, metricValue: 1 });
    expect(s.selector).toContain('ingest.clinical.dev/pipeline=intake');
  });

  it('reports Ready once the consumers are ready', async () => {
    await r.reconcile(KEY);
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'ConsumersNotReady' });
    await pass();
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'Consuming', observedGeneration: 1 });
    expect(condition('Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(condition('Progressing')).toMatchObject({ status: 'False', reason: 'Stable' });
  });
});

describe('reconcile: status only on change', () => {
  it('an unchanged world writes no status', async () => {
    await r.reconcile(KEY);
    await pass();
    const writes = kube.count('patchStatus');
    for (let i = 0; i < 5; i++) expect((await pass()).statusWritten).toBe(false);
    expect(kube.count('patchStatus')).toBe(writes);
  });

  it('a change of lag is a change of status', async () => {
    await r.reconcile(KEY);
    await pass();
    await pass();
    lag.set(6, 40);
    const res = await pass();
    expect(res.statusWritten).toBe(true);
    expect(pipeline().status!.lag).toBe(240);
    expect(pipeline().status!.partitionLag![0]).toEqual({ partition: 0, lag: 40 });
  });

  it('conditions keep their transition time while they hold', async () => {
    await r.reconcile(KEY);
    await pass();
    const t = condition('Ready')!.lastTransitionTime;
    lag.set(6, 10);
    await pass(60_000);
    expect(condition('Ready')!.lastTransitionTime).toBe(t);
  });
});

describe('reconcile: converge on spec change', () => {
  it('a new image rolls the Deployment and moves observedGeneration', async () => {
    await r.reconcile(KEY);
    await pass();
    const p = pipeline();
    kube.put({ ...p, metadata: { ...p.metadata, generation: 2 }, spec: { ...p.spec, consumer: { ...p.spec.consumer, image: 'consumer:0.2.0' } } } as never);
    const res = await pass();
    expect(res.statusWritten).toBe(true);
    expect(deployment()!.spec!.template.spec!.containers[0]!.image).toBe('consumer:0.2.0');
    expect(pipeline().status!.observedGeneration).toBe(2);
    expect(condition('Ready')!.observedGeneration).toBe(2);
  });

  it('a new maxReplicas reaches the HPA', async () => {
    await r.reconcile(KEY);
    const p = pipeline();
    kube.put({ ...p, metadata: { ...p.metadata, generation: 2 }, spec: { ...p.spec, scaling: { ...p.spec.scaling, maxReplicas: 3 } } } as never);
    await pass();
    expect(hpa()!.spec!.maxReplicas).toBe(3);
  });

  it('applies the children on every pass (server-side apply is idempotent) without changing them', async () => {
    await r.reconcile(KEY);
    const before = deployment()!.metadata!.generation;
    await pass();
    await pass();
    expect(deployment()!.metadata!.generation).toBe(before);
    expect(kube.count('apply')).toBe(6);
  });

  it('never writes the replica count of a running Deployment (the HPA owns it)', async () => {
    await r.reconcile(KEY);
    kube.settle('ingest', 'intake-consumer', 4);
    await pass(0);
    expect(deployment()!.spec!.replicas).toBe(4);
    expect(kube.count('scale')).toBe(0);
  });
});

describe('reconcile: the decision reaches status and the metric value', () => {
  it('scales up on lag; the metric value is the decision', async () => {
    await r.reconcile(KEY);
    await pass();
    await pass(30_000); // the first consumer joined: the group holds through that rebalance
    lag.set(6, 50_000, 2000);
    await pass();
    lag.set(6, 60_000, 20_000);
    const res = await pass();
    expect(res.decision!.replicas).toBe(6);
    expect(pipeline().status).toMatchObject({ desiredReplicas: 6, metricValue: 6 });
    expect(pipeline().status!.lastScaleReason).toMatch(/^ScaleUp/);
    expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'Scaling' });
  });

  it('without HPA tolerance support the policy clears the 10 % band and says so', async () => {
    kube.dropHpaTolerance = true;
    await r.reconcile(KEY);
    await pass();
    expect(condition('Degraded')!.message).toMatch(/tolerance/);
  });
});

describe('reconcile: failures', () => {
  it('Kafka unreachable: Degraded LagUnavailable, last lag kept, the children still applied', async () => {
    lag.set(6, 7);
    await r.reconcile(KEY);
    await pass();
    lag.error = new Error('connect ECONNREFUSED');
    const res = await pass();
    expect(res.error).toBeUndefined();
    expect(condition('Degraded')).toMatchObject({ status: 'True', reason: 'LagUnavailable' });
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'LagUnavailable' });
    expect(pipeline().status!.lag).toBe(42);
    expect(pipeline().status!.desiredReplicas).toBe(1);
  });

  it('apply fails: Degraded ApplyFailed and a retriable error for the queue', async () => {
    kube.failApply = new Error('conflict');
    const res = await r.reconcile(KEY);
    expect(res.error?.message).toBe('conflict');
    expect(condition('Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
  });

  it('invalid spec: no children, Degraded InvalidSpec', async () => {
    const p = pipeline();
    kube.put({ ...p, spec: { ...p.spec, scaling: { minReplicas: 5, maxReplicas: 2 } } } as never);
    await r.reconcile(KEY);
    expect(deployment()).toBeUndefined();
    expect(condition('Degraded')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition('Degraded')!.message).toMatch(/minReplicas must not exceed maxReplicas/);
  });

  it('deleted pipeline: nothing applied, nothing written', async () => {
    kube.objects.clear();
    const res = await r.reconcile(KEY);
    expect(res.statusWritten).toBe(false);
    expect(kube.count('apply')).toBe(0);
  });
});

describe('reconcile: scale to zero', () => {
  it('goes to zero when idle and back to one on lag, through the scale subresource', async () => {
    const p = pipeline();
    kube.put({
      ...p,
      spec: { ...p.spec, scaling: { minReplicas: 0, maxReplicas: 6, policy: { scaleToZero: true, idleSecondsBeforeZero: 60, activationLag: 10 } } },
    } as never);
    await r.reconcile(KEY);
    for (let i = 0; i < 10; i++) await pass();
    expect(deployment()!.spec!.replicas).toBe(0);
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
    lag.set(6, 5, 30);
    await pass();
    expect(deployment()!.spec!.replicas).toBe(1);
    expect(kube.count('scale')).toBe(2);
  });
});
