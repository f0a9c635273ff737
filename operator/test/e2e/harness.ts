/**
 * The end-to-end harness: a real control plane (`make k8s-up`: etcd, kube-apiserver,
 * kube-controller-manager on 127.0.0.1), the local platform's Kafka (`make up`), and the operator
 * as a local process (`node operator/dist/main.js`) under its own least-privilege identity: a
 * ServiceAccount token bound to the rules of `api/rbac.ts`, never the admin.
 *
 * Nothing here skips: an unreachable control plane or broker throws, naming the make target.
 */
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { LOCAL_DEFAULTS } from '@clinical-ingest/intake-core';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ingestPipelineCrd } from '../../src/api/crd.js';
import { snapshotCrd, SNAPSHOT_CRD_NAME } from '../../src/api/snapshot.js';
import { EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from '../../src/api/metrics.js';
import { externalMetricsApiService, externalMetricsReaderRules, leaderElectionRoleRules, operatorClusterRoleRules } from '../../src/api/rbac.js';
import { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, VERSION, type IngestPipeline } from '../../src/api/types.js';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const LOCAL = join(REPO_ROOT, '.local');
export const K8S_DIR = join(LOCAL, 'k8s');
export const KUBECTL = join(K8S_DIR, 'bin', 'kubectl');
export const ADMIN_KUBECONFIG = process.env['K8S_TESTENV_KUBECONFIG'] ?? join(K8S_DIR, 'kubeconfig');
/** The requestheader client CA of the apiserver: the aggregator's client certificates chain to it. */
export const FRONT_PROXY_CA = join(K8S_DIR, 'pki', 'front-proxy-ca.crt');
export const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? LOCAL_DEFAULTS.KAFKA_BROKERS;
/** The upstream CRDs (Strimzi, CloudNativePG, spark-operator), unmodified: ../shared/crds beside the repository. */
export const UPSTREAM_CRDS = process.env['K8S_UPSTREAM_CRDS'] ?? resolve(REPO_ROOT, '..', 'shared', 'crds');
/** The operator watches SparkApplications (Snapshots create them): their CRD must be installed. */
const SPARK_APPLICATION_CRD = join(UPSTREAM_CRDS, 'spark-operator', 'sparkoperator.k8s.io_sparkapplications.yaml');
const OPERATOR_MAIN = join(REPO_ROOT, 'operator', 'dist', 'main.js');
const E2E_DIR = join(LOCAL, 'e2e');
const FIELD_MANAGER = 'operator-e2e';

export function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value other than undefined/false, or throws its last error. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : last === undefined ? '' : `: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

export const isNotFound = (e: unknown) => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 404;

/** A short random suffix for names (namespaces, topics, groups). */
export const suffix = () => randomBytes(4).toString('hex');

// ---------------------------------------------------------------------------------------------
// the control plane

export interface Cluster {
  readonly kc: KubeConfig;
  readonly server: string;
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly autoscaling: AutoscalingV2Api;
  readonly custom: CustomObjectsApi;
  readonly ext: ApiextensionsV1Api;
  readonly rbac: RbacAuthorizationV1Api;
}

const NOT_UP = 'start it with `make k8s-up` (build it once with `make k8s-build`)';

/** The admin client of the local control plane; throws (naming `make k8s-up`) when it is not reachable. */
export async function connectCluster(): Promise<Cluster> {
  if (!existsSync(ADMIN_KUBECONFIG)) {
    throw new Error(`the Kubernetes test control plane is not set up: ${ADMIN_KUBECONFIG} does not exist; ${NOT_UP}`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(ADMIN_KUBECONFIG);
  const server = kc.getCurrentCluster()?.server ?? '?';
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await eventually(
      '/readyz',
      async () => (await run(KUBECTL, ['--kubeconfig', ADMIN_KUBECONFIG, 'get', '--raw', '/readyz'], { timeout: 10_000 })).stdout.trim() === 'ok',
      10_000,
      1000,
    );
  } catch (e) {
    const detail = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new Error(`the Kubernetes test control plane at ${server} is not reachable (${detail}); ${NOT_UP}`, { cause: e });
  }
  return {
    kc,
    server,
    objects: KubernetesObjectApi.makeApiClient(kc),
    core,
    apps: kc.makeApiClient(AppsV1Api),
    autoscaling: kc.makeApiClient(AutoscalingV2Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}

/** kubectl as the admin; resolves with stdout, rejects with stderr in the message. */
export async function kubectl(args: string[], opts: { kubeconfig?: string; input?: string } = {}): Promise<string> {
  const full = ['--kubeconfig', opts.kubeconfig ?? ADMIN_KUBECONFIG, ...args];
  return new Promise((resolvePromise, reject) => {
    const child = execFile(KUBECTL, full, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(`kubectl ${args.join(' ')} failed: ${[stderr.trim(), stdout.trim().slice(0, 500)].filter((x) => x !== '').join(' | ') || err.message}`),
        );
      else resolvePromise(stdout);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * Server-side apply as the admin (field manager `operator-e2e`), through kubectl: the JSON goes
 * to the apiserver as it is. (client-node's typed serializer maps JSON names to its TypeScript
 * names and drops what it does not know: a CRD sent through `KubernetesObjectApi` loses every
 * `default`, `enum` and `x-kubernetes-*` of its schema.)
 */
export async function applyAsAdmin<T extends KubernetesObject>(_c: Cluster, obj: T, dryRun = false): Promise<T> {
  const out = await kubectl(
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, ...(dryRun ? ['--dry-run=server'] : []), '-o', 'json', '-f', '-'],
    {
      input: JSON.stringify(obj),
    },
  );
  return JSON.parse(out) as T;
}

/** Installs (or updates) the operator's CRDs (IngestPipeline, Snapshot) and waits until they are Established. */
export async function installCrd(c: Cluster): Promise<void> {
  await applyAsAdmin(c, ingestPipelineCrd() as unknown as KubernetesObject);
  await applyAsAdmin(c, snapshotCrd() as unknown as KubernetesObject);
  if (!existsSync(SPARK_APPLICATION_CRD)) {
    throw new Error(
      `${SPARK_APPLICATION_CRD} is missing: the operator's e2e tests need the upstream CRDs of ../shared/crds beside the repository (or K8S_UPSTREAM_CRDS)`,
    );
  }
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=operator-e2e', '-f', SPARK_APPLICATION_CRD]);
  await eventually(
    `CRD ${CRD_NAME} Established`,
    async () => {
      for (const name of [CRD_NAME, SNAPSHOT_CRD_NAME, 'sparkapplications.sparkoperator.k8s.io']) {
        const crd = await c.ext.readCustomResourceDefinition({ name });
        if (crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') !== true) return false;
      }
      return true;
    },
    30_000,
  );
}

