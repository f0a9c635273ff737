import type { V1Container, V1Deployment, V1EnvVar, V1ResourceRequirements, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { DEFAULTS } from '../api/defaults.js';
import { DATABASE_CA_DIR, type IngestPipeline, type ResourceRequirements, type SecretKeyRef } from '../api/types.js';
import { BuildError, type BuildOptions, consumerName, objectLabels, ownerReferences, requireNamespace, selectorLabels } from './common.js';

export interface DeploymentOptions extends BuildOptions {
  /**
   * `spec.replicas`. Left out by default: the HPA owns the count, and a server-side apply that
   * names the field would take it back on every reconcile (a new Deployment starts at 1).
   */
  readonly replicas?: number;
  /** Hash of the consumer's ConfigMap; a change rolls the pods. */
  readonly configHash?: string;
}

/** Seconds the kubelet waits after SIGTERM beyond the consumer's own shutdown bound. */
export const GRACE_MARGIN_SECONDS = 10;

const MOUNT_TMP = '/tmp';

/** The restricted Pod Security Standard, on every container. */
export function restrictedContainerSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function secretEnv(name: string, ref: SecretKeyRef): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** Variables the operator owns; extra `env` entries may not redefine them. */
export const RESERVED_ENV = [
  'KAFKA_BROKERS',
  'INTAKE_TOPIC',
  'CONSUMER_GROUP',
  'DLQ_TOPIC',
  'KAFKA_CLIENT_ID',
  'METRICS_HOST',
  'METRICS_PORT',
  'SHUTDOWN_TIMEOUT_MS',
  'IDENTITY_HMAC_SECRET',
  'DATABASE_URL',
  'PUBLIC_DATABASE_URL',
  'REDIS_URL',
  'REDIS_TLS_CA',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'KAFKA_SSL',
  'KAFKA_SSL_CA',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
] as const;

/** TLS and SASL to the brokers, as the consumer's config reads them (intake-core kafka.ts). */
function kafkaSecurityEnv(pipeline: IngestPipeline): V1EnvVar[] {
  const { kafka, consumer } = pipeline.spec;
  const env: V1EnvVar[] = [];
  if (kafka.tls === true || consumer.secrets.kafkaCa !== undefined) env.push({ name: 'KAFKA_SSL', value: 'true' });
  if (consumer.secrets.kafkaCa !== undefined) env.push(secretEnv('KAFKA_SSL_CA', consumer.secrets.kafkaCa));
  if (kafka.sasl !== undefined) {
    if (consumer.secrets.kafkaPassword === undefined) throw new BuildError('spec.kafka.sasl needs spec.consumer.secrets.kafkaPassword');
    env.push({ name: 'KAFKA_SASL_MECHANISM', value: kafka.sasl.mechanism }, { name: 'KAFKA_SASL_USERNAME', value: kafka.sasl.username });
    env.push(secretEnv('KAFKA_SASL_PASSWORD', consumer.secrets.kafkaPassword));
  }
  return env;
}

function consumerEnv(pipeline: IngestPipeline): V1EnvVar[] {
  const { kafka, consumer } = pipeline.spec;
  const port = consumer.metricsPort ?? DEFAULTS.metricsPort;
  const shutdown = consumer.shutdownTimeoutSeconds ?? DEFAULTS.shutdownTimeoutSeconds;
  const env: V1EnvVar[] = [
    { name: 'KAFKA_BROKERS', value: kafka.bootstrapServers },
    { name: 'INTAKE_TOPIC', value: kafka.topic },
    { name: 'CONSUMER_GROUP', value: kafka.consumerGroup },
    ...(kafka.dlqTopic === undefined ? [] : [{ name: 'DLQ_TOPIC', value: kafka.dlqTopic }]),
    // One client id per pod: broker-side quotas and logs name the replica.
    { name: 'KAFKA_CLIENT_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'METRICS_HOST', value: '0.0.0.0' },
    { name: 'METRICS_PORT', value: String(port) },
    { name: 'SHUTDOWN_TIMEOUT_MS', value: String(shutdown * 1000) },
    secretEnv('IDENTITY_HMAC_SECRET', consumer.secrets.identityHmacSecret),
    secretEnv('DATABASE_URL', consumer.secrets.databaseUrl),
    ...(consumer.secrets.publicDatabaseUrl === undefined ? [] : [secretEnv('PUBLIC_DATABASE_URL', consumer.secrets.publicDatabaseUrl)]),
    ...(consumer.secrets.redisUrl === undefined ? [] : [secretEnv('REDIS_URL', consumer.secrets.redisUrl)]),
    ...(consumer.secrets.redisCa === undefined ? [] : [secretEnv('REDIS_TLS_CA', consumer.secrets.redisCa)]),
    ...(consumer.secrets.awsAccessKeyId === undefined ? [] : [secretEnv('AWS_ACCESS_KEY_ID', consumer.secrets.awsAccessKeyId)]),
    ...(consumer.secrets.awsSecretAccessKey === undefined ? [] : [secretEnv('AWS_SECRET_ACCESS_KEY', consumer.secrets.awsSecretAccessKey)]),
    ...kafkaSecurityEnv(pipeline),
  ];
  for (const e of consumer.env ?? []) {
    if ((RESERVED_ENV as readonly string[]).includes(e.name)) {
      throw new BuildError(`spec.consumer.env may not set ${e.name}: the operator sets it from the spec`);
    }
    env.push({ name: e.name, value: e.value });
  }
  return env;
}

/** Container resources with every quantity as a string (the CRD also takes a number: `cpu: 2`). */
function resourceQuantities(r: ResourceRequirements): V1ResourceRequirements {
  const strings = (m: Readonly<Record<string, string | number>> | undefined) =>
    m === undefined ? undefined : Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
  const requests = strings(r.requests);
  const limits = strings(r.limits);
  return { ...(requests === undefined ? {} : { requests }), ...(limits === undefined ? {} : { limits }) };
}

/** The database CA as a file (only its one key of the Secret), where the URLs' sslrootcert names it. */
function databaseCaVolume(pipeline: IngestPipeline): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const ref = pipeline.spec.consumer.secrets.databaseCa;
  if (ref === undefined) return { volumes: [], mounts: [] };
  return {
    volumes: [{ name: 'database-ca', secret: { secretName: ref.name, items: [{ key: ref.key, path: 'ca.crt' }], defaultMode: 0o444 } }],
    mounts: [{ name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true }],
  };
}

/**
 * The consumer Deployment of a pipeline: restricted pods (non-root, read-only root file system
 * with an emptyDir on /tmp, no privilege escalation, no capabilities, RuntimeDefault seccomp, no
 * service-account token), probes on /healthz and /readyz, the spec's resources, a grace period
 * longer than the consumer's shutdown bound, the environment from the spec, the ConfigMap and
 * the Secrets. A pure function: same pipeline, same object.
 */
export function buildConsumerDeployment(pipeline: IngestPipeline, opts: DeploymentOptions = {}): V1Deployment {
  const namespace = requireNamespace(pipeline);
  const { consumer } = pipeline.spec;
  const labels = objectLabels(pipeline, opts);
  const port = consumer.metricsPort ?? DEFAULTS.metricsPort;
  const shutdown = consumer.shutdownTimeoutSeconds ?? DEFAULTS.shutdownTimeoutSeconds;
  const owners = ownerReferences(pipeline, opts);
  const databaseCa = databaseCaVolume(pipeline);

  const container: V1Container = {
    name: 'consumer',
    image: consumer.image,
    imagePullPolicy: consumer.imagePullPolicy ?? DEFAULTS.imagePullPolicy,
    ...(consumer.configMapName === undefined ? {} : { envFrom: [{ configMapRef: { name: consumer.configMapName } }] }),
    env: consumerEnv(pipeline),
    ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
    resources: resourceQuantities(consumer.resources ?? DEFAULTS.resources),
    startupProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [{ name: 'tmp', mountPath: MOUNT_TMP }, ...databaseCa.mounts],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: consumerName(pipeline),
      namespace,
      labels,
      ...(owners === undefined ? {} : { ownerReferences: owners }),
    },
    spec: {
      ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
      selector: { matchLabels: selectorLabels(pipeline) },
      // One extra consumer during a rollout, never one fewer: capacity holds while pods roll.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      revisionHistoryLimit: 5,
      template: {
        metadata: {
          labels,
          ...(opts.configHash === undefined ? {} : { annotations: { 'ingest.clinical.dev/config-hash': opts.configHash } }),
        },
        spec: {
          serviceAccountName: consumer.serviceAccountName ?? DEFAULTS.serviceAccountName,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: shutdown + GRACE_MARGIN_SECONDS,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          ...(consumer.imagePullSecrets === undefined ? {} : { imagePullSecrets: consumer.imagePullSecrets.map((name) => ({ name })) }),
          ...(consumer.nodeSelector === undefined ? {} : { nodeSelector: { ...consumer.nodeSelector } }),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selectorLabels(pipeline) },
            },
          ],
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, ...databaseCa.volumes],
        },
      },
    },
  };
}
