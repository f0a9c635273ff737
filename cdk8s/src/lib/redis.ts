/**
 * Redis, the identity cache (keys are HMACs, values patient IDs: no plaintext PHI): a StatefulSet
 * with a persistent volume, append-only file on; ACL users per service, the default user off.
 * The passwords come from a Secret generated at deploy time; an init container renders the ACL
 * file from them into a memory-backed volume, so no password is in any manifest. TLS only (no
 * plaintext port): the serving certificate is a Secret made at deploy time; clients verify it.
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels, selector } from './labels.js';
import { redisTlsSecretName } from './secrets.js';
import { quantities, restrictedPodSpec, secretEnv, singleReplicaStatefulSet } from './workload.js';

/** The identity cache's key prefix (consumer/src/adapters/redis-identity-cache.ts). */
export const IDENTITY_KEY_PATTERN = 'idk:*';

/** uid of the official redis (alpine) image's `redis` user. */
const REDIS_UID = 999;

export interface RedisCacheProps {
  /** @default 'redis' */
  readonly name?: string;
  readonly image: string;
  /** Secret with `consumer-password` and `probe-password`. */
  readonly passwordSecret: string;
  /** @default '1Gi' */
  readonly storageSize?: string;
  /** @default '256mb' */
  readonly maxMemory?: string;
  /** @default 6379 */
  readonly port?: number;
  /** kubernetes.io/tls Secret (tls.crt, tls.key) with a certificate for the Service's names and localhost. @default `<name>-tls` */
  readonly tlsSecret?: string;
}

const TLS_DIR = '/etc/redis-tls';

export class RedisCache extends Construct {
  readonly name: string;
  readonly port: number;
  readonly podLabels: Record<string, string>;
  /** The serving certificate's Secret (made at deploy time); clients verify against its tls.crt. */
  readonly tlsSecret: string;

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    this.name = props.name ?? 'redis';
    this.port = props.port ?? 6379;
    this.podLabels = selector(this.name);
    this.tlsSecret = props.tlsSecret ?? redisTlsSecretName(this.name);
    const labels = appLabels(this.name, 'identity-cache');

    const conf = [
      // TLS only: the plaintext port is off. The certificate is self-signed (its own CA).
      'port 0',
      `tls-port ${this.port}`,
      `tls-cert-file ${TLS_DIR}/tls.crt`,
      `tls-key-file ${TLS_DIR}/tls.key`,
      `tls-ca-cert-file ${TLS_DIR}/tls.crt`,
      // Clients authenticate with ACL passwords, not certificates.
      'tls-auth-clients no',
      'bind 0.0.0.0',
      'protected-mode yes',
      'dir /data',
      // Persistence: the cache survives restarts (a flush changes no patient ID, but costs misses).
      'appendonly yes',
      'appendfsync everysec',
      `maxmemory ${props.maxMemory ?? '256mb'}`,
      'maxmemory-policy allkeys-lru',
      'aclfile /run/redis/users.acl',
      '',
    ].join('\n');
    // One user per service: the consumer reads and writes identity keys only; the probe may PING.
    const acl = [
      'user default off',
      `user consumer on >@CONSUMER_PASSWORD@ resetkeys ~${IDENTITY_KEY_PATTERN} resetchannels -@all +@connection -@dangerous +info +mget +mset +get +set`,
      'user probe on >@PROBE_PASSWORD@ resetkeys resetchannels -@all +ping +auth +hello',
      '',
    ].join('\n');

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: `${this.name}-config`, labels },
      data: { 'redis.conf': conf, 'users.acl.template': acl },
    });

    new k8s.KubeService(this, 'service', {
      metadata: { name: this.name, labels },
      spec: { selector: this.podLabels, ports: [{ name: 'redis', port: this.port, targetPort: k8s.IntOrString.fromString('redis') }] },
    });

    const render = [
      'set -eu',
      'umask 077',
      'case "$CONSUMER_PASSWORD$PROBE_PASSWORD" in *[!A-Za-z0-9]*|"") echo "redis passwords must be non-empty and alphanumeric" >&2; exit 1;; esac',
      'sed -e "s/@CONSUMER_PASSWORD@/$CONSUMER_PASSWORD/" -e "s/@PROBE_PASSWORD@/$PROBE_PASSWORD/" /etc/redis/users.acl.template > /run/redis/users.acl',
    ].join('\n');

    singleReplicaStatefulSet(this, 'statefulset', {
      name: this.name,
      labels,
      podLabels: this.podLabels,
      storageSize: props.storageSize ?? '1Gi',
      podSpec: restrictedPodSpec({
        serviceAccountName: this.name,
        uid: REDIS_UID,
        fsGroup: true,
        initContainers: [
          {
            name: 'render-acl',
            image: props.image,
            command: ['sh', '-c', render],
            env: [
              secretEnv('CONSUMER_PASSWORD', props.passwordSecret, 'consumer-password'),
              secretEnv('PROBE_PASSWORD', props.passwordSecret, 'probe-password'),
            ],
            volumeMounts: [
              { name: 'config', mountPath: '/etc/redis', readOnly: true },
              { name: 'acl', mountPath: '/run/redis' },
            ],
            resources: quantities({ requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } }),
          },
        ],
        containers: [
          {
            name: 'redis',
            image: props.image,
            command: ['redis-server', '/etc/redis/redis.conf'],
            ports: [{ name: 'redis', containerPort: this.port }],
            env: [secretEnv('PROBE_PASSWORD', props.passwordSecret, 'probe-password')],
            readinessProbe: {
              exec: {
                command: [
                  'sh',
                  '-c',
                  `redis-cli --tls --cacert ${TLS_DIR}/tls.crt -h localhost -p ${this.port} --user probe --pass "$PROBE_PASSWORD" --no-auth-warning ping | grep -q PONG`,
                ],
              },
              periodSeconds: 5,
              timeoutSeconds: 2,
            },
            livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('redis') }, periodSeconds: 10, failureThreshold: 3 },
            resources: quantities({ requests: { cpu: '100m', memory: '320Mi' }, limits: { memory: '384Mi' } }),
            volumeMounts: [
              { name: 'config', mountPath: '/etc/redis', readOnly: true },
              { name: 'acl', mountPath: '/run/redis', readOnly: true },
              { name: 'tls', mountPath: TLS_DIR, readOnly: true },
              { name: 'data', mountPath: '/data' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: `${this.name}-config` } },
          { name: 'acl', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
          { name: 'tls', secret: { secretName: this.tlsSecret, defaultMode: 0o440 } },
        ],
      }),
    });

    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.name, labels }, automountServiceAccountToken: false });
  }
}
