/**
 * Spark on Kubernetes for the snapshot export (docs/architecture.md §7): the driver's ServiceAccount and
 * the namespaced RBAC the spark-operator's drivers need (the chart's own copies are turned off by
 * `make kind-up`), and the `SparkApplication` template of the export job, whose image and files are
 * named in images.ts (SPARK_EXPORT).
 */
import { JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { SparkApplication } from '../imports/spark.js';
import { appLabels } from './labels.js';
import { restrictedContainer, restrictedPod } from './security.js';

export interface SparkRbacProps {
  readonly namespace: string;
  /** @default 'spark-driver' */
  readonly serviceAccountName?: string;
}

/** What a Spark driver may do in the namespace: run its executors and their services. */
export class SparkRbac extends Construct {
  readonly serviceAccountName: string;
  constructor(scope: Construct, id: string, props: SparkRbacProps) {
    super(scope, id);
    this.serviceAccountName = props.serviceAccountName ?? 'spark-driver';
    const labels = appLabels('spark', 'snapshot-export');
    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.serviceAccountName, labels } });
    new k8s.KubeRole(this, 'role', {
      metadata: { name: this.serviceAccountName, labels },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'deletecollection', 'patch'] },
        { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['create', 'get', 'list', 'delete', 'deletecollection'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'get', 'list', 'delete', 'deletecollection'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'binding', {
      metadata: { name: this.serviceAccountName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.serviceAccountName },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: props.namespace }],
    });
  }
}

export interface SnapshotExportProps {
  readonly image: string;
  readonly sparkVersion: string;
  readonly mainApplicationFile: string;
  readonly jdbcJar: string;
  readonly uid: number;
  readonly serviceAccountName: string;
  /** JDBC URL of the master store (read-only role). */
  readonly jdbcUrl: string;
  readonly dbUser: string;
  /** The read-only role's password. */
  readonly dbPasswordSecret: { readonly name: string; readonly key: string };
  /** Labels on the driver and executor pods (NetworkPolicies select them). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** @default 2 */
  readonly executors?: number;
}

/**
 * A SparkApplication with `generateName`: `kubectl create -f` starts a fresh export each time
 * (`make snapshot-export`); it is not part of `make deploy`.
 */
export class SnapshotExport extends Construct {
  constructor(scope: Construct, id: string, props: SnapshotExportProps) {
    super(scope, id);
    const podSpec = {
      labels: { ...props.podLabels },
      podSecurityContext: restrictedPod(props.uid, { fsGroup: true }),
      securityContext: restrictedContainer(),
      env: [
        { name: 'SNAPSHOT_JDBC_URL', value: props.jdbcUrl },
        { name: 'SNAPSHOT_DB_USER', value: props.dbUser },
      ],
      envSecretKeyRefs: { SNAPSHOT_DB_PASSWORD: { name: props.dbPasswordSecret.name, key: props.dbPasswordSecret.key } },
      // The root file system is read-only: Spark's scratch space and working directory are volumes.
      volumeMounts: [
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'work-dir', mountPath: '/opt/spark/work-dir' },
      ],
    };
    const app = new SparkApplication(this, 'app', {
      metadata: { generateName: 'snapshot-export-', labels: appLabels('snapshot-export', 'snapshot-export') },
      spec: {
        type: 'Python',
        pythonVersion: '3',
        mode: 'cluster',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        mainApplicationFile: props.mainApplicationFile,
        sparkVersion: props.sparkVersion,
        sparkConf: { 'spark.jars': props.jdbcJar, 'spark.local.dir': '/tmp/spark-local' },
        restartPolicy: { type: 'Never' },
        volumes: [
          { name: 'tmp', emptyDir: {} },
          { name: 'work-dir', emptyDir: {} },
        ],
        timeToLiveSeconds: 86_400,
        driver: { ...podSpec, cores: 1, coreLimit: '1', memory: '1g', serviceAccount: props.serviceAccountName },
        executor: { ...podSpec, cores: 1, memory: '1g', instances: props.executors ?? 2 },
      },
    });
    app.addJsonPatch(JsonPatch.remove('/metadata/name'));
  }
}
