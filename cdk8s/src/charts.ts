/**
 * The charts: one per deployable unit, each only composing constructs. `make deploy` applies them
 * in DEPLOY_ORDER (the output file of a chart is `<id>.k8s.yaml`); the load test runs on demand
 * (`make loadtest`). Snapshot exports are SparkApplications the operator builds for each Snapshot
 * resource (`make snapshot-export` creates one), from the settings given to it here.
 */
import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { selectorLabels, type IngestPipelineSpec } from '@clinical-ingest/operator';
import { SPARK_EXPORT, UPSTREAM_IMAGES } from './images.js';
import { acl, ClientUser, KafkaCluster, Topic } from './lib/kafka.js';
import { kafkaClientEnv, kafkaCredentialEnv } from './lib/kafka-client.js';
import { appLabels, selector } from './lib/labels.js';
import { PlatformMonitoring } from './lib/monitoring.js';
import { LoadTestJob } from './lib/loadtest.js';
import { PlatformNamespace } from './lib/namespace.js';
import { DefaultDeny, FlowPolicies, type Flow } from './lib/network.js';
import { IngestOperator } from './lib/operator.js';
import { ConsumerPipeline } from './lib/pipeline.js';
import { DATABASE_ROLES, PostgresCluster } from './lib/postgres.js';
import { DynamoApiStore } from './lib/public-store.js';
import { RedisCache } from './lib/redis.js';
import { DATABASE_TLS_QUERY, SECRET_KEYS, SECRET_NAMES } from './lib/secrets.js';
import { SparkRbac } from './lib/spark.js';
import { literalEnv, secretEnv } from './lib/workload.js';
import { MIGRATIONS_DIR } from './paths.js';
import type { PlatformSettings } from './settings.js';
import { platformFlows } from './topology.js';

function chartProps(s: PlatformSettings, labels: Record<string, string> = {}): ChartProps {
  return { namespace: s.namespace, disableResourceNameHashes: true, labels: { 'app.kubernetes.io/part-of': 'clinical-ingest', ...labels } };
}

export class NamespaceChart extends Chart {
  constructor(scope: Construct, id: string, s: PlatformSettings) {
    super(scope, id, chartProps(s));
    new PlatformNamespace(this, 'namespace', { name: s.namespace });
    new DefaultDeny(this, 'default-deny');
  }
}

/** Pod labels of the platform's clients, for the Kafka listener's own NetworkPolicy. */
export const CLIENT_NAMES = { consumer: 'intake-consumer', operator: 'ingest-operator', loadtest: 'intake-loadtest' } as const;

export class KafkaChart extends Chart {
  readonly cluster: KafkaCluster;
  readonly users: { readonly loadgen: ClientUser; readonly consumer: ClientUser; readonly operator: ClientUser };
  constructor(scope: Construct, id: string, s: PlatformSettings) {
    super(scope, id, chartProps(s));
    const k = s.kafka;
    this.cluster = new KafkaCluster(this, 'cluster', {
      name: k.clusterName,
      version: k.version,
      replicas: k.replicas,
      storageSize: k.storageSize,
      tlsPort: k.tlsPort,
      clients: Object.values(CLIENT_NAMES).map((name) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name } } })),
    });
    new Topic(this, 'intake', { cluster: this.cluster, topicName: k.intakeTopic, partitions: k.partitions, retentionMs: k.retentionMs });
    // The DLQ takes any record the intake topic took, plus its headers: twice the broker default.
    new Topic(this, 'dlq', {
      cluster: this.cluster,
      topicName: k.dlqTopic,
      partitions: k.partitions,
      retentionMs: k.retentionMs,
      maxMessageBytes: 2 * 1024 * 1024,
    });
    this.users = {
      // The load generator (and the validation, which produces): writes the intake topic.
      loadgen: new ClientUser(this, 'loadgen', { cluster: this.cluster, userName: 'intake-loadgen', acls: [acl.topic(k.intakeTopic, 'Write', 'Describe')] }),
      // The consumers: read the intake topic in their group, write the DLQ.
      consumer: new ClientUser(this, 'consumer', {
        cluster: this.cluster,
        userName: 'intake-consumer',
        acls: [acl.topic(k.intakeTopic, 'Read', 'Describe'), acl.group(k.consumerGroup, 'Read'), acl.topic(k.dlqTopic, 'Write', 'Describe')],
      }),
      // The operator: reads log-end offsets and the group's committed offsets, nothing else.
      operator: new ClientUser(this, 'operator', {
        cluster: this.cluster,
        userName: 'ingest-operator',
        acls: [acl.topic(k.intakeTopic, 'Describe'), acl.group(k.consumerGroup, 'Describe')],
      }),
    };
  }
}

