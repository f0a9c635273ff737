/**
 * Structural validation of custom resources against the OpenAPI v3 schema of their CRD, with a
 * JSON-schema validator (ajv). The CRD schema is translated the way the apiserver reads it:
 * - a field no `properties` entry names is unknown, and rejected (the apiserver prunes it, and
 *   `kubectl apply`'s strict field validation refuses it), except under
 *   `x-kubernetes-preserve-unknown-fields: true`;
 * - `x-kubernetes-int-or-string`, `x-kubernetes-embedded-resource`, `nullable`, OpenAPI's boolean
 *   `exclusiveMinimum`/`exclusiveMaximum`, Kubernetes formats;
 * - `metadata` at the root is ObjectMeta (checked by the Kubernetes schema, not the CRD's).
 * CEL rules (`x-kubernetes-validations`) are not evaluated here: only a real apiserver runs them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { parseAllDocuments } from 'yaml';
import { describe, isRecord, type KubeObject } from './types.js';

// ajv-formats is CommonJS with a default export.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats;

export interface CrdDocument {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string; readonly plural: string };
    readonly scope: string;
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema?: { readonly openAPIV3Schema: Record<string, unknown> };
    }[];
  };
}

type Schema = Record<string, unknown>;

/** Formats the apiserver knows and checks; others are accepted as annotations. */
const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * A CRD's `pattern` is Go (RE2) syntax; JavaScript has no inline flags. `(?i)` (case-insensitive
 * from there on, as the Prometheus Operator's CRDs use it) becomes a class per letter.
 */
export function re2ToJs(pattern: string): string {
  const at = pattern.indexOf('(?i)');
  if (at === -1) return pattern;
  /** The letters of a class body (not escapes) in the other case: [a-z] also matches A-Z. */
  const otherCase = (body: string) => {
    let o = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c === '\\') {
        i++;
        continue;
      }
      o += c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
    }
    return /[a-zA-Z]/.test(o) ? o.replace(/^\^/, '') : '';
  };
  let out = pattern.slice(0, at);
  for (let i = at + 4; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      out += c + (pattern[++i] ?? '');
    } else if (c === '[') {
      let j = i + 1;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      const body = pattern.slice(i + 1, j);
      out += `[${body}${otherCase(body)}]`;
      i = j;
    } else {
      out += c.toLowerCase() !== c.toUpperCase() ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
    }
  }
  return out;
}

/** Translates one CRD schema node (recursively) into a JSON schema ajv validates. */
export function toJsonSchema(node: Schema, root = false): Schema {
  const out: Schema = {};
  for (const key of [
    'format',
    'enum',
    'pattern',
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
    'minItems',
    'maxItems',
    'uniqueItems',
    'multipleOf',
    'required',
    'minProperties',
    'maxProperties',
    'const',
  ]) {
    if (node[key] !== undefined) out[key] = node[key];
  }
  if (typeof out['pattern'] === 'string') out['pattern'] = re2ToJs(out['pattern']);
  if (node['exclusiveMinimum'] === true && typeof node['minimum'] === 'number') {
    out['exclusiveMinimum'] = node['minimum'];
    delete out['minimum'];
  }
  if (node['exclusiveMaximum'] === true && typeof node['maximum'] === 'number') {
    out['exclusiveMaximum'] = node['maximum'];
    delete out['maximum'];
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = node['x-kubernetes-embedded-resource'] === true;
  let type = node['type'] as string | undefined;
  if (intOrString) {
    if (!Array.isArray(node['anyOf'])) out['type'] = ['integer', 'string'];
  } else if (type !== undefined) {
    out['type'] = node['nullable'] === true ? [type, 'null'] : type;
  }
  for (const key of ['anyOf', 'allOf', 'oneOf']) {
    const list = node[key];
    if (Array.isArray(list)) out[key] = list.map((s) => toJsonSchema(s as Schema));
  }
  if (isRecord(node['not'])) out['not'] = toJsonSchema(node['not']);
  if (isRecord(node['items'])) out['items'] = toJsonSchema(node['items']);

  const props = isRecord(node['properties']) ? { ...(node['properties'] as Record<string, Schema>) } : undefined;
  if (type === undefined && props !== undefined) type = 'object';
  if (type === 'object' || embedded) {
    const properties: Record<string, Schema> = {};
    for (const [k, v] of Object.entries(props ?? {})) properties[k] = toJsonSchema(v);
    if (root || embedded) {
      // apiVersion, kind and metadata are the apiserver's: ObjectMeta is checked separately.
      properties['apiVersion'] = { type: 'string' };
      properties['kind'] = { type: 'string' };
      properties['metadata'] = { type: 'object' };
    }
    if (Object.keys(properties).length > 0) out['properties'] = properties;
    const ap = node['additionalProperties'];
    if (isRecord(ap)) out['additionalProperties'] = toJsonSchema(ap);
    else if (ap === true || preserve) out['additionalProperties'] = true;
    else out['additionalProperties'] = false;
  }
  return out;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: true });
  addFormats(ajv);
  for (const [name, [min, max]] of Object.entries(INT_RANGES))
    ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= min && n <= max });
  for (const name of ['int-or-string', 'quantity', 'double', 'float', 'byte', 'password', 'duration', 'cidr', 'mac', 'isbn', 'bsonobjectid', 'datetime']) {
    if (!ajv.formats[name]) ajv.addFormat(name, true);
  }
  return ajv;
}

