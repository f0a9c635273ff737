import { API_VERSION, KIND, type IngestPipeline, type IngestPipelineSpec } from '../api/types.js';

/** A valid pipeline for tests; `patch` replaces top-level spec sections. */
export function samplePipeline(patch: Partial<IngestPipelineSpec> = {}, meta: Partial<IngestPipeline['metadata']> = {}): IngestPipeline {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'intake', namespace: 'ingest', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', generation: 1, ...meta },
    spec: {
      kafka: { bootstrapServers: 'kafka-bootstrap:9092', topic: 'intake.records.v1', consumerGroup: 'intake-consumer' },
      consumer: {
        image: 'ghcr.io/clinical-ingest/consumer:0.1.0',
        configMapName: 'intake-consumer-config',
        secrets: { identityHmacSecret: { name: 'identity-hmac', key: 'secret' }, databaseUrl: { name: 'pg-app', key: 'uri' } },
      },
      scaling: { minReplicas: 1, maxReplicas: 12 },
      ...patch,
    },
  };
}
