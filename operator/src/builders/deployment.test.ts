import { describe, expect, it } from 'vitest';
import { samplePipeline } from '../testing/fixtures.js';
import { DATABASE_CA_DIR, DATABASE_CA_FILE } from '../api/types.js';
import { BuildError } from './common.js';
import { buildConsumerDeployment, GRACE_MARGIN_SECONDS } from './deployment.js';

const base = samplePipeline();
const dep = buildConsumerDeployment(base);
const pod = dep.spec!.template.spec!;
const container = pod.containers[0]!;
const envOf = (d = dep) => Object.fromEntries(d.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('buildConsumerDeployment', () => {
  it('is named after the pipeline, in its namespace, owned by it', () => {
    expect(dep.metadata).toMatchObject({ name: 'intake-consumer', namespace: 'ingest' });
    expect(dep.metadata!.ownerReferences).toEqual([
      {
        apiVersion: 'ingest.clinical.dev/v1alpha1',
        kind: 'IngestPipeline',
        name: 'intake',
        uid: base.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('selects its pods by pipeline labels the template carries', () => {
    const sel = dep.spec!.selector.matchLabels!;
    expect(sel['ingest.clinical.dev/pipeline']).toBe('intake');
    expect(dep.spec!.template.metadata!.labels).toMatchObject(sel);
  });

  it('leaves replicas to the HPA unless asked', () => {
    expect(dep.spec!.replicas).toBeUndefined();
    expect(buildConsumerDeployment(base, { replicas: 0 }).spec!.replicas).toBe(0);
  });

  it.each([
    ['runAsNonRoot', true],
    ['readOnlyRootFilesystem', true],
    ['allowPrivilegeEscalation', false],
  ] as const)('every container: %s = %s', (field, value) => {
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) expect(c.securityContext![field]).toBe(value);
  });

  it('drops every capability, RuntimeDefault seccomp, no token', () => {
    expect(container.securityContext!.capabilities).toEqual({ drop: ['ALL'] });
    expect(container.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('gives the read-only root a writable /tmp', () => {
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes!.find((v) => v.name === 'tmp')!.emptyDir).toBeDefined();
  });

  it('probes /healthz and /readyz on the metrics port', () => {
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.startupProbe!.httpGet!.path).toBe('/healthz');
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
  });

  it.each([
    [undefined, 25],
    [40, 40],
    [1, 1],
  ])('shutdown bound %s s: grace period is longer and SHUTDOWN_TIMEOUT_MS matches', (shutdown, expected) => {
    const p = samplePipeline({ consumer: { ...base.spec.consumer, ...(shutdown === undefined ? {} : { shutdownTimeoutSeconds: shutdown }) } });
    const d = buildConsumerDeployment(p);
    expect(d.spec!.template.spec!.terminationGracePeriodSeconds).toBe(expected + GRACE_MARGIN_SECONDS);
    expect(d.spec!.template.spec!.terminationGracePeriodSeconds!).toBeGreaterThan(expected);
    expect(envOf(d)['SHUTDOWN_TIMEOUT_MS']).toBe(String(expected * 1000));
  });

  it.each([
    ['default resources', undefined, { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '512Mi' } }],
    [
      'resources from the spec',
      { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } },
      { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } },
    ],
  ])('%s', (_l, resources, expected) => {
    const p = samplePipeline({ consumer: { ...base.spec.consumer, ...(resources === undefined ? {} : { resources }) } });
    expect(buildConsumerDeployment(p).spec!.template.spec!.containers[0]!.resources).toEqual(expected);
  });

  it('sets the consumer environment from the spec, the ConfigMap and the Secrets', () => {
    const env = envOf();
    expect(env).toMatchObject({
      KAFKA_BROKERS: 'kafka-bootstrap:9092',
      INTAKE_TOPIC: 'intake.records.v1',
      CONSUMER_GROUP: 'intake-consumer',
      METRICS_HOST: '0.0.0.0',
      METRICS_PORT: '9464',
      IDENTITY_HMAC_SECRET: { secretKeyRef: { name: 'identity-hmac', key: 'secret' } },
      DATABASE_URL: { secretKeyRef: { name: 'pg-app', key: 'uri' } },
      KAFKA_CLIENT_ID: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    expect(env['PUBLIC_DATABASE_URL']).toBeUndefined();
    expect(env['DLQ_TOPIC']).toBeUndefined();
    expect(container.envFrom).toEqual([{ configMapRef: { name: 'intake-consumer-config' } }]);
  });

  it('optional secrets, DLQ topic and extra variables', () => {
    const p = samplePipeline({
      kafka: { ...base.spec.kafka, dlqTopic: 'dlq' },
      consumer: {
        ...base.spec.consumer,
        configMapName: undefined,
        env: [{ name: 'PARTITION_CONCURRENCY', value: '4' }],
        secrets: { ...base.spec.consumer.secrets, publicDatabaseUrl: { name: 'pg-anon', key: 'uri' } },
      },
    });
    const d = buildConsumerDeployment(p);
    const env = envOf(d);
    expect(env['DLQ_TOPIC']).toBe('dlq');
    expect(env['PARTITION_CONCURRENCY']).toBe('4');
    expect(env['PUBLIC_DATABASE_URL']).toEqual({ secretKeyRef: { name: 'pg-anon', key: 'uri' } });
    expect(d.spec!.template.spec!.containers[0]!.envFrom).toBeUndefined();
  });

  it.each(['DATABASE_URL', 'IDENTITY_HMAC_SECRET', 'INTAKE_TOPIC'])('refuses an extra variable that redefines %s', (name) => {
    const p = samplePipeline({ consumer: { ...base.spec.consumer, env: [{ name, value: 'x' }] } });
    expect(() => buildConsumerDeployment(p)).toThrow(BuildError);
  });

  it('no owner without a uid, unless asked', () => {
    const p = samplePipeline({}, { uid: undefined });
    expect(() => buildConsumerDeployment(p)).toThrow(/uid/);
    expect(buildConsumerDeployment(p, { withoutOwner: true }).metadata!.ownerReferences).toBeUndefined();
  });

  it('is pure: same input, same output, input untouched', () => {
    const p = samplePipeline();
    const frozen = JSON.stringify(p);
    expect(buildConsumerDeployment(p)).toEqual(buildConsumerDeployment(p));
    expect(JSON.stringify(p)).toBe(frozen);
  });

  it('a config hash rolls the pods', () => {
    expect(buildConsumerDeployment(base, { configHash: 'abc' }).spec!.template.metadata!.annotations).toEqual({ 'ingest.clinical.dev/config-hash': 'abc' });
  });
});

describe('buildConsumerDeployment: Kafka TLS/SASL and Redis credentials', () => {
  const secure = samplePipeline();
  const spec = {
    ...secure.spec,
    kafka: { ...secure.spec.kafka, sasl: { mechanism: 'scram-sha-512' as const, username: 'consumer' } },
    consumer: {
      ...secure.spec.consumer,
      secrets: {
        ...secure.spec.consumer.secrets,
        redisUrl: { name: 'redis-users', key: 'consumer-url' },
        kafkaPassword: { name: 'consumer', key: 'password' },
        kafkaCa: { name: 'intake-cluster-ca-cert', key: 'ca.crt' },
        redisCa: { name: 'redis-tls', key: 'tls.crt' },
        databaseCa: { name: 'pg-ca', key: 'ca.crt' },
      },
    },
  };

  it('sets the variables the consumer config reads, secrets by reference', () => {
    const env = envOf(buildConsumerDeployment({ ...secure, spec }));
    expect(env).toMatchObject({
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'consumer',
      KAFKA_SASL_PASSWORD: { secretKeyRef: { name: 'consumer', key: 'password' } },
      KAFKA_SSL_CA: { secretKeyRef: { name: 'intake-cluster-ca-cert', key: 'ca.crt' } },
      REDIS_URL: { secretKeyRef: { name: 'redis-users', key: 'consumer-url' } },
      REDIS_TLS_CA: { secretKeyRef: { name: 'redis-tls', key: 'tls.crt' } },
    });
  });

  it("mounts the database CA (its one key) where the URLs' sslrootcert names it", () => {
    const pod = buildConsumerDeployment({ ...secure, spec }).spec!.template.spec!;
    expect(pod.volumes).toContainEqual({
      name: 'database-ca',
      secret: { secretName: 'pg-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true });
    expect(DATABASE_CA_FILE).toBe(`${DATABASE_CA_DIR}/ca.crt`);
    expect(buildConsumerDeployment(secure).spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['tmp']);
  });

  it('plaintext Kafka sets none of them', () => {
    expect(Object.keys(envOf()).filter((k) => k.startsWith('KAFKA_S'))).toEqual([]);
  });

  it('SASL without a password Secret is refused', () => {
    const { kafkaPassword: _k, ...rest } = spec.consumer.secrets;
    expect(() => buildConsumerDeployment({ ...secure, spec: { ...spec, consumer: { ...spec.consumer, secrets: rest } } })).toThrow(BuildError);
  });

  it('an extra env entry may not override them', () => {
    expect(() =>
      buildConsumerDeployment({ ...secure, spec: { ...spec, consumer: { ...spec.consumer, env: [{ name: 'KAFKA_SASL_PASSWORD', value: 'x' }] } } }),
    ).toThrow(/may not set KAFKA_SASL_PASSWORD/);
  });
});
