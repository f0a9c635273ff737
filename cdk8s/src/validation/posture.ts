/**
 * The security posture of every pod the platform runs, checked on the synthesized objects: each
 * kind that carries a pod template is listed with where its templates are, and every template
 * must meet the Pod Security Standard `restricted` plus this project's rules (read-only root file
 * system, no service-account token unless the pod calls the API, resources set). A kind that is in
 * neither list below fails the walk, so a new workload cannot slip past.
 */
import { describe, isRecord, type KubeObject } from './types.js';

type Json = Record<string, unknown>;

export interface PodTemplateRef {
  /** Where it is, for messages. */
  readonly where: string;
  readonly pod: Json;
  readonly containers: readonly { readonly where: string; readonly securityContext: unknown; readonly container?: Json }[];
  /** A full PodSpec (our own workloads), rather than the security fields of an operator's template. */
  readonly fullSpec: boolean;
}

/** Kinds that carry no pod. */
export const PODLESS_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'NetworkPolicy',
  'ConfigMap',
  'Service',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'APIService',
  'KafkaTopic',
  'KafkaUser',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'PersistentVolumeClaim',
  'PodMonitor',
  'PrometheusRule',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  // The operator turns it into a Deployment: the tests check that Deployment (buildConsumerDeployment).
  'IngestPipeline',
]);

const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), o);
const rec = (v: unknown): Json => (isRecord(v) ? v : {});

function fromPodSpec(where: string, spec: unknown): PodTemplateRef {
  const s = rec(spec);
  const list = (k: string) =>
    (Array.isArray(s[k]) ? (s[k] as unknown[]) : []).map((c, i) => ({
      where: `${where}.${k}[${i}]`,
      securityContext: rec(c)['securityContext'],
      container: rec(c),
    }));
  return { where, pod: s, containers: [...list('initContainers'), ...list('containers')], fullSpec: true };
}

/** Strimzi-style templates: a pod template (security context at .securityContext) and container templates. */
function fromTemplates(where: string, pod: unknown, containers: Record<string, unknown>): PodTemplateRef {
  return {
    where,
    pod: { securityContext: get(pod, 'securityContext') },
    containers: Object.entries(containers).map(([k, c]) => ({ where: `${where}.${k}`, securityContext: get(c, 'securityContext') })),
    fullSpec: false,
  };
}

/** Every pod template of an object ([] for a podless kind); throws for a kind it does not know. */
export function podTemplates(obj: KubeObject): PodTemplateRef[] {
  const spec = rec(obj['spec']);
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return [fromPodSpec('spec.template.spec', get(spec, 'template', 'spec'))];
    case 'CronJob':
      return [fromPodSpec('spec.jobTemplate.spec.template.spec', get(spec, 'jobTemplate', 'spec', 'template', 'spec'))];
    case 'Pod':
      return [fromPodSpec('spec', spec)];
    case 'Kafka': {
      const t = rec(get(spec, 'kafka', 'template'));
      const eo = rec(get(spec, 'entityOperator', 'template'));
      return [
        fromTemplates('spec.kafka.template', t['pod'], { kafkaContainer: t['kafkaContainer'], initContainer: t['initContainer'] }),
        fromTemplates('spec.entityOperator.template', eo['pod'], {
          topicOperatorContainer: eo['topicOperatorContainer'],
          userOperatorContainer: eo['userOperatorContainer'],
        }),
      ];
    }
    case 'KafkaNodePool': {
      const t = rec(spec['template']);
      return [fromTemplates('spec.template', t['pod'], { kafkaContainer: t['kafkaContainer'], initContainer: t['initContainer'] })];
    }
    case 'Cluster':
      return [
        {
          where: 'spec',
          pod: { securityContext: spec['podSecurityContext'] },
          containers: [{ where: 'spec.securityContext', securityContext: spec['securityContext'] }],
          fullSpec: false,
        },
      ];
    case 'Pooler': {
      const podSpec = rec(get(spec, 'template', 'spec'));
      const containers = Array.isArray(podSpec['containers']) ? (podSpec['containers'] as unknown[]) : [];
      return [
        {
          where: 'spec.template.spec',
          pod: { securityContext: podSpec['securityContext'] },
          containers:
            containers.length === 0
              ? [{ where: 'spec.template.spec.containers', securityContext: undefined }]
              : containers.map((c, i) => ({ where: `spec.template.spec.containers[${i}]`, securityContext: rec(c)['securityContext'] })),
          fullSpec: false,
        },
      ];
    }
    case 'SparkApplication':
      return ['driver', 'executor'].map((role) => ({
        where: `spec.${role}`,
        pod: { securityContext: get(spec, role, 'podSecurityContext') },
        // The role's settings stand for its container (env, volumeMounts: the transport check reads them).
        containers: [{ where: `spec.${role}.securityContext`, securityContext: get(spec, role, 'securityContext'), container: rec(get(spec, role)) }],
        fullSpec: false,
      }));
    default:
      if (PODLESS_KINDS.has(obj.kind)) return [];
      throw new Error(
        `${describe(obj)}: no posture rule for kind ${obj.kind}: list where its pod templates are in validation/posture.ts (or that it has none)`,
      );
  }
}

