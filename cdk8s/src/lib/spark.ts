/**
 * Spark on Kubernetes for the snapshot export (docs/architecture.md §7): the driver's ServiceAccount and
 * the namespaced RBAC the spark-operator's drivers need (the chart's own copies are turned off by
 * `make kind-up`). The SparkApplications themselves are the operator's, one per Snapshot resource
 * (operator/src/controller/snapshot.ts), with the image and files of images.ts (SPARK_EXPORT).
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels } from './labels.js';

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
