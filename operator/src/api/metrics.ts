/**
 * The External metrics the operator serves (`external.metrics.k8s.io/v1beta1`), selected by the
 * pipeline label. The HPA reads `DESIRED_REPLICAS_METRIC`; the others are for people and dashboards.
 */
export const EXTERNAL_METRICS_GROUP = 'external.metrics.k8s.io';
export const EXTERNAL_METRICS_VERSION = 'v1beta1';
/** The policy's replica decision; with an AverageValue target of 1 the HPA lands exactly on it. */
export const DESIRED_REPLICAS_METRIC = 'ingestpipeline-desired-replicas';
/** Total lag in records. */
export const LAG_METRIC = 'ingestpipeline-lag';
/** Estimated seconds to drain the lag. */
export const LAG_SECONDS_METRIC = 'ingestpipeline-lag-seconds';
export const EXTERNAL_METRICS: readonly string[] = [DESIRED_REPLICAS_METRIC, LAG_METRIC, LAG_SECONDS_METRIC];
