/**
 * No secret value in any synthesized object, and every reference resolves: each Secret key a pod or
 * a custom resource reads is one `make deploy` generates or an operator writes; each ConfigMap key,
 * ServiceAccount and Service selector names something that is there.
 */
import { describe, isRecord, type KubeObject } from './types.js';

/** Variable names that carry secrets when they have a literal value. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIALS?|API_KEY)$/i;
/** A URL with a user and a password before the host. */
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

export interface SecretPolicy {
  /** Literal `NAME=value` pairs known not to be secrets (dynalite's placeholder credentials). */
  readonly allowed: ReadonlyMap<string, string>;
}

function visit(value: unknown, path: string, fn: (v: unknown, path: string, key: string) => void, key = ''): void {
  fn(value, path, key);
  if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`, fn, key));
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`, fn, k);
}

export function secretValueErrors(objects: readonly KubeObject[], policy: SecretPolicy): string[] {
  const out: string[] = [];
  const allowed = (name: string, value: unknown) => policy.allowed.get(name) === value;
  for (const obj of objects) {
    if (obj.kind === 'Secret') out.push(`${describe(obj)}: a Secret is synthesized (secrets are generated at deploy time)`);
    visit(obj, '', (v, path, key) => {
      if (typeof v === 'string' && URL_CREDENTIALS.test(v)) out.push(`${describe(obj)}: ${path}: URL with credentials`);
      // env: [{ name, value }]
      if (isRecord(v) && typeof v['name'] === 'string' && typeof v['value'] === 'string' && SECRET_NAME.test(v['name']) && !allowed(v['name'], v['value'])) {
        out.push(`${describe(obj)}: ${path}: literal value for ${v['name']}`);
      }
      // ConfigMap data and other string maps
      if (key === 'data' && isRecord(v)) {
        for (const [k, s] of Object.entries(v))
          if (SECRET_NAME.test(k) && !allowed(k, s)) out.push(`${describe(obj)}: ${path}.${k}: secret-looking key in data`);
      }
    });
  }
  return out;
}

export interface KnownObjects {
  /** Secret name → keys, of Secrets generated at deploy time or written by an operator. */
  readonly secrets: ReadonlyMap<string, readonly string[]>;
  /** ConfigMap name → keys, of ConfigMaps made at deploy time (besides the synthesized ones). */
  readonly configMaps?: ReadonlyMap<string, readonly string[]>;
}

interface Ref {
  readonly kind: 'Secret' | 'ConfigMap' | 'ServiceAccount';
  readonly name: string;
  readonly key?: string | undefined;
  readonly where: string;
}

function refsOf(obj: KubeObject): Ref[] {
  const refs: Ref[] = [];
  const nameKey = (v: unknown): { name: string; key?: string } | undefined =>
    isRecord(v) && typeof v['name'] === 'string' ? { name: v['name'], ...(typeof v['key'] === 'string' ? { key: v['key'] } : {}) } : undefined;
  visit(obj, '', (v, path, key) => {
    if (key === 'secret' && isRecord(v) && typeof v['secretName'] === 'string') {
      refs.push({ kind: 'Secret', name: v['secretName'], where: path });
      return;
    }
    const nk = nameKey(v);
    if (nk === undefined) {
      if (key === 'serviceAccountName' && typeof v === 'string') refs.push({ kind: 'ServiceAccount', name: v, where: path });
      if (key === 'serviceAccount' && typeof v === 'string') refs.push({ kind: 'ServiceAccount', name: v, where: path });
      return;
    }
    if (key === 'secretKeyRef' || key === 'passwordSecret') refs.push({ kind: 'Secret', ...nk, where: path });
    else if (key === 'configMapKeyRef' || key === 'configMapRef' || key === 'configMap') refs.push({ kind: 'ConfigMap', ...nk, where: path });
    else if (path.includes('.postInitApplicationSQLRefs.configMapRefs[')) refs.push({ kind: 'ConfigMap', ...nk, where: path });
    else if (path.includes('.envSecretKeyRefs.') || path.includes('.consumer.secrets.')) refs.push({ kind: 'Secret', ...nk, where: path });
  });
  // The IngestPipeline names the consumers' ConfigMap and ServiceAccount.
  if (obj.kind === 'IngestPipeline') {
    const consumer = (obj['spec'] as { consumer?: { configMapName?: string } } | undefined)?.consumer;
    if (consumer?.configMapName) refs.push({ kind: 'ConfigMap', name: consumer.configMapName, where: '.spec.consumer.configMapName' });
  }
  return refs;
}

export function referenceErrors(objects: readonly KubeObject[], known: KnownObjects): string[] {
  const out: string[] = [];
  const configMaps = new Map<string, readonly string[]>(known.configMaps ?? []);
  const accounts = new Set<string>(['default']);
  for (const o of objects) {
    if (o.kind === 'ConfigMap') configMaps.set(o.metadata.name ?? '', Object.keys((o['data'] as Record<string, string> | undefined) ?? {}));
    if (o.kind === 'ServiceAccount') accounts.add(o.metadata.name ?? '');
  }
  for (const o of objects) {
    for (const r of refsOf(o)) {
      const at = `${describe(o)}: ${r.where}`;
      if (r.kind === 'Secret') {
        const keys = known.secrets.get(r.name);
        if (keys === undefined) out.push(`${at}: Secret ${r.name} is neither generated at deploy time nor written by an operator`);
        else if (r.key !== undefined && !keys.includes(r.key)) out.push(`${at}: Secret ${r.name} has no key ${r.key} (has ${keys.join(', ')})`);
      } else if (r.kind === 'ConfigMap') {
        const keys = configMaps.get(r.name);
        if (keys === undefined) out.push(`${at}: ConfigMap ${r.name} is not synthesized`);
        else if (r.key !== undefined && !keys.includes(r.key)) out.push(`${at}: ConfigMap ${r.name} has no key ${r.key}`);
      } else if (!accounts.has(r.name)) out.push(`${at}: ServiceAccount ${r.name} is not synthesized`);
    }
  }
  return out;
}

/** Pod labels of every pod template in `objects` (ours and those the operator builds). */
function podLabelSets(objects: readonly KubeObject[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const o of objects) {
    const labels = (o['spec'] as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels;
    if (labels !== undefined && ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind)) out.push(labels);
  }
  return out;
}

/** Every Service selects the pods of some workload (`extraPods`: labels of pods operators create). */
export function serviceSelectorErrors(objects: readonly KubeObject[], extraPods: readonly Record<string, string>[] = []): string[] {
  const pods = [...podLabelSets(objects), ...extraPods];
  const out: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const selector = (o['spec'] as { selector?: Record<string, string> } | undefined)?.selector ?? {};
    const matches = pods.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    if (!matches) out.push(`${describe(o)}: selector ${JSON.stringify(selector)} matches no pod template`);
  }
  return out;
}
