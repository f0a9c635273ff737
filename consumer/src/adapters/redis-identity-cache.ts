import type { Redis } from 'ioredis';
import type { IdentityCache } from '../ports.js';

/** Identity key → patient ID in Redis. Keys are HMACs: no plaintext PHI is ever cached. */
export class RedisIdentityCache implements IdentityCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'idk:',
  ) {}

  async getMany(keysB64: readonly string[]): Promise<(string | null)[]> {
    if (keysB64.length === 0) return [];
    return this.redis.mget(keysB64.map((k) => this.prefix + k));
  }

  async putMany(entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const args: string[] = [];
    for (const [k, v] of entries) args.push(this.prefix + k, v);
    await this.redis.mset(args);
  }
}
