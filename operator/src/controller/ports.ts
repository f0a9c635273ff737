import type { PartitionOffsets } from '../policy/policy.js';

/** Wall-clock time in milliseconds, injected so tests control it (kubebuilder's `Clock`). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A Kubernetes object as JSON (only what every object has). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: object;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/**
 * What the reconciler needs from the Kubernetes API; nothing more (KEDA's three-method habit).
 * The real adapter is `kube/client.ts` (server-side apply); tests use an in-memory fake.
 */
export interface KubeClient {
  /** The object, or undefined when it does not exist. */
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  /** Server-side apply of the whole desired object, as the operator's field manager (forced). */
  apply<T extends KubeObject>(obj: T): Promise<T>;
  /** Applies the `/status` subresource of one of the operator's own kinds (IngestPipeline, Snapshot). */
  patchStatus(ref: ObjectRef, status: unknown): Promise<void>;
  /** Sets the replicas through the `/scale` subresource (only the 0 ↔ 1 edge of scale to zero). */
  scale(ref: ObjectRef, replicas: number): Promise<void>;
}

/** Reads log-end and committed offsets of a topic for a consumer group (the Kafka admin API). */
export interface LagReader {
  read(bootstrapServers: string, topic: string, group: string): Promise<PartitionOffsets[]>;
}

/** Errors that say what failed and whether retrying can help. */
export class OperatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OperatorError';
  }
}
