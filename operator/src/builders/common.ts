import { API_VERSION, KIND, type IngestPipeline } from '../api/types.js';

/** Options shared by the builders. */
export interface BuildOptions {
  /**
   * Build without owner references when the pipeline has no `metadata.uid` yet (a manifest
   * rendered before the pipeline exists, e.g. by cdk8s for review). The operator never sets it.
   * @default false
   */
  readonly withoutOwner?: boolean;
  /** Extra labels on every built object and pod (they never replace the operator's own). */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

export class BuildError extends Error {
  readonly code = 'BUILD';
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

export const PIPELINE_LABEL = 'ingest.clinical.dev/pipeline';
export const MANAGED_BY = 'ingest-operator';

/** Name of the consumer Deployment and of its HPA. */
export function consumerName(pipeline: IngestPipeline): string {
  return `${pipeline.metadata.name}-consumer`;
}

/** Labels selecting the consumer pods of one pipeline (the Deployment's immutable selector). */
export function selectorLabels(pipeline: IngestPipeline): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'intake-consumer',
    'app.kubernetes.io/instance': pipeline.metadata.name,
    [PIPELINE_LABEL]: pipeline.metadata.name,
  };
}

/** `key=value,…` form of the selector (status.selector). */
export function selectorString(pipeline: IngestPipeline): string {
  return Object.entries(selectorLabels(pipeline))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function objectLabels(pipeline: IngestPipeline, opts: BuildOptions): Record<string, string> {
  return {
    ...(opts.extraLabels ?? {}),
    ...selectorLabels(pipeline),
    'app.kubernetes.io/component': 'consumer',
    'app.kubernetes.io/part-of': 'clinical-ingest',
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export function ownerReferences(pipeline: IngestPipeline, opts: BuildOptions): OwnerReference[] | undefined {
  const uid = pipeline.metadata.uid;
  if (uid === undefined || uid === '') {
    if (opts.withoutOwner === true) return undefined;
    throw new BuildError(`IngestPipeline ${pipeline.metadata.name} has no metadata.uid: owner references need it (or pass withoutOwner)`);
  }
  return [{ apiVersion: API_VERSION, kind: KIND, name: pipeline.metadata.name, uid, controller: true, blockOwnerDeletion: true }];
}

export function requireNamespace(pipeline: IngestPipeline): string {
  const ns = pipeline.metadata.namespace;
  if (ns === undefined || ns === '') throw new BuildError(`IngestPipeline ${pipeline.metadata.name} has no namespace`);
  return ns;
}