export class PostgresChart extends Chart {
  readonly postgres: PostgresCluster;
  constructor(scope: Construct, id: string, s: PlatformSettings) {
    super(scope, id, chartProps(s));
    this.postgres = new PostgresCluster(this, 'postgres', {
      name: s.postgres.clusterName,
      instances: s.postgres.instances,
      storageSize: s.postgres.storageSize,
      database: s.postgres.database,
      namespace: s.namespace,
      imageName: UPSTREAM_IMAGES.postgres,
      migrationsDir: MIGRATIONS_DIR,
      roleSecrets: SECRET_NAMES.roles,
      poolerInstances: s.postgres.poolerInstances,
    });
  }
}

export class RedisChart extends Chart {
  readonly redis: RedisCache;
  constructor(scope: Construct, id: string, s: PlatformSettings) {
    super(scope, id, chartProps(s));
    this.redis = new RedisCache(this, 'redis', {
      name: s.redis.name,
      image: UPSTREAM_IMAGES.redis,
      passwordSecret: SECRET_NAMES.redisUsers,
      storageSize: s.redis.storageSize,
      maxMemory: s.redis.maxMemory,
    });
  }
}

export class PublicStoreChart extends Chart {
  readonly store: DynamoApiStore;
  constructor(scope: Construct, id: string, s: PlatformSettings) {
    super(scope, id, chartProps(s));
    this.store = new DynamoApiStore(this, 'store', {
      name: s.publicStore.name,
      image: s.publicStore.image,
      port: s.publicStore.port,
      table: s.publicStore.table,
      nodePort: s.publicStore.nodePort,
      keys: {
        secret: SECRET_NAMES.publicStoreKeys,
        writerKeyId: SECRET_KEYS.writerKeyId,
        writerSecret: SECRET_KEYS.writerSecret,
        readerKeyId: SECRET_KEYS.readerKeyId,
        readerSecret: SECRET_KEYS.readerSecret,
      },
    });
  }
}

export class SparkChart extends Chart {
  readonly rbac: SparkRbac;
  constructor(scope: Construct, id: string, s: PlatformSettings, postgres: PostgresChart) {
    super(scope, id, chartProps(s));
    this.rbac = new SparkRbac(this, 'rbac', {
      namespace: s.namespace,
      image: SPARK_EXPORT.image,
      // What the SparkApplications the operator builds pass their pods (operator SNAPSHOT_* settings below).
      secretKeys: { [SECRET_NAMES.roles.history]: [SECRET_KEYS.password], [postgres.postgres.caSecret.name]: [postgres.postgres.caSecret.key] },
      claims: [SNAPSHOTS_CLAIM],
    });
    // Where `make snapshot-export` puts exports (Snapshot spec.destination): a master-scope export
    // there is PHI. ReadWriteOnce serves a one-node cluster (kind); with executors on several
    // nodes, use a ReadWriteMany class.
    new k8s.KubePersistentVolumeClaim(this, 'snapshots', {
      metadata: { name: SNAPSHOTS_CLAIM, labels: appLabels('spark', 'snapshot-export') },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString('10Gi') } } },
    });
  }
}

/** The PersistentVolumeClaim snapshot exports are written to by default. */
export const SNAPSHOTS_CLAIM = 'snapshots';

