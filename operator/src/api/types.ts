/**
 * The `IngestPipeline` API (group `ingest.clinical.dev`, version `v1alpha1`): what a user asks for
 * (spec) and what the operator reports (status). The types are inferred from the one definition in
 * `schema.ts`, which is also the CRD's schema (`crd.ts`) and the operator's validation;
 * `defaults.ts` holds the defaults it states, so the operator and the apiserver agree.
 */
import type { z } from 'zod';
import type {
  conditionSchema,
  consumerSecretsSchema,
  consumerSpecSchema,
  envVarLiteralSchema,
  ingestPipelineSpecSchema,
  ingestPipelineStatusSchema,
  kafkaSpecSchema,
  partitionLagSchema,
  policySpecSchema,
  resourceRequirementsSchema,
  scalingSpecSchema,
  secretKeyRefSchema,
} from './schema.js';

export const GROUP = 'ingest.clinical.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export const KIND = 'IngestPipeline';
export const PLURAL = 'ingestpipelines';
export const SINGULAR = 'ingestpipeline';
export const SHORT_NAMES: readonly string[] = ['ingp'];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Deeply read-only: what the operator receives it never changes. */
type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** A key of a Secret in the pipeline's namespace. */
export type SecretKeyRef = DeepReadonly<z.input<typeof secretKeyRefSchema>>;
/** Kubernetes resource quantities (`cpu: "500m"`, `memory: "256Mi"`). */
export type ResourceRequirements = DeepReadonly<z.input<typeof resourceRequirementsSchema>>;
export type KafkaSpec = DeepReadonly<z.input<typeof kafkaSpecSchema>>;
export type ConsumerSecrets = DeepReadonly<z.input<typeof consumerSecretsSchema>>;

/** Where a consumer finds `consumer.secrets.databaseCa`: the `sslrootcert` of its database URLs. */
export const DATABASE_CA_DIR = '/etc/intake/database-ca';
export const DATABASE_CA_FILE = `${DATABASE_CA_DIR}/ca.crt`;

/** An extra environment variable with a literal value (no secrets here: use a Secret and `secrets`). */
export type EnvVarLiteral = DeepReadonly<z.input<typeof envVarLiteralSchema>>;
export type ConsumerSpec = DeepReadonly<z.input<typeof consumerSpecSchema>>;
/** The replica policy's knobs (see `policy.ts`); every one has a documented default (defaults.ts). */
export type PolicySpec = DeepReadonly<z.input<typeof policySpecSchema>>;
export type ScalingSpec = DeepReadonly<z.input<typeof scalingSpecSchema>>;
/** What a user asks for: the fields with a default may be left out (the apiserver fills them in). */
export type IngestPipelineSpec = DeepReadonly<z.input<typeof ingestPipelineSpecSchema>>;

/** metav1.Condition. */
export type Condition = DeepReadonly<z.input<typeof conditionSchema>>;

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';

export type PartitionLagStatus = DeepReadonly<z.input<typeof partitionLagSchema>>;

/** What the operator reports (descriptions in schema.ts). */
export type IngestPipelineStatus = DeepReadonly<z.input<typeof ingestPipelineStatusSchema>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
}

export interface IngestPipeline {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: ObjectMeta;
  readonly spec: IngestPipelineSpec;
  readonly status?: IngestPipelineStatus;
}
