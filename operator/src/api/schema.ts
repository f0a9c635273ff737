/**
 * The `IngestPipeline` API, defined once: these zod schemas are the TypeScript types (types.ts
 * infers them), the CRD's OpenAPI schema (crd.ts converts them with `z.toJSONSchema`: descriptions,
 * bounds, patterns, defaults, Kubernetes list types), and the operator's validation of a stored
 * object (controller/validate.ts parses with them). A rule across fields is written once here with
 * both its forms side by side: a zod refinement (the operator) and a CEL rule (the apiserver).
 */
import { z } from 'zod';
import { DEFAULTS } from './defaults.js';

/** A rule across fields: the CEL the CRD carries, and the same check for the operator. */
interface CrossFieldRule<T> {
  readonly cel: string;
  readonly message: string;
  /** The field the message is about, relative to the object the rule is on (`.minReplicas`). */
  readonly fieldPath: string;
  readonly check: (value: T) => boolean;
}

/** Attaches cross-field rules to an object schema: refinements for zod, `x-kubernetes-validations` for the CRD. */
function withRules<S extends z.ZodObject>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  let out = schema;
  for (const r of rules) {
    out = out.refine(r.check, { message: r.message, path: r.fieldPath.replace(/^\./, '').split('.') });
  }
  return out.meta({ 'x-kubernetes-validations': rules.map((r) => ({ rule: r.cel, message: r.message, fieldPath: r.fieldPath })) });
}

const str = (description: string) => z.string().describe(description);
/**
 * An integer with optional bounds, described last: in zod a description belongs to the schema
 * instance it was given to, and `.min()` makes a new one.
 */
const int = (description: string, bounds: { min?: number; max?: number } = {}) => {
  let n = z.number().int();
  if (bounds.min !== undefined) n = n.min(bounds.min);
  if (bounds.max !== undefined) n = n.max(bounds.max);
  return n.describe(description);
};

/** A DNS-1123 subdomain (names of ConfigMaps, Secrets, ServiceAccounts). */
const name = (description: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
    .describe(description);
/** A Kafka topic or group name. */
const kafkaName = (description: string) =>
  z
    .string()
    .min(1)
    .max(249)
    .regex(/^[a-zA-Z0-9._-]+$/)
    .describe(description);

const secretKeyRef = (description: string) =>
  z.object({ name: name('Secret in the pipeline namespace.'), key: z.string().min(1).max(253).describe('Key in the Secret.') }).describe(description);

/** A Kubernetes quantity (`500m`, `256Mi`, or a number). */
const quantity = z.union([z.number().int(), z.string()]).meta({
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
});

const P = DEFAULTS.policy;

export const secretKeyRefSchema = secretKeyRef('A key of a Secret in the pipeline namespace.');

export const kafkaSpecSchema = z
  .object({
    bootstrapServers: z.string().min(1).max(4096).describe('Bootstrap servers, comma-separated host:port (KAFKA_BROKERS). The operator reads lag there too.'),
    topic: kafkaName('Intake topic (INTAKE_TOPIC).'),
    consumerGroup: kafkaName('Consumer group (CONSUMER_GROUP); its committed offsets define the lag.'),
    dlqTopic: kafkaName("Dead-letter topic (DLQ_TOPIC); the consumer's default when absent.").optional(),
    tls: z.boolean().default(false).describe('TLS to the brokers (KAFKA_SSL); implied by secrets.kafkaCa.'),
    sasl: z
      .object({
        mechanism: z.enum(['scram-sha-512', 'scram-sha-256', 'plain']).describe('SASL mechanism.'),
        username: z.string().min(1).max(253).describe('SASL user name (the KafkaUser).'),
      })
      .describe('SASL authentication (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME); the password is secrets.kafkaPassword.')
      .optional(),
  })
  .describe('The topic and the consumer group.');

export const consumerSecretsSchema = z
  .object({
    identityHmacSecret: secretKeyRef('IDENTITY_HMAC_SECRET (at least 32 characters).'),
    databaseUrl: secretKeyRef('DATABASE_URL of the master store.'),
    publicDatabaseUrl: secretKeyRef('PUBLIC_DATABASE_URL, when the public store is the PostgreSQL adapter.').optional(),
    redisUrl: secretKeyRef('REDIS_URL, when it carries a password (Redis ACL user).').optional(),
    kafkaPassword: secretKeyRef('KAFKA_SASL_PASSWORD, required with kafka.sasl.').optional(),
    kafkaCa: secretKeyRef("KAFKA_SSL_CA: the brokers' CA certificate (PEM); turns TLS on.").optional(),
    databaseCa: secretKeyRef(
      "The database server's CA certificate (PEM), mounted at /etc/intake/database-ca/ca.crt: the database URLs' sslrootcert (sslmode=verify-full).",
    ).optional(),
    redisCa: secretKeyRef("REDIS_TLS_CA: the CA certificate (PEM) of Redis's server certificate, for a rediss:// REDIS_URL.").optional(),
    awsAccessKeyId: secretKeyRef('AWS_ACCESS_KEY_ID of the DynamoDB-API public store (omit against AWS: use an IAM identity).').optional(),
    awsSecretAccessKey: secretKeyRef('AWS_SECRET_ACCESS_KEY of the DynamoDB-API public store (omit against AWS: use an IAM identity).').optional(),
  })
  .describe('Secrets the consumer reads its credentials from.');

export const resourceRequirementsSchema = z
  .object({ requests: z.record(z.string(), quantity).optional(), limits: z.record(z.string(), quantity).optional() })
  .describe('Container resources.');

export const envVarLiteralSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .describe('Name.'),
    value: z.string().max(32768).describe('Value.'),
  })
  .describe('A variable.');

