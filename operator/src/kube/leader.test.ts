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
