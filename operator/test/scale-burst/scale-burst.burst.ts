import type { V1Pod } from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEFAULTS, localDatabaseUrl } from '@clinical-ingest/intake-core';
import { GROUP, PLURAL, VERSION, type IngestPipeline } from '../../src/api/types.js';
import {
  connectCluster,
  connectKafka,
  createNamespace,
  createPipeline,
  deleteMetricsApiService,
  E2E_CONSUMER_SECRETS,
  eventually,
  freePort,
  installCrd,
  KAFKA_BROKERS,
  LOCAL,
  operatorIdentity,
  REPO_ROOT,
  sleep,
  startMetricsOperator,
  suffix,
  teardown,
  write,
  type Cluster,
  type OperatorIdentity,
  type OperatorProcess,
} from '../e2e/harness.js';
import { plotTrace, type TraceRow } from './plot.js';

// `make scale-burst`: the whole loop with real consumers. kube-scheduler places
// the consumer Deployment's pods on kwok's simulated nodes, kwok marks them Ready, and for each
// Ready pod this harness runs one real consumer process (`node consumer/dist/main.js`) in the
// pipeline's group; it stops the process when the pod goes away. The operator (a local process,
// external metrics API + the real HPA, as in hpa.e2e.ts) sizes the Deployment on the lag of a
// loadgen burst. The trace lands in reports/scale-burst/ (trace.csv, trace.svg, summary.json).
//
// Needs `make up`, `make k8s-up` and `platform/k8s-testenv/testenv.sh nodes-up` (make scale-burst does all).

const PARTITIONS = 6;
const MAX_REPLICAS = Number(process.env['BURST_MAX_REPLICAS'] ?? 3);
const BURST_COUNT = Number(process.env['BURST_COUNT'] ?? 120_000);
const BURST_RATE = Number(process.env['BURST_RATE'] ?? 8000);
// Policy knobs for a short demo (the defaults hold a scale-down for 120 s and a rebalance for 30 s).
const POLICY = {
  initialRatePerReplica: Number(process.env['BURST_INITIAL_RATE'] ?? 1000),
  rebalanceHoldSeconds: 10,
  scaleDownStabilizationSeconds: Number(process.env['BURST_STABILIZATION_S'] ?? 20),
  trendWindowSeconds: 10,
  stuckPartitionSeconds: 60,
};
const POLL_S = 2;
const FRESHNESS_S = 5;
const OUT = join(REPO_ROOT, 'reports', 'scale-burst');
const CONSUMER_MAIN = join(REPO_ROOT, 'consumer', 'dist', 'main.js');
const LOADGEN_CLI = join(REPO_ROOT, 'loadgen', 'dist', 'cli.js');

let c: Cluster;
let admin: Admin;
let ns: string;
let id: OperatorIdentity;
let operator: OperatorProcess | undefined;
let apiServiceCreated = false;
const name = `burst-${suffix()}`;
const topic = `burst-${name}`;
const group = `${topic}-group`;

// ---------------------------------------------------------------------------------------------
// one consumer process per Ready pod

interface Consumer {
  readonly pod: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly log: WriteStream;
  exited: boolean;
}
const consumers = new Map<string, Consumer>();

async function startConsumer(pod: string): Promise<void> {
  const port = await freePort();
  const logDir = join(LOCAL, 'e2e', ns, 'consumers');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${pod}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [CONSUMER_MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      KAFKA_BROKERS,
      INTAKE_TOPIC: topic,
      DLQ_TOPIC: `${topic}.dlq`,
      CONSUMER_GROUP: group,
      DATABASE_URL: process.env['DATABASE_URL'] ?? LOCAL_DEFAULTS.DATABASE_URL,
      PUBLIC_DATABASE_URL: process.env['PUBLIC_DATABASE_URL'] ?? localDatabaseUrl('anon_writer'),
      REDIS_URL: process.env['REDIS_URL'] ?? LOCAL_DEFAULTS.REDIS_URL,
      PUBLIC_STORE: 'postgres',
      IDENTITY_HMAC_SECRET: 'burst-demo-identity-secret-0123456789abcdef',
      METRICS_PORT: String(port),
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      KAFKA_REBALANCE_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'info',
    },
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const entry: Consumer = { pod, child, port, log, exited: false };
  child.once('exit', (code, signal) => {
    entry.exited = true;
    log.end();
    write(`scale-burst: consumer for ${pod} exited (${code ?? signal})`);
  });
  consumers.set(pod, entry);
  write(`scale-burst: pod ${pod} Ready → consumer process ${child.pid} (metrics :${port})`);
}

