import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../api/defaults.js';
// The HPA's algorithm as the simulation models it (scaling-sim): the policy's tests run through it.
import { HpaModel, operatorBehavior } from '../../../scaling-sim/src/hpa.js';
import { OffsetFeed } from '../testing/feed.js';
import { evenCounts, usefulCap } from './counts.js';
import { decide, type Decision, type Observation, type PolicyConfig, type PolicyState } from './policy.js';

const cfg = (over: Partial<PolicyConfig> = {}): PolicyConfig => ({
  ...DEFAULTS.policy,
  minReplicas: 1,
  maxReplicas: 24,
  freshnessTargetSeconds: 10,
  initialRatePerReplica: 1000,
  hpaTolerance: 0,
  ...over,
});

/** Feeds observations in order, threading the state. */
function runner(c: PolicyConfig) {
  let state: PolicyState | undefined;
  const decisions: Decision[] = [];
  const step = (obs: Observation) => {
    const d = decide(c, obs, state);
    state = d.state;
    decisions.push(d);
    return d;
  };
  return { step, decisions };
}

/**
 * The decision after 40 s of steady arrivals (records/s per partition) with the given lag on the
 * last observation, at `replicas`, with hold and stabilization off (sizing only).
 */
function sized(P: number, perPartition: number, lag: number | number[], replicas = P, over: Partial<PolicyConfig> = {}): Decision {
  const c = cfg({ rebalanceHoldSeconds: 0, scaleDownStabilizationSeconds: 0, ...over });
  const r = runner(c);
  const feed = new OffsetFeed(P);
  for (let i = 0; i < 4; i++) r.step(feed.advance(10, perPartition).observe(replicas));
  return r.step(feed.advance(10, perPartition).withLag(lag).observe(replicas));
}

describe('sizing on drain time', () => {
  it.each([
    // P, rec/s per partition, lag per partition, expected      (μ 1000/s, utilization 0.8, T 10 s)
    ['idle topic keeps the minimum', 12, 0, 0, 1],
    ['250/s a partition: 3 partitions a replica carry 750 ≤ 800', 12, 250, 0, 4],
    ['350/s a partition: 2 a replica (700 ≤ 800)', 12, 350, 0, 6],
    ['500/s a partition: one a replica', 12, 500, 0, 12],
    ['backlog alone: 2,000 a partition drains at 200/s, 4 a replica', 12, 0, 2000, 3],
    ['backlog a replica cannot drain in T: the cap', 12, 0, 20_000, 12],
    ['flow plus backlog: 100/s + 3,000 (300/s) → 2 a replica', 12, 100, 3000, 6],
    ['small topic: never above its 4 partitions', 4, 5000, 1e6, 4],
  ])('%s', (_l, P, perPartition, lag, expected) => {
    expect(sized(P, perPartition, lag).replicas).toBe(expected);
  });

  it.each([
    ['350/s a partition: 4,200/s ≤ 6 × 800', 350, 6],
    ['420/s a partition: 5,040/s needs 7 (not 12) without even spread', 420, 7],
  ])('evenSpread off, by total: %s', (_l, perPartition, expected) => {
    expect(sized(12, perPartition, 0, 12, { evenSpread: false }).replicas).toBe(expected);
  });

  it.each([
    ['maxReplicas 4 of 12 partitions, busy', { maxReplicas: 4 }, 500, 4],
    ['maxReplicas 5, busy: 5 is no better than 4 (a consumer still holds 3)', { maxReplicas: 5 }, 500, 4],
    ['minReplicas 3 on an idle topic', { minReplicas: 3 }, 0, 3],
    ['minReplicas above the cap is cut to the cap', { minReplicas: 8, maxReplicas: 12 }, 0, 8],
  ])('bounds: %s', (_l, over, perPartition, expected) => {
    expect(sized(12, perPartition, perPartition === 0 ? 0 : 1e5, 12, over).replicas).toBe(expected);
  });

  it('reports lag, arrivals, rate and drain time', () => {
    const d = sized(4, 100, 1000, 2);
    expect(d.totalLag).toBe(4000);
    expect(d.lagPerPartition).toEqual([1000, 1000, 1000, 1000]);
    expect(d.arrivalRate).toBeCloseTo(400, 0);
    expect(d.ratePerReplica).toBe(1000);
    // 4,000 records at 2 × 1,000 − 400 net
    expect(d.drainSeconds).toBeCloseTo(4000 / (d.replicas * 1000 - 400), 3);
  });
});

