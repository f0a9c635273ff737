import type { V1Deployment, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, VERSION, type IngestPipeline } from '../../src/api/types.js';
import { consumerName } from '../../src/builders/common.js';
import { usefulCap } from '../../src/policy/counts.js';
import {
  connectCluster,
  connectKafka,
  createNamespace,
  eventually,
  installCrd,
  isNotFound,
  KAFKA_BROKERS,
  kubectl,
  operatorIdentity,
  produce,
  startOperator,
  suffix,
  teardown,
  withOperatorLog,
  topicWithRecords,
  type Cluster,
  type OperatorIdentity,
  type OperatorProcess,
} from './harness.js';

// The operator against a real kube-apiserver + kube-controller-manager (`make k8s-up`) and the
// local Kafka (`make up`), as a local process under its own least-privilege ServiceAccount.

let c: Cluster;
let kafka: Kafka;
let admin: Admin;
let ns: string;
let id: OperatorIdentity;
let operator: OperatorProcess | undefined;
const topics: string[] = [];

const RECORDS = [7, 0, 3, 5, 1, 4]; // per partition: a known lag, no consumer

function pipeline(name: string, topic: string, scaling: Record<string, unknown> = {}): IngestPipeline {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: ns },
    spec: {
      kafka: { bootstrapServers: KAFKA_BROKERS, topic, consumerGroup: `${topic}-group` },
      consumer: {
        image: 'clinical-ingest/consumer:e2e',
        secrets: { identityHmacSecret: { name: 'ingest-identity', key: 'hmac-secret' }, databaseUrl: { name: 'pg-ingest-app', key: 'url' } },
      },
      scaling: { minReplicas: 1, maxReplicas: 6, pollIntervalSeconds: 1, ...scaling },
    },
  };
}

async function getPipeline(name: string): Promise<IngestPipeline> {
  return (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as IngestPipeline;
}

async function createPipeline(p: IngestPipeline): Promise<IngestPipeline> {
  return (await c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: p })) as IngestPipeline;
}

const readDeployment = (name: string) => c.apps.readNamespacedDeployment({ name, namespace: ns });
const readHpa = (name: string) => c.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace: ns });
const condition = (p: IngestPipeline, type: string) => p.status?.conditions?.find((x) => x.type === type);

/** Runs `body`; on failure appends the operator's recent log to the error. */
const withLog = <T>(body: () => Promise<T>): Promise<T> => withOperatorLog(operator, body);

beforeAll(async () => {
  c = await connectCluster();
  ({ kafka, admin } = await connectKafka());
  await installCrd(c);
  ns = await createNamespace(c, 'e2e-operator');
  id = await operatorIdentity(c, ns);
  operator = await startOperator(id);
});

afterAll(() => teardown({ operators: [operator], cluster: c, namespace: ns, identity: id, admin, topics }));

describe('the IngestPipeline CRD on a real apiserver', () => {
  it('is accepted and Established, with the schema, status subresource and printer columns', async () => {
    const crd = await c.ext.readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.status?.acceptedNames?.kind).toBe(KIND);
    const v = crd.spec.versions.find((x) => x.name === VERSION)!;
    expect(v.subresources?.status).toBeDefined();
    expect(v.additionalPrinterColumns?.map((x) => x.name)).toEqual(['Lag', 'Lag-s', 'Replicas', 'Desired', 'Ready', 'Healthy', 'Partitions', 'Reason', 'Age']);
    // The apiserver's CEL rules reject what the schema forbids.
    const bad = pipeline('invalid', 'nothing', { minReplicas: 3, maxReplicas: 2 });
    await expect(createPipeline(bad)).rejects.toMatchObject({ code: 422 });
    const zero = pipeline('invalid', 'nothing', { minReplicas: 0 });
    await expect(createPipeline(zero)).rejects.toThrow(/minReplicas 0 needs policy.scaleToZero/);
  });

  it('applies the schema defaults', async () => {
    const p = await c.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: pipeline('defaults', 'nothing'),
      dryRun: 'All',
    });
    const spec = (p as IngestPipeline).spec;
    expect(spec.consumer.metricsPort).toBe(9464);
    expect(spec.scaling.freshnessTargetSeconds).toBe(5);
    expect(spec.scaling.policy?.evenSpread).toBe(true);
  });
});

