import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The consumer's Prometheus metrics. Labels are partitions, stages, outcomes and reason codes:
 * never patient data.
 */
export class ConsumerMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'intake_records_total', help: 'Records processed, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly rejected = new Counter({
    name: 'intake_rejected_total',
    help: 'Rejected records, by reason code',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly publicWrites = new Counter({ name: 'intake_public_writes_total', help: 'Patient states written to the public store', registers: [this.registry] });
  readonly keyMismatches = new Counter({
    name: 'intake_key_mismatch_total',
    help: "Accepted records whose Kafka key is not their identity's partition key (stored correctly; the producer should key by identity)",
    registers: [this.registry],
  });
  readonly republished = new Counter({
    name: 'intake_republished_total',
    help: 'Patient states re-published after a partition takeover',
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({ name: 'intake_identity_cache_hits_total', help: 'Identity keys found in the cache', registers: [this.registry] });
  readonly cacheMisses = new Counter({
    name: 'intake_identity_cache_misses_total',
    help: 'Identity keys resolved in the identity store',
    registers: [this.registry],
  });
  readonly fenced = new Counter({
    name: 'intake_fenced_batches_total',
    help: 'Batches refused because another consumer had moved the partition offset',
    registers: [this.registry],
  });
  readonly offsetGaps = new Counter({
    name: 'intake_offset_gaps_total',
    help: 'Offset gaps passed because Kafka holds no records in them (transaction markers, compaction)',
    labelNames: ['partition'],
    registers: [this.registry],
  });
  readonly batchErrors = new Counter({
    name: 'intake_batch_errors_total',
    help: 'Batches that failed and will be retried, by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly stalled = new Gauge({
    name: 'intake_partition_stalled',
    help: '1 while a partition is paused after a failure it could not retry away (see the error log for its code)',
    labelNames: ['partition'],
    registers: [this.registry],
  });
  readonly stageSeconds = new Counter({
    name: 'intake_stage_seconds_total',
    help: 'Wall time spent per pipeline stage',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly batchDuration = new Histogram({
    name: 'intake_batch_duration_seconds',
    help: 'Time to process one partition batch end to end',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'intake_batch_records',
    help: 'Records per partition batch',
    buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000],
    registers: [this.registry],
  });
  readonly freshness = new Histogram({
    name: 'intake_freshness_seconds',
    help: 'Produce time to queryable in the public store',
    buckets: [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: 'intake_partition_lag',
    help: 'High watermark minus next offset, per partition',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'intake_consumer_' });
    // Series an alert compares exist from the start, at 0 (an alert on a series that appears only
    // with the first failure would compare nothing until then).
    this.batchErrors.inc({ code: 'PUBLIC_STORE_WRITE' }, 0);
  }

  stage(name: string): () => void {
    const t0 = process.hrtime.bigint();
    return () => this.stageSeconds.inc({ stage: name }, Number(process.hrtime.bigint() - t0) / 1e9);
  }
}

/** Serves /metrics, /healthz (alive) and /readyz (consuming). */
export function serveMetrics(metrics: ConsumerMetrics, port: number, host: string, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500).end();
        });
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      res.writeHead(ready() ? 200 : 503).end(ready() ? 'ready' : 'not ready');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
