import type { PublicProjectionSource, PublicStoreWriter } from './ports.js';

/**
 * Re-publishes the current state of every patient from the master store into a public store:
 * to build a new public store, to switch adapters, or to repair one restored from a backup.
 * Idempotent (the same states, rev included); safe while consumers run, since each write is the
 * state as committed when its page was read and consumers publish newer states after it.
 */
export async function backfillPublicStore(
  source: PublicProjectionSource,
  store: PublicStoreWriter,
  o: { pageSize?: number; onProgress?: (written: number) => void } = {},
): Promise<number> {
  const pageSize = o.pageSize ?? 5_000;
  let after = '00000000-0000-0000-0000-000000000000';
  let written = 0;
  for (;;) {
    const page = await source.publicStatePage(after, pageSize);
    if (page.length === 0) return written;
    await store.put(page);
    written += page.length;
    after = page[page.length - 1]!.patientId;
    o.onProgress?.(written);
  }
}
