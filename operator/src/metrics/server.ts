import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@clinical-ingest/intake-core';
import { EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from '../api/metrics.js';
import { failure, handleExternalMetrics, routeMetricsRequest, type MetricsResponse, type PipelineSource } from './external.js';

/** Who asks, as the aggregation layer says (request-header authentication). */
export interface RequestUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** Decides whether a user may `get` a metric of a namespace (a SubjectAccessReview, in the operator). */
export interface MetricsAuthorizer {
  allowed(user: RequestUser, namespace: string, metric: string): Promise<boolean>;
}

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
  /**
   * Common names a client certificate may have (`requestheader-allowed-names`; kubeadm and kind:
   * front-proxy-client). Empty: any certificate the CA signed, as kube-apiserver reads it.
   */
  readonly allowedNames?: readonly string[];
  /** Decides metric requests; without it, any authenticated proxy user is served (tests only). */
  readonly authorizer?: MetricsAuthorizer;
}

const USER_HEADER = 'x-remote-user';
const GROUP_HEADER = 'x-remote-group';

/**
 * Authenticates a request the way an aggregated API server does: the client certificate is the
 * front proxy's (signed by the request-header CA, a common name allowed), and the user is the one
 * its headers name. Returns the user, or the response refusing the request.
 */
export function authenticate(
  cert: { subject?: { CN?: string | string[] } } | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  opts: Pick<MetricsServerOptions, 'clientCaFile' | 'allowedNames'>,
): RequestUser | MetricsResponse {
  if (opts.clientCaFile !== undefined) {
    const cn = cert?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (name === undefined) return failure(401, 'Unauthorized', 'a client certificate is required');
    if ((opts.allowedNames ?? []).length > 0 && !opts.allowedNames!.includes(name))
      return failure(403, 'Forbidden', 'this client certificate may not proxy requests');
  }
  const user = headers[USER_HEADER];
  const name = Array.isArray(user) ? user[0] : user;
  if (name === undefined || name === '') return failure(401, 'Unauthorized', `no ${USER_HEADER} header: requests come through the aggregation layer`);
  const g = headers[GROUP_HEADER];
  return { name, groups: g === undefined ? [] : Array.isArray(g) ? g : [g] };
}

/**
 * The `external.metrics.k8s.io` API over TLS, registered by an APIService. Each request is
 * authenticated (`authenticate`) and each metric read authorized (`MetricsAuthorizer`); the
 * answer is the pure `handleExternalMetrics`. Nothing a client sends can end the process: every
 * failure is an HTTP answer.
 */
export function startExternalMetricsServer(opts: MetricsServerOptions, source: PipelineSource, log: Logger): Promise<Server> {
  const ca = opts.clientCaFile === undefined ? undefined : readFileSync(opts.clientCaFile);
  if (ca === undefined) log.warn('no client CA: the external metrics API accepts any TLS client');
  if (opts.authorizer === undefined) log.warn('no authorizer: any authenticated user may read the external metrics');
  const respond = async (method: string, url: string, socket: TLSSocket, headers: Record<string, string | string[] | undefined>): Promise<MetricsResponse> => {
    const who = authenticate(ca === undefined ? undefined : socket.getPeerCertificate(), headers, opts);
    if ('status' in who) return who;
    const route = routeMetricsRequest({ method, url });
    if (route.kind === 'metric' && opts.authorizer && !(await opts.authorizer.allowed(who, route.namespace, route.metric))) {
      return failure(
        403,
        'Forbidden',
        `${who.name} may not get ${route.metric} in ${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION} of namespace ${route.namespace}`,
      );
    }
    return handleExternalMetrics({ method, url }, source, new Date());
  };
  const server = createServer(
    {
      cert: readFileSync(opts.certFile),
      key: readFileSync(opts.keyFile),
      minVersion: 'TLSv1.2',
      ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
    },
    (req, res) => {
      // Distinct: the front proxy sends one X-Remote-Group header per group.
      respond(req.method ?? 'GET', req.url ?? '/', req.socket as TLSSocket, req.headersDistinct)
        .catch((err: unknown) => {
          log.warn({ err }, 'external metrics request failed');
          return failure(500, 'InternalError', 'the request could not be answered');
        })
        .then((r) => {
          res.writeHead(r.status, r.headers).end(r.body);
          if (r.status >= 400) log.debug({ status: r.status }, 'external metrics request refused');
        })
        .catch(() => res.destroy());
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
