/**
 * The security posture, asserted for every pod template: the test walks every synthesized object
 * (our workloads, the pod templates of the Strimzi / CloudNativePG / spark-operator resources) and
 * the consumer Deployment the operator builds from the synthesized IngestPipeline.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  duplicateKeyErrors,
  egressErrors,
  exposureErrors,
  namespaceErrors,
  podCreatorErrors,
  publicStoreWriterErrors,
  podTemplates,
  postureErrors,
  type PostureOptions,
} from './validation/posture.js';
import { settingsFromEnvironment } from './settings.js';
import { runtimeSecretValues, synthesize, type Synthesized } from './validation/platform.js';
import { transportErrors } from './validation/transport.js';
import type { KubeObject } from './validation/types.js';

let s: Synthesized;
let opts: PostureOptions;
beforeAll(() => {
  s = synthesize();
  // Pods that call the Kubernetes API: our operator, and Spark drivers (they start executors).
  opts = { apiClients: new Set([s.platform.operator.operator.name, s.platform.spark.rbac.serviceAccountName]) };
});

const clone = <T>(v: T): T => structuredClone(v);
const find = (kind: string, name?: string): KubeObject =>
  clone([...s.all, ...s.operatorBuilt].find((x) => x.kind === kind && (name === undefined || x.metadata.name === name))!);

describe('every pod template', () => {
  it("is found by the walk: our workloads, the operators' resources and the operator-built consumer", () => {
    const carriers = [...s.all, ...s.operatorBuilt]
      .filter((o) => podTemplates(o).length > 0)
      .map((o) => `${o.kind}/${o.metadata.name ?? o.metadata.generateName}`);
    expect(carriers.sort()).toEqual(
      [
        'Cluster/pg',
        'Deployment/ingest-operator',
        'Deployment/intake-consumer',
        'Job/intake-loadtest',
        'Kafka/intake',
        'KafkaNodePool/combined',
        'Pooler/pg-pooler-rw',
        'SparkApplication/snapshot-example',
        'StatefulSet/public-store',
        'StatefulSet/redis',
      ].sort(),
    );
  });

  it('runs restricted: non-root, read-only root file system, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect([...s.all, ...s.operatorBuilt].flatMap((o) => postureErrors(o, opts))).toEqual([]);
  });

  it('sits in a namespace that enforces the restricted Pod Security Standard', () => {
    const ns = s.all.filter((o) => o.kind === 'Namespace');
    expect(ns).toHaveLength(1);
    expect(ns.flatMap(namespaceErrors)).toEqual([]);
    expect(
      s.all.filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== s.settings.namespace && o.metadata.namespace !== 'kube-system'),
    ).toEqual([]);
  });

  it('of our long-running workloads has readiness and liveness probes', () => {
    const missing: string[] = [];
    for (const o of [...s.all, ...s.operatorBuilt].filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      for (const c of (o as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }).spec.template.spec.containers) {
        if (c['readinessProbe'] === undefined || c['livenessProbe'] === undefined) missing.push(`${o.kind}/${o.metadata.name}/${String(c['name'])}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives the consumers a grace period longer than their bounded shutdown (a batch finishes)', () => {
    const d = s.operatorBuilt[0] as unknown as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: { env: { name: string; value?: string }[] }[] } } };
    };
    const shutdownMs = Number(d.spec.template.spec.containers[0]!.env.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value);
    expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
  });
});

describe('nothing is exposed outside the cluster', () => {
  it('no Service is a NodePort or a LoadBalancer (the stores hold PHI)', () => {
    expect([...s.all, ...s.operatorBuilt].flatMap(exposureErrors)).toEqual([]);
  });

  it('refuses the development NodePort of the public store, which is opt-in', () => {
    const dev = synthesize({ publicStore: { nodePort: 30800 } });
    expect(dev.all.flatMap(exposureErrors)).toEqual(['v1 Service public-store-external: type NodePort exposes it outside the cluster']);
  });
});

describe('no pod may send to every address', () => {
  it("every egress names its peers: pods, or the API server's own addresses (settings.apiServerCidrs)", () => {
    expect(s.all.flatMap(egressErrors)).toEqual([]);
    const toApi = s.all.filter((o) => o.kind === 'NetworkPolicy' && JSON.stringify(o).includes('"port":6443'));
    expect(toApi.length).toBeGreaterThan(0);
    for (const p of toApi) expect(JSON.stringify(p)).toContain(`"cidr":"${s.settings.apiServerCidrs[0]}"`);
  });

  it('refuses an egress to 0.0.0.0/0 (the API server rule as it was)', () => {
    const open = synthesize({ apiServerCidrs: ['0.0.0.0/0'] });
    expect(open.all.flatMap(egressErrors).length).toBeGreaterThan(0);
    expect(open.all.flatMap(egressErrors)[0]).toMatch(/egress to every address \(0\.0\.0\.0\/0\)/);
  });

  it('K8S_API_SERVER_CIDRS takes addresses, never every address', () => {
    expect(settingsFromEnvironment({ K8S_API_SERVER_CIDRS: '172.18.0.2/32, 10.0.0.1/32' }).apiServerCidrs).toEqual(['172.18.0.2/32', '10.0.0.1/32']);
    expect(() => settingsFromEnvironment({ K8S_API_SERVER_CIDRS: '0.0.0.0/0' })).toThrow(/every address/);
    expect(() => settingsFromEnvironment({ K8S_API_SERVER_CIDRS: 'apiserver' })).toThrow(/not a CIDR/);
  });
});

describe('the posture check refuses', () => {
  const redis = () =>
    find('StatefulSet', 'redis') as KubeObject & {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, Record<string, unknown>>[] } } };
    };

  it('privilege escalation, a writable root file system, added capabilities, root', () => {
    const o = redis();
    const sc = o.spec.template.spec.containers[0]!['securityContext']!;
    sc['allowPrivilegeEscalation'] = true;
    sc['readOnlyRootFilesystem'] = false;
    sc['capabilities'] = { drop: ['ALL'], add: ['NET_ADMIN'] };
    sc['runAsUser'] = 0;
    const text = postureErrors(o, opts).join('\n');
    expect(text).toMatch(/allowPrivilegeEscalation must be false/);
    expect(text).toMatch(/readOnlyRootFilesystem must be true/);
    expect(text).toMatch(/capabilities added: NET_ADMIN/);
    expect(text).toMatch(/runs as root/);
  });

  it('a pod without runAsNonRoot or seccomp, a host path, a mounted token, missing resources', () => {
    const o = redis();
    const spec = o.spec.template.spec;
    spec['securityContext'] = {};
    for (const c of [...spec.containers, ...((spec['initContainers'] as Record<string, Record<string, unknown>>[]) ?? [])])
      delete c['securityContext']!['seccompProfile'];
    spec['volumes'] = [{ name: 'h', hostPath: { path: '/' } }];
    spec['automountServiceAccountToken'] = true;
    delete spec.containers[0]!['resources'];
    const text = postureErrors(o, opts).join('\n');
    expect(text).toMatch(/runAsNonRoot must be true/);
    expect(text).toMatch(/seccompProfile must be RuntimeDefault/);
    expect(text).toMatch(/hostPath volume h/);
    expect(text).toMatch(/automountServiceAccountToken must be false/);
    expect(text).toMatch(/resources must set/);
  });

  it("an operator's pod template without our security contexts (Strimzi, CloudNativePG, Spark)", () => {
    const k = find('KafkaNodePool') as KubeObject & { spec: Record<string, unknown> };
    delete k.spec['template'];
    expect(postureErrors(k, opts).join('\n')).toMatch(/spec.template: pod securityContext.runAsNonRoot must be true/);
    const c = find('Cluster') as KubeObject & { spec: Record<string, unknown> };
    delete c.spec['securityContext'];
    expect(postureErrors(c, opts).join('\n')).toMatch(/spec.securityContext: readOnlyRootFilesystem must be true/);
    const a = find('SparkApplication') as KubeObject & { spec: { executor: Record<string, unknown> } };
    delete a.spec.executor['podSecurityContext'];
    expect(postureErrors(a, opts).join('\n')).toMatch(/spec.executor: pod securityContext.runAsNonRoot must be true/);
  });

  it('a workload kind it has no rule for', () => {
    expect(() => postureErrors({ apiVersion: 'apps/v1', kind: 'Rollout', metadata: { name: 'x' } }, opts)).toThrow(/no posture rule for kind Rollout/);
  });

  it('a namespace that does not enforce restricted', () => {
    const ns = find('Namespace') as KubeObject & { metadata: { labels: Record<string, string> } };
    ns.metadata.labels['pod-security.kubernetes.io/enforce'] = 'baseline';
    expect(namespaceErrors(ns)).toHaveLength(1);
  });
});

describe('keyed lists (what server-side apply merges by key)', () => {
  it('no pod template sets an env variable, a port, a mount or a volume twice', () => {
    expect([...s.all, ...s.operatorBuilt].flatMap(duplicateKeyErrors)).toEqual([]);
  });

  it('bites: an env variable set twice', () => {
    const job = find('Job');
    const c = (job as unknown as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }).spec.template.spec
      .containers[0]!;
    c.env.push({ ...c.env[0]! });
    expect(duplicateKeyErrors(job).join('\n')).toMatch(/env: name .* appears twice/);
  });

  it('bites: a volume named twice', () => {
    const sts = find('StatefulSet', 'redis');
    const pod = (sts as unknown as { spec: { template: { spec: { volumes: { name: string }[] } } } }).spec.template.spec;
    pod.volumes.push({ ...pod.volumes[0]! });
    expect(duplicateKeyErrors(sts).join('\n')).toMatch(/volumes: name .* appears twice/);
  });
});

describe('every connection to a store is TLS with the server verified', () => {
  const objects = () => [...s.all, ...s.operatorBuilt].map(clone);

  it('database URLs say sslmode=verify-full with the CA mounted; Redis is rediss:// with its CA and no plaintext port', () => {
    expect(transportErrors(objects(), runtimeSecretValues(s))).toEqual([]);
    // What the check saw: the URLs of the consumers, the load test and the snapshot export.
    const urls = [...runtimeSecretValues(s).values()].flatMap((d) => Object.values(d)).filter((v) => /^(postgres|rediss?):/.test(v));
    expect(urls.length).toBeGreaterThanOrEqual(6);
  });

  it('refuses the URLs as they were: sslmode=no-verify, a JDBC sslmode=require, redis://', () => {
    const secrets = runtimeSecretValues(s);
    const app = secrets.get('pg-ingest-app')!;
    app['url'] = app['url']!.replace(/\?.*$/, '?sslmode=no-verify');
    const redisUsers = secrets.get('redis-users')!;
    redisUsers['consumer-url'] = redisUsers['consumer-url']!.replace('rediss://', 'redis://');
    const all = objects();
    const operator = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ingest-operator') as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    const jdbc = operator.spec.template.spec.containers[0]!.env.find((e) => e.name === 'SNAPSHOT_JDBC_URL')!;
    jdbc.value = 'jdbc:postgresql://pg-rw:5432/clinical?sslmode=require';
    const text = transportErrors(all, secrets).join('\n');
    expect(text).toMatch(/Secret pg-ingest-app key url: database URL postgres:\/\/ingest_app:\*\*\*@pg-pooler-rw.*sslmode is no-verify, not verify-full/);
    expect(text).toMatch(/Deployment intake-consumer: .*DATABASE_URL: sslmode is no-verify/);
    expect(text).toMatch(/Deployment ingest-operator: .*SNAPSHOT_JDBC_URL: sslmode is require, not verify-full/);
    expect(text).toMatch(/Secret redis-users key consumer-url: Redis URL rediss?:\/\/consumer:\*\*\*@redis:6379 is plaintext/);
    expect(text).toMatch(/Deployment intake-consumer: .*REDIS_URL: plaintext Redis URL/);
    expect(text).not.toContain(app['password']);
  });

  it('refuses a pod that uses a verify-full URL without its CA mounted, and rediss:// without the CA', () => {
    const all = objects();
    const consumer = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'intake-consumer') as unknown as {
      spec: { template: { spec: { containers: { env: { name: string }[]; volumeMounts: { mountPath: string }[] }[] } } };
    };
    const c = consumer.spec.template.spec.containers[0]!;
    c.volumeMounts = c.volumeMounts.filter((m) => m.mountPath !== '/etc/intake/database-ca');
    c.env = c.env.filter((e) => e.name !== 'REDIS_TLS_CA');
    const text = transportErrors(all, runtimeSecretValues(s)).join('\n');
    expect(text).toMatch(/intake-consumer: .*DATABASE_URL: its CA file \/etc\/intake\/database-ca\/ca\.crt is on no volume the container mounts/);
    expect(text).toMatch(/intake-consumer: .*REDIS_URL: rediss:\/\/ without REDIS_TLS_CA/);
  });

  it('refuses a snapshot export whose driver does not mount the database CA', () => {
    const all = objects();
    const app = all.find((o) => o.kind === 'SparkApplication') as unknown as { spec: { driver: { volumeMounts: { mountPath: string }[] } } };
    app.spec.driver.volumeMounts = app.spec.driver.volumeMounts.filter((m) => m.mountPath !== '/etc/intake/database-ca');
    expect(transportErrors(all, runtimeSecretValues(s))).toEqual([
      expect.stringMatching(
        /SparkApplication snapshot-example: spec\.driver: SNAPSHOT_JDBC_URL: its CA file \/etc\/intake\/database-ca\/ca\.crt is on no volume/,
      ),
    ]);
  });

  it("refuses Redis's plaintext port", () => {
    const all = objects();
    const cm = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-config') as unknown as { data: Record<string, string> };
    cm.data['redis.conf'] = cm.data['redis.conf']!.replace('port 0', 'port 6379');
    expect(transportErrors(all, runtimeSecretValues(s)).join('\n')).toMatch(/redis-config: redis\.conf: plaintext port 6379/);
  });
});

describe('who may create pods is narrowed by an admission policy', () => {
  it('the Spark driver (it starts its executors) is held by a ValidatingAdmissionPolicy bound with Deny', () => {
    expect(podCreatorErrors(s.all)).toEqual([]);
    const policy = s.all.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    expect(JSON.stringify(policy)).toContain(`'system:serviceaccount:${s.settings.namespace}:spark-driver'`);
  });

  it('refuses the manifests as they were: a role that creates pods and no policy', () => {
    const without = s.all.filter((o) => !o.kind.startsWith('ValidatingAdmissionPolicy'));
    expect(podCreatorErrors(without)).toEqual([
      expect.stringMatching(/RoleBinding spark-driver: system:serviceaccount:clinical-ingest:spark-driver may create pods .* no ValidatingAdmissionPolicy/),
    ]);
    // A policy that only warns narrows nothing.
    const warnOnly = s.all.map((o) =>
      o.kind === 'ValidatingAdmissionPolicyBinding' ? { ...o, spec: { ...(o['spec'] as object), validationActions: ['Warn'] } } : o,
    );
    expect(podCreatorErrors(warnOnly)).toHaveLength(1);
  });
});

describe('only the consumers write the anonymized store', () => {
  const consumerLabels = { 'app.kubernetes.io/name': 'intake-consumer' };
  const objects = () => [...s.all, ...s.operatorBuilt].map(clone);

  it("the DynamoDB-API store gets its authorizer's keys from a Secret; the writer's key reaches the consumers only", () => {
    expect(publicStoreWriterErrors(objects(), consumerLabels)).toEqual([]);
    const env = (name: string) => JSON.stringify(find(name === 'consumer' ? 'Deployment' : 'Job', name === 'consumer' ? 'intake-consumer' : undefined));
    expect(env('consumer')).toContain('"key":"writer-key-id"');
    expect(env('loadtest')).toContain('"key":"reader-key-id"');
    expect(env('loadtest')).not.toContain('"key":"writer');
  });

  it('refuses the store as it was (no keys: it took any request) and literal credentials', () => {
    const all = objects();
    const store = all.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'public-store') as unknown as {
      spec: { template: { spec: { containers: { env: { name: string }[] }[] } } };
    };
    const c = store.spec.template.spec.containers[0]!;
    c.env = c.env
      .filter((e) => e.name !== 'PUBLIC_STORE_READER_SECRET')
      .map((e) => (e.name === 'PUBLIC_STORE_WRITER_SECRET' ? { name: e.name, value: 'x' } : e));
    const job = all.find((o) => o.kind === 'Job') as unknown as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    job.spec.template.spec.containers[0]!.env.push({ name: 'AWS_SECRET_ACCESS_KEY', value: 'dynalite' });
    const text = publicStoreWriterErrors(all, consumerLabels).join('\n');
    expect(text).toMatch(/public-store: PUBLIC_STORE_WRITER_SECRET must come from a Secret/);
    expect(text).toMatch(/public-store: PUBLIC_STORE_READER_SECRET must come from a Secret/);
    expect(text).toMatch(/intake-loadtest: AWS_SECRET_ACCESS_KEY is a literal/);
  });

  it("refuses the writer's key in any other pod (the load test)", () => {
    const all = objects();
    const job = all.find((o) => o.kind === 'Job') as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef?: { key: string } } }[] }[] } } };
    };
    for (const e of job.spec.template.spec.containers[0]!.env)
      if (e.valueFrom?.secretKeyRef?.key === 'reader-key-id') e.valueFrom.secretKeyRef.key = 'writer-key-id';
    expect(publicStoreWriterErrors(all, consumerLabels)).toEqual([
      expect.stringMatching(/intake-loadtest: AWS_ACCESS_KEY_ID is the public store's writer key/),
    ]);
  });
});
