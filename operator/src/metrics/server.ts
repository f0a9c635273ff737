import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { Logger } from '@clinical-ingest/intake-core';
import { handleExternalMetrics, type PipelineSource } from './external.js';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /**
   * CA of the aggregator's client certificates (the `requestheader-client-ca-file` of
   * kube-apiserver, published in kube-system/extension-apiserver-authentication). When set,
   * only clients with a certificate it signed are served.
   */
  readonly clientCaFile?: string;
}

/**
 * The `external.metrics.k8s.io` API over TLS, registered by an APIService. The request
 * handling is the pure `handleExternalMetrics`; this only terminates TLS and moves bytes.
 */
export function startExternalMetricsServer(opts: MetricsServerOptions, source: PipelineSource, log: Logger): Promise<Server> {
  const ca = opts.clientCaFile === undefined ? undefined : readFileSync(opts.clientCaFile);
  if (ca === undefined) log.warn('no client CA: the external metrics API accepts any TLS client');
  const server = createServer(
    {
      cert: readFileSync(opts.certFile),
      key: readFileSync(opts.keyFile),
      minVersion: 'TLSv1.2',
      ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
    },
    (req, res) => {
      const r = handleExternalMetrics({ method: req.method ?? 'GET', url: req.url ?? '/' }, source, new Date());
      res.writeHead(r.status, r.headers).end(r.body);
      if (r.status >= 400) log.debug({ status: r.status, path: (req.url ?? '').split('?')[0] }, 'external metrics request failed');
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
