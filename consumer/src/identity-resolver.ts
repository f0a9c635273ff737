import type { IdentityCache, IdentityStore, IdentityToResolve } from './ports.js';

const NONE: ReadonlySet<string> = new Set();

export interface Resolution {
  /** keyB64 → patient ID for every identity asked for. */
  readonly patientIds: Map<string, string>;
  /** The entries the cache lacked, to fill after the batch commits. */
  readonly toCache: Map<string, string>;
  /** Keys whose identity was created now (see AcceptedRow.newIdentity). */
  readonly created: ReadonlySet<string>;
  readonly hits: number;
  readonly misses: number;
}

/**
 * Bulk identity resolution: one MGET to the cache; the misses in one round trip to the store,
 * which creates IDs under its UNIQUE constraint. The cache is an optimization only: a failing
 * cache falls back to the store and changes no ID.
 */
export class IdentityResolver {
  constructor(
    private readonly store: IdentityStore,
    private readonly cache: IdentityCache,
    private readonly onCacheError: (err: unknown) => void = () => {},
  ) {}

  /** `epoch`: the master store's, the cache namespace (see PartitionPosition.epoch). */
  async resolve(identities: ReadonlyMap<string, IdentityToResolve>, epoch: string): Promise<Resolution> {
    const keys = [...identities.keys()];
    const patientIds = new Map<string, string>();
    if (keys.length === 0) return { patientIds, toCache: new Map(), created: NONE, hits: 0, misses: 0 };
    let cached: (string | null)[];
    try {
      cached = await this.cache.getMany(epoch, keys);
    } catch (err) {
      this.onCacheError(err);
      cached = keys.map(() => null);
    }
    const missing: IdentityToResolve[] = [];
    keys.forEach((k, i) => {
      const hit = cached[i];
      if (hit) patientIds.set(k, hit);
      else missing.push(identities.get(k)!);
    });
    const stored = missing.length > 0 ? await this.store.resolve(missing) : { ids: new Map<string, string>(), created: NONE };
    for (const [k, v] of stored.ids) patientIds.set(k, v);
    return { patientIds, toCache: stored.ids, created: stored.created, hits: keys.length - missing.length, misses: missing.length };
  }

  async fill(entries: ReadonlyMap<string, string>, epoch: string): Promise<void> {
    if (entries.size === 0) return;
    try {
      await this.cache.putMany(epoch, entries);
    } catch (err) {
      this.onCacheError(err);
    }
  }
}
