/**
 * What an operator of this platform watches: the alerts that page someone and the dashboard, in
 * one place. cdk8s synthesizes them (PrometheusRule, a Grafana dashboard ConfigMap; lib/monitoring.ts),
 * `make observe` loads the same rules into a local Prometheus, and monitoring.e2e.ts proves every
 * query against it: each alert's signal and each dashboard query must return series from the real
 * consumers and operator, so no expression references a metric that does not exist.
 *
 * Each alert names its signals: the queries it compares, each with series whenever the platform
 * runs. The proof evaluates the signals (they must return series) and the whole expression (it
 * must parse and evaluate). Runbook lines point at docs/operations.md, whose sections say what
 * each alert means and what to do.
 */

/** The freshness objective: produce → queryable in the public store, p99 ≤ 2 s (docs/architecture.md §4). */
export const FRESHNESS_TARGET_SECONDS = 2;
/** Of records, the share allowed above the target (the SLO: 99 %). */
const ERROR_BUDGET = 0.01;

export interface AlertDefinition {
  readonly alert: string;
  /** The alerting expression. */
  readonly expr: string;
  /** Queries the expression is built from, each with series whenever the platform runs (proven). */
  readonly signals: readonly string[];
  readonly for: string;
  readonly severity: 'page' | 'ticket';
  readonly summary: string;
  /** A section of docs/operations.md. */
  readonly runbook: string;
}

/** The share of records slower than the target over a window (NaN while nothing flows: no alert). */
const slowShare = (window: string) =>
  `(1 - sum(rate(intake_freshness_seconds_bucket{le="${FRESHNESS_TARGET_SECONDS}"}[${window}])) / sum(rate(intake_freshness_seconds_count[${window}])))`;

type Simple = Omit<AlertDefinition, 'expr' | 'signals'> & { readonly signal: string; readonly above: number };
const simple = (a: Simple): AlertDefinition => {
  const { signal, above, ...rest } = a;
  return { ...rest, expr: `${signal} > ${above}`, signals: [signal] };
};

/** Multiwindow burn rate (the SRE workbook): the long window finds it, the short one confirms it still burns. */
const burn = (alert: string, factor: number, long: string, short: string, rest: Pick<AlertDefinition, 'for' | 'severity'>): AlertDefinition => ({
  alert,
  expr: `${slowShare(long)} > ${factor * ERROR_BUDGET} and ${slowShare(short)} > ${factor * ERROR_BUDGET}`,
  signals: [slowShare(long), slowShare(short)],
  ...rest,
  summary: `More than ${Math.round(factor * ERROR_BUDGET * 1000) / 10} % of records took longer than ${FRESHNESS_TARGET_SECONDS} s to become queryable (${long} and ${short}): the freshness SLO (p99 ≤ ${FRESHNESS_TARGET_SECONDS} s) burns ${factor}× its budget.`,
  runbook: 'freshness',
});

