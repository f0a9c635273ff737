import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNAPSHOT_PLURAL, type Snapshot } from '../../src/api/snapshot.js';
import { API_VERSION, GROUP, VERSION } from '../../src/api/types.js';
import { SPARK_API_VERSION, type SparkApplication } from '../../src/controller/snapshot.js';
import {
  connectCluster,
  createNamespace,
  eventually,
  installCrd,
  isNotFound,
  kubectl,
  operatorIdentity,
  startOperator,
  teardown,
  withOperatorLog,
  type Cluster,
  type OperatorIdentity,
  type OperatorProcess,
} from './harness.js';

// The Snapshot controller on the real control plane (`make k8s-up`), under the operator's own
// least-privilege identity: it creates the SparkApplication, and the Snapshot's status follows
// the SparkApplication's as the spark-operator would set it (no spark-operator runs here, so the
// test sets that status, and the driver pod's termination message, as an admin).

let c: Cluster;
let ns: string;
let id: OperatorIdentity;
let operator: OperatorProcess | undefined;

const spec = (asOf: string, scope: 'public' | 'master' = 'public') => ({
  asOf,
  scope,
  destination: { persistentVolumeClaim: { claimName: 'snapshots' }, path: `exports/${scope}` },
});

async function create(name: string, s: ReturnType<typeof spec>): Promise<Snapshot> {
  return (await c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: SNAPSHOT_PLURAL,
    body: { apiVersion: API_VERSION, kind: 'Snapshot', metadata: { name }, spec: s },
  })) as Snapshot;
}
const get = async (name: string) =>
  (await c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: SNAPSHOT_PLURAL, name })) as Snapshot;
const getApp = async (name: string) =>
  (await c.custom.getNamespacedCustomObject({
    group: 'sparkoperator.k8s.io',
    version: 'v1beta2',
    namespace: ns,
    plural: 'sparkapplications',
    name,
  })) as SparkApplication;
async function setAppStatus(name: string, status: Record<string, unknown>): Promise<void> {
  await kubectl(['patch', 'sparkapplication', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

const withLog = <T>(body: () => Promise<T>): Promise<T> => withOperatorLog(operator, body);

beforeAll(async () => {
  c = await connectCluster();
  await installCrd(c);
  ns = await createNamespace(c, 'snap-e2e');
  id = await operatorIdentity(c, ns);
  operator = await startOperator(id);
}, 120_000);

afterAll(async () => {
  await teardown({ operators: [operator], cluster: c, namespace: ns, identity: id });
});

describe('Snapshot', () => {
  it(
    'becomes one SparkApplication it owns, running the export with its arguments, and its status follows to Succeeded with the row count',
    () =>
      withLog(async () => {
        const asOf = new Date(Date.now() - 60_000).toISOString();
        const snap = await create('daily', spec(asOf, 'master'));
        const app = await eventually(
          'the SparkApplication exists',
          async () => getApp('snapshot-daily').catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e as Error))),
          30_000,
        );
        expect(app.apiVersion).toBe(SPARK_API_VERSION);
        expect(app.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Snapshot', name: 'daily', uid: snap.metadata.uid, controller: true })]);
        expect(app.spec['arguments']).toEqual(['--as-of', asOf, '--scope', 'master', '--out', '/snapshots/exports/master']);
        expect((app.spec['driver'] as { serviceAccount: string }).serviceAccount).toBe('spark-driver');
        await eventually('Pending', async () => (await get('daily')).status?.phase === 'Pending', 30_000);

        await setAppStatus('snapshot-daily', { applicationState: { state: 'RUNNING' }, driverInfo: { podName: 'snapshot-daily-driver' } });
        await eventually('Running', async () => (await get('daily')).status?.phase === 'Running', 30_000);

        // The driver pod, terminated with the job's result in its termination message.
        await kubectl(['create', '-n', ns, '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'snapshot-daily-driver' },
            spec: { containers: [{ name: 'spark-kubernetes-driver', image: 'x' }] },
          }),
        });
        await kubectl([
          'patch',
          'pod',
          'snapshot-daily-driver',
          '-n',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({
            status: {
              phase: 'Succeeded',
              containerStatuses: [
                {
                  name: 'spark-kubernetes-driver',
                  image: 'x',
                  imageID: '',
                  ready: false,
                  restartCount: 0,
                  state: { terminated: { exitCode: 0, message: '{"rows": 1234, "asOf": "x", "scope": "master"}' } },
                },
              ],
            },
          }),
        ]);
        await setAppStatus('snapshot-daily', {
          applicationState: { state: 'COMPLETED' },
          driverInfo: { podName: 'snapshot-daily-driver' },
          terminationTime: new Date().toISOString(),
        });
        const done = await eventually(
          'Succeeded',
          async () => {
            const s = await get('daily');
            return s.status?.phase === 'Succeeded' ? s : undefined;
          },
          30_000,
        );
        expect(done.status).toMatchObject({ phase: 'Succeeded', rows: 1234, sparkApplication: 'snapshot-daily' });
        const cols = await kubectl(['get', 'snapshots', 'daily', '-n', ns]);
        expect(cols).toMatch(/AS-OF\s+SCOPE\s+PHASE\s+ROWS\s+AGE/);
        expect(cols).toMatch(/master\s+Succeeded\s+1234/);
      }),
    120_000,
  );

  it(
    'a failed export is Failed with a reason; a future instant fails without a SparkApplication; the spec cannot change',
    () =>
      withLog(async () => {
        await create('broken', spec(new Date(Date.now() - 60_000).toISOString()));
        await eventually(
          'the SparkApplication exists',
          async () => getApp('snapshot-broken').catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e as Error))),
          30_000,
        );
        await setAppStatus('snapshot-broken', {
          applicationState: { state: 'FAILED', errorMessage: 'driver container failed with ExitCode: 1' },
          driverInfo: {},
        });
        const failed = await eventually(
          'Failed',
          async () => {
            const s = await get('broken');
            return s.status?.phase === 'Failed' ? s : undefined;
          },
          30_000,
        );
        expect(failed.status).toMatchObject({ reason: 'ExportFailed', message: expect.stringMatching(/ExitCode: 1/) });

        await create('tomorrow', spec(new Date(Date.now() + 86_400_000).toISOString()));
        const invalid = await eventually(
          'Failed',
          async () => {
            const s = await get('tomorrow');
            return s.status?.phase === 'Failed' ? s : undefined;
          },
          30_000,
        );
        expect(invalid.status).toMatchObject({ reason: 'InvalidSpec', message: expect.stringMatching(/future/) });
        await expect(getApp('snapshot-tomorrow')).rejects.toMatchObject({ code: 404 });

        await expect(kubectl(['patch', 'snapshot', 'broken', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { scope: 'master' } })])).rejects.toThrow(
          /immutable/,
        );
      }),
    120_000,
  );
});
