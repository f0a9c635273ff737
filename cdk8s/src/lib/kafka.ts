/**
 * Kafka through Strimzi 1.2 (`kafka.strimzi.io/v1` only): a KRaft cluster with one combined
 * controller+broker node pool on persistent claims, a TLS listener with SCRAM-SHA-512, simple
 * authorization; the intake topic and its DLQ; one SCRAM user per client with least-privilege ACLs.
 */
import { Construct } from 'constructs';
import { Kafka, KafkaNodePool, KafkaTopic, KafkaUser, type AclRule, type NetworkPolicyPeer } from '../imports/strimzi.js';
import { restrictedContainer, restrictedPod, type ResourceRequirements } from './security.js';

/** Strimzi's pod labels: what NetworkPolicies select Kafka's pods by. */
export function kafkaPodLabels(cluster: string): Record<string, string> {
  return { 'strimzi.io/cluster': cluster, 'strimzi.io/kind': 'Kafka' };
}
export function entityOperatorPodLabels(cluster: string): Record<string, string> {
  return { 'strimzi.io/name': `${cluster}-entity-operator` };
}

/** Strimzi's Kafka and entity-operator images run as uid 1001. */
const STRIMZI_UID = 1001;

export interface KafkaClusterProps {
  /** @default 'intake' */
  readonly name?: string;
  /** A Kafka version Strimzi 1.2.0 supports (4.2.0–4.3.1). @default '4.3.1' */
  readonly version?: string;
  /** Nodes of the combined controller+broker pool (kind: 1; production: 3 or more). @default 1 */
  readonly replicas?: number;
  /** @default '10Gi' */
  readonly storageSize?: string;
  /** Port of the internal TLS listener with SCRAM-SHA-512 authentication. @default 9093 */
  readonly tlsPort?: number;
  /** Pods allowed to reach the listener (Strimzi writes them into its own NetworkPolicy). */
  readonly clients: readonly NetworkPolicyPeer[];
  /** @default requests 1 CPU / 2Gi, limit 2Gi, heap 1g */
  readonly resources?: ResourceRequirements;
}

export class KafkaCluster extends Construct {
  readonly name: string;
  readonly replicas: number;
  readonly tlsPort: number;
  /** `host:port` of the TLS bootstrap Service. */
  readonly bootstrapServers: string;
  /** The Secret (created by Strimzi) holding the cluster CA certificate, key `ca.crt`. */
  readonly clusterCaSecret: string;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    this.name = props.name ?? 'intake';
    this.replicas = props.replicas ?? 1;
    this.tlsPort = props.tlsPort ?? 9093;
    this.bootstrapServers = `${this.name}-kafka-bootstrap:${this.tlsPort}`;
    this.clusterCaSecret = `${this.name}-cluster-ca-cert`;
    const rf = Math.min(3, this.replicas);
    const minIsr = rf >= 3 ? 2 : 1;
    const pod = { securityContext: restrictedPod(STRIMZI_UID, { fsGroup: true }) };
    const container = { securityContext: restrictedContainer() };

    new Kafka(this, 'kafka', {
      metadata: { name: this.name },
      spec: {
        kafka: {
          version: props.version ?? '4.3.1',
          listeners: [
            {
              name: 'tls',
              port: this.tlsPort,
              type: 'internal',
              tls: true,
              authentication: { type: 'scram-sha-512' },
              networkPolicyPeers: props.clients,
            },
          ],
          authorization: { type: 'simple' },
          config: {
            'default.replication.factor': rf,
            'min.insync.replicas': minIsr,
            'offsets.topic.replication.factor': rf,
            'transaction.state.log.replication.factor': rf,
            'transaction.state.log.min.isr': minIsr,
            'auto.create.topics.enable': false,
          },
          template: { pod, kafkaContainer: container, initContainer: container },
        },
        entityOperator: {
          topicOperator: { resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } } },
          userOperator: { resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } } },
          template: { pod, topicOperatorContainer: container, userOperatorContainer: container },
        },
      },
    });

    new KafkaNodePool(this, 'pool', {
      metadata: { name: 'combined', labels: { 'strimzi.io/cluster': this.name } },
      spec: {
        replicas: this.replicas,
        roles: ['controller', 'broker'],
        storage: {
          type: 'jbod',
          volumes: [{ id: 0, type: 'persistent-claim', size: props.storageSize ?? '10Gi', deleteClaim: false, kraftMetadata: 'shared' }],
        },
        resources: props.resources ?? { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '2Gi' } },
        jvmOptions: { '-Xms': '1g', '-Xmx': '1g' },
        template: { pod, kafkaContainer: container, initContainer: container },
      },
    });
  }

  /** The replication factor the cluster's size allows (at most 3). */
  get replicationFactor(): number {
    return Math.min(3, this.replicas);
  }
}

export interface TopicProps {
  readonly cluster: KafkaCluster;
  /** Kafka topic name (dots allowed; the resource name is derived). */
  readonly topicName: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /** Largest record batch the topic takes. @default the broker's (1 MiB) */
  readonly maxMessageBytes?: number;
}

/** A topic managed by the topic operator; the resource name is the topic name with dots as dashes. */
export class Topic extends Construct {
  readonly topicName: string;
  constructor(scope: Construct, id: string, props: TopicProps) {
    super(scope, id);
    this.topicName = props.topicName;
    new KafkaTopic(this, 'topic', {
      metadata: { name: props.topicName.replace(/[._]/g, '-').toLowerCase(), labels: { 'strimzi.io/cluster': props.cluster.name } },
      spec: {
        topicName: props.topicName,
        partitions: props.partitions,
        replicas: props.cluster.replicationFactor,
        config: {
          'retention.ms': props.retentionMs,
          'cleanup.policy': 'delete',
          ...(props.maxMessageBytes === undefined ? {} : { 'max.message.bytes': props.maxMessageBytes }),
        },
      },
    });
  }
}

export interface ClientUserProps {
  readonly cluster: KafkaCluster;
  /** The SCRAM user name; Strimzi writes its password to the Secret of the same name, key `password`. */
  readonly userName: string;
  readonly acls: readonly AclRule[];
}

/** A SCRAM-SHA-512 user and its ACLs. */
export class ClientUser extends Construct {
  readonly userName: string;
  /** Secret (written by Strimzi's user operator) with `password` and `sasl.jaas.config`. */
  readonly secretName: string;
  constructor(scope: Construct, id: string, props: ClientUserProps) {
    super(scope, id);
    this.userName = props.userName;
    this.secretName = props.userName;
    new KafkaUser(this, 'user', {
      metadata: { name: props.userName, labels: { 'strimzi.io/cluster': props.cluster.name } },
      spec: { authentication: { type: 'scram-sha-512' }, authorization: { type: 'simple', acls: props.acls } },
    });
  }
}

/** ACL helpers: literal resources, allow rules. */
export const acl = {
  topic: (name: string, ...operations: AclRule['operations']): AclRule => ({
    type: 'allow',
    resource: { type: 'topic', name, patternType: 'literal' },
    operations,
  }),
  group: (name: string, ...operations: AclRule['operations']): AclRule => ({
    type: 'allow',
    resource: { type: 'group', name, patternType: 'literal' },
    operations,
  }),
};
