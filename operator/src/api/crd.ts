import { DEFAULTS } from './defaults.js';
import { CRD_NAME, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './types.js';

/** An OpenAPI v3 schema node as the apiserver reads it (JSON field names, not client-node's). */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }[];
}

/** `apiextensions.k8s.io/v1` CustomResourceDefinition, as plain JSON. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources?: { status?: Record<string, never>; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }[];
    }[];
  };
}

const str = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
const int = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'integer', description, ...extra });
const num = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'number', description, ...extra });
const bool = (description: string, def: boolean): JSONSchemaProps => ({ type: 'boolean', description, default: def });
const obj = (description: string, properties: Record<string, JSONSchemaProps>, required: string[] = [], extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: 'object',
  description,
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});

/** A DNS-1123 subdomain (names of ConfigMaps, Secrets, ServiceAccounts). */
const NAME = { minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' };
/** A Kafka topic or group name. */
const KAFKA_NAME = { minLength: 1, maxLength: 249, pattern: '^[a-zA-Z0-9._-]+$' };

const secretKeyRef = (description: string): JSONSchemaProps =>
  obj(description, { name: str('Secret in the pipeline namespace.', NAME), key: str('Key in the Secret.', { minLength: 1, maxLength: 253 }) }, ['name', 'key']);

const quantity: JSONSchemaProps = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
};