export class OperatorChart extends Chart {
  readonly operator: IngestOperator;
  constructor(
    scope: Construct,
    id: string,
    s: PlatformSettings,
    { kafka, postgres, redis, spark }: { kafka: KafkaChart; postgres: PostgresChart; redis: RedisChart; spark: SparkChart },
  ) {
    super(scope, id, chartProps(s));
    this.operator = new IngestOperator(this, 'operator', {
      name: CLIENT_NAMES.operator,
      image: s.operatorImage,
      namespace: s.namespace,
      extraEnv: [
        ...kafkaCredentialEnv(kafka.cluster, kafka.users.operator),
        // The SparkApplications it creates for Snapshots: the export image and the history role.
        ...Object.entries({
          // Consumers run only the project's images (from the registry the charts name).
          ALLOWED_IMAGE_PREFIXES: `${s.consumer.image.slice(0, s.consumer.image.lastIndexOf('/') + 1)}`,
          // ...and get only the Secrets made for them.
          ALLOWED_SECRET_NAMES: secretNames(consumerSecrets(s, kafka, postgres, redis)),
          SNAPSHOT_IMAGE: SPARK_EXPORT.image,
          SNAPSHOT_SPARK_VERSION: SPARK_EXPORT.sparkVersion,
          SNAPSHOT_MAIN_FILE: SPARK_EXPORT.mainApplicationFile,
          SNAPSHOT_JDBC_JAR: SPARK_EXPORT.jdbcJar,
          SNAPSHOT_UID: String(SPARK_EXPORT.uid),
          SNAPSHOT_JDBC_URL: snapshotJdbcUrl(s, postgres),
          SNAPSHOT_DB_USER: DATABASE_ROLES.history,
          SNAPSHOT_DB_SECRET_NAME: SECRET_NAMES.roles.history,
          SNAPSHOT_DB_SECRET_KEY: SECRET_KEYS.password,
          SNAPSHOT_DB_CA_SECRET_NAME: postgres.postgres.caSecret.name,
          SNAPSHOT_DB_CA_SECRET_KEY: postgres.postgres.caSecret.key,
          SNAPSHOT_SERVICE_ACCOUNT: spark.rbac.serviceAccountName,
        }).map(([name, value]) => ({ name, value })),
      ],
    });
  }
}

/** The public store's endpoint: the external one, or the in-cluster store's Service. */
export function dynamoEndpoint(s: PlatformSettings, publicStore: PublicStoreChart | undefined): string {
  const endpoint = s.publicStore.externalEndpoint ?? publicStore?.store.endpoint;
  if (endpoint === undefined) throw new Error('no public store: neither an external endpoint nor the in-cluster store');
  return endpoint;
}

/**
 * Variables of the AWS SDK the DynamoDB-API clients need. The credentials are not here: against the
 * in-cluster store they are its authorizer's access keys (a Secret: the consumers get the writer's,
 * the validation the reader's); against AWS, give the pods an IAM identity (IRSA / EKS Pod Identity).
 */
