import { Kafka, logLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { env, loadConfig, type OptionsOf } from './config.js';
import { ConfigError } from './errors.js';
import { registerCompressionCodecs } from './kafka-codecs.js';
import type { Logger } from './logger.js';

/**
 * One way to build a Kafka client for every component: brokers, TLS and SASL from the environment,
 * and kafkajs's own log lines routed through the redacting logger.
 *
 * Locally the broker is PLAINTEXT on 127.0.0.1. On Kubernetes (Strimzi) the listener is TLS with
 * SCRAM-SHA-512: KAFKA_SASL_MECHANISM=scram-sha-512, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (from
 * the KafkaUser's Secret) and KAFKA_SSL_CA (the cluster CA certificate, PEM).
 */
export const kafkaSecurityShape = {
  KAFKA_SASL_MECHANISM: env.enum(['none', 'scram-sha-512', 'scram-sha-256', 'plain'], 'none'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** TLS to the brokers (implied by KAFKA_SSL_CA). */
  KAFKA_SSL: env.bool(false),
  /** PEM certificate(s) of the CA that signed the brokers' certificates. */
  KAFKA_SSL_CA: z.string().min(1).optional(),
};

export type KafkaSecurityConfig = OptionsOf<typeof kafkaSecurityShape>;

export function parseKafkaSecurity(source: Readonly<Record<string, string | undefined>>): KafkaSecurityConfig {
  return checkKafkaSecurity(loadConfig(kafkaSecurityShape, source));
}

/**
 * The rule across the settings (SASL needs a username and a password): every parser of a shape
 * that includes kafkaSecurityShape runs it, so that a bad setting stops start-up before any
 * client connects. Returns its argument.
 */
export function checkKafkaSecurity<T extends KafkaSecurityConfig>(cfg: T): T {
  if (cfg.kafkaSaslMechanism !== 'none' && (cfg.kafkaSaslUsername === undefined || cfg.kafkaSaslPassword === undefined)) {
    throw new ConfigError(
      `invalid configuration: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM=${cfg.kafkaSaslMechanism}`,
    );
  }
  return cfg;
}

/** The `ssl` and `sasl` parts of a kafkajs configuration. */
export function kafkaSecurity(cfg: KafkaSecurityConfig): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (cfg.kafkaSslCa !== undefined) out.ssl = { ca: [cfg.kafkaSslCa] };
  else if (cfg.kafkaSsl) out.ssl = true;
  if (cfg.kafkaSaslMechanism !== 'none') {
    if (cfg.kafkaSaslUsername === undefined || cfg.kafkaSaslPassword === undefined) {
      throw new ConfigError(
        `invalid configuration: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM=${cfg.kafkaSaslMechanism}`,
      );
    }
    out.sasl = { mechanism: cfg.kafkaSaslMechanism, username: cfg.kafkaSaslUsername, password: cfg.kafkaSaslPassword } as SASLOptions;
  }
  return out;
}

export interface KafkaClientOptions {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly logger: Logger;
  /** TLS and SASL, parsed by the caller (`parseKafkaSecurity`). @default none: plaintext, no SASL */
  readonly security?: KafkaSecurityConfig;
}

export function createKafkaClient(o: KafkaClientOptions): Kafka {
  // Upstream producers may compress with any codec Kafka supports.
  registerCompressionCodecs();
  return new Kafka({
    clientId: o.clientId,
    brokers: [...o.brokers],
    logLevel: o.logger.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.WARN,
    logCreator: kafkaLogCreator(o.logger),
    ...(o.security === undefined ? {} : kafkaSecurity(o.security)),
  });
}

/** Routes kafkajs log lines to the (PHI-redacting) pino logger; kafkajs never logs message contents. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () => (entry) => {
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log as Record<string, unknown> & { message: string };
    const fields = { namespace: entry.namespace, ...extra };
    if (entry.level === logLevel.ERROR) child.error(fields, message);
    else if (entry.level === logLevel.WARN) child.warn(fields, message);
    else if (entry.level === logLevel.INFO) child.info(fields, message);
    else child.debug(fields, message);
  };
}
