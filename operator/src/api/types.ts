/**
 * The `IngestPipeline` API (group `ingest.clinical.dev`, version `v1alpha1`): what a user asks for
 * (spec) and what the operator reports (status). The CRD in `crd.ts` is the schema of these types;
 * `defaults.ts` holds the defaults both of them document, so the operator and the apiserver agree.
 */

export const GROUP = 'ingest.clinical.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export const KIND = 'IngestPipeline';
export const PLURAL = 'ingestpipelines';
export const SINGULAR = 'ingestpipeline';
export const SHORT_NAMES: readonly string[] = ['ingp'];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** A key of a Secret in the pipeline's namespace. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/** Kubernetes resource quantities (`cpu: "500m"`, `memory: "256Mi"`). */
export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

export interface KafkaSpec {
  /** Bootstrap servers, comma-separated `host:port` (the consumer's KAFKA_BROKERS; the operator reads lag there too). */
  readonly bootstrapServers: string;
  /** The intake topic the consumers read (the consumer's INTAKE_TOPIC). */
  readonly topic: string;
  /** The consumer group whose committed offsets define the lag (the consumer's CONSUMER_GROUP). */
  readonly consumerGroup: string;
  /** Dead-letter topic (the consumer's DLQ_TOPIC). @default the consumer's own default */
  readonly dlqTopic?: string;
  /** TLS to the brokers (KAFKA_SSL); implied by `consumer.secrets.kafkaCa`. @default false */
  readonly tls?: boolean;
  /** SASL (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME); the password is `consumer.secrets.kafkaPassword`. */
  readonly sasl?: { readonly mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain'; readonly username: string };
}

export interface ConsumerSecrets {
  /** IDENTITY_HMAC_SECRET (≥ 32 characters). */
  readonly identityHmacSecret: SecretKeyRef;
  /** DATABASE_URL: the master store's connection string (it may hold a password). */
  readonly databaseUrl: SecretKeyRef;
  /** PUBLIC_DATABASE_URL, when the public store is the PostgreSQL adapter. */
  readonly publicDatabaseUrl?: SecretKeyRef;
  /** REDIS_URL, when it carries a password (a Redis ACL user). */
  readonly redisUrl?: SecretKeyRef;
  /** KAFKA_SASL_PASSWORD, required with `kafka.sasl`. */
  readonly kafkaPassword?: SecretKeyRef;
  /** KAFKA_SSL_CA: the brokers' CA certificate (PEM); turns TLS on. */
  readonly kafkaCa?: SecretKeyRef;
  /**
   * The database server's CA certificate (PEM), mounted as the file `DATABASE_CA_FILE`, which the
   * database URLs name (`sslmode=verify-full&sslrootcert=…`).
   */
  readonly databaseCa?: SecretKeyRef;
  /** REDIS_TLS_CA: the CA certificate (PEM) Redis's certificate chains to, for a `rediss://` REDIS_URL. */
  readonly redisCa?: SecretKeyRef;
  /**
   * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the DynamoDB-API public store (the in-cluster
   * store's writer key). Against AWS leave them out and give the pods an IAM identity.
   */
  readonly awsAccessKeyId?: SecretKeyRef;
  readonly awsSecretAccessKey?: SecretKeyRef;
}

/** Where a consumer finds `consumer.secrets.databaseCa`: the `sslrootcert` of its database URLs. */
export const DATABASE_CA_DIR = '/etc/intake/database-ca';
export const DATABASE_CA_FILE = `${DATABASE_CA_DIR}/ca.crt`;

/** An extra environment variable with a literal value (no secrets here: use a Secret and `secrets`). */
export interface EnvVarLiteral {
  readonly name: string;
  readonly value: string;
}

export interface ConsumerSpec {
  /** The consumer image (runs `node consumer/dist/main.js`). */
  readonly image: string;
  /** @default "IfNotPresent" */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** @default requests cpu 500m, memory 256Mi; limits memory 512Mi */
  readonly resources?: ResourceRequirements;
  /** A ConfigMap whose keys become the consumer's environment (envFrom): REDIS_URL, PUBLIC_STORE, … */
  readonly configMapName?: string;
  readonly secrets: ConsumerSecrets;
  /** Extra literal variables; they win over the ConfigMap. */
  readonly env?: readonly EnvVarLiteral[];
  /** @default "default" (the token is not mounted: the consumer never calls the Kubernetes API) */
  readonly serviceAccountName?: string;
  /** The consumer's /metrics, /healthz, /readyz port (METRICS_PORT). @default 9464 */
  readonly metricsPort?: number;
  /** Bound of the consumer's graceful shutdown (SHUTDOWN_TIMEOUT_MS / 1000). @default 25 */
  readonly shutdownTimeoutSeconds?: number;
  readonly imagePullSecrets?: readonly string[];
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

/** The replica policy's knobs (see `policy.ts`); every one has a documented default. */
export interface PolicySpec {
  /** Plan for this fraction of the measured per-replica rate (headroom for bursts). @default 0.8 */
  readonly targetUtilization?: number;
  /** Rate assumed before one is measured, in records/s per replica. @default 1000 */
  readonly initialRatePerReplica?: number;
  /** After a change of the replica count, hold it this long (the group rebalances). @default 30 */
  readonly rebalanceHoldSeconds?: number;
  /** Scale down only to the highest count wanted over this window. @default 120 */
  readonly scaleDownStabilizationSeconds?: number;
  /** A partition with lag whose committed offset has not moved for this long is stuck. @default 60 */
  readonly stuckPartitionSeconds?: number;
  /** Window over which arrival rates and their trend are estimated; a rising trend is extrapolated as far ahead. @default 30 */
  readonly trendWindowSeconds?: number;
  /** Prefer replica counts that split the partitions evenly. @default true */
  readonly evenSpread?: boolean;
  /** Allow zero replicas when the topic is idle. @default false */
  readonly scaleToZero?: boolean;
  /** With scaleToZero: total lag above which a pipeline at zero starts one replica. @default 0 */
  readonly activationLag?: number;
  /** With scaleToZero: idle (zero lag, no arrivals) this long before going to zero. @default 300 */
  readonly idleSecondsBeforeZero?: number;
}

export interface ScalingSpec {
  /** @default 1 (0 is allowed only with policy.scaleToZero) */
  readonly minReplicas?: number;
  /** Capped further by the partition count. */
  readonly maxReplicas: number;
  /** Drain the backlog within this many seconds (lag in seconds target). @default 5 */
  readonly freshnessTargetSeconds?: number;
  /** How often lag is read and the policy run (lag sends no events). @default 10 */
  readonly pollIntervalSeconds?: number;
  readonly policy?: PolicySpec;
}

export interface IngestPipelineSpec {
  readonly kafka: KafkaSpec;
  readonly consumer: ConsumerSpec;
  readonly scaling: ScalingSpec;
}

/** metav1.Condition. */
export interface Condition {
  // The known types, and any other (string & {} keeps the known ones suggested).
  readonly type: ConditionType | (string & {});
  readonly status: 'True' | 'False' | 'Unknown';
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';

export interface PartitionLagStatus {
  readonly partition: number;
  readonly lag: number;
  /** The committed offset has not moved for `stuckPartitionSeconds` while lag > 0. */
  readonly stuck?: boolean;
}

export interface IngestPipelineStatus {
  readonly observedGeneration?: number;
  /** Partitions of the topic. */
  readonly partitions?: number;
  /** Total lag in records (log-end minus committed offset, summed). */
  readonly lag?: number;
  /** Estimated drain time of the backlog at the measured rate and current replicas, in seconds. */
  readonly lagSeconds?: number;
  readonly partitionLag?: readonly PartitionLagStatus[];
  /** Measured records/s one replica consumes (as a decimal string, like a quantity). */
  readonly ratePerReplica?: string;
  /** Replicas of the consumer Deployment. */
  readonly replicas?: number;
  readonly readyReplicas?: number;
  /** The policy's decision, published to the HPA. */
  readonly desiredReplicas?: number;
  /**
   * The External metric value served to the HPA (AverageValue target 1): the decision, or past the
   * HPA's tolerance band for a step to the cap that the band would swallow. Every operator replica
   * serves it from here, so a non-leader answers like the leader.
   */
  readonly metricValue?: number;
  readonly lastScaleTime?: string;
  readonly lastScaleReason?: string;
  /** Label selector of the consumer pods. */
  readonly selector?: string;
  readonly conditions?: readonly Condition[];
}

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