export class CrdRegistry {
  private readonly ajv = newAjv();
  /** `group/version/kind` → validator (compiled on first use). */
  private readonly versions = new Map<string, { crd: CrdDocument; served: boolean; schema: Schema; fn?: ValidateFunction }>();
  private readonly kinds = new Set<string>();

  add(crd: CrdDocument): this {
    for (const v of crd.spec.versions) {
      const schema = v.schema?.openAPIV3Schema;
      if (schema === undefined) throw new Error(`CRD ${crd.metadata.name} version ${v.name} has no schema`);
      this.versions.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { crd, served: v.served, schema });
    }
    this.kinds.add(`${crd.spec.group}/${crd.spec.names.kind}`);
    return this;
  }

  /** Whether some CRD of the registry defines this kind (any version). */
  defines(apiVersion: string, kind: string): boolean {
    return this.kinds.has(`${apiVersion.split('/')[0]}/${kind}`);
  }

  crdOf(apiVersion: string, kind: string): CrdDocument | undefined {
    return this.versions.get(`${apiVersion}/${kind}`)?.crd;
  }

  /** Errors of a custom resource against its CRD (empty when valid). */
  errors(obj: KubeObject): string[] {
    const entry = this.versions.get(`${obj.apiVersion}/${obj.kind}`);
    if (entry === undefined) return [`${describe(obj)}: no CRD serves ${obj.apiVersion} ${obj.kind}`];
    if (!entry.served) return [`${describe(obj)}: ${obj.apiVersion} is not served by CRD ${entry.crd.metadata.name}`];
    entry.fn ??= this.ajv.compile(toJsonSchema(entry.schema, true));
    const out: string[] = [];
    if (entry.crd.spec.scope === 'Namespaced' && obj.metadata.namespace === undefined) out.push(`${describe(obj)}: namespaced kind without metadata.namespace`);
    if (!entry.fn(obj)) {
      for (const e of entry.fn.errors ?? []) out.push(`${describe(obj)}: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    }
    out.push(...metadataErrors(obj));
    return out;
  }
}

/** ObjectMeta of any object, against the Kubernetes schema. */
export function metadataErrors(obj: KubeObject): string[] {
  try {
    new ObjectMeta(obj.metadata).validate();
  } catch (e) {
    return [`${describe(obj)}: metadata: ${e instanceof Error ? e.message : String(e)}`];
  }
  const name = obj.metadata.name ?? obj.metadata.generateName;
  if (name === undefined || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?-?$/.test(name) || name.length > 253)
    return [`${describe(obj)}: metadata.name is not a DNS subdomain`];
  return [];
}

/** Every CRD document of every YAML file under `dir` (recursively). */
export function loadCrds(dir: string): CrdDocument[] {
  const out: CrdDocument[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...loadCrds(path));
    else if (/\.ya?ml$/.test(entry.name)) {
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
        const crd = doc.toJS() as CrdDocument | null;
        if (crd?.kind === 'CustomResourceDefinition') out.push(crd);
      }
    }
  }
  return out;
}
