import { ApiObject, JsonPatch } from 'cdk8s';

/**
 * Kinds without a namespace. A chart gives every object its namespace; these lose it again, so
 * that the output says what the apiserver will store.
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'APIService',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** Drops `metadata.namespace` from a cluster-scoped object. */
export function clusterScoped<T extends ApiObject>(obj: T): T {
  obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return obj;
}