const condition: JSONSchemaProps = obj(
  'metav1.Condition',
  {
    type: str('Ready, Progressing or Degraded.', {
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    observedGeneration: int('Generation the condition was set for.', { format: 'int64', minimum: 0 }),
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    reason: str('CamelCase reason.', { minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: str('Human-readable message.', { maxLength: 32768 }),
  },
  ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
);

const P = DEFAULTS.policy;

function specSchema(): JSONSchemaProps {
  return obj(
    'What the pipeline consumes, with which image, and how it scales.',
    {
      kafka: obj(
        'The topic and the consumer group.',
        {
          bootstrapServers: str('Bootstrap servers, comma-separated host:port (KAFKA_BROKERS). The operator reads lag there too.', {
            minLength: 1,
            maxLength: 4096,
          }),
          topic: str('Intake topic (INTAKE_TOPIC).', KAFKA_NAME),
          consumerGroup: str('Consumer group (CONSUMER_GROUP); its committed offsets define the lag.', KAFKA_NAME),
          dlqTopic: str("Dead-letter topic (DLQ_TOPIC); the consumer's default when absent.", KAFKA_NAME),
          tls: { type: 'boolean', description: 'TLS to the brokers (KAFKA_SSL); implied by secrets.kafkaCa.', default: false },
          sasl: obj(
            'SASL authentication (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME); the password is secrets.kafkaPassword.',
            {
              mechanism: str('SASL mechanism.', { enum: ['scram-sha-512', 'scram-sha-256', 'plain'] }),
              username: str('SASL user name (the KafkaUser).', { minLength: 1, maxLength: 253 }),
            },
            ['mechanism', 'username'],
          ),
        },
        ['bootstrapServers', 'topic', 'consumerGroup'],
      ),
      consumer: obj(
        'The consumer Deployment.',
        {
          image: str('Consumer image (runs node consumer/dist/main.js).', { minLength: 1, maxLength: 1024 }),
          imagePullPolicy: str('Image pull policy.', { enum: ['Always', 'IfNotPresent', 'Never'], default: DEFAULTS.imagePullPolicy }),
          resources: obj(
            'Container resources.',
            { requests: { type: 'object', additionalProperties: quantity }, limits: { type: 'object', additionalProperties: quantity } },
            [],
            { default: DEFAULTS.resources },
          ),
          configMapName: str("ConfigMap whose keys become the consumer's environment (envFrom).", NAME),
          secrets: obj(
            'Secrets the consumer reads its credentials from.',
            {
              identityHmacSecret: secretKeyRef('IDENTITY_HMAC_SECRET (at least 32 characters).'),
              databaseUrl: secretKeyRef('DATABASE_URL of the master store.'),
              publicDatabaseUrl: secretKeyRef('PUBLIC_DATABASE_URL, when the public store is the PostgreSQL adapter.'),
              redisUrl: secretKeyRef('REDIS_URL, when it carries a password (Redis ACL user).'),
              kafkaPassword: secretKeyRef('KAFKA_SASL_PASSWORD, required with kafka.sasl.'),
              kafkaCa: secretKeyRef("KAFKA_SSL_CA: the brokers' CA certificate (PEM); turns TLS on."),
              databaseCa: secretKeyRef(
                "The database server's CA certificate (PEM), mounted at /etc/intake/database-ca/ca.crt: the database URLs' sslrootcert (sslmode=verify-full).",
              ),
              redisCa: secretKeyRef("REDIS_TLS_CA: the CA certificate (PEM) of Redis's server certificate, for a rediss:// REDIS_URL."),
              awsAccessKeyId: secretKeyRef('AWS_ACCESS_KEY_ID of the DynamoDB-API public store (omit against AWS: use an IAM identity).'),
              awsSecretAccessKey: secretKeyRef('AWS_SECRET_ACCESS_KEY of the DynamoDB-API public store (omit against AWS: use an IAM identity).'),
            },
            ['identityHmacSecret', 'databaseUrl'],
          ),
          env: {
            type: 'array',
            description: 'Extra literal variables; they win over the ConfigMap. No secrets here.',
            maxItems: 64,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: obj(
              'A variable.',
              { name: str('Name.', { minLength: 1, maxLength: 256, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), value: str('Value.', { maxLength: 32768 }) },
              ['name', 'value'],
            ),
          },
          serviceAccountName: str('Service account of the consumer pods (its token is not mounted).', { ...NAME, default: DEFAULTS.serviceAccountName }),
          metricsPort: int('Port of /metrics, /healthz, /readyz (METRICS_PORT).', { minimum: 1024, maximum: 65535, default: DEFAULTS.metricsPort }),
          shutdownTimeoutSeconds: int('Bound of the graceful shutdown (SHUTDOWN_TIMEOUT_MS / 1000); the grace period is longer.', {
            minimum: 1,
            maximum: 600,
            default: DEFAULTS.shutdownTimeoutSeconds,
          }),
          imagePullSecrets: {
            type: 'array',
            description: 'Names of image pull Secrets.',
            maxItems: 16,
            'x-kubernetes-list-type': 'set',
            items: str('Secret name.', NAME),
          },
          nodeSelector: { type: 'object', description: 'Node selector of the consumer pods.', additionalProperties: { type: 'string' } },
        },
        ['image', 'secrets'],
      ),
      scaling: obj(
        'Replica bounds, the freshness target and the policy.',
        {
          minReplicas: int('Fewest replicas; 0 only with policy.scaleToZero.', { minimum: 0, default: DEFAULTS.minReplicas }),
          maxReplicas: int('Most replicas; the partition count caps it further.', { minimum: 1, maximum: 10000 }),
          freshnessTargetSeconds: int('Drain the backlog within this many seconds (lag in seconds target).', {
            minimum: 1,
            maximum: 86400,
            default: DEFAULTS.freshnessTargetSeconds,
          }),
          pollIntervalSeconds: int('How often lag is read and the policy run.', { minimum: 1, maximum: 300, default: DEFAULTS.pollIntervalSeconds }),
          policy: obj(
            'Policy knobs; each has a documented default.',
            {
              targetUtilization: num('Plan for this fraction of the measured per-replica rate.', { minimum: 0.1, maximum: 1, default: P.targetUtilization }),
              initialRatePerReplica: num('Records/s per replica assumed before a rate is measured.', { minimum: 1, default: P.initialRatePerReplica }),
              rebalanceHoldSeconds: int('Hold the count this long after a change (the group rebalances).', {
                minimum: 0,
                maximum: 3600,
                default: P.rebalanceHoldSeconds,
              }),
              scaleDownStabilizationSeconds: int('Scale down only to the highest count wanted over this window.', {
                minimum: 0,
                maximum: 3600,
                default: P.scaleDownStabilizationSeconds,
              }),
              stuckPartitionSeconds: int('A partition with lag whose committed offset has not moved this long is stuck.', {
                minimum: 10,
                maximum: 86400,
                default: P.stuckPartitionSeconds,
              }),
              trendWindowSeconds: int('Window of the lag trend estimate.', { minimum: 0, maximum: 3600, default: P.trendWindowSeconds }),
              evenSpread: bool('Prefer replica counts that split the partitions evenly.', P.evenSpread),
              scaleToZero: bool('Allow zero replicas when the topic is idle.', P.scaleToZero),
              activationLag: int('With scaleToZero: total lag above which a pipeline at zero starts.', { minimum: 0, default: P.activationLag }),
              idleSecondsBeforeZero: int('With scaleToZero: idle this long before going to zero.', {
                minimum: 0,
                maximum: 86400,
                default: P.idleSecondsBeforeZero,
              }),
            },
            [],
            { default: {} },
          ),
        },
        ['maxReplicas'],
        {
          'x-kubernetes-validations': [
            { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas', fieldPath: '.minReplicas' },
            {
              rule: 'self.minReplicas > 0 || (has(self.policy) && has(self.policy.scaleToZero) && self.policy.scaleToZero)',
              message: 'minReplicas 0 needs policy.scaleToZero',
              fieldPath: '.minReplicas',
            },
          ],
        },
      ),
    },
    ['kafka', 'consumer', 'scaling'],
  );
}

function statusSchema(): JSONSchemaProps {
  return obj('Observed state, written by the operator only.', {
    observedGeneration: int('The spec generation this status reflects.', { format: 'int64', minimum: 0 }),
    partitions: int('Partitions of the topic.', { minimum: 0 }),
    lag: int('Total lag in records (log-end minus committed offset, summed over partitions).', { format: 'int64', minimum: 0 }),
    lagSeconds: int('Estimated seconds to drain the backlog at the measured rate and current replicas.', { minimum: 0 }),
    partitionLag: {
      type: 'array',
      description: 'Lag per partition.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['partition'],
      items: obj(
        'One partition.',
        {
          partition: int('Partition.', { minimum: 0 }),
          lag: int('Lag in records.', { format: 'int64', minimum: 0 }),
          stuck: { type: 'boolean', description: 'Lag that does not move.' },
        },
        ['partition', 'lag'],
      ),
    },
    ratePerReplica: str('Measured records/s per replica (decimal).'),
    replicas: int('Replicas of the consumer Deployment.', { minimum: 0 }),
    readyReplicas: int('Ready replicas.', { minimum: 0 }),
    desiredReplicas: int("The policy's decision, published to the HPA.", { minimum: 0 }),
    metricValue: int('The External metric value served to the HPA (the decision, or past the tolerance band on a step to the cap).', { minimum: 0 }),
    lastScaleTime: str('When the decision last changed.', { format: 'date-time' }),
    lastScaleReason: str('Why it changed.', { maxLength: 1024 }),
    selector: str('Label selector of the consumer pods.'),
    conditions: {
      type: 'array',
      description: 'Ready, Progressing, Degraded.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: condition,
    },
  });
}

/** The labels of the operator's CustomResourceDefinitions. */
export const CRD_LABELS = Object.freeze({ 'app.kubernetes.io/name': 'ingest-operator', 'app.kubernetes.io/part-of': 'clinical-ingest' });

/**
 * The full CustomResourceDefinition of `IngestPipeline`: a structural schema with defaults and
 * validation (CEL rules need Kubernetes ≥ 1.25, GA in 1.29), printer columns and the `/status`
 * subresource. No `/scale` subresource on purpose: the HPA the pipeline owns writes the consumer
 * Deployment's replica count, and a scalable pipeline would be a second writer.
 */
export function ingestPipelineCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { ...CRD_LABELS } },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES], categories: ['clinical-ingest'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: obj(
              'IngestPipeline: a consumer Deployment and its HPA, scaled to Kafka partition lag.',
              {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: statusSchema(),
              },
              ['spec'],
            ),
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Lag', type: 'integer', jsonPath: '.status.lag', description: 'Total lag in records.' },
            { name: 'Lag-s', type: 'integer', jsonPath: '.status.lagSeconds', description: 'Estimated seconds to drain the lag.' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas', description: 'Consumer replicas.' },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas', description: "The policy's decision." },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready consumer replicas.' },
            { name: 'Healthy', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status", description: 'Ready condition.', priority: 1 },
            { name: 'Partitions', type: 'integer', jsonPath: '.status.partitions', priority: 1 },
            { name: 'Reason', type: 'string', jsonPath: '.status.lastScaleReason', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}
