import { ApiException, AppsV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { SNAPSHOT_KIND, SNAPSHOT_PLURAL } from '../api/snapshot.js';
import { GROUP, KIND, PLURAL, VERSION } from '../api/types.js';
import { OperatorError, type KubeClient, type KubeObject, type ObjectRef } from '../controller/ports.js';

export const FIELD_MANAGER = 'ingest-operator';

/** The operator's own kinds whose status it writes. */
const STATUS_PLURALS: Readonly<Record<string, string>> = { [KIND]: PLURAL, [SNAPSHOT_KIND]: SNAPSHOT_PLURAL };

export function isNotFound(e: unknown): boolean {
  return (e instanceof ApiException && e.code === 404) || (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 404);
}

function wrap(op: string, ref: { kind?: string | undefined; name?: string | undefined }, e: unknown): OperatorError {
  const code = e instanceof ApiException ? e.code : undefined;
  // 409 (conflict), 429 and 5xx are worth a retry; 4xx otherwise means the request is wrong.
  const retriable = code === undefined || code === 409 || code === 429 || code >= 500;
  const detail = e instanceof ApiException ? `${e.code} ${typeof e.body === 'string' ? e.body.slice(0, 300) : ''}` : e instanceof Error ? e.message : String(e);
  return new OperatorError('KUBE_API', `${op} ${ref.kind ?? '?'} ${ref.name ?? '?'}: ${detail}`, retriable, { cause: e });
}

/**
 * The KubeClient port on @kubernetes/client-node: reads and server-side applies through
 * `KubernetesObjectApi` (field manager `ingest-operator`, forced: the operator owns what it
 * builds), the pipeline's status through a server-side apply on `/status`, and the 0 ↔ 1 edge
 * through the Deployment's `/scale`.
 */
export class KubeApiClient implements KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;

  constructor(
    kc: KubeConfig,
    private readonly fieldManager = FIELD_MANAGER,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      const o = await this.objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } });
      return o as unknown as T;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw wrap('get', ref, e);
    }
  }

  async apply<T extends KubeObject>(obj: T): Promise<T> {
    try {
      const out = await this.objects.patch(obj, undefined, undefined, this.fieldManager, true, PatchStrategy.ServerSideApply);
      return out;
    } catch (e) {
      throw wrap('apply', { kind: obj.kind, name: (obj.metadata as { name?: string } | undefined)?.name }, e);
    }
  }

  async patchStatus(ref: ObjectRef, status: unknown): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ref.namespace,
          plural: STATUS_PLURALS[ref.kind] ?? PLURAL,
          name: ref.name,
          body: { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, status },
          fieldManager: this.fieldManager,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    } catch (e) {
      throw wrap('patch status of', ref, e);
    }
  }

  async scale(ref: ObjectRef, replicas: number): Promise<void> {
    try {
      await this.apps.patchNamespacedDeploymentScale(
        { name: ref.name, namespace: ref.namespace, body: { spec: { replicas } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      throw wrap('scale', ref, e);
    }
  }
}
