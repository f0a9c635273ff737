/**
 * Replica counts that spread P partitions evenly. With R consumers the busiest one holds
 * ceil(P/R) partitions, so any R between two such counts pays for replicas that do not lower the
 * busiest consumer's share: for P = 12 the counts worth having are 1, 2, 3, 4, 6 and 12 (7 to 11
 * leave some consumer with 2 partitions, like 6 does).
 */
export function evenCounts(partitions: number): number[] {
  const out = new Set<number>();
  for (let k = 1; k <= partitions; k++) out.add(Math.ceil(partitions / k));
  return [...out].sort((a, b) => a - b);
}

/** Partitions the busiest of `replicas` consumers holds. */
export function partitionsPerReplica(partitions: number, replicas: number): number {
  return replicas <= 0 ? partitions : Math.ceil(partitions / replicas);
}

/**
 * The counts the policy may choose between `floor` and `cap` (both included when in range):
 * the even counts when `even`, else every integer.
 */
export function allowedCounts(partitions: number, floor: number, cap: number, even: boolean): number[] {
  const lo = Math.max(0, floor);
  if (cap < lo) return [cap];
  const base = even ? evenCounts(partitions) : Array.from({ length: cap }, (_, i) => i + 1);
  const set = new Set(base.filter((c) => c >= lo && c <= cap));
  set.add(lo);
  return [...set].sort((a, b) => a - b);
}

/** The largest count worth running: the top even count not above min(maxReplicas, partitions). */
export function usefulCap(partitions: number, maxReplicas: number, even: boolean): number {
  const hard = Math.max(1, Math.min(maxReplicas, partitions));
  if (!even) return hard;
  const counts = evenCounts(partitions).filter((c) => c <= hard);
  return counts[counts.length - 1] ?? hard;
}