export const ALERTS: readonly AlertDefinition[] = [
  burn('IntakeFreshnessBudgetBurnFast', 14.4, '1h', '5m', { for: '2m', severity: 'page' }),
  burn('IntakeFreshnessBudgetBurnSlow', 6, '6h', '30m', { for: '15m', severity: 'ticket' }),
  simple({
    alert: 'IntakeLagDrainTooSlow',
    // Seconds to drain the lag at the rate the consumers carry now.
    signal: 'sum(intake_partition_lag) / clamp_min(sum(rate(intake_records_total[5m])), 1)',
    above: 60,
    for: '10m',
    severity: 'page',
    summary: 'At the current consume rate the lag takes more than 60 s to drain: records reach the stores late.',
    runbook: 'lag',
  }),
  simple({
    alert: 'IntakePartitionStalled',
    signal: 'max by (partition) (intake_partition_stalled)',
    above: 0,
    for: '2m',
    severity: 'page',
    summary: 'A partition is paused after repeated batch failures (intake_partition_stalled); its records wait.',
    runbook: 'stalled-partition',
  }),
  simple({
    alert: 'IntakePartitionStuck',
    // The operator's view: a partition with lag whose committed offset does not move.
    signal: 'max by (namespace, pipeline) (ingest_pipeline_stuck_partitions)',
    above: 0,
    for: '5m',
    severity: 'page',
    summary: 'A partition has lag and its committed offset has not moved (the operator counts it stuck).',
    runbook: 'stalled-partition',
  }),
  simple({
    alert: 'IntakeRejectsAboveNormal',
    signal: 'sum(rate(intake_rejected_total[10m])) / clamp_min(sum(rate(intake_records_total[10m])), 1e-9)',
    above: 0.05,
    for: '10m',
    severity: 'ticket',
    summary: 'More than 5 % of records are rejected (DLQ): an upstream producer likely changed its format.',
    runbook: 'rejects',
  }),
  simple({
    alert: 'IntakeFencedBatches',
    // A few per rebalance are normal; a steady stream means two consumers write one partition.
    signal: 'sum(increase(intake_fenced_batches_total[15m]))',
    above: 20,
    for: '0m',
    severity: 'ticket',
    summary: 'Many batches were fenced in 15 min: consumers keep losing partitions to each other.',
    runbook: 'fenced',
  }),
  simple({
    alert: 'IntakePublicStoreWriteFailures',
    signal: 'sum(increase(intake_batch_errors_total{code="PUBLIC_STORE_WRITE"}[10m]))',
    above: 0,
    for: '5m',
    severity: 'page',
    summary: 'Writes to the public store fail: the anonymized store falls behind the master.',
    runbook: 'public-store',
  }),
  simple({
    alert: 'IntakeConsumersBelowDesired',
    signal: 'max by (namespace, pipeline) (ingest_pipeline_desired_replicas - ingest_pipeline_ready_replicas)',
    above: 0,
    for: '10m',
    severity: 'ticket',
    summary: 'Fewer consumer replicas are ready than the operator decided: pods cannot start or are not ready.',
    runbook: 'replicas',
  }),
  simple({
    alert: 'IngestOperatorReconcileErrors',
    signal: 'sum(rate(ingest_operator_reconcile_total{result="error"}[10m])) / clamp_min(sum(rate(ingest_operator_reconcile_total[10m])), 1e-9)',
    above: 0.1,
    for: '10m',
    severity: 'ticket',
    summary: "More than 10 % of the operator's reconciles fail: scaling decisions and status may be stale.",
    runbook: 'operator',
  }),
];

/** Where the runbook lives (docs/operations.md in the repository the manifests come from). */
export const RUNBOOK_BASE = 'docs/operations.md';

/** The PrometheusRule spec's groups (and the local Prometheus's rules file). */
export function ruleGroups(): { name: string; rules: Record<string, unknown>[] }[] {
  return [
    {
      name: 'clinical-ingest',
      rules: ALERTS.map((a) => ({
        alert: a.alert,
        expr: a.expr,
        for: a.for,
        labels: { severity: a.severity },
        annotations: { summary: a.summary, runbook_url: `${RUNBOOK_BASE}#${a.runbook}` },
      })),
    },
  ];
}

export type PanelSource = 'platform' | 'cloudnative-pg';

export interface PanelDefinition {
  readonly title: string;
  readonly unit: string;
  /** Queries and their legends. */
  readonly targets: readonly { readonly expr: string; readonly legend: string }[];
  /**
   * Whose metrics: the platform's own (proven against the local Prometheus), or CloudNativePG's
   * exporter on every PostgreSQL instance (its default queries; on Kubernetes only, scraped by the
   * `postgres` PodMonitor). Strimzi exports nothing until a Kafka has `metricsConfig`, which this
   * platform does not set: no Kafka panel reads a metric that would not exist.
   */
  readonly source: PanelSource;
}

