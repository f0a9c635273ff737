import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIRED_REPLICAS_METRIC, EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from '../../src/api/metrics.js';
import { GROUP, PLURAL, VERSION, type IngestPipeline } from '../../src/api/types.js';
import { PIPELINE_LABEL } from '../../src/builders/common.js';
import {
  connectCluster,
  connectKafka,
  createNamespace,
  createPipeline,
  deleteMetricsApiService,
  E2E_CONSUMER_SECRETS,
  eventually,
  EXTERNAL_METRICS_APISERVICE,
  installCrd,
  K8S_DIR,
  KAFKA_BROKERS,
  kubectl,
  operatorIdentity,
  startMetricsOperator,
  suffix,
  teardown,
  topicWithRecords,
  write,
  type Cluster,
  type OperatorIdentity,
  type OperatorProcess,
} from './harness.js';

// The whole loop on a real control plane: the operator serves `external.metrics.k8s.io` over TLS
// (client certificates from the apiserver's front proxy only), registered by its APIService
// through an ExternalName Service `localhost` (no kube-proxy here), and the real HPA controller
// of kube-controller-manager scales the consumer Deployment to the policy's decision.
//
// Only one APIService may own external.metrics.k8s.io/v1beta1: this file creates it and deletes
// it afterwards, and fails if another one exists.

const APISERVICE = EXTERNAL_METRICS_APISERVICE;
// Six partitions of 20 records, nothing consumed: with 10 rec/s per replica assumed and a 5 s
// freshness target every partition asks for 4 rec/s, so a consumer can carry two of them.
const RECORDS = [20, 20, 20, 20, 20, 20];
/** The pipeline's scale-down stabilization window (short, for the scale-down test). */
const STABILIZATION_S = 10;

let c: Cluster;
let kafka: Kafka;
let admin: Admin;
let ns: string;
let id: OperatorIdentity;
let operator: OperatorProcess | undefined;
let apiServiceCreated = false;
let topic: string;
const name = `hpa-${suffix()}`;

async function getPipeline(): Promise<IngestPipeline> {
  return (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as IngestPipeline;
}

async function withLog<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof Error) {
      const hpa = await c.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: `${name}-consumer`, namespace: ns }).catch(() => undefined);
      const svc = await kubectl(['get', 'apiservice', APISERVICE, '-o', 'jsonpath={.status.conditions}']).catch(() => '');
      e.message += `\n--- APIService conditions ---\n${svc}\n--- HPA status ---\n${JSON.stringify(hpa?.status ?? null)}`;
      if (operator) e.message += `\n--- operator log (${operator.logFile}) ---\n${operator.tail(20)}`;
    }
    throw e;
  }
}

beforeAll(async () => {
  c = await connectCluster();
  ({ kafka, admin } = await connectKafka());
  await installCrd(c);
  ns = await createNamespace(c, 'e2e-hpa');
  id = await operatorIdentity(c, ns, { hpaReader: true });
  operator = await startMetricsOperator(c, id);
  apiServiceCreated = true;
  topic = `operator-e2e-${name}`;
  await topicWithRecords(kafka, admin, topic, RECORDS);
});

afterAll(async () => {
  // First the APIService: an unavailable aggregated API stalls discovery (namespace deletion, GC).
  if (apiServiceCreated) await deleteMetricsApiService();
  await teardown({ operators: [operator], cluster: c, namespace: ns, identity: id, admin, topics: [topic] });
});