describe('requirement: never above the partition count', () => {
  const cases: [number, number, boolean][] = [];
  for (const P of [1, 2, 3, 5, 6, 7, 12, 24, 30, 100])
    for (const max of [P - 1, P, 2 * P, 1000]) for (const even of [true, false]) if (max >= 1) cases.push([P, max, even]);
  it.each(cases)('P=%i maxReplicas=%i evenSpread=%s, overwhelming lag', (P, max, even) => {
    const d = sized(P, 500, 1e7, 1, { maxReplicas: max, evenSpread: even });
    expect(d.replicas).toBeLessThanOrEqual(Math.min(P, max));
    expect(d.replicas).toBe(usefulCap(P, max, even));
    expect(d.metricValue).toBe(d.replicas);
  });
});

/** Our policy publishing to an HPA model polled every 10 s, HPA synced every 15 s, arrivals ramping up. */
function rampThroughHpa(P: number, c: PolicyConfig, clusterTolerance: number, seconds: number) {
  const cap = usefulCap(P, c.maxReplicas, c.evenSpread);
  const hpa = new HpaModel({ minReplicas: 1, maxReplicas: cap, clusterTolerance, ...operatorBehavior(cap, c.hpaTolerance === 0 ? 0 : undefined) });
  const r = runner(c);
  const feed = new OffsetFeed(P);
  let replicas = 1;
  let published = 1;
  const trace: { t: number; replicas: number; decided: number }[] = [];
  for (let t = 0; t < seconds; t += 5) {
    // arrivals ramp to 1.2 × full capacity per partition; consumers keep up
    const perPartition = (1000 * 1.2 * t) / seconds;
    feed.advance(5, perPartition);
    if (t % 10 === 0) published = r.step(feed.observe(replicas)).metricValue;
    if (t % 15 === 0) replicas = hpa.sync(t, published, 1, replicas);
    trace.push({ t, replicas, decided: r.decisions[r.decisions.length - 1]!.replicas });
  }
  return { trace, cap };
}

describe('requirement: never stuck one short of the partition count', () => {
  it.each([
    [12, false],
    [12, true],
    [24, false],
    [100, true],
    [100, false],
  ])('P=%i evenSpread=%s behind an HPA with the 10 %% tolerance: the HPA reaches the cap', (P, even) => {
    const c = cfg({ maxReplicas: 1000, evenSpread: even, hpaTolerance: 0.1 });
    const { trace, cap } = rampThroughHpa(P, c, 0.1, 3600);
    expect(cap).toBe(P);
    expect(trace[trace.length - 1]!.replicas).toBe(P);
    // The HPA never lags the decision by more than two syncs (a swallowed step would stay).
    let behindSince: number | undefined;
    for (const s of trace) {
      if (s.replicas !== s.decided) behindSince ??= s.t;
      else behindSince = undefined;
      expect(behindSince === undefined ? 0 : s.t - behindSince, `t=${s.t} decided ${s.decided}, HPA ${s.replicas}`).toBeLessThanOrEqual(30);
    }
    // and never sits at P − 1
    expect(trace.filter((s) => s.replicas === P - 1).length * 5).toBeLessThanOrEqual(30);
  });

  it('with zero tolerance the HPA lands on every decision, steps of one included', () => {
    const c = cfg({ maxReplicas: 1000, evenSpread: false, hpaTolerance: 0 });
    const { trace } = rampThroughHpa(24, c, 0.1, 3600);
    expect(trace[trace.length - 1]!.replicas).toBe(24);
    expect(new Set(trace.map((s) => s.replicas)).has(23)).toBe(true); // 23 → 24 is allowed and lands
  });

  it('from P − 1 (set by hand) to P: publishes past the tolerance band; the HPA clamps to P', () => {
    const c = cfg({ evenSpread: false, hpaTolerance: 0.1, rebalanceHoldSeconds: 0 });
    const r = runner(c);
    const feed = new OffsetFeed(12);
    r.step(feed.advance(10, 2000).withLag(1e5).observe(11));
    const d = r.step(feed.advance(10, 2000).withLag(1e5).observe(11));
    expect(d.replicas).toBe(12);
    expect(d.metricValue).toBeGreaterThan(11 * 1.1);
    const hpa = new HpaModel({ minReplicas: 1, maxReplicas: 12, clusterTolerance: 0.1, ...operatorBehavior(12, undefined) });
    expect(hpa.sync(0, d.metricValue, 1, 11)).toBe(12);
  });

  it('a step down inside the tolerance band is not asked for (it would not land)', () => {
    const c = cfg({ evenSpread: false, hpaTolerance: 0.1, rebalanceHoldSeconds: 0, scaleDownStabilizationSeconds: 0 });
    const r = runner(c);
    const feed = new OffsetFeed(24);
    for (let i = 0; i < 5; i++) r.step(feed.advance(10, 700).observe(23));
    const last = r.decisions[r.decisions.length - 1]!;
    expect(last.recommended).toBe(21); // 16,800/s at 800 each; 21 ≥ 23 × 0.9
    expect(last.replicas).toBe(23);
    expect(last.reason).toBe('WithinTolerance');
  });
});

