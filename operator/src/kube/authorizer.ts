import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from '../api/metrics.js';
import type { MetricsAuthorizer, RequestUser } from '../metrics/server.js';

/**
 * Delegated authorization, as an aggregated API server does it (and KEDA's metrics server): a
 * SubjectAccessReview asks the cluster's authorizer whether the user the aggregation layer names
 * may `get` the metric (resource) of `external.metrics.k8s.io` in the namespace. Decisions are
 * cached briefly (10 s allowed, 5 s denied), as the delegating authorizer of k8s.io/apiserver does:
 * the HPA asks every 15 s per metric. Needs `create` on subjectaccessreviews (the operator's
 * ClusterRoleBinding to system:auth-delegator).
 */
export class SubjectAccessReviewAuthorizer implements MetricsAuthorizer {
  readonly #api: AuthorizationV1Api;
  readonly #cache = new Map<string, { allowed: boolean; until: number }>();

  constructor(
    kc: KubeConfig,
    private readonly ttl = { allowedMs: 10_000, deniedMs: 5_000 },
    private readonly now: () => number = Date.now,
  ) {
    this.#api = kc.makeApiClient(AuthorizationV1Api);
  }

  async allowed(user: RequestUser, namespace: string, metric: string): Promise<boolean> {
    const key = JSON.stringify([user.name, [...user.groups].sort(), namespace, metric]);
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.until > this.now()) return hit.allowed;
    const review = await this.#api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.name,
          groups: [...user.groups],
          resourceAttributes: { group: EXTERNAL_METRICS_GROUP, version: EXTERNAL_METRICS_VERSION, resource: metric, namespace, verb: 'get' },
        },
      },
    });
    const allowed = review.status?.allowed === true;
    if (this.#cache.size >= 1_000) this.#cache.clear();
    this.#cache.set(key, { allowed, until: this.now() + (allowed ? this.ttl.allowedMs : this.ttl.deniedMs) });
    return allowed;
  }
}