export const PANELS: readonly PanelDefinition[] = [
  {
    title: 'Records in and out (records/s)',
    unit: 'reqps',
    source: 'platform',
    targets: [
      { expr: 'sum by (outcome) (rate(intake_records_total[1m]))', legend: '{{outcome}}' },
      { expr: 'sum(rate(intake_public_writes_total[1m]))', legend: 'public store writes' },
    ],
  },
  {
    title: `Freshness, produce → queryable (target p99 ≤ ${FRESHNESS_TARGET_SECONDS} s)`,
    unit: 's',
    source: 'platform',
    targets: [
      { expr: 'histogram_quantile(0.5, sum by (le) (rate(intake_freshness_seconds_bucket[1m])))', legend: 'p50' },
      { expr: 'histogram_quantile(0.99, sum by (le) (rate(intake_freshness_seconds_bucket[1m])))', legend: 'p99' },
    ],
  },
  {
    title: 'Lag per partition (records) and drain time (s)',
    unit: 'short',
    source: 'platform',
    targets: [
      { expr: 'max by (partition) (intake_partition_lag)', legend: 'partition {{partition}}' },
      { expr: 'sum(intake_partition_lag) / clamp_min(sum(rate(intake_records_total[5m])), 1)', legend: 'drain time (s)' },
    ],
  },
  {
    title: 'Consumer replicas: desired and ready',
    unit: 'short',
    source: 'platform',
    targets: [
      { expr: 'max by (pipeline) (ingest_pipeline_desired_replicas)', legend: 'desired {{pipeline}}' },
      { expr: 'max by (pipeline) (ingest_pipeline_ready_replicas)', legend: 'ready {{pipeline}}' },
    ],
  },
  {
    title: 'Rejects by reason (records/s)',
    unit: 'reqps',
    source: 'platform',
    targets: [{ expr: 'sum by (reason) (rate(intake_rejected_total[5m]))', legend: '{{reason}}' }],
  },
  {
    title: 'Time per stage (s of wall time per s)',
    unit: 's',
    source: 'platform',
    targets: [{ expr: 'sum by (stage) (rate(intake_stage_seconds_total[1m]))', legend: '{{stage}}' }],
  },
  {
    title: 'Batch errors, fenced batches, stalled partitions',
    unit: 'short',
    source: 'platform',
    targets: [
      { expr: 'sum by (code) (increase(intake_batch_errors_total[5m]))', legend: '{{code}}' },
      { expr: 'sum(increase(intake_fenced_batches_total[5m]))', legend: 'fenced' },
      { expr: 'sum(intake_partition_stalled)', legend: 'stalled partitions' },
    ],
  },
  {
    title: 'PostgreSQL: transactions/s and database size (CloudNativePG)',
    unit: 'short',
    source: 'cloudnative-pg',
    targets: [
      { expr: 'sum(rate(cnpg_pg_stat_database_xact_commit[1m]))', legend: 'commits/s' },
      { expr: 'max(cnpg_pg_database_size_bytes{datname="clinical"})', legend: 'size (bytes)' },
    ],
  },
];

/** The Grafana dashboard (schema 39), one panel a row of two. */
export function grafanaDashboard(): Record<string, unknown> {
  return {
    uid: 'clinical-ingest',
    title: 'Clinical ingest',
    tags: ['clinical-ingest'],
    timezone: 'utc',
    schemaVersion: 39,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legend })),
    })),
  };
}

/** Every query the local Prometheus must answer with series: alert signals and platform panels. */
export function provableQueries(): { what: string; expr: string }[] {
  return [
    ...ALERTS.flatMap((a) => a.signals.map((expr, i) => ({ what: `alert ${a.alert} (signal ${i + 1})`, expr }))),
    ...PANELS.filter((p) => p.source === 'platform').flatMap((p) => p.targets.map((t) => ({ what: `panel "${p.title}" (${t.legend})`, expr: t.expr }))),
  ];
}