describe('requirement: prefer counts that spread partitions evenly', () => {
  it.each([
    [12, [1, 2, 3, 4, 6, 12]],
    [10, [1, 2, 3, 4, 5, 10]],
    [6, [1, 2, 3, 6]],
    [7, [1, 2, 3, 4, 7]],
    [1, [1]],
  ])('even counts of %i partitions', (P, counts) => {
    expect(evenCounts(P)).toEqual(counts);
  });

  it('every decision over a sweep of loads is an even count (P=12)', () => {
    for (let perPartition = 0; perPartition <= 900; perPartition += 25) {
      const d = sized(12, perPartition, perPartition * 2);
      expect(evenCounts(12), `${perPartition}/s a partition → ${d.replicas}`).toContain(d.replicas);
    }
  });

  it('the busiest consumer decides: 7 replicas would leave five consumers with two partitions', () => {
    // 5,040/s: 7 × 800 would carry the total, but the consumers holding 2 partitions get 840/s.
    expect(sized(12, 420, 0).replicas).toBe(12);
  });
});

describe('requirement: no flapping', () => {
  it('holds through a rebalance: no change for rebalanceHoldSeconds after the group changed', () => {
    const r = runner(cfg({ scaleDownStabilizationSeconds: 0, trendWindowSeconds: 10 }));
    const feed = new OffsetFeed(12);
    r.step(feed.advance(10, 300).observe(6));
    r.step(feed.advance(10, 300).observe(6));
    const up = r.step(feed.advance(10, 500).observe(6)); // 500/s a partition: one consumer each
    expect(up.replicas).toBe(12);
    // the HPA applied it and the pods joined; the load falls at once
    const held = r.step(feed.advance(10, 50).observe(12, 12));
    expect(held.replicas).toBe(12);
    expect(held.reason).toBe('RebalanceHold');
    r.step(feed.advance(10, 50).observe(12, 12));
    r.step(feed.advance(10, 50).observe(12, 12));
    const after = r.step(feed.advance(10, 50).observe(12, 12));
    expect(after.replicas).toBeLessThan(12);
  });

  it('amends a scale-up whose pods have not joined yet (no extra rebalance)', () => {
    const r = runner(cfg({ trendWindowSeconds: 10 }));
    const feed = new OffsetFeed(12);
    for (let i = 0; i < 4; i++) r.step(feed.advance(10, 200).observe(4));
    const first = r.step(feed.advance(10, 350).observe(4));
    expect(first.replicas).toBe(6);
    // two pods still starting; arrivals jump past what 4 consumers drain
    const amended = r.step(feed.advance(10, 900, 1000 / 3).observe(6, 4));
    expect(amended.replicas).toBe(12);
    expect(amended.reason).toBe('ScaleUp');
  });

  it('the lag of a rebalance pause does not send the count back up', () => {
    const r = runner(cfg());
    const feed = new OffsetFeed(12);
    for (let i = 0; i < 20; i++) r.step(feed.advance(10, 350).observe(12));
    // it wanted 6 after the stabilization window; the group shrinks, pauses 10 s, catches up
    expect(r.decisions[r.decisions.length - 1]!.replicas).toBe(6);
    feed.advance(10, 350, 0);
    const paused = r.step(feed.observe(6, 6));
    expect(paused.totalLag).toBe(12 * 3500);
    feed.advance(10, 350, 700); // two partitions a consumer at 1,000/s: 350/s net each
    expect(r.step(feed.observe(6, 6)).replicas).toBe(6);
    feed.advance(10, 350, 700);
    expect(r.step(feed.observe(6, 6)).replicas).toBe(6);
  });

  it('stabilizes scale-down: the highest recommendation of the window', () => {
    const r = runner(cfg({ scaleDownStabilizationSeconds: 120, rebalanceHoldSeconds: 0 }));
    const feed = new OffsetFeed(12);
    for (let i = 0; i < 4; i++) r.step(feed.advance(10, 350).observe(6));
    expect(r.decisions[r.decisions.length - 1]!.replicas).toBe(6);
    const seen: number[] = [];
    for (let i = 0; i < 16; i++) seen.push(r.step(feed.advance(10, 50).observe(6)).replicas);
    // 110 s of lower recommendations keep 6; at 120 s it goes down
    expect(seen.slice(0, 11).every((n) => n === 6)).toBe(true);
    expect(r.decisions[5]!.reason).toBe('ScaleDownStabilizing');
    expect(seen[seen.length - 1]).toBe(1);
  });

  it('noisy arrivals around a boundary change the count at most once in 30 minutes', () => {
    const r = runner(cfg());
    const feed = new OffsetFeed(12);
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
    let replicas = 6;
    let changes = 0;
    for (let t = 0; t < 1800; t += 10) {
      const d = r.step(feed.advance(10, 400 * (1 + noise())).observe(replicas)); // 2 × 400 = 800: right at the boundary of 6
      if (d.replicas !== replicas) changes++;
      replicas = d.replicas;
    }
    expect(changes).toBeLessThanOrEqual(1);
  });
});