export interface PostureOptions {
  /** Service accounts whose pods may mount a token (they call the Kubernetes API). */
  readonly apiClients: ReadonlySet<string>;
}

/** Every violation of the posture in one object. */
export function postureErrors(obj: KubeObject, opts: PostureOptions): string[] {
  const out: string[] = [];
  for (const t of podTemplates(obj)) {
    const at = (w: string, msg: string) => out.push(`${describe(obj)}: ${w}: ${msg}`);
    const psc = rec(t.pod['securityContext']);
    if (psc['runAsNonRoot'] !== true) at(t.where, 'pod securityContext.runAsNonRoot must be true');
    if (psc['runAsUser'] === 0) at(t.where, 'pod runs as root (runAsUser 0)');
    const podSeccomp = get(psc, 'seccompProfile', 'type');
    for (const c of t.containers) {
      const sc = rec(c.securityContext);
      if (sc['allowPrivilegeEscalation'] !== false) at(c.where, 'allowPrivilegeEscalation must be false');
      if (sc['privileged'] === true) at(c.where, 'privileged');
      if (sc['readOnlyRootFilesystem'] !== true) at(c.where, 'readOnlyRootFilesystem must be true');
      if (sc['runAsUser'] === 0) at(c.where, 'runs as root (runAsUser 0)');
      if (sc['runAsNonRoot'] === false) at(c.where, 'runAsNonRoot false');
      const drop = get(sc, 'capabilities', 'drop');
      if (!Array.isArray(drop) || !drop.includes('ALL')) at(c.where, "capabilities.drop must include 'ALL'");
      const add = get(sc, 'capabilities', 'add');
      if (Array.isArray(add) && add.length > 0) at(c.where, `capabilities added: ${add.join(',')}`);
      const seccomp = get(sc, 'seccompProfile', 'type') ?? podSeccomp;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') at(c.where, 'seccompProfile must be RuntimeDefault (pod or container)');
      if (t.fullSpec && c.container !== undefined) {
        for (const p of (Array.isArray(c.container['ports']) ? c.container['ports'] : []) as Json[]) if (p['hostPort'] !== undefined) at(c.where, 'hostPort');
        const res = rec(c.container['resources']);
        if (get(res, 'requests', 'cpu') === undefined || get(res, 'requests', 'memory') === undefined || get(res, 'limits', 'memory') === undefined) {
          at(c.where, 'resources must set requests.cpu, requests.memory and limits.memory');
        }
      }
    }
    if (t.fullSpec) {
      for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (t.pod[k] === true) at(t.where, k);
      for (const v of (Array.isArray(t.pod['volumes']) ? t.pod['volumes'] : []) as Json[])
        if (v['hostPath'] !== undefined) at(t.where, `hostPath volume ${String(v['name'])}`);
      const sa = typeof t.pod['serviceAccountName'] === 'string' ? t.pod['serviceAccountName'] : 'default';
      if (t.pod['automountServiceAccountToken'] !== false && !opts.apiClients.has(sa))
        at(t.where, `service account ${sa} does not call the API: automountServiceAccountToken must be false`);
    }
  }
  return out;
}

