import { describe, expect, it } from 'vitest';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaModel, operatorBehavior } from './hpa.js';

const defaults = (min = 1, max = 100) => new HpaModel({ minReplicas: min, maxReplicas: max, scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });

describe('HPA model (External metric, AverageValue)', () => {
  it('default scale-up: max(+100 %, +4 pods) per 15 s', () => {
    const h = defaults();
    let r = 1;
    const seen: number[] = [];
    for (let t = 0; t < 75; t += 15) seen.push((r = h.sync(t, 40, 1, r)));
    expect(seen).toEqual([5, 10, 20, 40, 40]);
  });

  it.each([
    // current, value, expected (target 1, tolerance 10 %)
    [10, 11, 11], // ratio 1.1000000001: just outside
    [11, 12, 11], // 1.09: inside the band, no change
    [20, 21, 20],
    [10, 9, 10], // 0.9: inside
  ])('tolerance: %i replicas, value %i → %i', (current, value, expected) => {
    expect(defaults().sync(0, value, 1, current)).toBe(expected);
  });

  it('scale-down waits for the 300 s stabilization window', () => {
    const h = defaults();
    let r = h.sync(0, 8, 1, 8);
    const seen: number[] = [];
    for (let t = 15; t <= 330; t += 15) seen.push((r = h.sync(t, 2, 1, r)));
    expect(seen.slice(0, 19).every((n) => n === 8)).toBe(true); // t = 15 … 285
    expect(seen[seen.length - 1]).toBe(2);
  });

  it('at zero replicas with minReplicas > 0, scaling is disabled', () => {
    expect(defaults().sync(0, 50, 1, 0)).toBe(0);
  });

  it('clamps to maxReplicas: a value past the band lands on the maximum', () => {
    const h = new HpaModel({ minReplicas: 1, maxReplicas: 12, ...operatorBehavior(12, undefined) });
    expect(h.sync(0, 13, 1, 11)).toBe(12);
  });

  it('our behaviour: any step in one sync, no stabilization, zero tolerance', () => {
    const h = new HpaModel({ minReplicas: 1, maxReplicas: 24, ...operatorBehavior(24, 0) });
    expect(h.sync(0, 24, 1, 1)).toBe(24);
    expect(h.sync(15, 23, 1, 24)).toBe(23);
    expect(h.sync(30, 1, 1, 23)).toBe(1);
  });
});