describe('requirement: a partition whose lag does not move neither drives the count nor hides', () => {
  function stuckRun(over: Partial<PolicyConfig> = {}) {
    const r = runner(cfg(over));
    const feed = new OffsetFeed(6);
    let replicas = 2;
    for (let t = 0; t < 1200; t += 10) {
      const drain = t >= 60 ? [Infinity, Infinity, 0, Infinity, Infinity, Infinity] : Infinity;
      replicas = r.step(feed.advance(10, 200, drain).observe(replicas)).replicas;
    }
    return r.decisions;
  }

  it('the count stays where the other partitions need it (2 of 6), never at the maximum', () => {
    const ds = stuckRun();
    expect(Math.max(...ds.map((d) => d.replicas))).toBe(2);
  });

  it('is reported stuck after stuckPartitionSeconds, and its lag stays in the total', () => {
    const ds = stuckRun();
    const at = (t: number) => ds[t / 10]!;
    expect(at(100).stuckPartitions).toEqual([]);
    expect(at(200).stuckPartitions).toEqual([2]);
    expect(at(1190).stuckPartitions).toEqual([2]);
    expect(at(1190).totalLag).toBe(at(1190).lagPerPartition[2]);
    expect(at(1190).totalLag).toBeGreaterThan(200_000);
  });

  it('keeps a consumer for it even when everything else is idle and scale to zero is on', () => {
    const r = runner(cfg({ minReplicas: 0, scaleToZero: true, idleSecondsBeforeZero: 60 }));
    const feed = new OffsetFeed(3);
    let replicas = 1;
    for (let t = 0; t < 600; t += 10) replicas = r.step(feed.advance(10, t < 30 ? [0, 5, 0] : 0, [Infinity, 0, Infinity]).observe(replicas)).replicas;
    expect(replicas).toBe(1);
    expect(r.decisions[r.decisions.length - 1]!.stuckPartitions).toEqual([1]);
  });

  it('once it moves again its backlog is real demand', () => {
    const r = runner(cfg());
    const feed = new OffsetFeed(6);
    let replicas = 2;
    for (let t = 0; t < 300; t += 10)
      replicas = r.step(feed.advance(10, 200, t >= 60 ? [Infinity, Infinity, 0, Infinity, Infinity, Infinity] : Infinity).observe(replicas)).replicas;
    expect(replicas).toBe(2);
    const d = r.step(feed.advance(10, 200, [Infinity, Infinity, 1000, Infinity, Infinity, Infinity]).observe(replicas));
    expect(d.stuckPartitions).toEqual([]);
    expect(d.replicas).toBe(6);
  });
});

