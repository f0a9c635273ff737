/**
 * Checks that a CustomResourceDefinition is one the apiserver accepts, beyond its OpenAPI schema
 * (validated with the core kinds): the rules of a structural schema and of its extensions.
 * - every node has a `type` (unless `x-kubernetes-int-or-string` or preserve-unknown-fields);
 * - `properties` and `additionalProperties` are not both set; arrays have `items`;
 * - root `metadata` restricts at most `name` and `generateName`;
 * - `x-kubernetes-list-type: map` lists name `x-kubernetes-list-map-keys` that items require;
 * - every `default` is valid against its own node (the apiserver rejects the CRD otherwise);
 * - exactly one storage version; printer columns' types are known.
 */
import { Ajv } from 'ajv';
import { toJsonSchema, type CrdDocument } from './crd-schema.js';
import { isRecord } from './types.js';

type Schema = Record<string, unknown>;

function walk(node: Schema, path: string, out: string[], ajv: Ajv, inLogic = false): void {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!inLogic && node['type'] === undefined && !intOrString && !preserve) out.push(`${path}: no type`);
  if (isRecord(node['properties']) && node['additionalProperties'] !== undefined && node['additionalProperties'] !== false) {
    out.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  if (node['type'] === 'array' && !isRecord(node['items'])) out.push(`${path}: array without items`);
  if (node['x-kubernetes-list-type'] === 'map') {
    const keys = node['x-kubernetes-list-map-keys'];
    const items = isRecord(node['items']) ? node['items'] : {};
    const required = Array.isArray(items['required']) ? (items['required'] as string[]) : [];
    const props = isRecord(items['properties']) ? (items['properties'] as Record<string, Schema>) : {};
    if (!Array.isArray(keys) || keys.length === 0) out.push(`${path}: list-type map without x-kubernetes-list-map-keys`);
    else
      for (const k of keys as string[])
        if (!required.includes(k) && props[k]?.['default'] === undefined) out.push(`${path}: map key ${k} is neither required nor defaulted`);
  }
  if (node['default'] !== undefined) {
    const validate = ajv.compile(toJsonSchema(node));
    if (!validate(node['default'])) out.push(`${path}: default ${JSON.stringify(node['default'])} is invalid: ${ajv.errorsText(validate.errors)}`);
  }
  if (isRecord(node['properties'])) for (const [k, v] of Object.entries(node['properties'])) if (isRecord(v)) walk(v, `${path}.${k}`, out, ajv);
  if (isRecord(node['items'])) walk(node['items'], `${path}[]`, out, ajv);
  if (isRecord(node['additionalProperties'])) walk(node['additionalProperties'], `${path}{}`, out, ajv);
  for (const key of ['anyOf', 'allOf', 'oneOf']) {
    const list = node[key];
    if (Array.isArray(list)) list.forEach((s, i) => isRecord(s) && walk(s, `${path}.${key}[${i}]`, out, ajv, true));
  }
}

const COLUMN_TYPES = new Set(['integer', 'number', 'string', 'boolean', 'date']);

export function crdStructuralErrors(
  crd: CrdDocument & { spec: { versions: readonly { additionalPrinterColumns?: readonly { type: string; jsonPath: string }[] }[] } },
): string[] {
  const out: string[] = [];
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: false });
  const storage = crd.spec.versions.filter((v) => v.storage);
  if (storage.length !== 1) out.push(`exactly one storage version expected, found ${storage.length}`);
  if (crd.metadata.name !== `${crd.spec.names.plural}.${crd.spec.group}`) out.push(`metadata.name must be <plural>.<group>`);
  for (const v of crd.spec.versions) {
    const root = v.schema?.openAPIV3Schema;
    if (root === undefined) {
      out.push(`${v.name}: no schema`);
      continue;
    }
    if (root['type'] !== 'object') out.push(`${v.name}: root type must be object`);
    const meta = isRecord(root['properties']) ? (root['properties'] as Record<string, Schema>)['metadata'] : undefined;
    if (meta !== undefined && isRecord(meta['properties'])) {
      for (const k of Object.keys(meta['properties']))
        if (k !== 'name' && k !== 'generateName') out.push(`${v.name}: metadata may restrict only name and generateName, not ${k}`);
    }
    walk(root, `${v.name}`, out, ajv);
    for (const c of v.additionalPrinterColumns ?? []) {
      if (!COLUMN_TYPES.has(c.type)) out.push(`${v.name}: printer column type ${c.type}`);
      if (!c.jsonPath.startsWith('.')) out.push(`${v.name}: printer column path ${c.jsonPath} must start with '.'`);
    }
  }
  return out;
}
