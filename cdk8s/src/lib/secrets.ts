/**
 * The Secrets the platform needs and nobody else creates: their names and keys here, their values
 * generated at deploy time (`make deploy` runs `node cdk8s/dist/secrets.js`, which creates each one
 * that is missing and never overwrites one that exists). No value is ever synthesized or in git.
 * Secrets that the operators write (Strimzi's KafkaUser and cluster-CA Secrets, CloudNativePG's
 * own) are listed in `OPERATOR_SECRETS` so that tests can check every reference resolves.
 */
import { DATABASE_CA_FILE } from '@clinical-ingest/operator';
import { DATABASE_ROLES, type DatabaseRole } from './postgres.js';

export interface GeneratedSecret {
  readonly name: string;
  readonly type: 'Opaque' | 'kubernetes.io/basic-auth';
  readonly description: string;
  /** Every key the Secret holds, with how its value is made from fresh random tokens. */
  readonly keys: readonly string[];
  readonly generate: (random: () => string) => Record<string, string>;
}

export interface SecretPlanContext {
  readonly namespace: string;
  readonly database: string;
  /** Host of the consumers' PostgreSQL endpoint (the pooler). */
  readonly poolerHost: string;
  /** Host of the primary (read-only users, the validation, exports). */
  readonly primaryHost: string;
  readonly redisHost: string;
  readonly redisPort: number;
}

export const SECRET_NAMES = {
  identity: 'ingest-identity',
  redisUsers: 'redis-users',
  publicStoreKeys: 'public-store-keys',
  roles: {
    app: 'pg-ingest-app',
    reader: 'pg-ingest-reader',
    anonWriter: 'pg-anon-writer',
    history: 'pg-history-reader',
    validation: 'pg-validation-reader',
  } satisfies Record<DatabaseRole, string>,
} as const;

/** The query every database URL carries: TLS with the server's certificate and name verified. */
export const DATABASE_TLS_QUERY = `sslmode=verify-full&sslrootcert=${DATABASE_CA_FILE}`;

/** Keys of the identity Secret and the redis users Secret. */
export const SECRET_KEYS = {
  hmac: 'hmac-secret',
  url: 'url',
  password: 'password',
  redisConsumerUrl: 'consumer-url',
  redisConsumerPassword: 'consumer-password',
  redisProbePassword: 'probe-password',
  /** The in-cluster DynamoDB-API store's access keys: the consumers write, the validation reads. */
  writerKeyId: 'writer-key-id',
  writerSecret: 'writer-secret',
  readerKeyId: 'reader-key-id',
  readerSecret: 'reader-secret',
} as const;

function roleSecret(ctx: SecretPlanContext, role: DatabaseRole, host: string): GeneratedSecret {
  const username = DATABASE_ROLES[role];
  return {
    name: SECRET_NAMES.roles[role],
    type: 'kubernetes.io/basic-auth',
    description: `PostgreSQL login ${username} (CloudNativePG managed role password) and its connection URL`,
    keys: ['username', 'password', 'url'],
    generate: (random) => {
      const password = random();
      // TLS, the server verified: its certificate must chain to CloudNativePG's CA (mounted at
      // DATABASE_CA_FILE in every pod that uses the URL) and name the host.
      const url = `postgres://${username}:${password}@${host}:5432/${ctx.database}?${DATABASE_TLS_QUERY}`;
      return { username, password, url };
    },
  };
}

