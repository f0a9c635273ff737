import { hostname } from 'node:os';
import { checkKafkaSecurity, ConfigError, env, kafkaSecurityShape, loadConfig, logShape } from '@clinical-ingest/intake-core';
import { z } from 'zod';

/**
 * The operator's configuration, from the environment, parsed once at start (before any client
 * exists) into a frozen object; every failure names the variable.
 */
export const operatorConfigShape = {
  /** Namespace to watch; empty: every namespace. */
  WATCH_NAMESPACE: z.string().default(''),
  /** Namespace of the leader-election Lease (the operator's own). */
  POD_NAMESPACE: env.string('default'),
  /** This replica's identity in the Lease. */
  POD_NAME: env.string(hostname()),
  LEADER_ELECTION: env.bool(true),
  LEASE_NAME: env.string('ingest-operator-leader'),
  LEASE_DURATION_SECONDS: env.int(15, 2, 300),
  RENEW_DEADLINE_SECONDS: env.int(10, 1, 300),
  RETRY_PERIOD_SECONDS: env.int(2, 1, 60),
  /** Reconcile workers (keys in parallel; one key never runs twice at once). */
  WORKERS: env.int(2, 1, 32),
  /** /metrics, /healthz, /readyz (plain HTTP). */
  HEALTH_HOST: env.string('127.0.0.1'),
  HEALTH_PORT: env.int(8080, 0, 65535),
  /** The external metrics API (HTTPS); served when TLS_CERT_FILE is set. */
  EXTERNAL_METRICS_HOST: env.string('127.0.0.1'),
  EXTERNAL_METRICS_PORT: env.int(6443, 0, 65535),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  /** CA of the aggregator's client certificates (requestheader-client-ca-file). */
  CLIENT_CA_FILE: z.string().min(1).optional(),
  /** Common names the aggregator's client certificate may have (requestheader-allowed-names; empty: any). */
  REQUESTHEADER_ALLOWED_NAMES: env.list('front-proxy-client'),
  /** Authorize each metric read with a SubjectAccessReview (delegated authorization). */
  METRICS_AUTHORIZATION: env.bool(true),
  KAFKA_CLIENT_ID: env.string('ingest-operator'),
  /** TLS and SASL to the brokers (the operator's KafkaUser reads offsets): see intake-core kafka.ts. */
  ...kafkaSecurityShape,
  ...logShape,
  /** Image prefixes an IngestPipeline's consumers may run (comma-separated; empty: any). */
  ALLOWED_IMAGE_PREFIXES: env.list('clinical-ingest/'),
  /** Secrets an IngestPipeline may give its consumers (comma list); empty: any Secret of the namespace. */
  ALLOWED_SECRET_NAMES: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    ),
  /** Snapshots (docs/architecture.md §7): the Snapshot controller and the SparkApplications it creates. */
  SNAPSHOTS: env.bool(true),
  SNAPSHOT_IMAGE: env.string('clinical-ingest/snapshot-export:dev'),
  SNAPSHOT_SPARK_VERSION: env.string('4.0.1'),
  SNAPSHOT_MAIN_FILE: env.string('local:///opt/clinical-ingest/spark/snapshot_export.py'),
  SNAPSHOT_JDBC_JAR: env.string('local:///opt/clinical-ingest/spark/jars/postgresql.jar'),
  /** The master store, for the history_reader role (read history and current state only). */
  SNAPSHOT_JDBC_URL: env.string('jdbc:postgresql://pg-rw:5432/clinical?sslmode=verify-full&sslrootcert=/etc/intake/database-ca/ca.crt'),
  SNAPSHOT_DB_USER: env.string('history_reader'),
  /** Secret (in the Snapshot's namespace) and key of the role's password. */
  SNAPSHOT_DB_SECRET_NAME: env.string('pg-history-reader'),
  SNAPSHOT_DB_SECRET_KEY: env.string('password'),
  /** The database server's CA certificate (a key of a Secret), mounted where the JDBC URL's sslrootcert names it. */
  SNAPSHOT_DB_CA_SECRET_NAME: env.string('pg-ca'),
  SNAPSHOT_DB_CA_SECRET_KEY: env.string('ca.crt'),
  SNAPSHOT_SERVICE_ACCOUNT: env.string('spark-driver'),
  SNAPSHOT_UID: env.int(185, 1, 2 ** 31 - 1),
  SNAPSHOT_EXECUTORS: env.int(2, 1, 64),
  /** Bound on the graceful shutdown. */
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 1_000),
};

export type OperatorConfig = ReturnType<typeof parseOperatorConfig>;

export function parseOperatorConfig(source: Readonly<Record<string, string | undefined>>) {
  const cfg = checkKafkaSecurity(loadConfig(operatorConfigShape, source));
  if (!(cfg.leaseDurationSeconds > cfg.renewDeadlineSeconds && cfg.renewDeadlineSeconds > cfg.retryPeriodSeconds)) {
    throw new ConfigError('invalid configuration: LEASE_DURATION_SECONDS > RENEW_DEADLINE_SECONDS > RETRY_PERIOD_SECONDS must hold');
  }
  if ((cfg.tlsCertFile === undefined) !== (cfg.tlsKeyFile === undefined)) {
    throw new ConfigError('invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE go together');
  }
  if (cfg.clientCaFile !== undefined && cfg.tlsCertFile === undefined) {
    throw new ConfigError('invalid configuration: CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE');
  }
  return cfg;
}

/** The Snapshot controller's export settings, from the parsed configuration. */
export function snapshotExportSettings(cfg: OperatorConfig) {
  return {
    image: cfg.snapshotImage,
    sparkVersion: cfg.snapshotSparkVersion,
    mainApplicationFile: cfg.snapshotMainFile,
    jdbcJar: cfg.snapshotJdbcJar,
    jdbcUrl: cfg.snapshotJdbcUrl,
    dbUser: cfg.snapshotDbUser,
    dbPasswordSecret: { name: cfg.snapshotDbSecretName, key: cfg.snapshotDbSecretKey },
    dbCa: { name: cfg.snapshotDbCaSecretName, key: cfg.snapshotDbCaSecretKey },
    serviceAccount: cfg.snapshotServiceAccount,
    uid: cfg.snapshotUid,
    executors: cfg.snapshotExecutors,
  };
}