export async function createNamespace(c: Cluster, prefix: string): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await c.core.createNamespace({ body: { metadata: { name, labels: { 'clinical-ingest/e2e': 'true' } } } });
  return name;
}

export async function deleteNamespace(c: Cluster, name: string): Promise<void> {
  await c.core.deleteNamespace({ name }).catch((e: unknown) => {
    if (!isNotFound(e)) throw e;
  });
}

// ---------------------------------------------------------------------------------------------
// Kafka

/** An admin client of the local Kafka; throws (naming `make up`) when it is not reachable. */
export async function connectKafka(): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = new Kafka({
    clientId: 'operator-e2e',
    brokers: KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(`Kafka at ${KAFKA_BROKERS} is not reachable (${e instanceof Error ? e.message : String(e)}); start the local platform with \`make up\``, {
      cause: e,
    });
  }
  return { kafka, admin };
}

/** Creates a topic and produces `perPartition[p]` records to partition p; returns the total. */
export async function topicWithRecords(kafka: Kafka, admin: Admin, topic: string, perPartition: readonly number[]): Promise<number> {
  await admin.createTopics({ topics: [{ topic, numPartitions: perPartition.length, replicationFactor: 1 }], waitForLeaders: true });
  await produce(kafka, topic, perPartition);
  return perPartition.reduce((a, b) => a + b, 0);
}

