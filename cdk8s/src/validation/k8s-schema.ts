/**
 * Validation of core Kubernetes kinds, two ways:
 * - against the Kubernetes OpenAPI schemas `kubernetes-models` ships (types, required fields,
 *   enums, formats), compiled by ajv;
 * - field by field against the API model of `@kubernetes/client-node` (generated from the same
 *   OpenAPI spec): a field the API does not know is an error, as the apiserver's strict field
 *   validation (`kubectl apply`'s default) makes it.
 */
import * as kc from '@kubernetes/client-node';
import * as admissionregistrationV1 from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as apiextensionsV1 from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as apiregistrationV1 from 'kubernetes-models/apiregistration.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { describe, isRecord, type KubeObject } from './types.js';

type ModelClass = new (data: unknown) => { validate(): void };

/** The API versions whose kinds this app synthesizes, with the package's model modules. */
const MODELS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'apiextensions.k8s.io/v1': apiextensionsV1,
  'apiregistration.k8s.io/v1': apiregistrationV1,
  'admissionregistration.k8s.io/v1': admissionregistrationV1,
};

export function isCoreKind(apiVersion: string): boolean {
  return apiVersion in MODELS;
}

/** Schema errors of a core object (empty when valid). */
export function coreSchemaErrors(obj: KubeObject): string[] {
  const mod = MODELS[obj.apiVersion];
  const cls = mod?.[obj.kind] as ModelClass | undefined;
  if (cls === undefined) return [`${describe(obj)}: no Kubernetes schema for this apiVersion/kind (add it to validation/k8s-schema.ts)`];
  try {
    new cls(obj).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath: string; message?: string; params?: unknown }[] }).errors;
    if (errors === undefined) return [`${describe(obj)}: ${e instanceof Error ? e.message : String(e)}`];
    return errors.map((x) => `${describe(obj)}: ${x.instancePath || '/'} ${x.message ?? ''} ${JSON.stringify(x.params ?? {})}`);
  }
}

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}
type ModelWithMap = { getAttributeTypeMap(): readonly Attribute[] };

const NO_DESCENT = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

function modelOf(type: string): ModelWithMap | undefined {
  const m = (kc as unknown as Record<string, unknown>)[type];
  return typeof m === 'function' && 'getAttributeTypeMap' in m ? (m as unknown as ModelWithMap) : undefined;
}

/** client-node's model name of a kind: `V1Deployment`, `V2HorizontalPodAutoscaler`, … */
export function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** Fields the Kubernetes API does not know, as `path: message` lines. */
export function unknownFieldErrors(obj: KubeObject): string[] {
  const type = modelName(obj.apiVersion, obj.kind);
  if (modelOf(type) === undefined) return [`${describe(obj)}: no API model ${type} to check fields against`];
  const out: string[] = [];
  walk(obj, type, '', out);
  return out.map((l) => `${describe(obj)}: ${l}`);
}

function walk(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || NO_DESCENT.has(type)) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = modelOf(type);
  if (model === undefined || !isRecord(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = fields.get(k);
    if (t === undefined) out.push(`${path || '.'}${path ? '.' : ''}${k}: unknown field (not in ${type})`);
    else walk(v, t, `${path}.${k}`, out);
  }
}

/** Both checks. */
export function coreErrors(obj: KubeObject): string[] {
  return [...coreSchemaErrors(obj), ...unknownFieldErrors(obj)];
}
