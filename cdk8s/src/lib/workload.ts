/**
 * Building blocks of the platform's own pod templates: restricted security contexts, resources
 * as quantities, an emptyDir on /tmp (the root file system is read-only), no service-account
 * token unless the pod calls the Kubernetes API.
 */
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { APP_UID, restrictedContainer, restrictedPod, type ContainerSecurityContext, type ResourceRequirements } from './security.js';

export function quantities(r: ResourceRequirements): k8s.ResourceRequirements {
  const q = (m: Readonly<Record<string, string>> | undefined) =>
    m === undefined ? undefined : Object.fromEntries(Object.entries(m).map(([k, v]) => [k, k8s.Quantity.fromString(v)]));
  const requests = q(r.requests);
  const limits = q(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

export function containerSecurity(sc: ContainerSecurityContext = restrictedContainer()): k8s.SecurityContext {
  const { capabilities, ...rest } = sc;
  return {
    ...rest,
    ...(capabilities
      ? { capabilities: { ...(capabilities.drop ? { drop: [...capabilities.drop] } : {}), ...(capabilities.add ? { add: [...capabilities.add] } : {}) } }
      : {}),
  };
}

/** A variable from a Secret key. */
export function secretEnv(name: string, secret: string, key: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** Literal variables, in the given order. */
export function literalEnv(vars: Readonly<Record<string, string | number>>): k8s.EnvVar[] {
  return Object.entries(vars).map(([name, value]) => ({ name, value: String(value) }));
}

export const TMP_VOLUME: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
export const TMP_MOUNT: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };

export interface PodOptions {
  readonly containers: readonly k8s.Container[];
  readonly initContainers?: readonly k8s.Container[];
  readonly volumes?: readonly k8s.Volume[];
  readonly serviceAccountName: string;
  /** Mount the service-account token (only pods that call the Kubernetes API). @default false */
  readonly apiAccess?: boolean;
  /** @default APP_UID */
  readonly uid?: number;
  /** Make volumes writable by the uid (fsGroup). @default false */
  readonly fsGroup?: boolean;
  /** @default 30 */
  readonly terminationGracePeriodSeconds?: number;
  readonly restartPolicy?: 'Always' | 'Never' | 'OnFailure';
}

/** A restricted pod spec: the PSS `restricted` contexts on the pod and every container. */
export function restrictedPodSpec(o: PodOptions): k8s.PodSpec {
  const sc = containerSecurity();
  return {
    serviceAccountName: o.serviceAccountName,
    automountServiceAccountToken: o.apiAccess ?? false,
    enableServiceLinks: false,
    securityContext: restrictedPod(o.uid ?? APP_UID, { fsGroup: o.fsGroup ?? false }),
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
    ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
    ...(o.initContainers ? { initContainers: o.initContainers.map((c) => ({ ...c, securityContext: sc })) } : {}),
    containers: o.containers.map((c) => ({ terminationMessagePolicy: 'FallbackToLogsOnError', ...c, securityContext: sc })),
    volumes: [...(o.volumes ?? [])],
  };
}

export interface SingleReplicaStatefulSetProps {
  readonly name: string;
  /** Labels of the object and of its pods. */
  readonly labels: Readonly<Record<string, string>>;
  /** The selector (a subset of the pod labels). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Size of the `data` volume claim. */
  readonly storageSize: string;
  readonly podSpec: k8s.PodSpec;
}

/**
 * A one-replica StatefulSet with a `data` volume claim that outlives the set (deleting or scaling
 * it never deletes data): the shape of the platform's own stateful stores.
 */
export function singleReplicaStatefulSet(scope: Construct, id: string, p: SingleReplicaStatefulSetProps): k8s.KubeStatefulSet {
  return new k8s.KubeStatefulSet(scope, id, {
    metadata: { name: p.name, labels: { ...p.labels } },
    spec: {
      serviceName: p.name,
      replicas: 1,
      selector: { matchLabels: { ...p.podLabels } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString(p.storageSize) } } },
        },
      ],
      template: { metadata: { labels: { ...p.labels } }, spec: p.podSpec },
    },
  });
}
