/**
 * How a component's pod reaches Kafka: the TLS bootstrap servers, SCRAM-SHA-512 credentials from
 * the Secret Strimzi's user operator writes for its KafkaUser, and the cluster CA from the Secret
 * Strimzi writes for the cluster. The variable names are the clients' configuration contract.
 */
import type { k8s } from 'cdk8s-plus-28';
import type { ClientUser, KafkaCluster } from './kafka.js';
import { literalEnv, secretEnv } from './workload.js';

export const KAFKA_CLIENT_ENV = {
  brokers: 'KAFKA_BROKERS',
  /** `scram-sha-512` */
  mechanism: 'KAFKA_SASL_MECHANISM',
  username: 'KAFKA_SASL_USERNAME',
  password: 'KAFKA_SASL_PASSWORD',
  /** PEM of the cluster CA: the client verifies the brokers' certificates with it. */
  caPem: 'KAFKA_SSL_CA',
} as const;

/** The bootstrap servers and the credentials. */
export function kafkaClientEnv(cluster: KafkaCluster, user: ClientUser): k8s.EnvVar[] {
  return [...literalEnv({ [KAFKA_CLIENT_ENV.brokers]: cluster.bootstrapServers }), ...kafkaCredentialEnv(cluster, user)];
}

/** The credentials only (the operator takes the bootstrap servers from each IngestPipeline). */
export function kafkaCredentialEnv(cluster: KafkaCluster, user: ClientUser): k8s.EnvVar[] {
  return [
    ...literalEnv({ [KAFKA_CLIENT_ENV.mechanism]: 'scram-sha-512', [KAFKA_CLIENT_ENV.username]: user.userName }),
    secretEnv(KAFKA_CLIENT_ENV.password, user.secretName, 'password'),
    secretEnv(KAFKA_CLIENT_ENV.caPem, cluster.clusterCaSecret, 'ca.crt'),
  ];
}
