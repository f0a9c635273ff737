/**
 * Spark on Kubernetes for the snapshot export (docs/architecture.md §7): the driver's ServiceAccount and
 * the namespaced RBAC the spark-operator's drivers need (the chart's own copies are turned off by
 * `make kind-up`). The SparkApplications themselves are the operator's, one per Snapshot resource
 * (operator/src/controller/snapshot.ts), with the image and files of images.ts (SPARK_EXPORT).
 *
 * A driver starts its executors, so its role may create pods; and whoever may create pods in a
 * namespace may mount any Secret of it. A ValidatingAdmissionPolicy narrows what the driver's
 * identity may create to what an export needs: the export image, the export's own Secret keys
 * (the history role's password, the database CA certificate), the snapshot claims, and no other
 * ServiceAccount's token.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels } from './labels.js';
import { clusterScoped } from './scope.js';

export interface SparkRbacProps {
  readonly namespace: string;
  /** @default 'spark-driver' */
  readonly serviceAccountName?: string;
  /** The only image the driver may run pods with (the export image). */
  readonly image: string;
  /** Secret name → the keys pods may read of it (by env `secretKeyRef`, or a secret volume's `items`). */
  readonly secretKeys: Readonly<Record<string, readonly string[]>>;
  /** PersistentVolumeClaims the pods may mount (where exports are written). */
  readonly claims: readonly string[];
}

/** A CEL string literal (single-quoted; the values here are Kubernetes names). */
const celString = (s: string): string => {
  if (!/^[A-Za-z0-9._:/@-]+$/.test(s)) throw new Error(`not a name CEL may quote as is: ${JSON.stringify(s)}`);
  return `'${s}'`;
};
const celList = (xs: readonly string[]): string => `[${xs.map(celString).join(', ')}]`;

/** The user name of a ServiceAccount, as admission sees it. */
export const serviceAccountUser = (namespace: string, name: string): string => `system:serviceaccount:${namespace}:${name}`;

/**
 * The ValidatingAdmissionPolicy (and its binding) for pods a given identity creates or updates,
 * as plain objects: the rules, each with the message an offender gets.
 */
export function podCreatorPolicy(props: Required<SparkRbacProps> & { readonly name: string }): { policy: unknown; binding: unknown } {
  const secretKeys = `{${Object.entries(props.secretKeys)
    .map(([name, keys]) => `${celString(name)}: ${celList(keys)}`)
    .join(', ')}}`;
  const user = serviceAccountUser(props.namespace, props.serviceAccountName);
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: props.name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
      },
      matchConditions: [{ name: 'created-by-the-spark-driver', expression: `request.userInfo.username == ${celString(user)}` }],
      variables: [
        { name: 'containers', expression: 'object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])' },
        { name: 'volumes', expression: 'has(object.spec.volumes) ? object.spec.volumes : []' },
        { name: 'secretKeys', expression: secretKeys },
      ],
      validations: [
        {
          expression: `variables.containers.all(c, c.image == ${celString(props.image)})`,
          message: `a Spark driver may run pods with the export image only (${props.image})`,
        },
        {
          expression: `!has(object.spec.serviceAccountName) || object.spec.serviceAccountName in ['default', ${celString(props.serviceAccountName)}]`,
          message: `a Spark driver may start pods as itself (${props.serviceAccountName}) only, never with another ServiceAccount's token`,
        },
        {
          expression:
            'variables.containers.all(c, !has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef) || ' +
            '(e.valueFrom.secretKeyRef.name in variables.secretKeys && e.valueFrom.secretKeyRef.key in variables.secretKeys[e.valueFrom.secretKeyRef.name])))',
          message: `a Spark driver may pass its pods only the export's Secret keys (${Object.keys(props.secretKeys).join(', ')})`,
        },
        {
          expression: 'variables.containers.all(c, !has(c.envFrom) || c.envFrom.all(e, !has(e.secretRef)))',
          message: 'a Spark driver may not import a whole Secret into the environment (envFrom secretRef)',
        },
        {
          expression:
            'variables.volumes.all(v, !has(v.secret) || (v.secret.secretName in variables.secretKeys && has(v.secret.items) && ' +
            'v.secret.items.all(i, i.key in variables.secretKeys[v.secret.secretName])))',
          message: "a Spark driver may mount only the export's Secret keys, each by name (secret volume items)",
        },
        {
          expression: 'variables.volumes.all(v, !has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, !has(s.secret)))',
          message: 'a Spark driver may not mount a Secret through a projected volume',
        },
        {
          expression:
            'variables.volumes.all(v, has(v.secret) || has(v.emptyDir) || has(v.configMap) || has(v.projected) || ' +
            `(has(v.persistentVolumeClaim) && v.persistentVolumeClaim.claimName in ${celList(props.claims)}))`,
          message: `a Spark driver may mount emptyDir, ConfigMaps, the export's Secret keys and the snapshot claims (${props.claims.join(', ')}) only`,
        },
      ],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: props.name },
    spec: {
      policyName: props.name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.namespace } } },
    },
  };
  return { policy, binding };
}

/** What a Spark driver may do in the namespace: run its executors and their services, within the policy above. */
export class SparkRbac extends Construct {
  readonly serviceAccountName: string;
  /** The admission policy's name (cluster-scoped: it carries the namespace). */
  readonly policyName: string;
  constructor(scope: Construct, id: string, props: SparkRbacProps) {
    super(scope, id);
    this.serviceAccountName = props.serviceAccountName ?? 'spark-driver';
    this.policyName = `${props.namespace}-spark-driver-pods`;
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
    const { policy, binding } = podCreatorPolicy({ ...props, serviceAccountName: this.serviceAccountName, name: this.policyName });
    const withLabels = (o: unknown) => ({ ...(o as object), metadata: { ...(o as { metadata: object }).metadata, labels } });
    clusterScoped(new ApiObject(this, 'pod-policy', withLabels(policy) as never));
    clusterScoped(new ApiObject(this, 'pod-policy-binding', withLabels(binding) as never));
  }
}