describe('the operator reconciling a pipeline', () => {
  const name = `lag-${suffix()}`;
  const topic = `operator-e2e-${name}`;
  let total = 0;
  let uid = '';

  beforeAll(async () => {
    topics.push(topic);
    total = await topicWithRecords(kafka, admin, topic, RECORDS);
    const created = await createPipeline(pipeline(name, topic));
    uid = created.metadata.uid!;
  });

  it('creates the consumer Deployment and HPA, owned by the pipeline', async () => {
    await withLog(async () => {
      const dep = await eventually(`Deployment ${consumerName({ metadata: { name } } as IngestPipeline)}`, () => readDeployment(`${name}-consumer`), 30_000);
      const hpa = await eventually('HPA', () => readHpa(`${name}-consumer`), 30_000);
      for (const o of [dep, hpa] as (V1Deployment | V2HorizontalPodAutoscaler)[]) {
        expect(o.metadata?.ownerReferences).toEqual([
          expect.objectContaining({ apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true }),
        ]);
        expect(o.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('ingest-operator');
        expect(o.metadata?.managedFields?.some((m) => m.manager === 'ingest-operator' && m.operation === 'Apply')).toBe(true);
      }
      expect(dep.spec?.template.spec?.containers[0]?.image).toBe('clinical-ingest/consumer:e2e');
      expect(hpa.spec?.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: `${name}-consumer` });
      expect(hpa.spec?.metrics?.[0]?.external?.metric.name).toBe('ingestpipeline-desired-replicas');
    });
  });

  it("reports the topic's real lag per partition in status, with conditions", async () => {
    const p = await withLog(() =>
      eventually(
        `status.lag = ${total}`,
        async () => {
          const p = await getPipeline(name);
          return p.status?.lag === total && p.status.partitions === RECORDS.length ? p : undefined;
        },
        45_000,
      ),
    );
    const s = p.status!;
    expect(s.observedGeneration).toBe(p.metadata.generation);
    expect(s.partitionLag?.map((x) => [x.partition, x.lag])).toEqual(RECORDS.map((n, i) => [i, n]));
    expect(s.selector).toBe(`app.kubernetes.io/name=intake-consumer,app.kubernetes.io/instance=${name},ingest.clinical.dev/pipeline=${name}`);
    expect(s.desiredReplicas).toBeGreaterThanOrEqual(1);
    expect(s.desiredReplicas).toBeLessThanOrEqual(RECORDS.length);
    expect(s.replicas).toBe(1);
    // No kubelet here: the consumer pods never become ready.
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'ConsumersNotReady', observedGeneration: p.metadata.generation });
    expect(condition(p, 'Degraded')?.status).toBeDefined();
    expect(condition(p, 'Degraded')?.reason).not.toMatch(/LagUnavailable|ApplyFailed|InvalidSpec/);
    expect(condition(p, 'Progressing')).toBeDefined();
    // The HPA's cap is the policy's useful cap for the partition count.
    const hpa = await readHpa(`${name}-consumer`);
    expect(hpa.spec?.maxReplicas).toBe(usefulCap(RECORDS.length, 6, true));
  });

  it('kubectl get ingestpipelines shows the printer columns', async () => {
    const out = await kubectl(['get', 'ingestpipelines', '-n', ns, name]);
    const [header, row] = out.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'LAG', 'LAG-S', 'REPLICAS', 'DESIRED', 'READY', 'AGE']);
    const cells = row!.split(/\s+/);
    expect(cells[0]).toBe(name);
    expect(cells[1]).toBe(String(total));
    const wide = await kubectl(['get', 'ingp', '-n', ns, name, '-o', 'wide']);
    expect(wide.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'LAG', 'LAG-S', 'REPLICAS', 'DESIRED', 'READY', 'HEALTHY', 'PARTITIONS', 'REASON', 'AGE']);
    expect(wide.split('\n')[1]).toContain(`${RECORDS.length}`);
    // The category lists it too.
    expect(await kubectl(['get', 'clinical-ingest', '-n', ns, '-o', 'name'])).toContain(`ingestpipeline.${GROUP}/${name}`);
  });

  it('follows the lag as records arrive (requeued on its poll timer, no events)', async () => {
    const more = [0, 10, 0, 0, 0, 2];
    await produce(kafka, topic, more);
    const expected = total + 12;
    const p = await withLog(() =>
      eventually(`status.lag = ${expected}`, async () => ((await getPipeline(name)).status?.lag === expected ? getPipeline(name) : undefined), 30_000),
    );
    expect(p.status?.partitionLag?.find((x) => x.partition === 1)?.lag).toBe(10);
    total = expected;
  });

  it('converges when the spec changes', async () => {
    const patch = {
      spec: { consumer: { image: 'clinical-ingest/consumer:e2e-2', env: [{ name: 'E2E_MARKER', value: 'converged' }] }, scaling: { maxReplicas: 4 } },
    };
    await kubectl(['patch', 'ingestpipeline', name, '-n', ns, '--type=merge', '-p', JSON.stringify(patch)]);
    const generation = (await getPipeline(name)).metadata.generation!;
    expect(generation).toBeGreaterThan(1);
    await withLog(async () => {
      const dep = await eventually(
        'Deployment image updated',
        async () => {
          const d = await readDeployment(`${name}-consumer`);
          return d.spec?.template.spec?.containers[0]?.image === 'clinical-ingest/consumer:e2e-2' ? d : undefined;
        },
        30_000,
      );
      expect(dep.spec?.template.spec?.containers[0]?.env).toEqual(expect.arrayContaining([{ name: 'E2E_MARKER', value: 'converged' }]));
      await eventually(
        'HPA maxReplicas updated',
        async () => (await readHpa(`${name}-consumer`)).spec?.maxReplicas === usefulCap(RECORDS.length, 4, true),
        30_000,
      );
      await eventually('status.observedGeneration', async () => (await getPipeline(name)).status?.observedGeneration === generation, 30_000);
    });
  });

  it('restores a child edited behind its back (server-side apply, forced)', async () => {
    await kubectl(['-n', ns, 'set', 'image', `deployment/${name}-consumer`, 'consumer=somebody/else:1']);
    await withLog(() =>
      eventually(
        'Deployment image restored',
        async () => (await readDeployment(`${name}-consumer`)).spec?.template.spec?.containers[0]?.image === 'clinical-ingest/consumer:e2e-2',
        30_000,
      ),
    );
  });

  it('holds the leader-election Lease in its namespace', async () => {
    const out = await kubectl(['get', 'lease', 'ingest-operator-leader', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}']);
    expect(out).toMatch(/^ingest-operator-e2e-/);
  });

  it('when the pipeline is deleted, the garbage collector removes its Deployment and HPA', async () => {
    await c.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name });
    await withLog(async () => {
      await eventually(
        'Deployment deleted',
        async () =>
          readDeployment(`${name}-consumer`).then(
            () => false,
            (e: unknown) => isNotFound(e),
          ),
        60_000,
      );
      await eventually(
        'HPA deleted',
        async () =>
          readHpa(`${name}-consumer`).then(
            () => false,
            (e: unknown) => isNotFound(e),
          ),
        60_000,
      );
      await eventually(
        'pipeline deleted',
        async () =>
          getPipeline(name).then(
            () => false,
            (e: unknown) => isNotFound(e),
          ),
        30_000,
      );
    });
  });
});

