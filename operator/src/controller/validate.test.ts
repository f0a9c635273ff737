import { describe, expect, it } from 'vitest';
import type { IngestPipelineSpec } from '../api/types.js';
import { validateSpec } from './validate.js';

const spec = (image: string): IngestPipelineSpec => ({
  kafka: { bootstrapServers: 'k:9092', topic: 't', consumerGroup: 'g' },
  consumer: { image, secrets: { identityHmacSecret: { name: 'i', key: 'k' }, databaseUrl: { name: 'd', key: 'url' } } },
  scaling: { maxReplicas: 2 },
});

describe('validateSpec: the consumer images the operator runs', () => {
  const policy = { allowedImagePrefixes: ['clinical-ingest/', 'registry.example/clinical-ingest/'] };
  it("runs the project's images", () => {
    expect(validateSpec(spec('clinical-ingest/consumer:dev'), policy)).toEqual([]);
    expect(validateSpec(spec('registry.example/clinical-ingest/consumer:1.2'), policy)).toEqual([]);
  });
  it('refuses any other image: whoever edits a pipeline would otherwise run any code with its Secrets', () => {
    expect(validateSpec(spec('evil/exfiltrate:latest'), policy)).toEqual([expect.stringMatching(/spec\.consumer\.image is not allowed here/)]);
    expect(validateSpec(spec('clinical-ingest-evil/consumer'), { allowedImagePrefixes: ['clinical-ingest/'] })).toHaveLength(1);
  });
  it('allows any image when no prefix is configured', () => {
    expect(validateSpec(spec('anything:1'), {})).toEqual([]);
  });
});

describe('validateSpec: the Secrets the operator gives consumers', () => {
  const policy = { allowedSecretNames: ['i', 'd'] };
  it('gives the Secrets made for the consumers', () => {
    expect(validateSpec(spec('clinical-ingest/consumer:dev'), policy)).toEqual([]);
  });
  it("refuses another component's Secret (the history role's password), naming the field, not the Secret", () => {
    const s = spec('clinical-ingest/consumer:dev');
    const other = { ...s, consumer: { ...s.consumer, secrets: { ...s.consumer.secrets, redisUrl: { name: 'pg-history-reader', key: 'password' } } } };
    expect(validateSpec(other, policy)).toEqual([expect.stringMatching(/^spec\.consumer\.secrets\.redisUrl names a Secret the consumers may not be given/)]);
  });
  it('gives any Secret when none is configured', () => {
    expect(validateSpec(spec('x'), {})).toEqual([]);
  });
});

describe("validateSpec: the API's own rules, from the one definition the CRD is generated from", () => {
  const base = spec('clinical-ingest/consumer:dev');
  it('names a missing field, a value out of bounds and a bad pattern', () => {
    const bad = {
      ...base,
      kafka: { ...base.kafka, bootstrapServers: undefined, topic: 'no spaces allowed' },
      consumer: { ...base.consumer, metricsPort: 80 },
    } as unknown as IngestPipelineSpec;
    const errs = validateSpec(bad);
    expect(errs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.kafka\.bootstrapServers: /),
        expect.stringMatching(/^spec\.kafka\.topic: /),
        expect.stringMatching(/^spec\.consumer\.metricsPort: .*1024/),
      ]),
    );
    expect(errs).toHaveLength(3);
  });
  it('checks the rules across fields the CRD states in CEL: min ≤ max, zero only with scaleToZero', () => {
    expect(validateSpec({ ...base, scaling: { minReplicas: 5, maxReplicas: 2 } })).toEqual([
      'spec.scaling.minReplicas: minReplicas must not exceed maxReplicas',
    ]);
    expect(validateSpec({ ...base, scaling: { minReplicas: 0, maxReplicas: 2 } })).toEqual([
      'spec.scaling.minReplicas: minReplicas 0 needs policy.scaleToZero',
    ]);
    expect(validateSpec({ ...base, scaling: { minReplicas: 0, maxReplicas: 2, policy: { scaleToZero: true } } })).toEqual([]);
  });
});