export const consumerSpecSchema = z
  .object({
    image: z.string().min(1).max(1024).describe('Consumer image (runs node consumer/dist/main.js).'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default(DEFAULTS.imagePullPolicy).describe('Image pull policy.'),
    resources: resourceRequirementsSchema.default(DEFAULTS.resources),
    configMapName: name("ConfigMap whose keys become the consumer's environment (envFrom).").optional(),
    secrets: consumerSecretsSchema,
    env: z
      .array(envVarLiteralSchema)
      .max(64)
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
      .describe('Extra literal variables; they win over the ConfigMap. No secrets here.')
      .optional(),
    serviceAccountName: name('Service account of the consumer pods (its token is not mounted).').default(DEFAULTS.serviceAccountName),
    metricsPort: int('Port of /metrics, /healthz, /readyz (METRICS_PORT).', { min: 1024, max: 65535 }).default(DEFAULTS.metricsPort),
    shutdownTimeoutSeconds: int('Bound of the graceful shutdown (SHUTDOWN_TIMEOUT_MS / 1000); the grace period is longer.', { min: 1, max: 600 }).default(
      DEFAULTS.shutdownTimeoutSeconds,
    ),
    imagePullSecrets: z.array(name('Secret name.')).max(16).meta({ 'x-kubernetes-list-type': 'set' }).describe('Names of image pull Secrets.').optional(),
    nodeSelector: z.record(z.string(), z.string()).describe('Node selector of the consumer pods.').optional(),
  })
  .describe('The consumer Deployment.');

export const policySpecSchema = z
  .object({
    targetUtilization: z.number().min(0.1).max(1).default(P.targetUtilization).describe('Plan for this fraction of the measured per-replica rate.'),
    initialRatePerReplica: z.number().min(1).default(P.initialRatePerReplica).describe('Records/s per replica assumed before a rate is measured.'),
    rebalanceHoldSeconds: int('Hold the count this long after a change (the group rebalances).', { min: 0, max: 3600 }).default(P.rebalanceHoldSeconds),
    scaleDownStabilizationSeconds: int('Scale down only to the highest count wanted over this window.', { min: 0, max: 3600 }).default(
      P.scaleDownStabilizationSeconds,
    ),
    stuckPartitionSeconds: int('A partition with lag whose committed offset has not moved this long is stuck.', { min: 10, max: 86400 }).default(
      P.stuckPartitionSeconds,
    ),
    trendWindowSeconds: int('Window of the lag trend estimate.', { min: 0, max: 3600 }).default(P.trendWindowSeconds),
    evenSpread: z.boolean().default(P.evenSpread).describe('Prefer replica counts that split the partitions evenly.'),
    scaleToZero: z.boolean().default(P.scaleToZero).describe('Allow zero replicas when the topic is idle.'),
    activationLag: int('With scaleToZero: total lag above which a pipeline at zero starts.', { min: 0 }).default(P.activationLag),
    idleSecondsBeforeZero: int('With scaleToZero: idle this long before going to zero.', { min: 0, max: 86400 }).default(P.idleSecondsBeforeZero),
  })
  .describe('Policy knobs; each has a documented default.');

export const scalingSpecSchema = withRules(
  z
    .object({
      minReplicas: int('Fewest replicas; 0 only with policy.scaleToZero.', { min: 0 }).default(DEFAULTS.minReplicas),
      maxReplicas: int('Most replicas; the partition count caps it further.', { min: 1, max: 10000 }),
      freshnessTargetSeconds: int('Drain the backlog within this many seconds (lag in seconds target).', { min: 1, max: 86400 }).default(
        DEFAULTS.freshnessTargetSeconds,
      ),
      pollIntervalSeconds: int('How often lag is read and the policy run.', { min: 1, max: 300 }).default(DEFAULTS.pollIntervalSeconds),
      // prefault: an absent policy is parsed as {}, so every knob gets its default.
      policy: policySpecSchema.prefault({}),
    })
    .describe('Replica bounds, the freshness target and the policy.'),
  [
    {
      cel: 'self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      fieldPath: '.minReplicas',
      check: (s) => s.minReplicas <= s.maxReplicas,
    },
    {
      cel: 'self.minReplicas > 0 || (has(self.policy) && has(self.policy.scaleToZero) && self.policy.scaleToZero)',
      message: 'minReplicas 0 needs policy.scaleToZero',
      fieldPath: '.minReplicas',
      check: (s) => s.minReplicas > 0 || s.policy.scaleToZero,
    },
  ],
);

export const ingestPipelineSpecSchema = z
  .object({ kafka: kafkaSpecSchema, consumer: consumerSpecSchema, scaling: scalingSpecSchema })
  .describe('What the pipeline consumes, with which image, and how it scales.');

const int64 = (description: string) => z.number().int().min(0).meta({ format: 'int64', description });

export const conditionSchema = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe('Ready, Progressing or Degraded.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: int64('Generation the condition was set for.').optional(),
    lastTransitionTime: z.string().meta({ format: 'date-time' }).describe('When the status last changed.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('CamelCase reason.'),
    message: z.string().max(32768).describe('Human-readable message.'),
  })
  .describe('metav1.Condition');

export const partitionLagSchema = z
  .object({
    partition: int('Partition.', { min: 0 }),
    lag: int64('Lag in records.'),
    stuck: z.boolean().describe('Lag that does not move.').optional(),
  })
  .describe('One partition.');

export const ingestPipelineStatusSchema = z
  .object({
    observedGeneration: int64('The spec generation this status reflects.'),
    partitions: int('Partitions of the topic.', { min: 0 }),
    lag: int64('Total lag in records (log-end minus committed offset, summed over partitions).'),
    lagSeconds: int('Estimated seconds to drain the backlog at the measured rate and current replicas.', { min: 0 }),
    partitionLag: z
      .array(partitionLagSchema)
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['partition'] })
      .describe('Lag per partition.'),
    ratePerReplica: str('Measured records/s per replica (decimal).'),
    replicas: int('Replicas of the consumer Deployment.', { min: 0 }),
    readyReplicas: int('Ready replicas.', { min: 0 }),
    desiredReplicas: int("The policy's decision, published to the HPA.", { min: 0 }),
    metricValue: int('The External metric value served to the HPA (the decision, or past the tolerance band on a step to the cap).', { min: 0 }),
    lastScaleTime: z.string().meta({ format: 'date-time' }).describe('When the decision last changed.'),
    lastScaleReason: z.string().max(1024).describe('Why it changed.'),
    selector: str('Label selector of the consumer pods.'),
    conditions: z
      .array(conditionSchema)
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Progressing, Degraded.'),
  })
  .partial()
  .describe('Observed state, written by the operator only.');

/**
 * A zod schema as the OpenAPI v3 schema a CRD carries: the input shape (fields with a default are
 * optional; the apiserver fills them in), without the ±2^53 bounds zod states for every integer,
 * patterns without a RegExp's escaped '/'.
 */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as Record<string, unknown>;
  const clean = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(clean);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
      if (k === '$schema') continue;
      // A RegExp's source escapes '/'; the CRD states the pattern as Kubernetes writes it.
      out[k] = k === 'pattern' && typeof v === 'string' ? v.replaceAll('\\/', '/') : clean(v);
    }
    return out;
  };
  return clean(json) as Record<string, unknown>;
}
