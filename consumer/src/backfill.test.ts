import { describe, expect, it } from 'vitest';
import { backfillPublicStore } from './backfill.js';
import type { PublicProjectionSource } from './ports.js';
import type { PublicItem } from './ports.js';
import { FakePublic } from './testing/fakes.js';

const items: PublicItem[] = Array.from({ length: 23 }, (_, i) => ({
  patientId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  favoriteColor: i % 2 ? 'red' : 'blue',
  rev: 1 + (i % 3),
}));
const source: PublicProjectionSource = {
  publicStatePage: async (after, limit) => items.filter((x) => x.patientId > after).slice(0, limit),
};

describe('backfillPublicStore', () => {
  it('writes every patient once, page by page, and reports progress', async () => {
    const store = new FakePublic();
    const progress: number[] = [];
    const n = await backfillPublicStore(source, store, { pageSize: 10, onProgress: (w) => progress.push(w) });
    expect(n).toBe(23);
    expect(progress).toEqual([10, 20, 23]);
    expect(store.puts).toBe(3);
    expect([...store.items.values()]).toEqual(items);
  });

  it('is idempotent and never lowers a newer state already published', async () => {
    const store = new FakePublic();
    await store.put([{ ...items[0]!, favoriteColor: 'green', rev: 99 }]);
    await backfillPublicStore(source, store);
    await backfillPublicStore(source, store);
    expect(store.items.size).toBe(23);
    expect(store.items.get(items[0]!.patientId)?.favoriteColor).toBe('green');
  });
});
