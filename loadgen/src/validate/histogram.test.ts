import { describe, expect, it } from 'vitest';
import { addBuckets, parseHistogram, quantile, subtractBuckets, total } from './histogram.js';

const scrape = (counts: [string, number][]) =>
  [
    '# HELP x',
    ...counts.map(([le, n]) => `intake_freshness_seconds_bucket{le="${le}"} ${n}`),
    'intake_freshness_seconds_sum 1',
    'intake_freshness_seconds_count 1',
  ].join('\n');

describe('freshness histogram', () => {
  it('parses, sums consumers and subtracts a baseline', () => {
    const a = parseHistogram(
      scrape([
        ['0.1', 10],
        ['1', 20],
        ['+Inf', 20],
      ]),
      'intake_freshness_seconds',
    );
    const b = parseHistogram(
      scrape([
        ['0.1', 0],
        ['1', 10],
        ['+Inf', 10],
      ]),
      'intake_freshness_seconds',
    );
    const sum = addBuckets(a, b);
    expect(total(sum)).toBe(30);
    expect(total(subtractBuckets(sum, a))).toBe(10);
  });

  it('interpolates quantiles inside a bucket', () => {
    const h = parseHistogram(
      scrape([
        ['0.1', 0],
        ['0.2', 100],
        ['+Inf', 100],
      ]),
      'intake_freshness_seconds',
    );
    expect(quantile(h, 0.5)).toBeCloseTo(0.15);
    expect(quantile(h, 0.99)).toBeCloseTo(0.199);
  });

  it('has no quantile when empty', () => {
    expect(quantile(new Map(), 0.5)).toBeUndefined();
  });
});
