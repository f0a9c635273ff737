import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type IngestPipeline } from '../../src/api/types.js';
import {
  connectCluster,
  connectKafka,
  createNamespace,
  createPipeline,
  E2E_CONSUMER_SECRETS,
  eventually,
  KAFKA_BROKERS,
  kubectl,
  metricSum,
  operatorIdentity,
  operatorMetrics,
  sleep,
  startOperator,
  suffix,
  teardown,
  topicWithRecords,
  write,
  type Cluster,
  type OperatorIdentity,
  type OperatorProcess,
} from './harness.js';

// Leader election with two operator processes on one Lease against the real apiserver: exactly
// one reconciles; SIGKILL of the leader (no release) hands the Lease to the follower once it has
// expired, and the new leader converges a spec change made after the kill.

const LEASE = 'ingest-operator-leader';
const LEASE_S = 6;
const RETRY_S = 1;
const RECORDS = [5, 3, 0, 2];

let c: Cluster;
let kafka: Kafka;
let admin: Admin;
let ns: string;
let id: OperatorIdentity;
let a: OperatorProcess | undefined;
let b: OperatorProcess | undefined;
let topic: string;
const name = `le-${suffix()}`;

const env = { LEASE_DURATION_SECONDS: String(LEASE_S), RENEW_DEADLINE_SECONDS: '4', RETRY_PERIOD_SECONDS: String(RETRY_S) };

async function lease(): Promise<{ holder: string; transitions: number }> {
  const out = JSON.parse(await kubectl(['get', 'lease', LEASE, '-n', ns, '-o', 'json'])) as { spec?: { holderIdentity?: string; leaseTransitions?: number } };
  return { holder: out.spec?.holderIdentity ?? '', transitions: out.spec?.leaseTransitions ?? 0 };
}

async function getPipeline(): Promise<IngestPipeline> {
  return (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as IngestPipeline;
}

async function withLogs<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof Error) for (const op of [a, b]) if (op) e.message += `\n--- ${op.identity} (${op.logFile}) ---\n${op.tail(15)}`;
    throw e;
  }
}

/** What a replica has done as leader: reconciles, status writes, its leader gauge. */
async function activity(op: OperatorProcess): Promise<{ reconciles: number; statusWrites: number; leader: number }> {
  const m = await operatorMetrics(op);
  return {
    reconciles: metricSum(m, 'ingest_operator_reconcile_total'),
    statusWrites: metricSum(m, 'ingest_operator_status_writes_total'),
    leader: metricSum(m, 'ingest_operator_leader'),
  };
}

let leader: OperatorProcess;
let follower: OperatorProcess;

beforeAll(async () => {
  c = await connectCluster();
  ({ kafka, admin } = await connectKafka());
  ns = await createNamespace(c, 'e2e-leader');
  id = await operatorIdentity(c, ns);
  topic = `operator-e2e-${name}`;
  await topicWithRecords(kafka, admin, topic, RECORDS);
  // Both at once, on the same Lease.
  [a, b] = await Promise.all([startOperator(id, { name: `a-${suffix()}`, env }), startOperator(id, { name: `b-${suffix()}`, env })]);
});

afterAll(() => teardown({ operators: [a, b], cluster: c, namespace: ns, identity: id, admin, topics: [topic] }));

describe('two operator replicas on one Lease', () => {
  it('exactly one leads; only the leader reconciles', async () => {
    await withLogs(async () => {
      const l = await eventually(
        'a Lease holder',
        async () => {
          const l = await lease();
          return l.holder !== '' ? l : undefined;
        },
        30_000,
      );
      expect([a!.identity, b!.identity]).toContain(l.holder);
      leader = l.holder === a!.identity ? a! : b!;
      follower = leader === a ? b! : a!;
      await createPipeline(c, ns, name, {
        kafka: { bootstrapServers: KAFKA_BROKERS, topic, consumerGroup: `${topic}-group` },
        consumer: { image: 'clinical-ingest/consumer:e2e', secrets: E2E_CONSUMER_SECRETS },
        scaling: { minReplicas: 1, maxReplicas: 4, pollIntervalSeconds: 1 },
      });
      await eventually('status.lag', async () => (await getPipeline()).status?.lag === 10, 45_000);
      await c.apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: ns });
      // A few more polls: the follower still does nothing.
      await sleep(3000);
      const [la, fa] = await Promise.all([activity(leader), activity(follower)]);
      expect(la.leader).toBe(1);
      expect(la.reconciles).toBeGreaterThan(0);
      expect(la.statusWrites).toBeGreaterThan(0);
      expect(fa).toEqual({ reconciles: 0, statusWrites: 0, leader: 0 });
      expect(follower.tail(100_000)).not.toMatch(/started leading|"pipeline":/);
      expect((await lease()).holder).toBe(leader.identity);
    });
  });

  it('SIGKILL of the leader: the follower takes over once the lease expires and converges a later spec change', async () => {
    await withLogs(async () => {
      const before = await lease();
      await leader.kill();
      const killedAt = Date.now();
      const patch = { spec: { consumer: { image: 'clinical-ingest/consumer:e2e-after-kill' }, scaling: { maxReplicas: 3 } } };
      await kubectl(['patch', 'ingestpipeline', name, '-n', ns, '--type=merge', '-p', JSON.stringify(patch)]);
      const generation = (await getPipeline()).metadata.generation!;
      await eventually('the follower leads', async () => (await activity(follower)).leader === 1, (LEASE_S + RETRY_S + 5) * 1000, 100);
      const tookOver = (Date.now() - killedAt) / 1000;
      write(`leader.e2e: ${follower.identity} took over ${tookOver.toFixed(1)}s after SIGKILL of ${leader.identity} (lease ${LEASE_S}s, retry ${RETRY_S}s)`);
      // Not before the lease could have expired (the killed leader renewed at most one retry
      // period before the kill), and within the lease duration plus one round.
      expect(tookOver).toBeGreaterThanOrEqual(LEASE_S - 2 * RETRY_S);
      expect(tookOver).toBeLessThanOrEqual(LEASE_S + RETRY_S + 1.5);
      const after = await lease();
      expect(after.holder).toBe(follower.identity);
      expect(after.transitions).toBe(before.transitions + 1);
      await eventually(
        'the spec change converged by the new leader',
        async () => {
          const d = await c.apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: ns });
          const hpa = await c.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: `${name}-consumer`, namespace: ns });
          const p = await getPipeline();
          return (
            d.spec?.template.spec?.containers[0]?.image === 'clinical-ingest/consumer:e2e-after-kill' &&
            hpa.spec?.maxReplicas !== undefined &&
            hpa.spec.maxReplicas <= 3 &&
            p.status?.observedGeneration === generation
          );
        },
        30_000,
      );
      const fa = await activity(follower);
      expect(fa.reconciles).toBeGreaterThan(0);
      expect(follower.tail(100_000)).toMatch(/started leading/);
    });
  });
});
