/**
 * Snapshots (docs/architecture.md §7): each `Snapshot` becomes one SparkApplication running the
 * export job (spark/snapshot_export.py), owned by the Snapshot (the garbage collector deletes it
 * with the Snapshot: the operator never deletes), and the Snapshot's status follows the
 * SparkApplication's: Pending, Running, Succeeded with the row count the driver reported in its
 * termination message, or Failed with a reason. Pure logic (the builder and the status mapping)
 * apart from the few API calls of `SnapshotReconciler`.
 */
import type { Logger } from '@clinical-ingest/intake-core';
import { SNAPSHOT_KIND, type Snapshot, type SnapshotPhase, type SnapshotStatus } from '../api/snapshot.js';
import { API_VERSION, DATABASE_CA_DIR } from '../api/types.js';
import { MANAGED_BY } from '../builders/common.js';
import type { KeyReconciler } from './controller.js';
import type { Clock, KubeClient, KubeObject, ObjectRef } from './ports.js';
import type { ReconcileResult } from './reconcile.js';

export const SPARK_API_VERSION = 'sparkoperator.k8s.io/v1beta2';
export const SNAPSHOT_LABEL = 'ingest.clinical.dev/snapshot';
/** Where the destination claim is mounted in the driver and the executors. */
export const SNAPSHOT_MOUNT = '/snapshots';

/** The export's platform settings: the operator's configuration (SNAPSHOT_*), not the user's. */
export interface SnapshotExportSettings {
  readonly image: string;
  readonly sparkVersion: string;
  readonly mainApplicationFile: string;
  readonly jdbcJar: string;
  readonly jdbcUrl: string;
  readonly dbUser: string;
  readonly dbPasswordSecret: { readonly name: string; readonly key: string };
  /** The database server's CA certificate, mounted at DATABASE_CA_FILE (the JDBC URL's sslrootcert). */
  readonly dbCa: { readonly name: string; readonly key: string };
  readonly serviceAccount: string;
  readonly uid: number;
  readonly executors: number;
}

export interface SparkApplication extends KubeObject {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; ownerReferences?: unknown[] };
  spec: Record<string, unknown>;
  status?: {
    applicationState?: { state?: string; errorMessage?: string };
    driverInfo?: { podName?: string };
    submissionTime?: string;
    terminationTime?: string;
  };
}

export function sparkApplicationName(s: Snapshot): string {
  return `snapshot-${s.metadata.name}`.slice(0, 63).replace(/-+$/, '');
}

/** The SparkApplication of a Snapshot: the job with the Snapshot's arguments, the claim mounted. */
export function buildSparkApplication(s: Snapshot, o: SnapshotExportSettings): SparkApplication {
  const labels = { 'app.kubernetes.io/name': 'snapshot-export', 'app.kubernetes.io/managed-by': MANAGED_BY, [SNAPSHOT_LABEL]: s.metadata.name! };
  const pod = {
    labels: { 'app.kubernetes.io/name': 'snapshot-export', 'app.kubernetes.io/component': 'snapshot-export', [SNAPSHOT_LABEL]: s.metadata.name! },
    podSecurityContext: { runAsNonRoot: true, runAsUser: o.uid, runAsGroup: o.uid, fsGroup: o.uid, seccompProfile: { type: 'RuntimeDefault' } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    env: [
      { name: 'SNAPSHOT_JDBC_URL', value: o.jdbcUrl },
      { name: 'SNAPSHOT_DB_USER', value: o.dbUser },
    ],
    envSecretKeyRefs: { SNAPSHOT_DB_PASSWORD: { name: o.dbPasswordSecret.name, key: o.dbPasswordSecret.key } },
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'work-dir', mountPath: '/opt/spark/work-dir' },
      { name: 'destination', mountPath: SNAPSHOT_MOUNT },
      { name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true },
    ],
  };
  return {
    apiVersion: SPARK_API_VERSION,
    kind: 'SparkApplication',
    metadata: {
      name: sparkApplicationName(s),
      namespace: s.metadata.namespace!,
      labels,
      ownerReferences: [
        { apiVersion: API_VERSION, kind: SNAPSHOT_KIND, name: s.metadata.name, uid: s.metadata.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      type: 'Python',
      pythonVersion: '3',
      mode: 'cluster',
      image: o.image,
      imagePullPolicy: 'IfNotPresent',
      mainApplicationFile: o.mainApplicationFile,
      arguments: ['--as-of', s.spec.asOf, '--scope', s.spec.scope, '--out', `${SNAPSHOT_MOUNT}/${s.spec.destination.path}`],
      sparkVersion: o.sparkVersion,
      sparkConf: { 'spark.jars': o.jdbcJar, 'spark.local.dir': '/tmp/spark-local' },
      restartPolicy: { type: 'Never' },
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'work-dir', emptyDir: {} },
        { name: 'destination', persistentVolumeClaim: { claimName: s.spec.destination.persistentVolumeClaim.claimName } },
        { name: 'database-ca', secret: { secretName: o.dbCa.name, items: [{ key: o.dbCa.key, path: 'ca.crt' }], defaultMode: 0o444 } },
      ],
      driver: { ...pod, cores: 1, coreLimit: '1', memory: '1g', serviceAccount: o.serviceAccount },
      executor: { ...pod, cores: 1, memory: '1g', instances: o.executors },
    },
  };
}