async function stopConsumer(pod: string): Promise<void> {
  const e = consumers.get(pod);
  if (e === undefined) return;
  consumers.delete(pod);
  if (e.exited) return;
  write(`scale-burst: pod ${pod} gone → stopping consumer ${e.child.pid}`);
  const done = new Promise<void>((r) => e.child.once('exit', () => r()));
  e.child.kill('SIGTERM');
  const t = setTimeout(() => e.child.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(t);
}

const isReady = (p: V1Pod) =>
  p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;

/** Reconciles the consumer processes with the pipeline's Ready pods, every 500 ms, until stopped. */
function podWatcher(): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const pods = await c.core.listNamespacedPod({ namespace: ns, labelSelector: `ingest.clinical.dev/pipeline=${name}` });
        const ready = new Set(pods.items.filter(isReady).map((p) => p.metadata!.name!));
        for (const pod of ready) if (!consumers.has(pod)) await startConsumer(pod);
        await Promise.all([...consumers.keys()].filter((pod) => !ready.has(pod)).map((pod) => stopConsumer(pod)));
      } catch (e) {
        write(`scale-burst: pod watch: ${e instanceof Error ? e.message : String(e)}`);
      }
      await sleep(500);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the trace

async function totalLag(): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const e of ends) {
    const c0 = byPartition.get(e.partition) ?? -1;
    lag += Number(e.high) - (c0 < 0 ? Number(e.low) : c0);
  }
  return lag;
}

async function getPipeline(): Promise<IngestPipeline> {
  return (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as IngestPipeline;
}

function sampler(t0: number, rows: TraceRow[]): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        const [lag, p, dep] = await Promise.all([totalLag(), getPipeline(), c.apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: ns })]);
        rows.push({
          t: (at - t0) / 1000,
          lag,
          desired: p.status?.desiredReplicas ?? 0,
          deployment: dep.spec?.replicas ?? 0,
          ready: dep.status?.readyReplicas ?? 0,
          processes: [...consumers.values()].filter((x) => !x.exited).length,
        });
      } catch (e) {
        write(`scale-burst: sample: ${e instanceof Error ? e.message : String(e)}`);
      }
      await sleep(Math.max(0, 1000 - (Date.now() - at)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function runLoadgen(): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [LOADGEN_CLI, 'produce', '--count', String(BURST_COUNT), '--rate', String(BURST_RATE), '--topic', topic, '--brokers', KAFKA_BROKERS, '--seed', '4'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
      },
    );
    const log = createWriteStream(join(LOCAL, 'e2e', ns, 'loadgen.log'));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.once('exit', (code) => resolve(code));
  });
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  for (const f of [CONSUMER_MAIN, LOADGEN_CLI]) if (!existsSync(f)) throw new Error(`${f} is missing: run \`make build\``);
  c = await connectCluster();
  const nodes = await c.core.listNode({ labelSelector: 'type=kwok' });
  if (!nodes.items.some((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))) {
    throw new Error('no Ready kwok node: run `platform/k8s-testenv/testenv.sh nodes-up` (make scale-burst does)');
  }
  ({ admin } = await connectKafka());
  await installCrd(c);
  ns = await createNamespace(c, 'burst');
  id = await operatorIdentity(c, ns, { hpaReader: true });
  operator = await startMetricsOperator(c, id, { LOG_LEVEL: 'info' });
  apiServiceCreated = true;
  await admin.createTopics({
    topics: [
      { topic, numPartitions: PARTITIONS, replicationFactor: 1 },
      { topic: `${topic}.dlq`, numPartitions: PARTITIONS, replicationFactor: 1 },
    ],
    waitForLeaders: true,
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([...consumers.keys()].map((pod) => stopConsumer(pod)));
  if (apiServiceCreated) await deleteMetricsApiService();
  await teardown({ operators: [operator], cluster: c, namespace: ns, identity: id, admin, topics: [topic, `${topic}.dlq`] });
}, 180_000);

