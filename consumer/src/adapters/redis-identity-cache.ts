import type { Redis } from 'ioredis';
import type { IdentityCache } from '../ports.js';

/**
 * Identity key → patient ID in Redis, under `<prefix><epoch>:<key>`. Keys are HMACs: no plaintext
 * PHI is ever cached. Entries of an old epoch are never read again (Redis evicts them).
 */
export class RedisIdentityCache implements IdentityCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'idk:',
  ) {}

  async getMany(namespace: string, keysB64: readonly string[]): Promise<(string | null)[]> {
    if (keysB64.length === 0) return [];
    const prefix = `${this.prefix}${namespace}:`;
    return this.redis.mget(keysB64.map((k) => prefix + k));
  }

  async putMany(namespace: string, entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const prefix = `${this.prefix}${namespace}:`;
    const args: string[] = [];
    for (const [k, v] of entries) args.push(prefix + k, v);
    await this.redis.mset(args);
  }
}