/** The Secrets `make deploy` creates when missing. */
export function secretPlan(ctx: SecretPlanContext): GeneratedSecret[] {
  return [
    {
      name: SECRET_NAMES.identity,
      type: 'Opaque',
      description: 'IDENTITY_HMAC_SECRET of the consumers and the validation (64 hex characters)',
      keys: [SECRET_KEYS.hmac],
      generate: (random) => ({ [SECRET_KEYS.hmac]: random() }),
    },
    roleSecret(ctx, 'app', ctx.poolerHost),
    roleSecret(ctx, 'reader', ctx.primaryHost),
    roleSecret(ctx, 'anonWriter', ctx.poolerHost),
    roleSecret(ctx, 'history', ctx.primaryHost),
    roleSecret(ctx, 'validation', ctx.primaryHost),
    {
      name: SECRET_NAMES.publicStoreKeys,
      type: 'Opaque',
      description:
        "Access keys of the in-cluster DynamoDB-API store's authorizer (platform/dynalite/authorizer.mjs): the consumers' (writer) and the validation's (reader)",
      keys: [SECRET_KEYS.writerKeyId, SECRET_KEYS.writerSecret, SECRET_KEYS.readerKeyId, SECRET_KEYS.readerSecret],
      generate: (random) => ({
        // Access key ids in AWS's shape (20 upper-case characters), secrets of 64 hex characters.
        [SECRET_KEYS.writerKeyId]: `AKIAW${random().slice(0, 15).toUpperCase()}`,
        [SECRET_KEYS.writerSecret]: random(),
        [SECRET_KEYS.readerKeyId]: `AKIAR${random().slice(0, 15).toUpperCase()}`,
        [SECRET_KEYS.readerSecret]: random(),
      }),
    },
    {
      name: SECRET_NAMES.redisUsers,
      type: 'Opaque',
      description: 'Redis ACL passwords (consumer, probe) and the consumer REDIS_URL',
      keys: [SECRET_KEYS.redisConsumerPassword, SECRET_KEYS.redisProbePassword, SECRET_KEYS.redisConsumerUrl],
      generate: (random) => {
        const consumer = random();
        return {
          [SECRET_KEYS.redisConsumerPassword]: consumer,
          [SECRET_KEYS.redisProbePassword]: random(),
          // rediss: TLS, verified against the Redis serving certificate (REDIS_TLS_CA).
          [SECRET_KEYS.redisConsumerUrl]: `rediss://consumer:${consumer}@${ctx.redisHost}:${ctx.redisPort}`,
        };
      },
    },
  ];
}

/** A self-signed serving certificate `make deploy` makes once (kubernetes.io/tls: tls.crt, tls.key). */
export interface ServingCertificate {
  readonly name: string;
  /** The names the certificate lists (subjectAltName DNS entries). */
  readonly dnsNames: readonly string[];
  readonly keys: readonly string[];
}

/**
 * Objects `make deploy` derives from the cluster rather than from randomness: the serving
 * certificates (self-signed; their clients trust the certificate itself): the operator's, for its
 * Service (the APIService trusts it through its caBundle), and Redis's (the consumers verify it
 * with REDIS_TLS_CA = its tls.crt; `localhost` for the pod's own probe); and a copy of the
 * aggregator's client CA, which lives in kube-system.
 */
export interface DeployTimeObjects {
  readonly tlsSecret: ServingCertificate;
  readonly redisTlsSecret: ServingCertificate;
  readonly clientCaConfigMap: { readonly name: string; readonly keys: readonly string[] };
}

export const redisTlsSecretName = (redisName: string): string => `${redisName}-tls`;

export function deployTimeObjects(operatorName: string, namespace: string, redisName: string): DeployTimeObjects {
  const svc = (name: string) => [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
  return {
    tlsSecret: { name: `${operatorName}-tls`, dnsNames: svc(operatorName), keys: ['tls.crt', 'tls.key'] },
    redisTlsSecret: {
      name: redisTlsSecretName(redisName),
      dnsNames: [redisName, `${redisName}.${namespace}`, ...svc(redisName), 'localhost'],
      keys: ['tls.crt', 'tls.key'],
    },
    clientCaConfigMap: { name: `${operatorName}-client-ca`, keys: ['ca.crt'] },
  };
}

/** Secrets written by the upstream operators, by name, with the keys this app reads. */
export function operatorSecrets(kafkaCluster: string, kafkaUsers: readonly string[]): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  m.set(`${kafkaCluster}-cluster-ca-cert`, ['ca.crt']);
  for (const u of kafkaUsers) m.set(u, ['password', 'sasl.jaas.config']);
  return m;
}