describe('scale-burst: consumer pods on kwok nodes, each a real consumer process', () => {
  it('a burst raises the lag and the replicas; the lag drains and the replicas fall back', async () => {
    const rows: TraceRow[] = [];
    const t0 = Date.now();
    const pods = podWatcher();
    await createPipeline(c, ns, name, {
      kafka: { bootstrapServers: KAFKA_BROKERS, topic, consumerGroup: group, dlqTopic: `${topic}.dlq` },
      consumer: { image: 'clinical-ingest/consumer:burst', secrets: E2E_CONSUMER_SECRETS },
      scaling: { minReplicas: 1, maxReplicas: MAX_REPLICAS, pollIntervalSeconds: POLL_S, freshnessTargetSeconds: FRESHNESS_S, policy: POLICY },
    });
    const trace = sampler(t0, rows);
    let burst: { start: number; end: number } | undefined;
    try {
      // One pod scheduled on a kwok node, Ready, its consumer joined.
      await eventually('the first consumer process', async () => consumers.size >= 1, 90_000, 500);
      await sleep(15_000);
      const start = (Date.now() - t0) / 1000;
      write(`scale-burst: burst of ${BURST_COUNT} records at ${BURST_RATE}/s into ${topic}`);
      const code = await runLoadgen();
      burst = { start, end: (Date.now() - t0) / 1000 };
      expect(code).toBe(0);
      await eventually(
        'the lag drained and the Deployment back at 1',
        async () => {
          const last = rows.at(-1);
          return last !== undefined && last.lag === 0 && last.deployment === 1 && last.processes === 1;
        },
        600_000,
        1000,
      );
      await sleep(5000);
    } finally {
      await trace.stop();
      await pods.stop();
      mkdirSync(OUT, { recursive: true });
      writeFileSync(
        join(OUT, 'trace.csv'),
        [
          't_s,total_lag,desired_replicas,deployment_replicas,ready_replicas,consumer_processes',
          ...rows.map((r) => [r.t.toFixed(1), r.lag, r.desired, r.deployment, r.ready, r.processes].join(',')),
        ].join('\n') + '\n',
      );
      writeFileSync(
        join(OUT, 'trace.svg'),
        plotTrace(rows, {
          title: `scale-burst: ${BURST_COUNT} records at ${BURST_RATE}/s, ${PARTITIONS} partitions, max ${MAX_REPLICAS} replicas`,
          ...(burst ? { burst } : {}),
        }),
      );
      const peakLag = Math.max(0, ...rows.map((r) => r.lag));
      const summary = {
        burst: { count: BURST_COUNT, rate: BURST_RATE, ...burst },
        partitions: PARTITIONS,
        maxReplicas: MAX_REPLICAS,
        policy: { ...POLICY, pollIntervalSeconds: POLL_S, freshnessTargetSeconds: FRESHNESS_S },
        peakLag,
        peakLagAt: rows.find((r) => r.lag === peakLag)?.t,
        maxDesired: Math.max(0, ...rows.map((r) => r.desired)),
        maxDeployment: Math.max(0, ...rows.map((r) => r.deployment)),
        maxProcesses: Math.max(0, ...rows.map((r) => r.processes)),
        drainedAt: rows.find((r) => r.t > (burst?.end ?? 0) && r.lag === 0)?.t,
        backToOneAt:
          rows.findLast((r) => r.deployment > 1) === undefined
            ? undefined
            : rows.find((r, i) => i > rows.findLastIndex((x) => x.deployment > 1) && r.deployment === 1)?.t,
        samples: rows.length,
      };
      writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      write(`scale-burst: ${JSON.stringify(summary)}`);
    }
    const maxDesired = Math.max(...rows.map((r) => r.desired));
    expect(maxDesired).toBeGreaterThan(1);
    expect(Math.max(...rows.map((r) => r.processes))).toBeGreaterThan(1);
    expect(rows.at(-1)).toMatchObject({ lag: 0, deployment: 1, processes: 1 });
  }, 900_000);
});
