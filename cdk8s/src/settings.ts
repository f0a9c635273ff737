/**
 * The platform's settings, with the documented defaults of a kind development cluster. Topic
 * names, the consumer group, ports and the database name come from the components' own
 * configuration (intake-core's LOCAL_DEFAULTS, the consumer's config shape), never copied.
 * `fromEnvironment` reads the same variables as the local platform (PARTITIONS,
 * TOPIC_RETENTION_MS) so both shapes carry the same topics.
 */
import { LOCAL_DEFAULTS } from '@clinical-ingest/intake-core';
import { consumerConfigShape } from '@clinical-ingest/consumer';
import { projectImage, type ImageOptions } from './images.js';

/** The default of one of the consumer's variables, from its own config shape. */
function consumerDefault<K extends keyof typeof consumerConfigShape>(key: K): string {
  const parsed: unknown = consumerConfigShape[key].parse(undefined);
  return String(parsed);
}

export interface KafkaSettings {
  /** Strimzi `Kafka` name; its bootstrap Service is `<name>-kafka-bootstrap`. @default KafkaCluster's */
  readonly clusterName?: string;
  /** A Kafka version Strimzi supports. @default KafkaCluster's */
  readonly version?: string;
  /** Nodes of the combined controller+broker pool. @default KafkaCluster's (1: kind) */
  readonly replicas?: number;
  /** Persistent volume per node. @default KafkaCluster's */
  readonly storageSize?: string;
  /** Partitions of the intake topic and its DLQ (the local platform's PARTITIONS). @default 6 */
  readonly partitions: number;
  /** retention.ms of both topics (the local platform's TOPIC_RETENTION_MS). @default 3_600_000 (one hour) */
  readonly retentionMs: number;
  /** @default LOCAL_DEFAULTS.INTAKE_TOPIC */
  readonly intakeTopic: string;
  /** @default LOCAL_DEFAULTS.DLQ_TOPIC */
  readonly dlqTopic: string;
  /** @default the consumer's CONSUMER_GROUP default */
  readonly consumerGroup: string;
  /** TLS listener with SCRAM-SHA-512 authentication. @default KafkaCluster's */
  readonly tlsPort?: number;
}

export interface PostgresSettings {
  /** CloudNativePG `Cluster` name; Services `<name>-rw`, `<name>-ro`. @default PostgresCluster's */
  readonly clusterName?: string;
  /** @default PostgresCluster's (1: kind) */
  readonly instances?: number;
  /** @default PostgresCluster's */
  readonly storageSize?: string;
  /** The application database (as in the local DATABASE_URL). @default 'clinical' */
  readonly database: string;
  /** PgBouncer instances in front of the primary, for the consumers. @default PostgresCluster's */
  readonly poolerInstances?: number;
}

export interface RedisSettings {
  /** StatefulSet and Service name. @default RedisCache's */
  readonly name?: string;
  /** @default RedisCache's */
  readonly storageSize?: string;
  /** Redis maxmemory (a cache: allkeys-lru evicts). @default RedisCache's */
  readonly maxMemory?: string;
}

export interface PublicStoreSettings {
  /** StatefulSet and Service name. @default DynamoApiStore's */
  readonly name?: string;
  /** A DynamoDB-API server image listening on `port`. @default the project's dynalite image */
  readonly image: string;
  /** @default DynamoApiStore's */
  readonly port?: number;
  /** @default LOCAL_DEFAULTS.PUBLIC_TABLE */
  readonly table: string;
  /**
   * An existing DynamoDB-API endpoint (AWS DynamoDB, another server): no in-cluster store is
   * deployed and the consumers use this URL. @default undefined (the in-cluster store)
   */
  readonly externalEndpoint?: string | undefined;
  /**
   * A NodePort for the store (kind-config.yaml maps DEV_PUBLIC_STORE_NODEPORT to 127.0.0.1:28000 on
   * the host). Nothing of the platform is exposed outside the cluster unless asked for
   * (K8S_PUBLIC_STORE_NODEPORT); the store's authorizer still asks for a key. @default 0 (none)
   */
  readonly nodePort: number;
}

export interface ConsumerSettings {
  /** @default the project's consumer image */
  readonly image: string;
  /** @default ConsumerPipeline's */
  readonly minReplicas?: number;
  /** @default kafka.partitions (more replicas than partitions would idle) */
  readonly maxReplicas: number;
  /** The consumer's METRICS_PORT. @default the IngestPipeline's (DEFAULTS.metricsPort) */
  readonly metricsPort?: number;
}

export interface LoadTestSettings {
  /** @default the project's loadgen image */
  readonly image: string;
  /** Records the in-cluster validation produces and checks. @default 100_000 */
  readonly count: number;
  /** How long the validation waits for the public store to hold every patient. @default 300 */
  readonly waitSeconds: number;
}

export interface PlatformSettings {
  /** @default 'clinical-ingest' */
  readonly namespace: string;
  /** Namespaces the upstream operators run in (`make kind-up` installs them there). */
  readonly operatorNamespaces: { readonly strimzi: string; readonly cnpg: string; readonly sparkOperator: string };
  readonly kafka: KafkaSettings;
  readonly postgres: PostgresSettings;
  readonly redis: RedisSettings;
  readonly publicStore: PublicStoreSettings;
  readonly consumer: ConsumerSettings;
  readonly operatorImage: string;
  readonly loadTest: LoadTestSettings;
  /**
   * The Kubernetes API server's addresses as pods reach it after DNAT (the endpoints of the
   * `kubernetes` Service): the only egress on 443/6443 the NetworkPolicies allow. `make deploy`
   * discovers them (cdk8s/scripts/api-server-cidrs.sh). @default kind's node network, 172.18.0.0/16
   */
  readonly apiServerCidrs: readonly string[];
}

