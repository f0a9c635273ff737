/**
 * Prometheus histogram arithmetic for the validation's freshness figures: parse the text
 * exposition of several consumers, subtract a "before" scrape, and interpolate quantiles the way
 * PromQL's histogram_quantile does.
 */
export type Buckets = Map<number, number>; // upper bound (le) → cumulative count

export function parseHistogram(text: string, name: string): Buckets {
  const out: Buckets = new Map();
  const re = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\}\\s+(\\S+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

export function addBuckets(a: Buckets, b: Buckets): Buckets {
  const out: Buckets = new Map(a);
  for (const [le, n] of b) out.set(le, (out.get(le) ?? 0) + n);
  return out;
}

export function subtractBuckets(after: Buckets, before: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [le, n] of after) out.set(le, n - (before.get(le) ?? 0));
  return out;
}

export function total(b: Buckets): number {
  return b.get(Number.POSITIVE_INFINITY) ?? 0;
}

/** Quantile q (0..1) by linear interpolation inside the bucket that holds it; undefined when empty. */
export function quantile(b: Buckets, q: number): number | undefined {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const n = total(b);
  if (n <= 0) return undefined;
  const rank = q * n;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const c = b.get(le)!;
    if (c >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevBound;
      const inBucket = c - prevCount;
      return inBucket <= 0 ? le : prevBound + ((le - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = le;
    prevCount = c;
  }
  return prevBound;
}
