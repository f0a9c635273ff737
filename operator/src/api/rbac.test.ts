import { describe, expect, it } from 'vitest';
import { externalMetricsApiService, operatorClusterRoleRules } from './rbac.js';

describe('operator RBAC and APIService', () => {
  it('never deletes and never reads secrets', () => {
    for (const r of operatorClusterRoleRules()) {
      expect(r.verbs).not.toContain('delete');
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('secrets');
    }
  });

  it('may write the pipeline status but not the pipeline', () => {
    const rules = operatorClusterRoleRules();
    expect(rules.find((r) => r.resources.includes('ingestpipelines'))!.verbs).toEqual(['get', 'list', 'watch']);
    expect(rules.find((r) => r.resources.includes('ingestpipelines/status'))!.verbs).toContain('patch');
  });

  it('registers external.metrics.k8s.io/v1beta1', () => {
    const a = externalMetricsApiService({ serviceNamespace: 'ingest-system', serviceName: 'ingest-operator', caBundle: 'Q0E=' });
    expect(a).toMatchObject({
      metadata: { name: 'v1beta1.external.metrics.k8s.io' },
      spec: {
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        service: { namespace: 'ingest-system', name: 'ingest-operator', port: 443 },
        caBundle: 'Q0E=',
      },
    });
  });
});
