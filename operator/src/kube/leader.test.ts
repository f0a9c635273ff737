import { createLogger } from '@clinical-ingest/intake-core';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fakes.js';
import { LeaderElector, LeaseConflict, microTime, type LeaseRecord, type LeaseStore } from './leader.js';

const log = createLogger('test', { level: 'silent' });

/** A lease object with resourceVersion checks, like the API server's. */
class MemoryLease implements LeaseStore {
  rec: LeaseRecord | undefined;
  private rv = 0;
  async get() {
    return this.rec === undefined ? undefined : { ...this.rec };
  }
  async create(r: LeaseRecord) {
    if (this.rec) throw new LeaseConflict();
    this.rec = { ...r, resourceVersion: String(++this.rv) };
    return { ...this.rec };
  }
  async update(r: LeaseRecord) {
    if (!this.rec || r.resourceVersion !== this.rec.resourceVersion) throw new LeaseConflict();
    this.rec = { ...r, resourceVersion: String(++this.rv) };
    return { ...this.rec };
  }
}

const setup = () => {
  const store = new MemoryLease();
  const clock = new FakeClock(0);
  const a = new LeaderElector(store, { identity: 'a' }, clock, log);
  const b = new LeaderElector(store, { identity: 'b' }, clock, log);
  return { store, clock, a, b };
};

describe('Lease leader election', () => {
  it('the first candidate takes a free lease; the other waits', async () => {
    const { a, b, store } = setup();
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(store.rec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  });

  it('the holder renews; the other never acts while renewals continue', async () => {
    const { a, b, clock, store } = setup();
    await a.tryAcquireOrRenew();
    for (let i = 0; i < 20; i++) {
      clock.advance(2000);
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(store.rec!.renewTime).toBe(microTime(40_000));
  });

  it('takes over an expired lease, judged by its own clock since it saw the record change', async () => {
    const { a, b, clock, store } = setup();
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false); // b observes the record at t=0
    clock.advance(14_999);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(2);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.rec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).toBe(false); // a sees b's fresh record
  });

  it('a stale write loses: two candidates cannot both win a round', async () => {
    const store = new MemoryLease();
    await store.create({ holderIdentity: 'old', leaseDurationSeconds: 1, renewTime: microTime(0) });
    const clock = new FakeClock(0);
    const a = new LeaderElector(store, { identity: 'a' }, clock, log);
    const b = new LeaderElector(store, { identity: 'b' }, clock, log);
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    clock.advance(5000);
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect([ra, rb].filter(Boolean)).toHaveLength(1);
  });

  it('release on stop lets the successor take over at once', async () => {
    const { a, b, clock } = setup();
    const events: string[] = [];
    a.run({ onStartedLeading: () => events.push('a+'), onStoppedLeading: () => events.push('a-') });
    await new Promise((r) => setTimeout(r, 10));
    expect(a.isLeader).toBe(true);
    await a.stop();
    clock.advance(1500);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(events).toEqual(['a+']);
  });

  /** A lease whose writes wait until `release()`: a round is in flight while the test acts. */
  const gatedStore = () => {
    const store = new MemoryLease();
    let gate: Promise<void> = Promise.resolve();
    let open = () => {};
    const gated: LeaseStore = {
      get: () => store.get(),
      create: async (r) => {
        await gate;
        return store.create(r);
      },
      update: async (r) => {
        await gate;
        return store.update(r);
      },
    };
    return {
      store,
      gated,
      hold: () => {
        gate = new Promise((r) => (open = r));
      },
      release: () => open(),
    };
  };
  const flush = () => new Promise((r) => setTimeout(r, 5));

  it('stop during the first acquisition in flight still leaves the lease free', async () => {
    const { store, gated, hold, release } = gatedStore();
    hold();
    const a = new LeaderElector(gated, { identity: 'a' }, new FakeClock(0), log);
    a.run({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    await flush(); // the create is waiting at the gate
    const stopping = a.stop();
    release();
    await stopping;
    expect(store.rec?.holderIdentity ?? '').toBe('');
  });

  it('stop during a renewal in flight releases the lease instead of losing to the renewal', async () => {
    const { store, gated, hold, release } = gatedStore();
    const pending: (() => void)[] = [];
    const timers = { setTimeout: (fn: () => void) => pending.push(fn), clearTimeout: () => undefined };
    const clock = new FakeClock(0);
    const a = new LeaderElector(gated, { identity: 'a' }, clock, log, timers);
    a.run({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    await flush();
    expect(a.isLeader).toBe(true);
    hold();
    clock.advance(2000);
    pending.shift()!(); // the renewal round starts and waits at the gate
    await flush();
    const stopping = a.stop();
    release();
    await stopping;
    expect(store.rec?.holderIdentity).toBe('');
    const b = new LeaderElector(store, { identity: 'b' }, clock, log);
    expect(await b.tryAcquireOrRenew()).toBe(true); // at once, no lease duration to wait
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock(0);
    let fail = false;
    const flaky: LeaseStore = {
      get: () => (fail ? Promise.reject(new Error('apiserver down')) : store.get()),
      create: (r) => store.create(r),
      update: (r) => store.update(r),
    };
    const pending: (() => void)[] = [];
    const timers = { setTimeout: (fn: () => void) => pending.push(fn), clearTimeout: () => undefined };
    const a = new LeaderElector(flaky, { identity: 'a' }, clock, log, timers);
    const events: string[] = [];
    a.run({ onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop') });
    const tick = async () => {
      await new Promise((r) => setTimeout(r, 0));
      clock.advance(2000);
      pending.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
    };
    await tick();
    expect(events).toEqual(['start']);
    fail = true;
    for (let i = 0; i < 4; i++) await tick();
    expect(events).toEqual(['start']); // 8 s without renewal: still within the 10 s deadline
    await tick();
    expect(events).toEqual(['start', 'stop']);
    expect(a.isLeader).toBe(false);
  });

  it('refuses timings that could let two lead', () => {
    expect(() => new LeaderElector(new MemoryLease(), { identity: 'x', leaseDurationMs: 5000, renewDeadlineMs: 5000 }, new FakeClock(), log)).toThrow();
  });
});