/** The driver's termination message (spark/snapshot_export.py writes `{"rows": …}` there). */
export function rowsFromTerminationMessage(message: string | undefined): number | undefined {
  if (!message) return undefined;
  try {
    const rows = (JSON.parse(message) as { rows?: unknown }).rows;
    return typeof rows === 'number' && Number.isSafeInteger(rows) && rows >= 0 ? rows : undefined;
  } catch {
    return undefined;
  }
}

const PHASES: Readonly<Record<string, SnapshotPhase>> = {
  '': 'Pending',
  NEW: 'Pending',
  SUBMITTED: 'Pending',
  PENDING_RERUN: 'Pending',
  INVALIDATING: 'Pending',
  RUNNING: 'Running',
  SUCCEEDING: 'Running',
  FAILING: 'Running',
  COMPLETED: 'Succeeded',
  FAILED: 'Failed',
  SUBMISSION_FAILED: 'Failed',
};

/**
 * The Snapshot's status from its SparkApplication (and the driver's termination message, once it
 * completed). A completed export whose row count cannot be read stays Running until it can: the
 * status never claims a result it does not have.
 */
export function snapshotStatusFrom(s: Snapshot, app: SparkApplication | undefined, driverMessage: string | undefined, nowIso: string): SnapshotStatus {
  const base = {
    sparkApplication: app?.metadata.name ?? sparkApplicationName(s),
    observedGeneration: s.metadata.generation ?? 1,
    startTime: s.status?.startTime ?? app?.status?.submissionTime ?? nowIso,
  };
  const state = app?.status?.applicationState?.state ?? '';
  const phase = PHASES[state] ?? 'Pending';
  if (phase === 'Succeeded') {
    const rows = rowsFromTerminationMessage(driverMessage);
    if (rows === undefined) return { ...base, phase: 'Running', message: 'The export completed; waiting for the driver to report its row count.' };
    return { ...base, phase, rows, message: `Exported ${rows} rows.`, completionTime: s.status?.completionTime ?? app?.status?.terminationTime ?? nowIso };
  }
  if (phase === 'Failed') {
    return {
      ...base,
      phase,
      reason: state === 'SUBMISSION_FAILED' ? 'SubmissionFailed' : 'ExportFailed',
      // Spark's message names the failing stage or SQLSTATE, never a record; bounded all the same.
      message: (app?.status?.applicationState?.errorMessage ?? 'The Spark application failed.').slice(0, 1024),
      completionTime: s.status?.completionTime ?? app?.status?.terminationTime ?? nowIso,
    };
  }
  return { ...base, phase, message: phase === 'Running' ? 'Spark is exporting.' : 'Waiting for Spark to start the export.' };
}

/** A spec the API server accepted but the export cannot run: an instant in the future. */
export function invalidSpec(s: Snapshot, now: number): SnapshotStatus | undefined {
  const at = Date.parse(s.spec.asOf);
  if (Number.isNaN(at)) return { phase: 'Failed', reason: 'InvalidSpec', message: 'spec.asOf is not an instant.' };
  if (at > now) return { phase: 'Failed', reason: 'InvalidSpec', message: 'spec.asOf is in the future: a snapshot is of committed history only.' };
  return undefined;
}

const TERMINAL: readonly (SnapshotPhase | undefined)[] = ['Succeeded', 'Failed'];
const POLL_MS = 10_000;

/** Reconciles one Snapshot key (`namespace/name`). */
export class SnapshotReconciler implements KeyReconciler {
  constructor(
    private readonly kube: KubeClient,
    private readonly settings: SnapshotExportSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const ref: ObjectRef = { apiVersion: API_VERSION, kind: SNAPSHOT_KIND, namespace, name };
    try {
      const s = await this.kube.get<Snapshot>(ref);
      if (s === undefined || TERMINAL.includes(s.status?.phase)) return { statusWritten: false };
      const nowIso = new Date(this.clock.now()).toISOString();
      const invalid = invalidSpec(s, this.clock.now());
      if (invalid) {
        await this.kube.patchStatus(ref, { ...invalid, observedGeneration: s.metadata.generation ?? 1, completionTime: nowIso });
        return { statusWritten: true };
      }
      const appRef: ObjectRef = { apiVersion: SPARK_API_VERSION, kind: 'SparkApplication', namespace, name: sparkApplicationName(s) };
      let app = await this.kube.get<SparkApplication>(appRef);
      if (app === undefined) {
        app = await this.kube.apply(buildSparkApplication(s, this.settings));
        this.log.info({ snapshot: key, sparkApplication: appRef.name, scope: s.spec.scope }, 'snapshot export submitted');
      }
      let driverMessage: string | undefined;
      const driverPod = app.status?.driverInfo?.podName;
      if (app.status?.applicationState?.state === 'COMPLETED' && driverPod) {
        const pod = await this.kube.get<{ status?: { containerStatuses?: { state?: { terminated?: { message?: string } } }[] } } & KubeObject>({
          apiVersion: 'v1',
          kind: 'Pod',
          namespace,
          name: driverPod,
        });
        driverMessage = pod?.status?.containerStatuses?.map((c) => c.state?.terminated?.message).find((m) => m !== undefined);
      }
      const status = snapshotStatusFrom(s, app, driverMessage, nowIso);
      const was = (s.status ?? {}) as Record<string, unknown>;
      const changed = Object.entries(status).some(([k, v]) => JSON.stringify(was[k]) !== JSON.stringify(v));
      if (changed) await this.kube.patchStatus(ref, status);
      return TERMINAL.includes(status.phase) ? { statusWritten: changed } : { statusWritten: changed, requeueAfterMs: POLL_MS };
    } catch (error) {
      return { statusWritten: false, error: error as Error };
    }
  }
}
