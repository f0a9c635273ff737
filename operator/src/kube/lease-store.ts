import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from './client.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore } from './leader.js';

interface LeaseObject extends KubernetesObject {
  spec?: Omit<LeaseRecord, 'resourceVersion'>;
}

const isConflict = (e: unknown) => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 409;

/** The lease as a `coordination.k8s.io/v1` Lease object (create / replace with resourceVersion). */
export class KubeLeaseStore implements LeaseStore {
  private readonly api: KubernetesObjectApi;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  private toRecord(o: LeaseObject): LeaseRecord {
    const s = o.spec ?? {};
    // MicroTime fields may come back as Date objects or strings depending on the serializer.
    const t = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | undefined));
    return {
      ...(s.holderIdentity === undefined ? {} : { holderIdentity: s.holderIdentity }),
      ...(s.leaseDurationSeconds === undefined ? {} : { leaseDurationSeconds: s.leaseDurationSeconds }),
      ...(s.acquireTime === undefined ? {} : { acquireTime: t(s.acquireTime)! }),
      ...(s.renewTime === undefined ? {} : { renewTime: t(s.renewTime)! }),
      ...(s.leaseTransitions === undefined ? {} : { leaseTransitions: s.leaseTransitions }),
      ...(o.metadata?.resourceVersion === undefined ? {} : { resourceVersion: o.metadata.resourceVersion }),
    };
  }

  private toObject(r: LeaseRecord): LeaseObject {
    const { resourceVersion, ...spec } = r;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
      spec,
    };
  }

  async get(): Promise<LeaseRecord | undefined> {
    try {
      return this.toRecord(
        await this.api.read<LeaseObject>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace } }),
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async create(r: LeaseRecord): Promise<LeaseRecord> {
    try {
      return this.toRecord(await this.api.create<LeaseObject>(this.toObject(r)));
    } catch (e) {
      if (isConflict(e)) throw new LeaseConflict();
      throw e;
    }
  }

  async update(r: LeaseRecord): Promise<LeaseRecord> {
    try {
      return this.toRecord(await this.api.replace<LeaseObject>(this.toObject(r)));
    } catch (e) {
      if (isConflict(e)) throw new LeaseConflict();
      throw e;
    }
  }
}