describe('the operator when Kafka has no such topic', () => {
  it('reports Degraded LagUnavailable and still applies the children', async () => {
    const name = `missing-${suffix()}`;
    await createPipeline(pipeline(name, `operator-e2e-missing-${suffix()}`));
    const p = await withLog(() =>
      eventually(
        'Degraded LagUnavailable',
        async () => {
          const p = await getPipeline(name);
          return condition(p, 'Degraded')?.reason === 'LagUnavailable' ? p : undefined;
        },
        45_000,
      ),
    );
    expect(condition(p, 'Degraded')?.status).toBe('True');
    expect(condition(p, 'Degraded')?.message).toMatch(/cannot read offsets/);
    await readDeployment(`${name}-consumer`);
    await readHpa(`${name}-consumer`);
  });
});

describe("the operator's identity", () => {
  it('is least privilege: it may not delete, read secrets, or act outside its namespace', async () => {
    const as = `system:serviceaccount:${ns}:${id.serviceAccount}`;
    // `kubectl auth can-i` exits 1 when the answer is no.
    const can = async (...args: string[]) =>
      (await kubectl(['auth', 'can-i', ...args, '--as', as]).catch((e: Error) => (/\bno\b/.test(e.message) ? 'no' : e.message))).trim();
    expect(await can('patch', 'deployments', '-n', ns)).toBe('yes');
    expect(await can('delete', 'deployments', '-n', ns)).toMatch(/no/);
    expect(await can('get', 'secrets', '-n', ns)).toMatch(/no/);
    expect(await can('list', 'deployments', '-n', 'default')).toMatch(/no/);
    expect(await can('create', 'clusterroles')).toMatch(/no/);
  });

  it('never hit a 403 while reconciling', () => {
    const log = operator?.tail(100_000) ?? '';
    expect(log).not.toMatch(/"code":403|forbidden/i);
  });
});

describe('the operator process', () => {
  it('shuts down cleanly on SIGTERM (exit 0, lease released)', async () => {
    const code = await operator!.stop();
    expect(code, operator!.tail(10)).toBe(0);
    // Only what follows the signal: a watch restarted earlier (a fresh apiserver answers 429 while
    // its storage initializes) is the informer doing its job, not a shutdown fault.
    const log = operator!.tail(200);
    const afterSignal = log.slice(Math.max(0, log.indexOf('"msg":"shutting down"')));
    expect(afterSignal).toContain('shutting down');
    expect(afterSignal).not.toMatch(/shutdown timed out|watch failed; restarting/);
    const holder = await kubectl(['get', 'lease', 'ingest-operator-leader', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}']);
    expect(holder).toBe('');
  });
});
