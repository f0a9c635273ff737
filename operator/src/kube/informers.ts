import {
  AppsV1Api,
  AutoscalingV2Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '@clinical-ingest/intake-core';
import { GROUP, PLURAL, VERSION, type IngestPipeline } from '../api/types.js';
import { SNAPSHOT_PLURAL } from '../api/snapshot.js';
import { MANAGED_BY, PIPELINE_LABEL } from '../builders/common.js';
import { SNAPSHOT_LABEL } from '../controller/snapshot.js';
import type { PipelineSource } from '../metrics/external.js';

export interface Informers {
  /** The pipelines as the informer sees them (serves the external metrics on every replica). */
  readonly pipelines: PipelineSource & { keys(): string[] };
  synced(): boolean;
  stop(): Promise<void>;
}

const OWNED = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
const RESTART_MS = 5000;

type KeyedInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/**
 * Informers whose events enqueue a key (the reconciler re-reads the state, so which event it was
 * does not matter), each restarted after a failed watch; synced while every one is connected.
 */
class WiredInformers {
  readonly #synced = new Set<string>();
  readonly #all: { readonly name: string; readonly inf: KeyedInformer }[] = [];
  #stopped = false;

  constructor(
    private readonly enqueue: (key: string) => void,
    private readonly log: Logger,
  ) {}

  add(
    name: string,
    inf: KeyedInformer,
    key: (o: KubernetesObject) => string | undefined,
    verbs: readonly ('add' | 'update' | 'delete')[] = ['add', 'update', 'delete'],
  ): void {
    this.#all.push({ name, inf });
    for (const verb of verbs) {
      inf.on(verb, (o) => {
        const k = key(o);
        if (k !== undefined) this.enqueue(k);
      });
    }
    inf.on('connect', () => this.#synced.add(name));
    inf.on('error', (err) => {
      this.#synced.delete(name);
      // stop() aborts the watch, which reports an error: not a failure, and nothing to restart.
      if (this.#stopped) return;
      this.log.warn({ informer: name, err }, 'watch failed; restarting');
      setTimeout(() => {
        if (!this.#stopped) void inf.start().catch((e) => this.log.error({ informer: name, err: e }, 'informer restart failed'));
      }, RESTART_MS).unref();
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.#all.map((i) => i.inf.start()));
    for (const i of this.#all) this.#synced.add(i.name);
  }

  synced(): boolean {
    return this.#synced.size === this.#all.length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#all.map((i) => i.inf.stop()));
  }
}

/**
 * Informers on IngestPipelines and on the Deployments and HPAs the operator owns (selected by
 * its managed-by label); every event enqueues the pipeline's key — the reconciler re-reads the
 * state, so which event it was does not matter.
 */
export async function startInformers(kc: KubeConfig, namespace: string, enqueue: (key: string) => void, log: Logger): Promise<Informers> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const autoscaling = kc.makeApiClient(AutoscalingV2Api);
  const ns = namespace === '' ? undefined : namespace;
  const base = ns === undefined ? '' : `/namespaces/${ns}`;

  const pipelines = makeInformer<IngestPipeline & KubernetesObject>(
    kc,
    `/apis/${GROUP}/${VERSION}${base}/${PLURAL}`,
    () =>
      (ns === undefined
        ? custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
        : custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })) as Promise<
        KubernetesListObject<IngestPipeline & KubernetesObject>
      >,
  );
  const deployments = makeInformer(
    kc,
    `/apis/apps/v1${base}/deployments`,
    () =>
      (ns === undefined
        ? apps.listDeploymentForAllNamespaces({ labelSelector: OWNED })
        : apps.listNamespacedDeployment({ namespace: ns, labelSelector: OWNED })) as Promise<KubernetesListObject<KubernetesObject>>,
    OWNED,
  );
  const hpas = makeInformer(
    kc,
    `/apis/autoscaling/v2${base}/horizontalpodautoscalers`,
    () =>
      (ns === undefined
        ? autoscaling.listHorizontalPodAutoscalerForAllNamespaces({ labelSelector: OWNED })
        : autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns, labelSelector: OWNED })) as Promise<KubernetesListObject<KubernetesObject>>,
    OWNED,
  );

  const pipelineKey = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  const ownerKey = (o: KubernetesObject) => {
    const p = o.metadata?.labels?.[PIPELINE_LABEL];
    return p === undefined ? undefined : `${o.metadata?.namespace}/${p}`;
  };
  const wired = new WiredInformers(enqueue, log);
  wired.add('ingestpipelines', pipelines, pipelineKey);
  wired.add('deployments', deployments, ownerKey);
  wired.add('horizontalpodautoscalers', hpas, ownerKey);
  await wired.start();

  return {
    pipelines: {
      list: (namespace: string) => pipelines.list(namespace),
      keys: () => pipelines.list().map(pipelineKey),
    },
    synced: () => wired.synced(),
    stop: () => wired.stop(),
  };
}

export interface SnapshotInformers {
  synced(): boolean;
  keys(): string[];
  stop(): Promise<void>;
}

/**
 * Informers on Snapshots and on the SparkApplications the operator created for them (its
 * managed-by label); every event enqueues the Snapshot's key.
 */
export async function startSnapshotInformers(kc: KubeConfig, namespace: string, enqueue: (key: string) => void, log: Logger): Promise<SnapshotInformers> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = namespace === '' ? undefined : namespace;
  const base = ns === undefined ? '' : `/namespaces/${ns}`;
  const list = (group: string, version: string, plural: string, labelSelector?: string) => () =>
    (ns === undefined
      ? custom.listClusterCustomObject({ group, version, plural, ...(labelSelector ? { labelSelector } : {}) })
      : custom.listNamespacedCustomObject({ group, version, namespace: ns, plural, ...(labelSelector ? { labelSelector } : {}) })) as Promise<
      KubernetesListObject<KubernetesObject>
    >;
  const snapshots = makeInformer(kc, `/apis/${GROUP}/${VERSION}${base}/${SNAPSHOT_PLURAL}`, list(GROUP, VERSION, SNAPSHOT_PLURAL));
  const apps = makeInformer(
    kc,
    `/apis/sparkoperator.k8s.io/v1beta2${base}/sparkapplications`,
    list('sparkoperator.k8s.io', 'v1beta2', 'sparkapplications', OWNED),
    OWNED,
  );
  const key = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  const ownerKey = (o: KubernetesObject) => {
    const s = o.metadata?.labels?.[SNAPSHOT_LABEL];
    return s === undefined ? undefined : `${o.metadata?.namespace}/${s}`;
  };
  const wired = new WiredInformers(enqueue, log);
  wired.add('snapshots', snapshots, key, ['add', 'update']);
  wired.add('sparkapplications', apps, ownerKey, ['add', 'update']);
  await wired.start();
  return {
    synced: () => wired.synced(),
    keys: () => snapshots.list().map(key),
    stop: () => wired.stop(),
  };
}