/** The Namespace must enforce `restricted`. */
export function namespaceErrors(obj: KubeObject): string[] {
  if (obj.kind !== 'Namespace') return [];
  const labels = obj.metadata.labels ?? {};
  return labels['pod-security.kubernetes.io/enforce'] === 'restricted' ? [] : [`${describe(obj)}: pod-security.kubernetes.io/enforce must be 'restricted'`];
}

/**
 * Lists the Kubernetes API merges by key (`x-kubernetes-list-map-keys`): a duplicate key passes a
 * JSON-schema check but server-side apply rejects the object (an env variable set twice, say).
 */
const LIST_MAP_KEYS: Readonly<Record<string, string>> = { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath' };

export function duplicateKeyErrors(obj: KubeObject): string[] {
  const out: string[] = [];
  for (const t of podTemplates(obj)) {
    if (!t.fullSpec) continue;
    const volumes = (Array.isArray(t.pod['volumes']) ? (t.pod['volumes'] as unknown[]) : []).map((v) => rec(v)['name']);
    for (const d of duplicates(volumes)) out.push(`${describe(obj)}: ${t.where}.volumes: name ${String(d)} appears twice`);
    for (const c of t.containers) {
      for (const [list, key] of Object.entries(LIST_MAP_KEYS)) {
        const items = Array.isArray(c.container?.[list]) ? (c.container[list] as unknown[]) : [];
        for (const d of duplicates(items.map((i) => rec(i)[key]))) out.push(`${describe(obj)}: ${c.where}.${list}: ${key} ${String(d)} appears twice`);
      }
    }
  }
  return out;
}

function duplicates(values: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const dup = new Set<unknown>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

/**
 * Nothing of the platform is reachable from outside the cluster: no Service of type NodePort or
 * LoadBalancer (the stores hold PHI; an exposed public store is one more door to the
 * "anonymized" data, even behind its authorizer). A development
 * NodePort is opt-in (settings: publicStore.nodePort) and fails this check on purpose.
 */
export function exposureErrors(obj: KubeObject): string[] {
  if (obj.kind !== 'Service') return [];
  const type = (obj as unknown as { spec?: { type?: string } }).spec?.type;
  return type === 'NodePort' || type === 'LoadBalancer' ? [`${describe(obj)}: type ${type} exposes it outside the cluster`] : [];
}

/**
 * No NetworkPolicy lets a pod send to every address: egress names its peers (pods, or the API
 * server's own addresses). An egress to 0.0.0.0/0 from a pod that holds PHI or credentials is a
 * way out for them.
 */
export function egressErrors(obj: KubeObject): string[] {
  if (obj.kind !== 'NetworkPolicy') return [];
  const egress = (obj as unknown as { spec?: { egress?: { to?: { ipBlock?: { cidr?: string } }[] }[] } }).spec?.egress ?? [];
  return egress.flatMap((rule) =>
    (rule.to ?? [])
      .filter((p) => p.ipBlock?.cidr === '0.0.0.0/0' || p.ipBlock?.cidr === '::/0')
      .map((p) => `${describe(obj)}: egress to every address (${p.ipBlock!.cidr})`),
  );
}

/**
 * Who may create pods may mount every Secret of the namespace into one. Every ServiceAccount a
 * Role or ClusterRole of ours lets create (or change) pods is therefore held by a
 * ValidatingAdmissionPolicy that matches its user name and is bound with `Deny`, so that what
 * it can start is narrowed to what it needs (the Spark driver: lib/spark.ts).
 */
export function podCreatorErrors(objects: readonly KubeObject[]): string[] {
  type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[] };
  type Binding = { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[] };
  const createsPods = (r: Rule) =>
    (r.apiGroups ?? []).some((g) => g === '' || g === '*') &&
    (r.resources ?? []).some((x) => x === 'pods' || x === '*') &&
    (r.verbs ?? []).some((v) => ['create', 'update', 'patch', '*'].includes(v));
  const roles = new Set(
    objects
      .filter((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && ((o['rules'] as Rule[] | undefined) ?? []).some(createsPods))
      .map((o) => `${o.kind}/${o.metadata.name}`),
  );
  const policies = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
  const bound = new Set(
    objects
      .filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')
      .filter((o) => ((get(o, 'spec', 'validationActions') as string[] | undefined) ?? []).includes('Deny'))
      .map((o) => get(o, 'spec', 'policyName')),
  );
  const out: string[] = [];
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const { roleRef, subjects } = b as unknown as Binding;
    if (!roles.has(`${roleRef.kind}/${roleRef.name}`)) continue;
    for (const sub of (subjects ?? []).filter((x) => x.kind === 'ServiceAccount')) {
      const user = `system:serviceaccount:${sub.namespace ?? b.metadata.namespace ?? ''}:${sub.name}`;
      const held = policies.some(
        (p) =>
          bound.has(p.metadata.name) &&
          ((get(p, 'spec', 'matchConditions') as { expression?: string }[] | undefined) ?? []).some((m) => m.expression?.includes(`'${user}'`)),
      );
      if (!held)
        out.push(
          `${describe(b)}: ${user} may create pods (${roleRef.kind} ${roleRef.name}), and with them mount any Secret: no ValidatingAdmissionPolicy bound with Deny narrows what it may create`,
        );
    }
  }
  return out;
}

/**
 * Only the consumers write the anonymized store. The in-cluster DynamoDB-API store (a StatefulSet
 * whose container has PUBLIC_STORE_WRITER_KEY_ID) must be given its authorizer's keys from a
 * Secret (without them it would take any request), and the writer's key may reach no pod but the
 * consumers' (`consumerPodLabels`): the validation gets the reader's. No AWS credential is a literal.
 */
export function publicStoreWriterErrors(objects: readonly KubeObject[], consumerPodLabels: Readonly<Record<string, string>>): string[] {
  type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
  const podsOf = (o: KubeObject) =>
    podTemplates(o)
      .filter((t) => t.fullSpec)
      .map((t) => ({ labels: rec(get(o, 'spec', 'template', 'metadata', 'labels')), containers: t.containers.map((c) => c.container ?? {}) }));
  const out: string[] = [];
  const stores = objects.filter((o) =>
    podsOf(o).some((p) => p.containers.some((c) => ((c['env'] ?? []) as Env[]).some((e) => e.name === 'PUBLIC_STORE_WRITER_KEY_ID'))),
  );
  const writerRefs = new Set<string>();
  for (const store of stores) {
    for (const c of podsOf(store).flatMap((p) => p.containers)) {
      const env = (c['env'] ?? []) as Env[];
      for (const name of ['PUBLIC_STORE_WRITER_KEY_ID', 'PUBLIC_STORE_WRITER_SECRET', 'PUBLIC_STORE_READER_KEY_ID', 'PUBLIC_STORE_READER_SECRET']) {
        const e = env.find((x) => x.name === name);
        const ref = e?.valueFrom?.secretKeyRef;
        if (ref === undefined) out.push(`${describe(store)}: ${name} must come from a Secret: without its keys the store takes any request`);
        else if (name.startsWith('PUBLIC_STORE_WRITER')) writerRefs.add(`${ref.name}/${ref.key}`);
      }
    }
  }
  for (const o of objects) {
    if (stores.includes(o)) continue;
    for (const pod of podsOf(o)) {
      const consumer = Object.entries(consumerPodLabels).every(([k, v]) => pod.labels[k] === v);
      for (const e of pod.containers.flatMap((c) => (c['env'] ?? []) as Env[])) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref !== undefined && writerRefs.has(`${ref.name}/${ref.key}`) && !consumer)
          out.push(`${describe(o)}: ${e.name} is the public store's writer key: only the consumers may write the anonymized store`);
        if (e.name.startsWith('AWS_') && /KEY/.test(e.name) && e.value !== undefined)
          out.push(`${describe(o)}: ${e.name} is a literal: credentials come from a Secret`);
      }
    }
  }
  return out;
}
