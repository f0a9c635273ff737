import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { IdentityCache } from '../ports.js';

/**
 * Identity key → patient ID in Redis, under `<prefix><tag>:<key>`, the tag a short hash of the
 * namespace (the master store's epoch, ~40 characters: on every key it cost Redis CPU). Keys are
 * HMACs: no plaintext PHI is ever cached. Entries of an old epoch are never read again.
 */
export class RedisIdentityCache implements IdentityCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'idk:',
  ) {}

  async getMany(namespace: string, keysB64: readonly string[]): Promise<(string | null)[]> {
    if (keysB64.length === 0) return [];
    const prefix = this.#prefixOf(namespace);
    return this.redis.mget(keysB64.map((k) => prefix + k));
  }

  #prefixes = new Map<string, string>();
  #prefixOf(namespace: string): string {
    let p = this.#prefixes.get(namespace);
    if (p === undefined) {
      p = `${this.prefix}${hash('sha256', namespace, 'base64url').slice(0, 8)}:`;
      this.#prefixes.set(namespace, p);
    }
    return p;
  }

  async putMany(namespace: string, entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const prefix = this.#prefixOf(namespace);
    const args: string[] = [];
    for (const [k, v] of entries) args.push(prefix + k, v);
    await this.redis.mset(args);
  }
}
