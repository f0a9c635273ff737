import { DESIRED_REPLICAS_METRIC, EXTERNAL_METRICS, EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION, LAG_METRIC, LAG_SECONDS_METRIC } from '../api/metrics.js';
import type { IngestPipeline } from '../api/types.js';
import { PIPELINE_LABEL } from '../builders/common.js';
import { matches, parseSelector, SelectorError } from './selector.js';

/**
 * The `external.metrics.k8s.io/v1beta1` API as a pure function from request to response (the
 * HTTPS server in `server.ts` only moves bytes). Values come from the pipelines' status, which
 * the leader writes: every operator replica answers the same, so the APIService's Service may
 * route to any of them.
 *
 *   GET /apis/external.metrics.k8s.io/v1beta1                              APIResourceList
 *   GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}?labelSelector=…
 *                                                                         ExternalMetricValueList
 */

export interface MetricsRequest {
  readonly method: string;
  /** Path and query, as in `IncomingMessage.url`. */
  readonly url: string;
}

export interface MetricsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The pipelines of a namespace (the informer's cache in the operator). */
export interface PipelineSource {
  list(namespace: string): readonly IngestPipeline[];
}

const GV = `${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}`;
const BASE = `/apis/${GV}`;
const JSON_HEADERS = { 'content-type': 'application/json' };

function json(status: number, body: unknown): MetricsResponse {
  return { status, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/** A metav1.Status failure. */
export function failure(code: number, reason: string, message: string): MetricsResponse {
  return json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** A resource.Quantity string: integers as they are, fractions in milli-units. */
export function quantity(v: number): string {
  if (!Number.isFinite(v) || v < 0) return '0';
  if (Number.isInteger(v)) return String(v);
  return `${Math.round(v * 1000)}m`;
}

function valueOf(metric: string, p: IngestPipeline): number | undefined {
  const s = p.status;
  if (s === undefined) return undefined;
  switch (metric) {
    case DESIRED_REPLICAS_METRIC:
      return s.metricValue ?? s.desiredReplicas;
    case LAG_METRIC:
      return s.lag;
    case LAG_SECONDS_METRIC:
      return s.lagSeconds;
    default:
      return undefined;
  }
}

export function apiResourceList(): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: GV,
    resources: EXTERNAL_METRICS.map((name) => ({ name, singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] })),
  };
}

/** What a request asks for: discovery, one metric of a namespace, or an answer already (an error). */
export type MetricsRoute =
  | { readonly kind: 'discovery'; readonly response: MetricsResponse }
  | { readonly kind: 'metric'; readonly namespace: string; readonly metric: string; readonly labelSelector: string | null }
  | { readonly kind: 'error'; readonly response: MetricsResponse };

/** The path's meaning, for the authorizer to decide on before anything is read. Never throws. */
export function routeMetricsRequest(req: MetricsRequest): MetricsRoute {
  let url: URL;
  try {
    url = new URL(req.url, 'https://operator.invalid');
  } catch {
    return { kind: 'error', response: failure(400, 'BadRequest', 'malformed URL') };
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (req.method !== 'GET') return { kind: 'error', response: failure(405, 'MethodNotAllowed', `${req.method} is not supported`) };
  if (path === `/apis/${EXTERNAL_METRICS_GROUP}`) {
    const v = { groupVersion: GV, version: EXTERNAL_METRICS_VERSION };
    return { kind: 'discovery', response: json(200, { kind: 'APIGroup', apiVersion: 'v1', name: EXTERNAL_METRICS_GROUP, versions: [v], preferredVersion: v }) };
  }
  if (path === BASE) return { kind: 'discovery', response: json(200, apiResourceList()) };
  const m = new RegExp(`^${BASE.replace(/\./g, '\\.')}/namespaces/([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([^/]+)$`).exec(path);
  if (!m) return { kind: 'error', response: failure(404, 'NotFound', 'no such path') };
  let metric: string;
  try {
    metric = decodeURIComponent(m[3]!);
  } catch {
    return { kind: 'error', response: failure(400, 'BadRequest', 'malformed metric name (percent-encoding)') };
  }
  if (!EXTERNAL_METRICS.includes(metric)) return { kind: 'error', response: failure(404, 'NotFound', 'external metric is not served here') };
  return { kind: 'metric', namespace: m[1]!, metric, labelSelector: url.searchParams.get('labelSelector') };
}

/** The answer to a request, once it is authorized (the server authorizes metric requests first). */
export function handleExternalMetrics(req: MetricsRequest, source: PipelineSource, now: Date): MetricsResponse {
  const route = routeMetricsRequest(req);
  if (route.kind !== 'metric') return route.response;
  const { namespace, metric } = route;
  let selector;
  try {
    selector = parseSelector(route.labelSelector);
  } catch (e) {
    return failure(400, 'BadRequest', e instanceof SelectorError ? e.message : 'invalid labelSelector');
  }
  const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const items = [];
  for (const p of source.list(namespace)) {
    const labels = { ...(p.metadata.labels ?? {}), [PIPELINE_LABEL]: p.metadata.name };
    if (!matches(selector, labels)) continue;
    const v = valueOf(metric, p);
    if (v === undefined) continue;
    items.push({ metricName: metric, metricLabels: { [PIPELINE_LABEL]: p.metadata.name }, timestamp, value: quantity(v) });
  }
  return json(200, { kind: 'ExternalMetricValueList', apiVersion: GV, metadata: {}, items });
}
