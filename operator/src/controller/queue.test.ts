import { describe, expect, it } from 'vitest';
import { WorkQueue, type Timers } from './queue.js';

/** Timers under test control. */
class FakeTimers implements Timers {
  t = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, p] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (p.at <= this.t) {
        this.pending.delete(id);
        p.fn();
      }
    }
  }
  get count(): number {
    return this.pending.size;
  }
}

const make = () => {
  const timers = new FakeTimers();
  return { timers, q: new WorkQueue<string>(timers, () => timers.t) };
};

describe('WorkQueue', () => {
  it('queues a key once', async () => {
    const { q } = make();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
  });

  it('hands a key to one worker at a time; re-added while processing, it comes back after done', async () => {
    const { q } = make();
    q.add('k');
    const k = await q.get();
    q.add('k');
    expect(q.length).toBe(0);
    q.done(k!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('k');
  });

  it('a waiting worker gets the key at once', async () => {
    const { q } = make();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
  });

  it('addAfter: the requeue timer; the earliest pending add wins', () => {
    const { q, timers } = make();
    q.addAfter('k', 10_000);
    q.addAfter('k', 20_000);
    expect(timers.count).toBe(1);
    q.addAfter('k', 5_000);
    expect(timers.count).toBe(1);
    timers.advance(4_999);
    expect(q.length).toBe(0);
    timers.advance(1);
    expect(q.length).toBe(1);
  });

  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [12, 300_000],
  ])('backs off per key: failure %i waits %i ms, until forget', (n, ms) => {
    const { q } = make();
    let last = 0;
    for (let i = 0; i < n; i++) last = q.addRateLimited('k');
    expect(last).toBe(ms);
    q.forget('k');
    expect(q.failuresOf('k')).toBe(0);
    expect(q.addRateLimited('k')).toBe(500);
  });

  it('shutDown releases waiting workers and drops timers', async () => {
    const { q, timers } = make();
    q.addAfter('k', 1000);
    const w = q.get();
    q.shutDown();
    expect(await w).toBeUndefined();
    expect(timers.count).toBe(0);
    q.add('z');
    expect(q.length).toBe(0);
  });
});
