import type { Clock, KubeClient, KubeObject, LagReader, ObjectRef } from '../controller/ports.js';
import type { PartitionOffsets } from '../policy/policy.js';

type Obj = KubeObject & {
  metadata: { name: string; namespace: string; generation?: number; uid?: string; [k: string]: unknown };
  spec?: unknown;
  status?: unknown;
};

const keyOf = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;

/**
 * An in-memory API server for reconcile tests: apply replaces the spec (bumping generation when it
 * changes, defaulting a Deployment's replicas to 1 on create), keeps status, counts every call.
 */
export class FakeKube implements KubeClient {
  readonly objects = new Map<string, Obj>();
  readonly calls: { op: string; key: string }[] = [];
  /** Fields the apiserver drops on apply (e.g. an HPA's behavior tolerance on an old cluster). */
  dropHpaTolerance = false;
  failApply: Error | undefined;
  private uid = 0;

  put(o: Obj): void {
    this.objects.set(keyOf(o.kind!, o.metadata.namespace, o.metadata.name), structuredClone(o));
  }

  find<T = Obj>(kind: string, ns: string, name: string): T | undefined {
    const o = this.objects.get(keyOf(kind, ns, name));
    return o === undefined ? undefined : (structuredClone(o) as T);
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    this.calls.push({ op: 'get', key: keyOf(ref.kind, ref.namespace, ref.name) });
    return this.find<T>(ref.kind, ref.namespace, ref.name);
  }

  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const o = structuredClone(obj) as unknown as Obj;
    const key = keyOf(o.kind!, o.metadata.namespace, o.metadata.name);
    this.calls.push({ op: 'apply', key });
    if (this.failApply) throw this.failApply;
    if (this.dropHpaTolerance && o.kind === 'HorizontalPodAutoscaler') {
      const b = (o.spec as { behavior?: { scaleUp?: { tolerance?: string }; scaleDown?: { tolerance?: string } } }).behavior;
      delete b?.scaleUp?.tolerance;
      delete b?.scaleDown?.tolerance;
    }
    const live = this.objects.get(key);
    if (live === undefined) {
      if (o.kind === 'Deployment') {
        const spec = o.spec as { replicas?: number };
        spec.replicas ??= 1;
      }
      o.metadata.generation = 1;
      o.metadata.uid = `uid-${++this.uid}`;
      this.objects.set(key, o);
      return structuredClone(o) as unknown as T;
    }
    const spec = { ...(live.spec as object), ...(o.spec as object) } as Record<string, unknown>;
    if (o.kind === 'Deployment' && (o.spec as { replicas?: number }).replicas === undefined) spec['replicas'] = (live.spec as { replicas?: number }).replicas;
    const changed = JSON.stringify(spec) !== JSON.stringify(live.spec);
    const next: Obj = {
      ...o,
      metadata: { ...live.metadata, ...o.metadata, generation: (live.metadata.generation ?? 1) + (changed ? 1 : 0) },
      spec,
      ...(live.status === undefined ? {} : { status: live.status }),
    };
    this.objects.set(key, next);
    return structuredClone(next) as unknown as T;
  }

  async patchStatus(ref: ObjectRef, status: unknown): Promise<void> {
    const key = keyOf(ref.kind, ref.namespace, ref.name);
    this.calls.push({ op: 'patchStatus', key });
    const live = this.objects.get(key);
    if (live === undefined) throw new Error(`not found: ${key}`);
    live.status = structuredClone(status);
  }

  async scale(ref: ObjectRef, replicas: number): Promise<void> {
    const key = keyOf(ref.kind, ref.namespace, ref.name);
    this.calls.push({ op: 'scale', key });
    const live = this.objects.get(key);
    if (live === undefined) throw new Error(`not found: ${key}`);
    (live.spec as { replicas?: number }).replicas = replicas;
  }

  /** The kubelet and the ReplicaSet: every replica of the Deployment becomes ready and updated. */
  settle(ns: string, name: string, replicas?: number): void {
    const d = this.objects.get(keyOf('Deployment', ns, name));
    if (!d) return;
    const spec = d.spec as { replicas?: number };
    if (replicas !== undefined) spec.replicas = replicas;
    const n = spec.replicas ?? 0;
    d.status = { replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n, observedGeneration: d.metadata.generation };
  }
}

export class FakeLag implements LagReader {
  offsets: PartitionOffsets[] = [];
  error: Error | undefined;
  reads = 0;

  async read(): Promise<PartitionOffsets[]> {
    this.reads++;
    if (this.error) throw this.error;
    return this.offsets.map((o) => ({ ...o }));
  }

  /** Sets P partitions with the given lag each, log ends advanced by `arrived` each. */
  set(P: number, lag: number, arrived = 0): void {
    const prev = this.offsets;
    this.offsets = Array.from({ length: P }, (_, q) => {
      const end = (prev[q]?.logEndOffset ?? 1000) + arrived;
      return { partition: q, logEndOffset: end, committedOffset: end - lag };
    });
  }
}

export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
