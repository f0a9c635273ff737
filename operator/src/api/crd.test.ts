import { describe, expect, it } from 'vitest';
import { ingestPipelineCrd, type JSONSchemaProps } from './crd.js';
import { DEFAULTS } from './defaults.js';

const crd = ingestPipelineCrd();
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;

/** Structural schema rules (apiextensions): every node has a type (or int-or-string / preserve-unknown), no type under anyOf. */
function structuralErrors(s: JSONSchemaProps, path: string, underAnyOf = false): string[] {
  const errs: string[] = [];
  if (!underAnyOf && s.type === undefined && s['x-kubernetes-int-or-string'] !== true && s['x-kubernetes-preserve-unknown-fields'] !== true)
    errs.push(`${path}: no type`);
  if (s.type === 'object' && s.properties !== undefined && s.additionalProperties !== undefined) errs.push(`${path}: properties and additionalProperties`);
  if (s['x-kubernetes-list-type'] === 'map') {
    for (const k of s['x-kubernetes-list-map-keys'] ?? [])
      if (!(s.items?.required ?? []).includes(k) && s.items?.properties?.[k]?.default === undefined) errs.push(`${path}: map key ${k} not required`);
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) errs.push(...structuralErrors(v, `${path}.${k}`));
  if (s.items) errs.push(...structuralErrors(s.items, `${path}[]`));
  if (typeof s.additionalProperties === 'object')
    errs.push(...structuralErrors(s.additionalProperties, `${path}{}`, s.additionalProperties['x-kubernetes-int-or-string'] === true));
  for (const a of s.anyOf ?? []) {
    if (underAnyOf) continue;
    if (a.properties || a.items) errs.push(`${path}: anyOf with structure`);
  }
  return errs;
}

function at(path: string): JSONSchemaProps {
  let s: JSONSchemaProps | undefined = root;
  for (const p of path.split('.')) s = s?.properties?.[p];
  if (!s) throw new Error(`no schema at ${path}`);
  return s;
}

describe('ingestPipelineCrd', () => {
  it('names the group, version, kind and plural', () => {
    expect(crd.metadata.name).toBe('ingestpipelines.ingest.clinical.dev');
    expect(crd.spec.group).toBe('ingest.clinical.dev');
    expect(crd.spec.names).toMatchObject({ kind: 'IngestPipeline', plural: 'ingestpipelines', singular: 'ingestpipeline', listKind: 'IngestPipelineList' });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
  });

  it('has a status subresource', () => {
    expect(version.subresources).toEqual({ status: {} });
  });

  it('is a structural schema', () => {
    expect(structuralErrors(root, '')).toEqual([]);
  });

  it.each(['Lag', 'Lag-s', 'Replicas', 'Ready', 'Age'])('has the printer column %s', (name) => {
    expect(version.additionalPrinterColumns!.map((c) => c.name)).toContain(name);
  });

  it('printer columns point at fields of the schema', () => {
    for (const c of version.additionalPrinterColumns!) {
      const m = /^\.status\.([a-zA-Z]+)/.exec(c.jsonPath);
      if (m) expect(root.properties!['status']!.properties![m[1]!], c.jsonPath).toBeDefined();
    }
  });

  it.each([
    ['spec.consumer.metricsPort', DEFAULTS.metricsPort],
    ['spec.consumer.shutdownTimeoutSeconds', DEFAULTS.shutdownTimeoutSeconds],
    ['spec.scaling.minReplicas', DEFAULTS.minReplicas],
    ['spec.scaling.freshnessTargetSeconds', DEFAULTS.freshnessTargetSeconds],
    ['spec.scaling.policy.targetUtilization', DEFAULTS.policy.targetUtilization],
    ['spec.scaling.policy.rebalanceHoldSeconds', DEFAULTS.policy.rebalanceHoldSeconds],
    ['spec.scaling.policy.scaleDownStabilizationSeconds', DEFAULTS.policy.scaleDownStabilizationSeconds],
    ['spec.scaling.policy.stuckPartitionSeconds', DEFAULTS.policy.stuckPartitionSeconds],
    ['spec.scaling.policy.evenSpread', DEFAULTS.policy.evenSpread],
    ['spec.scaling.policy.scaleToZero', DEFAULTS.policy.scaleToZero],
    ['spec.scaling.policy.activationLag', DEFAULTS.policy.activationLag],
  ])('documents the default of %s (%s) like the operator', (path, def) => {
    expect(at(path).default).toEqual(def);
    expect(at(path).description).toBeTruthy();
  });

  it('every policy knob has a default', () => {
    for (const [k, v] of Object.entries(at('spec.scaling.policy').properties!)) expect(v.default, k).toBeDefined();
    expect(Object.keys(at('spec.scaling.policy').properties!).sort()).toEqual(Object.keys(DEFAULTS.policy).sort());
  });

  it('requires what has no default', () => {
    expect(root.required).toEqual(['spec']);
    expect(at('spec').required).toEqual(['kafka', 'consumer', 'scaling']);
    expect(at('spec.kafka').required).toEqual(['bootstrapServers', 'topic', 'consumerGroup']);
    expect(at('spec.consumer.secrets').required).toEqual(['identityHmacSecret', 'databaseUrl']);
    expect(at('spec.scaling').required).toEqual(['maxReplicas']);
  });

  it('validates min ≤ max and zero only with scaleToZero (CEL)', () => {
    const rules = at('spec.scaling')['x-kubernetes-validations']!.map((r) => r.rule);
    expect(rules).toContain('self.minReplicas <= self.maxReplicas');
    expect(rules.some((r) => r.includes('scaleToZero'))).toBe(true);
  });

  it('is JSON (no undefined, functions or classes)', () => {
    expect(JSON.parse(JSON.stringify(crd))).toEqual(crd);
  });
});