describe('the HPA on the operator’s external metric', () => {
  it('the APIService becomes Available through the ExternalName Service', async () => {
    await withLog(() =>
      eventually(
        'APIService Available',
        async () => (await kubectl(['get', 'apiservice', APISERVICE, '-o', "jsonpath={.status.conditions[?(@.type=='Available')].status}"])).trim() === 'True',
        60_000,
        1000,
      ),
    );
    const list = JSON.parse(await kubectl(['get', '--raw', `/apis/${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}`])) as {
      resources: { name: string }[];
    };
    expect(list.resources.map((r) => r.name)).toContain(DESIRED_REPLICAS_METRIC);
  });

  it('the kube-apiserver serves the policy’s decision as the external metric', async () => {
    await createPipeline(c, ns, name, {
      kafka: { bootstrapServers: KAFKA_BROKERS, topic, consumerGroup: `${topic}-group` },
      consumer: { image: 'clinical-ingest/consumer:e2e', secrets: E2E_CONSUMER_SECRETS },
      scaling: {
        minReplicas: 1,
        maxReplicas: 6,
        pollIntervalSeconds: 1,
        freshnessTargetSeconds: 5,
        policy: { initialRatePerReplica: 10, rebalanceHoldSeconds: 0, scaleDownStabilizationSeconds: STABILIZATION_S },
      },
    });
    const p = await withLog(() =>
      eventually(
        'a decision above one replica',
        async () => {
          const p = await getPipeline();
          return (p.status?.desiredReplicas ?? 0) > 1 ? p : undefined;
        },
        45_000,
      ),
    );
    const raw = await kubectl([
      'get',
      '--raw',
      `/apis/${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}/namespaces/${ns}/${DESIRED_REPLICAS_METRIC}?labelSelector=${encodeURIComponent(`${PIPELINE_LABEL}=${name}`)}`,
    ]);
    const list = JSON.parse(raw) as { items: { value: string; metricLabels: Record<string, string> }[] };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]!.metricLabels).toEqual({ [PIPELINE_LABEL]: name });
    expect(Number(list.items[0]!.value)).toBe(p.status?.metricValue ?? p.status?.desiredReplicas);
  });

  it('the real HPA controller scales the consumer Deployment to the decision', async () => {
    const hpa = await withLog(() =>
      eventually(
        'Deployment replicas = the decision',
        async () => {
          const p = await getPipeline();
          const hpa = await c.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: `${name}-consumer`, namespace: ns });
          const dep = await c.apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: ns });
          const want = Math.min(p.status?.metricValue ?? p.status?.desiredReplicas ?? 0, hpa.spec!.maxReplicas);
          return want > 1 && dep.spec?.replicas === want && hpa.status?.desiredReplicas === want ? hpa : undefined;
        },
        90_000,
        1000,
      ),
    );
    const cond = (t: string) => hpa.status?.conditions?.find((x) => x.type === t);
    expect(cond('AbleToScale')?.status).toBe('True');
    expect(cond('ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
    expect(hpa.status?.currentMetrics?.[0]?.external?.metric.name).toBe(DESIRED_REPLICAS_METRIC);
    const p = await getPipeline();
    write(
      `hpa.e2e: decision ${p.status?.desiredReplicas} (metric ${p.status?.metricValue}, lag ${p.status?.lag}); HPA ${hpa.status?.currentReplicas} → ${hpa.status?.desiredReplicas} of max ${hpa.spec?.maxReplicas}; ${JSON.stringify(hpa.status?.currentMetrics)}`,
    );
    // The operator sees the HPA's write on its next pass.
    await eventually('status.replicas = the HPA’s count', async () => (await getPipeline()).status?.replicas === hpa.status?.desiredReplicas, 30_000);
  });

  it('when the lag is consumed, the decision, the external metric and the Deployment go down after the stabilization window', async () => {
    const p0 = await getPipeline();
    const high = p0.status?.desiredReplicas ?? 0;
    expect(high).toBeGreaterThan(1);
    // Consume everything: commit the group's offsets at the log end (no consumer is running).
    // The commit is visible somewhere between the call and its return: time from the call.
    const ends = await admin.fetchTopicOffsets(topic);
    const committedAt = Date.now();
    await admin.setOffsets({ groupId: `${topic}-group`, topic, partitions: ends.map((o) => ({ partition: o.partition, offset: o.high })) });
    const metric = async () => {
      const raw = await kubectl([
        'get',
        '--raw',
        `/apis/${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}/namespaces/${ns}/${DESIRED_REPLICAS_METRIC}?labelSelector=${encodeURIComponent(`${PIPELINE_LABEL}=${name}`)}`,
      ]);
      return Number((JSON.parse(raw) as { items: { value: string }[] }).items[0]?.value);
    };
    await withLog(() => eventually('status.lag = 0', async () => (await getPipeline()).status?.lag === 0, 30_000));
    // The policy holds the count for the window of higher recommendations, then goes down to the minimum.
    const low = await withLog(() =>
      eventually(
        'a decision below the scaled-up count',
        async () => {
          const p = await getPipeline();
          return (p.status?.desiredReplicas ?? high) < high ? p : undefined;
        },
        (STABILIZATION_S + 30) * 1000,
        250,
      ),
    );
    const droppedAfter = (Date.now() - committedAt) / 1000;
    write(
      `hpa.e2e: lag consumed; decision ${high} → ${low.status?.desiredReplicas} after ${droppedAfter.toFixed(1)}s (stabilization ${STABILIZATION_S}s, reason ${low.status?.lastScaleReason})`,
    );
    // The last high recommendation came from a poll at most one poll interval (1 s) before the
    // commit was visible; the window holds the count at least that long after it.
    expect(droppedAfter).toBeGreaterThanOrEqual(STABILIZATION_S - 2);
    expect(low.status?.lastScaleReason).toMatch(/^ScaleDown/);
    expect(low.status?.desiredReplicas).toBe(1);
    await withLog(() => eventually('the external metric = 1', async () => (await metric()) === 1, 30_000, 500));
    await withLog(() =>
      eventually(
        'the HPA scales the Deployment down to 1',
        async () => (await c.apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: ns })).spec?.replicas === 1,
        60_000,
        1000,
      ),
    );
  });
});

