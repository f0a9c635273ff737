// The operator's public surface: the API (types, CRD, RBAC rules, APIService), the pure builders,
// the policy, and the pure parts of the controller (status, spec validation, the external metrics
// handler). Nothing here opens a connection; the Kubernetes and Kafka adapters (kube/, kafka/)
// and the process (main.ts) are not exported.
export * from './api/index.js';
export * from './builders/index.js';
export * from './policy/index.js';
export { computeStatus, setCondition, sameJson, type StatusInput } from './controller/status.js';
export { validateSpec } from './controller/validate.js';
export { handleExternalMetrics, apiResourceList, quantity, type PipelineSource, type MetricsRequest, type MetricsResponse } from './metrics/external.js';
export { parseSelector, matches as selectorMatches } from './metrics/selector.js';
export { operatorConfigShape, parseOperatorConfig, snapshotExportSettings } from './config.js';
export { buildSparkApplication, snapshotStatusFrom, SPARK_API_VERSION, type SnapshotExportSettings, type SparkApplication } from './controller/snapshot.js';