export async function produce(kafka: Kafka, topic: string, perPartition: readonly number[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.sendBatch({
      topicMessages: perPartition
        .map((n, partition) => ({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition, value: `e2e-${partition}-${i}` })) }))
        .filter((t) => t.messages.length > 0),
      acks: -1,
    });
  } finally {
    await producer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// the operator's identity

export interface OperatorIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly kubeconfig: string;
  /** Cluster-scoped objects to delete afterwards. */
  readonly clusterObjects: KubernetesObject[];
}

const rbacLabels = { 'clinical-ingest/e2e': 'true' };

/**
 * The operator's least-privilege identity in `namespace`: a ServiceAccount, its ClusterRole
 * (`operatorClusterRoleRules`) bound by a RoleBinding in the watched namespace (as the cdk8s app
 * binds it), the leader-election Role, and a token from the TokenRequest API in a kubeconfig of
 * its own. With `hpaReader`, also the binding that lets the HPA controller read external metrics.
 */
export async function operatorIdentity(c: Cluster, namespace: string, opts: { hpaReader?: boolean } = {}): Promise<OperatorIdentity> {
  const sa = 'ingest-operator';
  const role = `ingest-operator-e2e-${namespace}`;
  const clusterObjects: KubernetesObject[] = [];
  const objs: KubernetesObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role, labels: rbacLabels },
      rules: operatorClusterRoleRules(),
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'ingest-operator', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'ingest-operator-leader-election', namespace },
      rules: leaderElectionRoleRules(),
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'ingest-operator-leader-election', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ingest-operator-leader-election' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    } as KubernetesObject,
  ];
  clusterObjects.push(objs[1]!);
  if (opts.hpaReader === true) {
    const reader = 'ingest-operator-e2e-external-metrics-reader';
    const extra: KubernetesObject[] = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: reader, labels: rbacLabels },
        rules: externalMetricsReaderRules(),
      } as KubernetesObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: reader, labels: rbacLabels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
        subjects: [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
      } as KubernetesObject,
      // The metrics server authorizes each read with a SubjectAccessReview (as the cdk8s app binds it).
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `ingest-operator-e2e-auth-delegator-${namespace}`, labels: rbacLabels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
      } as KubernetesObject,
    ];
    objs.push(...extra);
    clusterObjects.push(...extra);
  }
  for (const o of objs) await applyAsAdmin(c, o);
  const token = await c.core.createNamespacedServiceAccountToken({
    name: sa,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const t = token.status?.token;
  if (t === undefined || t === '') throw new Error('TokenRequest returned no token');
  const cluster = c.kc.getCurrentCluster()!;
  const kubeconfig = join(E2E_DIR, namespace, 'operator.kubeconfig');
  mkdirSync(dirname(kubeconfig), { recursive: true, mode: 0o700 });
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: k8s-testenv`,
      '  cluster:',
      `    server: ${cluster.server}`,
      ca === undefined ? '    insecure-skip-tls-verify: true' : `    certificate-authority-data: ${ca}`,
      'users:',
      `- name: system:serviceaccount:${namespace}:${sa}`,
      '  user:',
      `    token: ${t}`,
      'contexts:',
      '- name: operator',
      '  context: {cluster: k8s-testenv, user: "system:serviceaccount:' + namespace + ':' + sa + '"}',
      'current-context: operator',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { namespace, serviceAccount: sa, kubeconfig, clusterObjects };
}

export async function deleteClusterObjects(c: Cluster, objs: readonly KubernetesObject[]): Promise<void> {
  for (const o of objs) {
    await c.objects.delete(o).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

/** The consumer Secrets an e2e pipeline names (no consumer pod runs against them). */
export const E2E_CONSUMER_SECRETS = Object.freeze({
  identityHmacSecret: { name: 'ingest-identity', key: 'hmac-secret' },
  databaseUrl: { name: 'pg', key: 'url' },
});

/** Creates an IngestPipeline named `name` in `namespace` (with `dryRun`, only asks the apiserver). */
export async function createPipeline(c: Cluster, namespace: string, name: string, spec: IngestPipeline['spec'], dryRun = false): Promise<IngestPipeline> {
  const body: IngestPipeline = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
  return (await c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
    ...(dryRun ? { dryRun: 'All' } : {}),
  })) as IngestPipeline;
}

export interface Teardown {
  readonly operators?: readonly (OperatorProcess | undefined)[];
  readonly cluster?: Cluster | undefined;
  readonly namespace?: string | undefined;
  readonly identity?: OperatorIdentity | undefined;
  readonly admin?: Admin | undefined;
  readonly topics?: readonly (string | undefined)[];
}

/** Undoes an e2e file's setup: stop the operators, delete the namespace, the cluster objects, the topics. */
export async function teardown(t: Teardown): Promise<void> {
  await Promise.all((t.operators ?? []).filter((o) => o !== undefined).map((o) => o.stop()));
  if (t.cluster !== undefined) {
    if (t.namespace !== undefined) await deleteNamespace(t.cluster, t.namespace);
    if (t.identity !== undefined) await deleteClusterObjects(t.cluster, t.identity.clusterObjects);
  }
  if (t.admin !== undefined) {
    const topics = (t.topics ?? []).filter((x): x is string => x !== undefined);
    if (topics.length > 0) await t.admin.deleteTopics({ topics }).catch(() => undefined);
    await t.admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// the operator process

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly healthPort: number;
  readonly metricsPort?: number;
  readonly logFile: string;
  /** The last lines of its log (for failure messages). */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 8 s; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL at once (no lease release, no cleanup); resolves once it has exited. */
  kill(): Promise<void>;
  /** Its identity in the Lease (POD_NAME). */
  readonly identity: string;
}

export interface OperatorTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
  readonly port: number;
}

/**
 * Starts `node operator/dist/main.js` with the identity's kubeconfig; resolves once /readyz answers
 * 200. With `name`, its Lease identity is `ingest-operator-e2e-<name>` and its log
 * `operator-<name>.log` (several replicas in one namespace).
 */
export async function startOperator(
  id: OperatorIdentity,
  opts: { tls?: OperatorTls; env?: Record<string, string>; name?: string } = {},
): Promise<OperatorProcess> {
  if (!existsSync(OPERATOR_MAIN)) throw new Error(`${OPERATOR_MAIN} is missing: run \`make build\` (make test-k8s builds first)`);
  const healthPort = await freePort();
  const logFile = join(E2E_DIR, id.namespace, opts.name === undefined ? 'operator.log' : `operator-${opts.name}.log`);
  const identity = opts.name === undefined ? `ingest-operator-e2e-${process.pid}` : `ingest-operator-e2e-${opts.name}`;
  mkdirSync(dirname(logFile), { recursive: true });
  const out = createWriteStream(logFile, { flags: 'a' });
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    KUBECONFIG: id.kubeconfig,
    WATCH_NAMESPACE: id.namespace,
    POD_NAMESPACE: id.namespace,
    POD_NAME: identity,
    LEADER_ELECTION: 'true',
    LEASE_DURATION_SECONDS: '6',
    RENEW_DEADLINE_SECONDS: '4',
    RETRY_PERIOD_SECONDS: '1',
    HEALTH_HOST: '127.0.0.1',
    HEALTH_PORT: String(healthPort),
    LOG_LEVEL: 'debug',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...(opts.tls
      ? {
          EXTERNAL_METRICS_HOST: '127.0.0.1',
          EXTERNAL_METRICS_PORT: String(opts.tls.port),
          TLS_CERT_FILE: opts.tls.certFile,
          TLS_KEY_FILE: opts.tls.keyFile,
          ...(opts.tls.clientCaFile ? { CLIENT_CA_FILE: opts.tls.clientCaFile } : {}),
        }
      : {}),
    ...(opts.env ?? {}),
  };
  const child = spawn(process.execPath, [OPERATOR_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const tail = (lines = 40) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const exitedPromise = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async (): Promise<number | null> => {
    if (exited === undefined && child.pid !== undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exitedPromise;
      clearTimeout(t);
    }
    out.end();
    return exitedPromise;
  };
  const kill = async (): Promise<void> => {
    if (exited === undefined && child.pid !== undefined) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
    out.end();
  };
  try {
    await eventually(
      'the operator /readyz',
      async () => {
        if (exited !== undefined) throw new Error(`the operator exited with code ${exited}`);
        const r = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return r?.status === 200;
      },
      30_000,
      250,
    );
  } catch (e) {
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}; its log (${logFile}):\n${tail()}`, { cause: e });
  }
  return { child, healthPort, ...(opts.tls ? { metricsPort: opts.tls.port } : {}), logFile, tail, stop, kill, identity };
}

/** The operator's Prometheus text (/metrics on its health port) as `series → value` (labels kept in the key). */
export async function operatorMetrics(op: OperatorProcess): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${op.healthPort}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  const m = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** Sum of every series of `name` (0 when it has none yet). */
export function metricSum(m: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) sum += v;
  return sum;
}

/** A serving certificate for the operator's external metrics API (self-signed; it is its own CA bundle). */
export async function servingCertificate(dir: string, dnsNames: readonly string[]): Promise<{ certFile: string; keyFile: string; caBundle: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const san = ['IP:127.0.0.1', ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-sha256',
    '-subj',
    `/CN=${dnsNames[0] ?? 'localhost'}`,
    '-addext',
    `subjectAltName=${san}`,
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, caBundle: readFileSync(certFile).toString('base64') };
}

// ---------------------------------------------------------------------------------------------
// the operator serving the External metrics API

/** The APIService of `external.metrics.k8s.io/v1beta1`: only one adapter may own it in a cluster. */
export const EXTERNAL_METRICS_APISERVICE = `${EXTERNAL_METRICS_VERSION}.${EXTERNAL_METRICS_GROUP}`;
const METRICS_SERVICE = 'ingest-operator-metrics';

/**
 * Starts the operator serving the External metrics API over TLS (client certificates from the
 * apiserver's front proxy only) and registers it: an APIService through an ExternalName Service
 * `localhost` (no kube-proxy here). Fails if another adapter already owns the APIService.
 * Call `deleteMetricsApiService()` first in teardown: an unavailable aggregated API stalls
 * discovery (namespace deletion, garbage collection).
 */
export async function startMetricsOperator(c: Cluster, id: OperatorIdentity, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const existing = await c.objects
    .read({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: EXTERNAL_METRICS_APISERVICE } })
    .catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
  if (existing !== undefined && existing.metadata?.labels?.['clinical-ingest/e2e'] !== 'true') {
    throw new Error(`APIService ${EXTERNAL_METRICS_APISERVICE} already exists and is not this test's: only one adapter may own ${EXTERNAL_METRICS_GROUP}`);
  }
  const ns = id.namespace;
  const port = await freePort();
  // The aggregator verifies the serving certificate for <service>.<namespace>.svc.
  const cert = await servingCertificate(join(LOCAL, 'e2e', ns, 'tls'), [`${METRICS_SERVICE}.${ns}.svc`, 'localhost']);
  const operator = await startOperator(id, { tls: { certFile: cert.certFile, keyFile: cert.keyFile, clientCaFile: FRONT_PROXY_CA, port }, env });
  await applyAsAdmin(c, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: METRICS_SERVICE, namespace: ns },
    spec: { type: 'ExternalName', externalName: 'localhost' },
  } as KubernetesObject);
  const apiService = externalMetricsApiService({
    serviceNamespace: ns,
    serviceName: METRICS_SERVICE,
    servicePort: port,
    caBundle: cert.caBundle,
  }) as unknown as KubernetesObject;
  apiService.metadata!.labels = { ...apiService.metadata!.labels, 'clinical-ingest/e2e': 'true' };
  await applyAsAdmin(c, apiService);
  return operator;
}

export async function deleteMetricsApiService(): Promise<void> {
  await kubectl(['delete', 'apiservice', EXTERNAL_METRICS_APISERVICE, '--ignore-not-found']).catch(() => undefined);
}

/** Runs `body`; on failure appends the operator's recent log to the error (what went wrong inside). */
export async function withOperatorLog<T>(operator: OperatorProcess | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof Error && operator) e.message += `\n--- operator log (${operator.logFile}) ---\n${operator.tail(30)}`;
    throw e;
  }
}
