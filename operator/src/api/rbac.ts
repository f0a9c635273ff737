import { EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from './metrics.js';
import { SNAPSHOT_PLURAL } from './snapshot.js';
import { GROUP, PLURAL } from './types.js';

/** A PolicyRule of a (Cluster)Role. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * What the operator may do cluster-wide (least privilege: no delete — owner references let the
 * garbage collector remove children; no secrets — the consumer pods read them, the operator
 * never does).
 */
export function operatorClusterRoleRules(): PolicyRule[] {
  return [
    { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
    { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    // Snapshots: one SparkApplication each (never deleted by the operator: owner references), and
    // the driver pod read for the row count in its termination message.
    { apiGroups: [GROUP], resources: [SNAPSHOT_PLURAL], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [GROUP], resources: [`${SNAPSHOT_PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['sparkoperator.k8s.io'], resources: ['sparkapplications'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
  ];
}

/** The operator's leader-election Lease, in its own namespace (a Role, not a ClusterRole). */
export function leaderElectionRoleRules(): PolicyRule[] {
  return [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];
}

/** Lets the HPA controller read the external metrics (bind to kube-system/horizontal-pod-autoscaler). */
export function externalMetricsReaderRules(): PolicyRule[] {
  return [{ apiGroups: [EXTERNAL_METRICS_GROUP], resources: ['*'], verbs: ['get', 'list', 'watch'] }];
}

export interface ApiServiceOptions {
  /** Namespace and name of the Service in front of the operator's HTTPS port. */
  readonly serviceNamespace: string;
  readonly serviceName: string;
  /** @default 443 */
  readonly servicePort?: number;
  /** PEM CA that signed the operator's serving certificate, base64. */
  readonly caBundle: string;
}

/**
 * Registers the operator as the cluster's `external.metrics.k8s.io/v1beta1` server. Only one
 * APIService may own that group-version: where KEDA (or another adapter) already does, do not
 * create this one; see the operator README for the alternative.
 */
export function externalMetricsApiService(o: ApiServiceOptions): Record<string, unknown> {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: `${EXTERNAL_METRICS_VERSION}.${EXTERNAL_METRICS_GROUP}`, labels: { 'app.kubernetes.io/name': 'ingest-operator' } },
    spec: {
      group: EXTERNAL_METRICS_GROUP,
      version: EXTERNAL_METRICS_VERSION,
      service: { namespace: o.serviceNamespace, name: o.serviceName, port: o.servicePort ?? 443 },
      caBundle: o.caBundle,
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  };
}