export type PlatformOverrides = {
  readonly [K in keyof PlatformSettings]?: PlatformSettings[K] extends string
    ? string
    : PlatformSettings[K] extends readonly unknown[]
      ? PlatformSettings[K]
      : Partial<PlatformSettings[K]>;
};

/** The NodePort kind-config.yaml maps to the host's 127.0.0.1:28000 (K8S_PUBLIC_STORE_NODEPORT=30800). */
export const DEV_PUBLIC_STORE_NODEPORT = 30800;

export function defaultSettings(overrides: PlatformOverrides = {}, images: ImageOptions = {}): PlatformSettings {
  const partitions = overrides.kafka?.partitions ?? 6;
  // What a construct defaults is not restated here (lib/*.ts, `@default`): only the platform's choices.
  const kafka: KafkaSettings = {
    partitions,
    retentionMs: 3_600_000,
    intakeTopic: LOCAL_DEFAULTS.INTAKE_TOPIC,
    dlqTopic: LOCAL_DEFAULTS.DLQ_TOPIC,
    consumerGroup: consumerDefault('CONSUMER_GROUP'),
    ...overrides.kafka,
  };
  return {
    namespace: overrides.namespace ?? 'clinical-ingest',
    operatorNamespaces: { strimzi: 'strimzi', cnpg: 'cnpg-system', sparkOperator: 'spark-operator', ...overrides.operatorNamespaces },
    kafka,
    postgres: { database: new URL(LOCAL_DEFAULTS.DATABASE_URL).pathname.slice(1), ...overrides.postgres },
    redis: { ...overrides.redis },
    publicStore: {
      image: projectImage('publicStore', images),
      table: LOCAL_DEFAULTS.PUBLIC_TABLE,
      nodePort: 0,
      ...overrides.publicStore,
    },
    consumer: {
      image: projectImage('consumer', images),
      maxReplicas: kafka.partitions,
      ...overrides.consumer,
    },
    operatorImage: overrides.operatorImage ?? projectImage('operator', images),
    loadTest: { image: projectImage('loadgen', images), count: 100_000, waitSeconds: 300, ...overrides.loadTest },
    apiServerCidrs: overrides.apiServerCidrs ?? ['172.18.0.0/16'],
  };
}

function cidrList(name: string, text: string): string[] {
  const list = text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const c of list) {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(c) && !/^[0-9a-f:]+\/\d{1,3}$/i.test(c)) throw new Error(`${name}: not a CIDR: '${c}'`);
    if (/^0\.0\.0\.0\/0$|^::\/0$/.test(c)) throw new Error(`${name}: ${c} is every address; name the API server's`);
  }
  return list;
}

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${text}'`);
  return n;
}

/**
 * Settings from the environment `make synth` runs in (main.ts passes process.env): PARTITIONS and
 * TOPIC_RETENTION_MS (as for the local platform), IMAGE_REGISTRY and IMAGE_TAG, K8S_NAMESPACE, LOADTEST_COUNT, PUBLIC_STORE_IMAGE, K8S_DYNAMODB_ENDPOINT (an external
 * DynamoDB-API endpoint instead of the in-cluster store), K8S_PUBLIC_STORE_NODEPORT (a NodePort for
 * the in-cluster store, for development: DEV_PUBLIC_STORE_NODEPORT is what kind-config.yaml maps).
 */
export function settingsFromEnvironment(env: Readonly<Record<string, string | undefined>>): PlatformSettings {
  const partitions = positiveInt('PARTITIONS', env['PARTITIONS']);
  const retentionMs = positiveInt('TOPIC_RETENTION_MS', env['TOPIC_RETENTION_MS']);
  const count = positiveInt('LOADTEST_COUNT', env['LOADTEST_COUNT']);
  const namespace = env['K8S_NAMESPACE'];
  return defaultSettings(
    {
      ...(namespace !== undefined && namespace !== '' ? { namespace } : {}),
      kafka: { ...(partitions !== undefined ? { partitions } : {}), ...(retentionMs !== undefined ? { retentionMs } : {}) },
      publicStore: {
        ...(env['PUBLIC_STORE_IMAGE'] ? { image: env['PUBLIC_STORE_IMAGE'] } : {}),
        ...(env['K8S_DYNAMODB_ENDPOINT'] ? { externalEndpoint: env['K8S_DYNAMODB_ENDPOINT'] } : {}),
        ...(env['K8S_PUBLIC_STORE_NODEPORT'] ? { nodePort: positiveInt('K8S_PUBLIC_STORE_NODEPORT', env['K8S_PUBLIC_STORE_NODEPORT'])! } : {}),
      },
      loadTest: count !== undefined ? { count } : {},
      ...(env['K8S_API_SERVER_CIDRS'] ? { apiServerCidrs: cidrList('K8S_API_SERVER_CIDRS', env['K8S_API_SERVER_CIDRS']) } : {}),
    },
    { registry: env['IMAGE_REGISTRY'] || undefined, tag: env['IMAGE_TAG'] || undefined },
  );
}
