/**
 * PostgreSQL through CloudNativePG 1.30: a `Cluster` bootstrapped by initdb that then runs the
 * project's own schema migrations (db/migrations/*.sql, read at synth time into a ConfigMap and
 * referenced by `postInitApplicationSQLRefs`), the login roles of the migrations managed with
 * passwords from generated Secrets, and a PgBouncer `Pooler` for the consumers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Cluster, Pooler } from '../imports/cnpg.js';
import { restrictedContainer, restrictedPod, type ResourceRequirements } from './security.js';

/** The image's postgres user (CloudNativePG's default postgresUID/postgresGID). */
const POSTGRES_UID = 26;

/** The migration files, in the order the local platform applies them (lexical). */
export function migrationFiles(dir: string): { readonly name: string; readonly sql: string }[] {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  if (names.length === 0) throw new Error(`no *.sql migrations in ${dir}`);
  return names.map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * The login roles the migrations create (db/migrations/001_roles.sql). The cluster manages their
 * passwords (`managed.roles`); the migrations own their rights. None has DDL rights.
 */
export const DATABASE_ROLES = {
  /** The consumer: appends history, maintains current state. */
  app: 'ingest_app',
  /** Analysts: history, current state, rejects without raw values; no identities. */
  reader: 'ingest_reader',
  /** The seed's validation (load-test Job): identity keys and IDs, colors, the public store. */
  validation: 'validation_reader',
  /** The public-store adapter on PostgreSQL: the anon schema only. */
  anonWriter: 'anon_writer',
  /** The snapshot export: history and current state, nothing else (db/migrations/009_snapshots.sql). */
  history: 'history_reader',
} as const;

export type DatabaseRole = keyof typeof DATABASE_ROLES;

/** The names a client may reach a Service by, as a server certificate must list them. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export interface PostgresClusterProps {
  /** @default 'pg' */
  readonly name?: string;
  /** @default 1 */
  readonly instances?: number;
  /** @default '10Gi' */
  readonly storageSize?: string;
  readonly database: string;
  /** The namespace (the server certificate names the pooler's Service in it). */
  readonly namespace: string;
  /** PostgreSQL 18 image. */
  readonly imageName: string;
  /** db/migrations. */
  readonly migrationsDir: string;
  /** Secret (kubernetes.io/basic-auth) holding each login role's password. */
  readonly roleSecrets: Readonly<Record<DatabaseRole, string>>;
  /** @default 1 */
  readonly poolerInstances?: number;
  /** @default requests 500m / 1Gi, limit 1Gi */
  readonly resources?: ResourceRequirements;
}

export class PostgresCluster extends Construct {
  readonly name: string;
  /** Service of the primary (read-write). */
  readonly rwService: string;
  /** Service of the PgBouncer pooler in front of the primary. */
  readonly poolerService: string;
  readonly migrationsConfigMap: string;
  /**
   * CloudNativePG's server CA: `ca.crt` verifies the server certificate of the primary and of the
   * pooler (the pooler presents the cluster's server certificate, which names it: see
   * `serverAltDNSNames`). The Secret also holds the CA's key: mount only `ca.crt`.
   */
  readonly caSecret: { readonly name: string; readonly key: string };

  constructor(scope: Construct, id: string, props: PostgresClusterProps) {
    super(scope, id);
    this.name = props.name ?? 'pg';
    this.rwService = `${this.name}-rw`;
    this.poolerService = `${this.name}-pooler-rw`;
    this.migrationsConfigMap = `${this.name}-migrations`;
    this.caSecret = { name: `${this.name}-ca`, key: 'ca.crt' };
    const migrations = migrationFiles(props.migrationsDir);

    new k8s.KubeConfigMap(this, 'migrations', {
      metadata: {
        name: this.migrationsConfigMap,
        annotations: { 'clinical.dev/source': 'db/migrations (read at synth time; do not edit here)' },
      },
      data: Object.fromEntries(migrations.map((m) => [m.name, m.sql])),
    });

    new Cluster(this, 'cluster', {
      metadata: { name: this.name },
      spec: {
        description: 'Master store: intake log, system-versioned patient state, identity',
        instances: props.instances ?? 1,
        imageName: props.imageName,
        enableSuperuserAccess: false,
        postgresql: {
          parameters: {
            // The migrations require it: a version's system time is its transaction's commit time.
            track_commit_timestamp: 'on',
            default_toast_compression: 'lz4',
          },
        },
        bootstrap: {
          initdb: {
            database: props.database,
            owner: `${props.database}_owner`,
            dataChecksums: true,
            encoding: 'UTF8',
            postInitApplicationSQLRefs: { configMapRefs: migrations.map((m) => ({ name: this.migrationsConfigMap, key: m.name })) },
          },
        },
        managed: {
          roles: (Object.keys(DATABASE_ROLES) as DatabaseRole[]).map((r) => ({
            name: DATABASE_ROLES[r],
            ensure: 'present' as const,
            login: true,
            superuser: false,
            createdb: false,
            createrole: false,
            replication: false,
            bypassrls: false,
            inherit: true,
            passwordSecret: { name: props.roleSecrets[r] },
          })),
        },
        // The pooler serves TLS with the cluster's server certificate: it must name the pooler's
        // Service too, or no client could verify it (sslmode=verify-full). CloudNativePG adds
        // the -rw, -r and -ro names itself.
        certificates: { serverAltDNSNames: serviceDnsNames(this.poolerService, props.namespace) },
        storage: { size: props.storageSize ?? '10Gi' },
        resources: props.resources ?? { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } },
        podSecurityContext: restrictedPod(POSTGRES_UID, { fsGroup: true }),
        securityContext: restrictedContainer(),
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });

    new Pooler(this, 'pooler', {
      metadata: { name: this.poolerService },
      spec: {
        cluster: { name: this.name },
        instances: props.poolerInstances ?? 1,
        type: 'rw',
        // The consumer runs one transaction per batch and no session state: transaction pooling.
        pgbouncer: { poolMode: 'transaction', parameters: { max_client_conn: '1000', default_pool_size: '20' } },
        template: {
          spec: {
            securityContext: restrictedPod(null),
            containers: [{ name: 'pgbouncer', securityContext: restrictedContainer() }],
          },
        },
      },
    });
  }
}
