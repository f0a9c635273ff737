/**
 * The Spark driver's admission policy (lib/spark.ts), enforced by the real apiserver of the local
 * control plane (`make k8s-up`): the synthesized ServiceAccount, Role, RoleBinding,
 * ValidatingAdmissionPolicy and binding are applied for a fresh namespace, then pods are created
 * as the driver (impersonated, server-side dry run: admission runs, nothing is stored). What an
 * executor needs is admitted; every way out (another Secret, a whole Secret, the CA's key, another
 * image, another ServiceAccount's token, another claim) is refused with the policy's message.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPARK_EXPORT } from '../src/images.js';
import { serviceAccountUser } from '../src/lib/spark.js';
import { REPO_ROOT } from '../src/paths.js';
import { synthesize } from '../src/validation/platform.js';

const KUBECTL = join(REPO_ROOT, '.local', 'k8s', 'bin', 'kubectl');
const KUBECONFIG = process.env['K8S_TESTENV_KUBECONFIG'] ?? join(REPO_ROOT, '.local', 'k8s', 'kubeconfig');
const namespace = `spark-admission-${randomBytes(3).toString('hex')}`;
const s = synthesize({ namespace });
const spark = s.charts.get('spark')!.filter((o) => o.kind !== 'PersistentVolumeClaim');
const policies = spark.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'));
const driver = serviceAccountUser(namespace, s.platform.spark.rbac.serviceAccountName);

function kubectl(args: string[], input?: string, as?: string): string {
  return execFileSync(KUBECTL, ['--kubeconfig', KUBECONFIG, ...(as ? ['--as', as] : []), ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Creates the pod as the driver, dry run; the apiserver's refusal message, or 'admitted'. */
function createAsDriver(pod: object): string {
  try {
    kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(pod), driver);
    return 'admitted';
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}

/** An executor as the driver would start it: the export image, its Secret keys, the snapshot claim. */
type PodSpec = Record<string, unknown> & { containers: Record<string, unknown>[] };

function executor(change: (spec: PodSpec) => void = () => {}): object {
  const spec = {
    serviceAccountName: 'spark-driver',
    securityContext: { runAsNonRoot: true, runAsUser: 185, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'executor',
        image: SPARK_EXPORT.image,
        env: [{ name: 'SNAPSHOT_DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'pg-history-reader', key: 'password' } } }],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [
          { name: 'database-ca', mountPath: '/etc/intake/database-ca' },
          { name: 'destination', mountPath: '/snapshots' },
        ],
      },
    ],
    volumes: [
      { name: 'database-ca', secret: { secretName: 'pg-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { name: 'destination', persistentVolumeClaim: { claimName: 'snapshots' } },
      { name: 'tmp', emptyDir: {} },
    ],
  };
  change(spec);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'exec-' }, spec };
}

beforeAll(async () => {
  if (!existsSync(KUBECTL) || !existsSync(KUBECONFIG)) throw new Error(`no local control plane (${KUBECONFIG}): run make k8s-up`);
  kubectl(['create', 'namespace', namespace]);
  // The operator's ServiceAccount, whose token a pod could otherwise borrow.
  kubectl(['create', 'serviceaccount', 'ingest-operator', '-n', namespace]);
  for (const o of spark) kubectl(['apply', '--server-side', '--field-manager=spark-admission-e2e', '-f', '-'], JSON.stringify(o));
  // The apiserver compiles a new policy asynchronously: wait until it refuses what it must.
  const deadline = Date.now() + 60_000;
  while (createAsDriver(executor((p) => (p.containers[0]!['image'] = 'busybox'))) === 'admitted') {
    if (Date.now() > deadline) throw new Error('the admission policy was not enforced within 60 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}, 90_000);

afterAll(() => {
  for (const o of policies) {
    try {
      kubectl(['delete', '--ignore-not-found', o.kind, o.metadata.name!]);
    } catch {
      // best effort
    }
  }
  try {
    kubectl(['delete', 'namespace', namespace, '--wait=false']);
  } catch {
    // best effort
  }
});

describe("pods the Spark driver creates, on the real apiserver's admission", () => {
  it('admits an executor as the export runs it', () => {
    expect(createAsDriver(executor())).toBe('admitted');
  });

  it.each([
    [
      'another Secret in the environment (the HMAC key)',
      (p: PodSpec) => {
        p.containers[0]!['env'] = [{ name: 'X', valueFrom: { secretKeyRef: { name: 'ingest-identity', key: 'hmac-secret' } } }];
      },
      /only the export's Secret keys/,
    ],
    [
      'another key of an allowed Secret',
      (p: PodSpec) => {
        p.containers[0]!['env'] = [{ name: 'X', valueFrom: { secretKeyRef: { name: 'pg-ca', key: 'ca.key' } } }];
      },
      /only the export's Secret keys/,
    ],
    [
      'a whole Secret imported with envFrom',
      (p: PodSpec) => {
        p.containers[0]!['envFrom'] = [{ secretRef: { name: 'pg-history-reader' } }];
      },
      /envFrom secretRef/,
    ],
    [
      "the database CA's private key on a volume (no items: every key)",
      (p: PodSpec) => {
        (p['volumes'] as Record<string, unknown>[])[0] = { name: 'database-ca', secret: { secretName: 'pg-ca' } };
      },
      /each by name/,
    ],
    [
      'a Secret through a projected volume',
      (p: PodSpec) => {
        (p['volumes'] as Record<string, unknown>[]).push({ name: 'p', projected: { sources: [{ secret: { name: 'ingest-identity' } }] } });
      },
      /projected volume/,
    ],
    [
      'another image',
      (p: PodSpec) => {
        p.containers[0]!['image'] = 'busybox';
      },
      /export image only/,
    ],
    [
      "another ServiceAccount's token (the operator's)",
      (p: PodSpec) => {
        p['serviceAccountName'] = 'ingest-operator';
      },
      /never with another ServiceAccount's token/,
    ],
    [
      "a data store's claim (PostgreSQL's)",
      (p: PodSpec) => {
        (p['volumes'] as Record<string, unknown>[])[1] = { name: 'destination', persistentVolumeClaim: { claimName: 'pg-1' } };
      },
      /snapshot claims/,
    ],
  ])('refuses %s', (_what, change, message) => {
    const refusal = createAsDriver(executor(change));
    expect(refusal).toMatch(/denied request|ValidatingAdmissionPolicy/);
    expect(refusal).toMatch(message);
  });

  it('holds only the driver: the same pod from another identity is not its business', () => {
    const other = executor((p) => (p.containers[0]!['image'] = 'busybox'));
    expect(() => kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(other))).not.toThrow();
  });
});
