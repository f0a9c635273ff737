import type { RunResult } from './run.js';

export interface Row {
  readonly profile: string;
  readonly scaler: string;
  readonly cells: readonly string[];
}

export const COLUMNS = ['profile', 'scaler', 'worst (s)', 'p99 (s)', 'above target (s)', 'replica-s', 'scale changes', 'max replicas'] as const;

export function rows(results: readonly RunResult[]): string[][] {
  return results.map((r) => [
    r.profile,
    r.scaler,
    r.worstLatency.toFixed(1),
    r.p99Latency.toFixed(1),
    String(r.secondsAboveTarget),
    String(r.replicaSeconds),
    String(r.scaleChanges),
    String(r.maxReplicas),
  ]);
}

/** A Markdown table (also readable as plain text: columns padded). */
export function markdownTable(results: readonly RunResult[]): string {
  const body = rows(results);
  const all = [[...COLUMNS], ...body];
  const widths = COLUMNS.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) => '| ' + r.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, c) => (c < 2 ? ' ' + '-'.repeat(w) + ' ' : ' ' + '-'.repeat(w - 1) + ': ')).join('|') + '|';
  return [line(COLUMNS), sep, ...body.map(line)].join('\n') + '\n';
}

/** Per profile: does ours beat every KEDA variant on worst, p99 and time above target, and at what cost? */
export function verdicts(results: readonly RunResult[], ours: string): string[] {
  const out: string[] = [];
  const profiles = [...new Set(results.map((r) => r.profile))];
  for (const p of profiles) {
    const o = results.find((r) => r.profile === p && r.scaler === ours);
    if (!o) continue;
    for (const k of results.filter((r) => r.profile === p && r.scaler !== ours)) {
      const fresher = o.worstLatency <= k.worstLatency && o.p99Latency <= k.p99Latency && o.secondsAboveTarget <= k.secondsAboveTarget;
      const cheaper = o.replicaSeconds <= k.replicaSeconds;
      const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${Math.round(((a - b) / b) * 100)}%`);
      out.push(
        `${p} vs ${k.scaler}: ${fresher ? 'fresher' : 'NOT fresher on every measure'} ` +
          `(worst ${o.worstLatency.toFixed(1)} vs ${k.worstLatency.toFixed(1)} s, p99 ${o.p99Latency.toFixed(1)} vs ${k.p99Latency.toFixed(1)} s, above target ${o.secondsAboveTarget} vs ${k.secondsAboveTarget} s), ` +
          `${cheaper ? 'cheaper' : 'MORE replica-seconds'} (${pct(o.replicaSeconds, k.replicaSeconds)})`,
      );
    }
  }
  return out;
}
