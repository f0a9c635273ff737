import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { PlatformNamespace } from './namespace.js';

describe('PlatformNamespace', () => {
  it('enforces the restricted Pod Security Standard', () => {
    const chart = new PlatformNamespace(Testing.app(), 'ns');
    const [ns] = Testing.synth(chart);
    expect(ns.kind).toBe('Namespace');
    expect(ns.metadata.name).toBe('clinical-ingest');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