describe('requirement: scale to zero only if enabled, with an activation threshold', () => {
  function idleFor(seconds: number, over: Partial<PolicyConfig>, start = 1) {
    const r = runner(cfg(over));
    const feed = new OffsetFeed(4);
    let replicas = start;
    for (let t = 0; t < seconds; t += 10) replicas = r.step(feed.advance(10, 0).observe(replicas)).replicas;
    return { replicas, r, feed };
  }

  it.each([
    ['disabled (default): an idle hour keeps 1', {}, 1],
    ['minReplicas 0 without scaleToZero keeps 1', { minReplicas: 0 }, 1],
    ['scaleToZero with minReplicas 1 keeps 1', { scaleToZero: true }, 1],
    ['enabled: zero after idleSecondsBeforeZero', { minReplicas: 0, scaleToZero: true, idleSecondsBeforeZero: 300 }, 0],
  ])('%s', (_l, over, expected) => {
    expect(idleFor(3600, over).replicas).toBe(expected);
  });

  it('not before idleSecondsBeforeZero', () => {
    expect(idleFor(200, { minReplicas: 0, scaleToZero: true, idleSecondsBeforeZero: 300 }).replicas).toBe(1);
  });

  it.each([
    ['lag at the threshold stays at zero', 100, 100, 0, 'Idle'],
    ['lag above the threshold activates at once', 100, 101, 1, 'Activate'],
    ['a large backlog activates straight to the count it needs', 0, 1e6, 4, 'Activate'],
  ])('%s', (_l, activationLag, lag, expected, reason) => {
    const { r, feed } = idleFor(600, { minReplicas: 0, scaleToZero: true, idleSecondsBeforeZero: 60, activationLag });
    expect(r.decisions[r.decisions.length - 1]!.replicas).toBe(0);
    feed.advance(1, 0);
    for (let q = 0; q < 4; q++) feed.logEnd[q]! += lag / 4;
    const d = r.step(feed.observe(0));
    expect([d.replicas, d.reason]).toEqual([expected, reason]);
  });
});

describe('measured rate and trend', () => {
  it('learns a lower per-replica rate from saturated consumers and sizes up', () => {
    const r = runner(cfg({ rebalanceHoldSeconds: 0 }));
    const feed = new OffsetFeed(12);
    feed.advance(10, 300).withLag(50_000);
    // 4 replicas, 3 partitions each, only 600/s a consumer (200/s a partition): backlog grows
    let d = r.step(feed.observe(4));
    for (let i = 0; i < 12; i++) d = r.step(feed.advance(10, 300, 200).observe(4));
    expect(d.ratePerReplica).toBeLessThan(700);
    expect(d.ratePerReplica).toBeGreaterThan(550);
    expect(d.replicas).toBe(12);
  });

  it('does not lower the rate while consumers are idle (a lower bound only)', () => {
    const r = runner(cfg());
    const feed = new OffsetFeed(12);
    let d = r.step(feed.observe(12));
    for (let i = 0; i < 12; i++) d = r.step(feed.advance(10, 10).observe(12));
    expect(d.ratePerReplica).toBe(1000);
  });

  it('a rising trend asks for more than the same rate held flat', () => {
    const c = cfg({ rebalanceHoldSeconds: 0, scaleDownStabilizationSeconds: 0 });
    const flat = runner(c);
    const ramp = runner(c);
    const f1 = new OffsetFeed(12);
    const f2 = new OffsetFeed(12);
    for (const v of [80, 180, 280]) {
      flat.step(f1.advance(10, 380).observe(6));
      ramp.step(f2.advance(10, v).observe(6));
    }
    const a = flat.step(f1.advance(10, 380).observe(6));
    const b = ramp.step(f2.advance(10, 380).observe(6));
    expect(a.replicas).toBe(6); // 2 × 380 = 760 ≤ 800
    expect(b.replicas).toBe(12); // rising: more than 800 a pair when the change lands
  });
});

describe('purity', () => {
  it('same input, same output; inputs untouched', () => {
    const feed = new OffsetFeed(6);
    const o1 = feed.advance(10, 100).observe(2);
    const first = decide(cfg(), o1, undefined);
    const o2 = feed.advance(10, 300).withLag(500).observe(2);
    const snapshot = JSON.stringify([o2, first.state]);
    const a = decide(cfg(), o2, first.state);
    const b = decide(cfg(), o2, first.state);
    expect(a).toEqual(b);
    expect(JSON.stringify([o2, first.state])).toBe(snapshot);
  });

  it('after a restart (no state, no rates yet) it never scales down on lag alone', () => {
    const feed = new OffsetFeed(12).advance(10, 100);
    const d = decide(cfg(), feed.observe(12), undefined);
    expect([d.replicas, d.reason]).toEqual([12, 'Initial']);
    const next = decide(cfg(), feed.advance(10, 100).observe(12), d.state);
    expect(next.replicas).toBe(12); // the window still holds 12
  });

  it('a topic without partitions keeps the count', () => {
    const d = decide(cfg(), { at: 0, replicas: 3, partitions: [] }, undefined);
    expect([d.replicas, d.reason]).toEqual([3, 'NoPartitions']);
  });
});