describe('who may read the external metrics, and what a malformed request gets', () => {
  const path = () => `/apis/${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}/namespaces/${ns}/${DESIRED_REPLICAS_METRIC}`;
  const pki = join(K8S_DIR, 'pki');

  /** A request straight to the operator's port, with a client certificate and request headers. */
  const direct = (cert: { cert: Buffer; key: Buffer }, headers: Record<string, string>, url = path()) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: operator!.metricsPort, path: url, method: 'GET', ...cert, headers, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const frontProxy = () => ({ cert: readFileSync(join(pki, 'front-proxy-client.crt')), key: readFileSync(join(pki, 'front-proxy-client.key')) });
  const HPA = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

  it('through the kube-apiserver: a malformed metric name is answered 400, and the server keeps serving', () =>
    withLog(async () => {
      await expect(kubectl(['get', '--raw', `/apis/${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}/namespaces/${ns}/%E0%A4`])).rejects.toThrow(
        /400|BadRequest|malformed/i,
      );
      const again = JSON.parse(await kubectl(['get', '--raw', path()])) as { kind: string };
      expect(again.kind).toBe('ExternalMetricValueList');
      expect(operator!.child.exitCode).toBeNull();
    }));

  it('through the kube-apiserver: a user without the external-metrics reader role is refused', () =>
    withLog(async () => {
      await expect(kubectl(['--as', `system:serviceaccount:${ns}:nobody`, 'get', '--raw', path()])).rejects.toThrow(/forbidden|403/i);
    }));

  it('directly: the front proxy naming the HPA is served; naming a user without the role is refused by a SubjectAccessReview', () =>
    withLog(async () => {
      const ok = await direct(frontProxy(), { 'X-Remote-User': HPA, 'X-Remote-Group': 'system:serviceaccounts' });
      expect(ok.status, ok.body).toBe(200);
      const nobody = await direct(frontProxy(), { 'X-Remote-User': `system:serviceaccount:${ns}:nobody`, 'X-Remote-Group': 'system:serviceaccounts' });
      expect(nobody.status, nobody.body).toBe(403);
      const anonymous = await direct(frontProxy(), {});
      expect(anonymous.status).toBe(401);
    }));

  it('directly: a certificate the front-proxy CA signed for another name is refused, whatever user it names', () =>
    withLog(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'intruder-'));
      execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=intruder', '-keyout', join(dir, 'k'), '-out', join(dir, 'csr')], {
        stdio: 'ignore',
      });
      execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          join(dir, 'csr'),
          '-CA',
          join(pki, 'front-proxy-ca.crt'),
          '-CAkey',
          join(pki, 'front-proxy-ca.key'),
          '-CAcreateserial',
          '-CAserial',
          join(dir, 'srl'),
          '-days',
          '1',
          '-out',
          join(dir, 'crt'),
        ],
        { stdio: 'ignore' },
      );
      const r = await direct({ cert: readFileSync(join(dir, 'crt')), key: readFileSync(join(dir, 'k')) }, { 'X-Remote-User': HPA });
      expect(r.status, r.body).toBe(403);
    }));
});
