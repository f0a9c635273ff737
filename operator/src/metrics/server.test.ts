import { describe, expect, it } from 'vitest';
import { authenticate } from './server.js';
import { routeMetricsRequest } from './external.js';

const proxy = { subject: { CN: 'front-proxy-client' } };
const opts = { clientCaFile: '/ca.crt', allowedNames: ['front-proxy-client'] };

describe('authenticate (request-header authentication, as the aggregation layer expects)', () => {
  it('takes the user and groups the front proxy names', () => {
    expect(
      authenticate(
        proxy,
        {
          'x-remote-user': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
          'x-remote-group': ['system:serviceaccounts', 'system:authenticated'],
        },
        opts,
      ),
    ).toEqual({
      name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
      groups: ['system:serviceaccounts', 'system:authenticated'],
    });
  });
  it('refuses a certificate the CA signed for another name, a request without a certificate, and one naming no user', () => {
    expect(authenticate({ subject: { CN: 'intruder' } }, { 'x-remote-user': 'admin' }, opts)).toMatchObject({ status: 403 });
    expect(authenticate({}, { 'x-remote-user': 'admin' }, opts)).toMatchObject({ status: 401 });
    expect(authenticate(proxy, {}, opts)).toMatchObject({ status: 401 });
  });
  it("accepts any name the CA signed when no names are listed (kube-apiserver's reading of an empty list)", () => {
    expect(authenticate({ subject: { CN: 'other' } }, { 'x-remote-user': 'u' }, { clientCaFile: '/ca.crt', allowedNames: [] })).toEqual({
      name: 'u',
      groups: [],
    });
  });
});

describe('routeMetricsRequest', () => {
  it('answers a malformed percent-encoding or URL with 400, never a throw', () => {
    for (const url of ['/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/%E0%A4%A', '/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/%']) {
      const r = routeMetricsRequest({ method: 'GET', url });
      expect(r.kind, url).toBe('error');
      expect(r.kind === 'error' && r.response.status).toBe(400);
    }
  });
  it('names the namespace and metric of a metric request, for the authorizer', () => {
    expect(
      routeMetricsRequest({ method: 'GET', url: '/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/ingestpipeline-desired-replicas?labelSelector=a%3Db' }),
    ).toEqual({
      kind: 'metric',
      namespace: 'ns',
      metric: 'ingestpipeline-desired-replicas',
      labelSelector: 'a=b',
    });
  });
});
