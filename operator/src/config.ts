import { hostname } from 'node:os';
import { ConfigError, env, kafkaSecurityShape, loadConfig } from '@clinical-ingest/intake-core';
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
  KAFKA_CLIENT_ID: env.string('ingest-operator'),
  /** TLS and SASL to the brokers (the operator's KafkaUser reads offsets): see intake-core kafka.ts. */
  ...kafkaSecurityShape,
  /** Bound on the graceful shutdown. */
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 1_000),
};

export type OperatorConfig = ReturnType<typeof parseOperatorConfig>;

export function parseOperatorConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env) {
  const cfg = loadConfig(operatorConfigShape, source);
  if (!(cfg.LEASE_DURATION_SECONDS > cfg.RENEW_DEADLINE_SECONDS && cfg.RENEW_DEADLINE_SECONDS > cfg.RETRY_PERIOD_SECONDS)) {
    throw new ConfigError('invalid configuration: LEASE_DURATION_SECONDS > RENEW_DEADLINE_SECONDS > RETRY_PERIOD_SECONDS must hold');
  }
  if ((cfg.TLS_CERT_FILE === undefined) !== (cfg.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE go together');
  }
  if (cfg.CLIENT_CA_FILE !== undefined && cfg.TLS_CERT_FILE === undefined) {
    throw new ConfigError('invalid configuration: CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE');
  }
  return cfg;
}
