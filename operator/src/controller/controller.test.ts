import { createLogger } from '@clinical-ingest/intake-core';
import { describe, expect, it } from 'vitest';
import { Controller } from './controller.js';
import { WorkQueue, type Timers } from './queue.js';
import type { ReconcileResult } from './reconcile.js';

const log = createLogger('test', { level: 'silent' });

class RecordingTimers implements Timers {
  readonly added: { ms: number; fn: () => void }[] = [];
  setTimeout(fn: () => void, ms: number) {
    this.added.push({ ms, fn });
    return this.added.length;
  }
  clearTimeout() {}
}

describe('Controller', () => {
  it('requeues a key on its poll timer after a good pass', async () => {
    const timers = new RecordingTimers();
    const q = new WorkQueue(timers, () => 0);
    const c = new Controller(q, { reconcile: async (): Promise<ReconcileResult> => ({ statusWritten: false, requeueAfterMs: 10_000 }) }, log);
    q.add('ns/a');
    await c.processNext();
    expect(timers.added.map((t) => t.ms)).toEqual([10_000]);
    expect(q.failuresOf('ns/a')).toBe(0);
  });

  it('backs off on failure, and a good pass forgets the failures', async () => {
    const timers = new RecordingTimers();
    const q = new WorkQueue(timers, () => 0);
    let fail = 2;
    const c = new Controller(
      q,
      {
        reconcile: async () => {
          if (fail-- > 0) return { statusWritten: false, error: new Error('conflict') };
          return { statusWritten: true, requeueAfterMs: 10_000 };
        },
      },
      log,
    );
    for (let i = 0; i < 3; i++) {
      if (i === 0) q.add('k');
      else timers.added[timers.added.length - 1]!.fn();
      await c.processNext();
    }
    expect(timers.added.map((t) => t.ms)).toEqual([500, 1000, 10_000]);
    expect(q.failuresOf('k')).toBe(0);
  });

  it('a reconcile that throws is retried, not fatal', async () => {
    const timers = new RecordingTimers();
    const q = new WorkQueue(timers, () => 0);
    const c = new Controller(q, { reconcile: () => Promise.reject(new Error('bug')) }, log);
    q.add('k');
    expect(await c.processNext()).toBe(true);
    expect(q.failuresOf('k')).toBe(1);
  });

  it('never reconciles one key on two workers at once', async () => {
    const q = new WorkQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    let passes = 0;
    const c = new Controller(
      q,
      {
        reconcile: async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          passes++;
          return { statusWritten: false };
        },
      },
      log,
      4,
    );
    c.start();
    for (let i = 0; i < 10; i++) {
      q.add('same');
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 40));
    await c.stop();
    expect(maxInFlight).toBe(1);
    expect(passes).toBeGreaterThanOrEqual(2);
  });
});
