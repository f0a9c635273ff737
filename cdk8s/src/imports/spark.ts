/**
 * TypeScript types for the fields of the Kubeflow spark-operator's `sparkoperator.k8s.io/v1beta2`
 * SparkApplication that this app uses (spark-operator 2.5.2). Written by hand from the upstream
 * CRD in ../shared/crds/spark-operator; the tests validate every synthesized object against it.
 */
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ContainerSecurityContext, PodSecurityContext } from '../lib/security.js';

export const SPARK_API_VERSION = 'sparkoperator.k8s.io/v1beta2';

export interface SparkPodSpec {
  readonly cores?: number;
  readonly coreLimit?: string;
  readonly memory?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  readonly podSecurityContext?: PodSecurityContext;
  readonly securityContext?: ContainerSecurityContext;
  readonly envSecretKeyRefs?: Readonly<Record<string, { readonly name: string; readonly key: string }>>;
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
}

export interface SparkApplicationSpec {
  readonly type: 'Python' | 'Java' | 'Scala' | 'R';
  readonly pythonVersion?: '3';
  readonly mode: 'cluster';
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly mainApplicationFile: string;
  readonly arguments?: readonly string[];
  readonly sparkVersion: string;
  readonly sparkConf?: Readonly<Record<string, string>>;
  readonly restartPolicy: { readonly type: 'Never' | 'OnFailure' | 'Always'; readonly onFailureRetries?: number; readonly onFailureRetryInterval?: number };
  readonly timeToLiveSeconds?: number;
  readonly volumes?: readonly { readonly name: string; readonly emptyDir: Record<string, never> }[];
  readonly driver: SparkPodSpec;
  readonly executor: SparkPodSpec & { readonly instances?: number };
}

export class SparkApplication extends ApiObject {
  static readonly GVK = { apiVersion: SPARK_API_VERSION, kind: 'SparkApplication' } as const;
  constructor(scope: Construct, id: string, props: { readonly metadata: ApiObjectMetadata; readonly spec: SparkApplicationSpec }) {
    super(scope, id, { ...SparkApplication.GVK, ...props });
  }
}