export function dynamoClientEnv(s: PlatformSettings, publicStore: PublicStoreChart | undefined): Record<string, string> {
  return {
    DYNAMODB_ENDPOINT: dynamoEndpoint(s, publicStore),
    DYNAMODB_REGION: 'us-east-1',
    PUBLIC_TABLE: s.publicStore.table,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * The Secrets the consumers get (the IngestPipeline's spec.consumer.secrets): the operator is told
 * these names (ALLOWED_SECRET_NAMES) and gives consumers no other.
 */
export function consumerSecrets(s: PlatformSettings, kafka: KafkaChart, postgres: PostgresChart, redis: RedisChart): IngestPipelineSpec['consumer']['secrets'] {
  return {
    identityHmacSecret: { name: SECRET_NAMES.identity, key: SECRET_KEYS.hmac },
    databaseUrl: { name: SECRET_NAMES.roles.app, key: SECRET_KEYS.url },
    publicDatabaseUrl: { name: SECRET_NAMES.roles.anonWriter, key: SECRET_KEYS.url },
    // The consumer's Redis ACL user: the URL carries its password.
    redisUrl: { name: SECRET_NAMES.redisUsers, key: SECRET_KEYS.redisConsumerUrl },
    // Strimzi's user operator writes the KafkaUser's password; the cluster CA verifies the brokers.
    kafkaPassword: { name: kafka.users.consumer.secretName, key: 'password' },
    kafkaCa: { name: kafka.cluster.clusterCaSecret, key: 'ca.crt' },
    // CloudNativePG's CA verifies the database (sslmode=verify-full); Redis's own certificate, Redis.
    databaseCa: postgres.postgres.caSecret,
    redisCa: { name: redis.redis.tlsSecret, key: 'tls.crt' },
    // The in-cluster public store's writer key (its authorizer lets only this key write).
    ...(s.publicStore.externalEndpoint === undefined
      ? {
          awsAccessKeyId: { name: SECRET_NAMES.publicStoreKeys, key: SECRET_KEYS.writerKeyId },
          awsSecretAccessKey: { name: SECRET_NAMES.publicStoreKeys, key: SECRET_KEYS.writerSecret },
        }
      : {}),
  };
}

/** The distinct Secret names of a pipeline's secret references, sorted, as a comma list. */
function secretNames(refs: IngestPipelineSpec['consumer']['secrets']): string {
  const names = (Object.values(refs) as ({ name: string } | undefined)[]).flatMap((r) => (r === undefined ? [] : [r.name]));
  return [...new Set(names)].sort().join(',');
}

export class PipelineChart extends Chart {
  readonly pipeline: ConsumerPipeline;
  constructor(
    scope: Construct,
    id: string,
    s: PlatformSettings,
    { kafka, postgres, redis, publicStore }: { kafka: KafkaChart; postgres: PostgresChart; redis: RedisChart; publicStore: PublicStoreChart | undefined },
  ) {
    super(scope, id, chartProps(s));
    const name = 'intake';
    const podLabels = selectorLabels({ apiVersion: 'ingest.clinical.dev/v1alpha1', kind: 'IngestPipeline', metadata: { name }, spec: {} as never });
    this.pipeline = new ConsumerPipeline(this, 'pipeline', {
      name,
      namespace: s.namespace,
      image: s.consumer.image,
      kafka: {
        bootstrapServers: kafka.cluster.bootstrapServers,
        topic: s.kafka.intakeTopic,
        consumerGroup: s.kafka.consumerGroup,
        dlqTopic: s.kafka.dlqTopic,
        tls: true,
        sasl: { mechanism: 'scram-sha-512', username: kafka.users.consumer.userName },
      },
      config: {
        PUBLIC_STORE: 'dynamodb',
        ...dynamoClientEnv(s, publicStore),
        PG_POOL_SIZE: '8',
      },
      secrets: consumerSecrets(s, kafka, postgres, redis),
      minReplicas: s.consumer.minReplicas,
      maxReplicas: s.consumer.maxReplicas,
      metricsPort: s.consumer.metricsPort,
      podLabels,
    });
  }
}

export class NetworkChart extends Chart {
  constructor(scope: Construct, id: string, s: PlatformSettings, flows: readonly Flow[]) {
    super(scope, id, chartProps(s));
    new FlowPolicies(this, 'flows', { flows });
  }
}

export class LoadTestChart extends Chart {
  readonly job: LoadTestJob;
  constructor(
    scope: Construct,
    id: string,
    s: PlatformSettings,
    {
      kafka,
      pipeline,
      postgres,
      publicStore,
    }: { kafka: KafkaChart; pipeline: PipelineChart; postgres: PostgresChart; publicStore: PublicStoreChart | undefined },
  ) {
    super(scope, id, chartProps(s));
    this.job = new LoadTestJob(this, 'loadtest', {
      databaseCa: postgres.postgres.caSecret,
      name: CLIENT_NAMES.loadtest,
      image: s.loadTest.image,
      count: s.loadTest.count,
      waitSeconds: s.loadTest.waitSeconds,
      env: [
        ...kafkaClientEnv(kafka.cluster, kafka.users.loadgen),
        ...literalEnv({
          INTAKE_TOPIC: s.kafka.intakeTopic,
          PUBLIC_STORE: 'dynamodb',
          ...dynamoClientEnv(s, publicStore),
          CONSUMER_METRICS_URLS: pipeline.pipeline.metricsUrl,
        }),
        secretEnv('VALIDATE_DATABASE_URL', SECRET_NAMES.roles.validation, SECRET_KEYS.url),
        // The in-cluster public store's reader key: the validation reads, never writes.
        ...(s.publicStore.externalEndpoint === undefined
          ? [
              secretEnv('AWS_ACCESS_KEY_ID', SECRET_NAMES.publicStoreKeys, SECRET_KEYS.readerKeyId),
              secretEnv('AWS_SECRET_ACCESS_KEY', SECRET_NAMES.publicStoreKeys, SECRET_KEYS.readerSecret),
            ]
          : []),
        secretEnv('IDENTITY_HMAC_SECRET', SECRET_NAMES.identity, SECRET_KEYS.hmac),
      ],
    });
  }
}

/** The master store for the snapshot export (the primary: history must be read where it is committed). */
function snapshotJdbcUrl(s: PlatformSettings, postgres: PostgresChart): string {
  return `jdbc:postgresql://${postgres.postgres.rwService}:5432/${s.postgres.database}?${DATABASE_TLS_QUERY}`;
}

export interface Platform {
  readonly namespace: NamespaceChart;
  readonly kafka: KafkaChart;
  readonly postgres: PostgresChart;
  readonly redis: RedisChart;
  readonly publicStore: PublicStoreChart | undefined;
  readonly spark: SparkChart;
  readonly operator: OperatorChart;
  readonly pipeline: PipelineChart;
  readonly network: NetworkChart;
  readonly loadTest: LoadTestChart;
  readonly monitoring: MonitoringChart;
}

/**
 * Monitoring for the Prometheus Operator (PodMonitors, the alert rules, the Grafana dashboard):
 * `make deploy` applies it where the Prometheus Operator's CRDs exist (kube-prometheus-stack).
 */
export class MonitoringChart extends Chart {
  constructor(
    scope: Construct,
    id: string,
    s: PlatformSettings,
    { operator, postgres, pipeline }: { operator: OperatorChart; postgres: PostgresChart; pipeline: PipelineChart },
  ) {
    super(scope, id, chartProps(s));
    new PlatformMonitoring(this, 'monitoring', {
      targets: [
        { name: 'intake-consumer', podLabels: { 'app.kubernetes.io/name': 'intake-consumer' }, portName: 'metrics', port: pipeline.pipeline.metricsPort },
        { name: 'ingest-operator', podLabels: selector(operator.operator.name), portName: 'health', port: operator.operator.healthPort },
        { name: 'postgres', podLabels: { 'cnpg.io/cluster': postgres.postgres.name, 'cnpg.io/podRole': 'instance' }, portName: 'metrics', port: 9187 },
      ],
    });
  }
}

/** Chart ids in the order `make deploy` applies them (each is `<id>.k8s.yaml`). */
export const DEPLOY_ORDER = ['namespace', 'network', 'kafka', 'postgres', 'redis', 'public-store', 'spark', 'operator', 'pipeline'] as const;
/** Charts applied on demand, not by `make deploy`. */
export const ON_DEMAND = ['loadtest'] as const;
/** Charts `make deploy` applies when what they need is installed (the Prometheus Operator). */
export const OPTIONAL = ['monitoring'] as const;

/** Every chart of the platform, under `scope` (an App). */
export function buildPlatform(scope: Construct, s: PlatformSettings): Platform {
  const namespace = new NamespaceChart(scope, 'namespace', s);
  const kafka = new KafkaChart(scope, 'kafka', s);
  const postgres = new PostgresChart(scope, 'postgres', s);
  const redis = new RedisChart(scope, 'redis', s);
  const publicStore = s.publicStore.externalEndpoint === undefined ? new PublicStoreChart(scope, 'public-store', s) : undefined;
  const spark = new SparkChart(scope, 'spark', s, postgres);
  const operator = new OperatorChart(scope, 'operator', s, { kafka, postgres, redis, spark });
  const pipeline = new PipelineChart(scope, 'pipeline', s, { kafka, postgres, redis, publicStore });
  const loadTest = new LoadTestChart(scope, 'loadtest', s, { kafka, pipeline, postgres, publicStore });
  const network = new NetworkChart(scope, 'network', s, platformFlows(s, { kafka, postgres, redis, publicStore, operator, pipeline, loadTest }));
  const monitoring = new MonitoringChart(scope, 'monitoring', s, { operator, postgres, pipeline });
  return { namespace, kafka, postgres, redis, publicStore, spark, operator, pipeline, network, loadTest, monitoring };
}
