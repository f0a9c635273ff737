/**
 * TypeScript types for the fields of CloudNativePG's `postgresql.cnpg.io/v1` resources that this
 * app uses (CloudNativePG 1.30.0). Written by hand from the upstream CRDs in
 * ../shared/crds/cloudnative-pg; the tests validate every synthesized object against them.
 */
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ContainerSecurityContext, PodSecurityContext, ResourceRequirements } from '../lib/security.js';

export const CNPG_API_VERSION = 'postgresql.cnpg.io/v1';

export interface KeyRef {
  readonly name: string;
  readonly key: string;
}

export interface RoleConfiguration {
  readonly name: string;
  readonly ensure?: 'present' | 'absent';
  readonly login?: boolean;
  readonly superuser?: boolean;
  readonly createdb?: boolean;
  readonly createrole?: boolean;
  readonly inherit?: boolean;
  readonly replication?: boolean;
  readonly bypassrls?: boolean;
  readonly connectionLimit?: number;
  readonly comment?: string;
  /** A `kubernetes.io/basic-auth` Secret with `username` and `password`. */
  readonly passwordSecret?: { readonly name: string };
}

export interface ClusterSpec {
  readonly instances: number;
  readonly imageName?: string;
  readonly description?: string;
  readonly enableSuperuserAccess?: boolean;
  readonly postgresql?: { readonly parameters?: Readonly<Record<string, string>> };
  readonly bootstrap: {
    readonly initdb: {
      readonly database: string;
      readonly owner: string;
      readonly dataChecksums?: boolean;
      readonly encoding?: string;
      readonly localeProvider?: string;
      readonly builtinLocale?: string;
      readonly postInitApplicationSQLRefs?: { readonly configMapRefs?: readonly KeyRef[]; readonly secretRefs?: readonly KeyRef[] };
    };
  };
  readonly managed?: { readonly roles?: readonly RoleConfiguration[] };
  /** Names added to the operator-made server certificate (it already names the -rw, -r, -ro Services). */
  readonly certificates?: { readonly serverAltDNSNames?: readonly string[] };
  readonly storage: { readonly size: string; readonly storageClass?: string };
  readonly resources?: ResourceRequirements;
  readonly podSecurityContext?: PodSecurityContext;
  readonly securityContext?: ContainerSecurityContext;
  readonly seccompProfile?: { readonly type: 'RuntimeDefault' };
  readonly inheritedMetadata?: { readonly labels?: Readonly<Record<string, string>> };
}

export interface PoolerSpec {
  readonly cluster: { readonly name: string };
  readonly instances: number;
  readonly type: 'rw' | 'ro' | 'r';
  readonly pgbouncer: { readonly poolMode: 'session' | 'transaction'; readonly parameters?: Readonly<Record<string, string>> };
  readonly template?: {
    readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
    readonly spec: {
      readonly securityContext?: PodSecurityContext;
      readonly containers: readonly { readonly name: string; readonly securityContext?: ContainerSecurityContext; readonly resources?: ResourceRequirements }[];
    };
  };
}

interface Props<S> {
  readonly metadata: ApiObjectMetadata;
  readonly spec: S;
}

export class Cluster extends ApiObject {
  static readonly GVK = { apiVersion: CNPG_API_VERSION, kind: 'Cluster' } as const;
  constructor(scope: Construct, id: string, props: Props<ClusterSpec>) {
    super(scope, id, { ...Cluster.GVK, ...props });
  }
}

export class Pooler extends ApiObject {
  static readonly GVK = { apiVersion: CNPG_API_VERSION, kind: 'Pooler' } as const;
  constructor(scope: Construct, id: string, props: Props<PoolerSpec>) {
    super(scope, id, { ...Pooler.GVK, ...props });
  }
}
