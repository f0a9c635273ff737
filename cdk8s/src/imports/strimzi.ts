/**
 * TypeScript types for the fields of Strimzi's `kafka.strimzi.io/v1` resources that this app uses
 * (Strimzi 1.2.0). Written by hand from the upstream CRDs in ../shared/crds/strimzi; the tests
 * validate every synthesized object against those CRDs, so a field that is wrong here fails there.
 */
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ContainerSecurityContext, PodSecurityContext, ResourceRequirements } from '../lib/security.js';

export const STRIMZI_API_VERSION = 'kafka.strimzi.io/v1';

export interface NetworkPolicyPeer {
  readonly podSelector?: { readonly matchLabels: Readonly<Record<string, string>> };
  readonly namespaceSelector?: { readonly matchLabels: Readonly<Record<string, string>> };
}

export interface GenericKafkaListener {
  readonly name: string;
  readonly port: number;
  readonly type: 'internal' | 'cluster-ip' | 'nodeport' | 'loadbalancer' | 'ingress' | 'route';
  readonly tls: boolean;
  readonly authentication?: { readonly type: 'scram-sha-512' | 'tls' };
  readonly networkPolicyPeers?: readonly NetworkPolicyPeer[];
}

/** `template.pod` and `template.*Container` of Strimzi's components. */
export interface PodTemplate {
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly securityContext?: PodSecurityContext;
  readonly terminationGracePeriodSeconds?: number;
}
export interface ContainerTemplate {
  readonly securityContext?: ContainerSecurityContext;
}

export interface KafkaSpec {
  readonly kafka: {
    readonly version: string;
    readonly listeners: readonly GenericKafkaListener[];
    readonly authorization?: { readonly type: 'simple'; readonly superUsers?: readonly string[] };
    readonly config?: Readonly<Record<string, string | number | boolean>>;
    readonly template?: { readonly pod?: PodTemplate; readonly kafkaContainer?: ContainerTemplate; readonly initContainer?: ContainerTemplate };
  };
  readonly entityOperator?: {
    readonly topicOperator?: { readonly resources?: ResourceRequirements };
    readonly userOperator?: { readonly resources?: ResourceRequirements };
    readonly template?: { readonly pod?: PodTemplate; readonly topicOperatorContainer?: ContainerTemplate; readonly userOperatorContainer?: ContainerTemplate };
  };
}

export interface KafkaNodePoolSpec {
  readonly replicas: number;
  readonly roles: readonly ('controller' | 'broker')[];
  readonly storage:
    | { readonly type: 'persistent-claim'; readonly size: string; readonly class?: string; readonly deleteClaim?: boolean; readonly kraftMetadata?: 'shared' }
    | { readonly type: 'jbod'; readonly volumes: readonly { readonly id: number; readonly type: 'persistent-claim'; readonly size: string; readonly deleteClaim?: boolean; readonly kraftMetadata?: 'shared' }[] };
  readonly resources?: ResourceRequirements;
  readonly jvmOptions?: { readonly '-Xms'?: string; readonly '-Xmx'?: string };
  readonly template?: { readonly pod?: PodTemplate; readonly kafkaContainer?: ContainerTemplate; readonly initContainer?: ContainerTemplate };
}

export interface KafkaTopicSpec {
  readonly topicName?: string;
  readonly partitions: number;
  readonly replicas: number;
  readonly config?: Readonly<Record<string, string | number | boolean>>;
}

export type AclOperation = 'Read' | 'Write' | 'Create' | 'Delete' | 'Alter' | 'Describe' | 'ClusterAction' | 'AlterConfigs' | 'DescribeConfigs' | 'IdempotentWrite' | 'All';

export interface AclRule {
  readonly type?: 'allow' | 'deny';
  readonly resource: { readonly type: 'topic' | 'group' | 'cluster' | 'transactionalId'; readonly name?: string; readonly patternType?: 'literal' | 'prefix' };
  readonly operations: readonly AclOperation[];
  readonly host?: string;
}

export interface KafkaUserSpec {
  readonly authentication: { readonly type: 'scram-sha-512' };
  readonly authorization: { readonly type: 'simple'; readonly acls: readonly AclRule[] };
}

interface Props<S> {
  readonly metadata: ApiObjectMetadata;
  readonly spec: S;
}

export class Kafka extends ApiObject {
  static readonly GVK = { apiVersion: STRIMZI_API_VERSION, kind: 'Kafka' } as const;
  constructor(scope: Construct, id: string, props: Props<KafkaSpec>) {
    super(scope, id, { ...Kafka.GVK, ...props });
  }
}

export class KafkaNodePool extends ApiObject {
  static readonly GVK = { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaNodePool' } as const;
  constructor(scope: Construct, id: string, props: Props<KafkaNodePoolSpec>) {
    super(scope, id, { ...KafkaNodePool.GVK, ...props });
  }
}

export class KafkaTopic extends ApiObject {
  static readonly GVK = { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaTopic' } as const;
  constructor(scope: Construct, id: string, props: Props<KafkaTopicSpec>) {
    super(scope, id, { ...KafkaTopic.GVK, ...props });
  }
}

export class KafkaUser extends ApiObject {
  static readonly GVK = { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaUser' } as const;
  constructor(scope: Construct, id: string, props: Props<KafkaUserSpec>) {
    super(scope, id, { ...KafkaUser.GVK, ...props });
  }
}
