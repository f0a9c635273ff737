import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestPipeline } from './api/types.js';
import type { ReconcileResult, ReconcilerObserver } from './controller/reconcile.js';
import type { Decision } from './policy/policy.js';

/**
 * The operator's own Prometheus metrics (labels: namespace and pipeline names only — never
 * anything from a record). Also what it decided, per pipeline, for dashboards.
 */
export class OperatorMetrics implements ReconcilerObserver {
  readonly registry = new Registry();
  private readonly reconciles: Counter<'result'>;
  private readonly duration: Histogram;
  private readonly lag: Gauge<'namespace' | 'pipeline'>;
  private readonly partitionLag: Gauge<'namespace' | 'pipeline' | 'partition'>;
  private readonly desired: Gauge<'namespace' | 'pipeline'>;
  private readonly ready: Gauge<'namespace' | 'pipeline'>;
  private readonly rate: Gauge<'namespace' | 'pipeline'>;
  private readonly stuck: Gauge<'namespace' | 'pipeline'>;
  private readonly statusWrites: Counter;
  readonly leader: Gauge;

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'ingest_operator_' });
    const r = [this.registry];
    this.reconciles = new Counter({ name: 'ingest_operator_reconcile_total', help: 'Reconciles by result (ok, error).', labelNames: ['result'], registers: r });
    // Both series from the start: the error-ratio alert compares them before the first error.
    for (const result of ['ok', 'error']) this.reconciles.inc({ result }, 0);
    this.duration = new Histogram({
      name: 'ingest_operator_reconcile_seconds',
      help: 'Reconcile duration.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.lag = new Gauge({
      name: 'ingest_pipeline_lag_records',
      help: 'Total lag of the pipeline (log end minus committed).',
      labelNames: ['namespace', 'pipeline'],
      registers: r,
    });
    this.partitionLag = new Gauge({
      name: 'ingest_pipeline_partition_lag_records',
      help: 'Lag per partition.',
      labelNames: ['namespace', 'pipeline', 'partition'],
      registers: r,
    });
    this.desired = new Gauge({ name: 'ingest_pipeline_desired_replicas', help: "The policy's decision.", labelNames: ['namespace', 'pipeline'], registers: r });
    this.ready = new Gauge({
      name: 'ingest_pipeline_ready_replicas',
      help: 'Ready consumer replicas when the policy decided.',
      labelNames: ['namespace', 'pipeline'],
      registers: r,
    });
    this.rate = new Gauge({
      name: 'ingest_pipeline_rate_per_replica',
      help: 'Measured records/s per replica.',
      labelNames: ['namespace', 'pipeline'],
      registers: r,
    });
    this.stuck = new Gauge({
      name: 'ingest_pipeline_stuck_partitions',
      help: 'Partitions whose lag does not move.',
      labelNames: ['namespace', 'pipeline'],
      registers: r,
    });
    this.statusWrites = new Counter({ name: 'ingest_operator_status_writes_total', help: 'Status writes (only on change).', registers: r });
    this.leader = new Gauge({ name: 'ingest_operator_leader', help: '1 while this replica leads.', registers: r });
  }

  reconciled(_key: string, r: ReconcileResult, seconds: number): void {
    this.reconciles.inc({ result: r.error ? 'error' : 'ok' });
    this.duration.observe(seconds);
    if (r.statusWritten) this.statusWrites.inc();
  }

  decided(p: IngestPipeline, d: Decision, readyReplicas: number): void {
    const l = { namespace: p.metadata.namespace ?? '', pipeline: p.metadata.name };
    this.lag.set(l, d.totalLag);
    d.lagPerPartition.forEach((lag, partition) => this.partitionLag.set({ ...l, partition: String(partition) }, lag));
    this.desired.set(l, d.replicas);
    this.ready.set(l, readyReplicas);
    this.rate.set(l, d.ratePerReplica);
    this.stuck.set(l, d.stuckPartitions.length);
  }

  forgotten(key: string): void {
    const [namespace, pipeline] = key.split('/') as [string, string];
    for (const g of [this.lag, this.desired, this.ready, this.rate, this.stuck]) g.remove({ namespace, pipeline });
    // per-partition series of the pipeline
    this.partitionLag.reset();
  }
}

/** Plain HTTP: /metrics, /healthz (alive), /readyz (informers synced). */
export function startHealthServer(host: string, port: number, metrics: OperatorMetrics, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    } else if (path === '/healthz' || path === '/livez') res.writeHead(200).end('ok');
    else if (path === '/readyz') res.writeHead(ready() ? 200 : 503).end(ready() ? 'ok' : 'not ready');
    else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
