import type { RunResult } from './run.js';

const COLORS = ['#1b6ac9', '#d1495b', '#edae49', '#00798c', '#6a4c93'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Points of a series, down-sampled to at most one per pixel column (keeps each column's max). */
function path(ts: readonly number[], ys: readonly number[], x: (t: number) => number, y: (v: number) => number, step: boolean): string {
  const out: string[] = [];
  let lastX = Number.NaN;
  let colMax = Number.NEGATIVE_INFINITY;
  let colT = 0;
  let prevY: number | undefined;
  const flush = () => {
    if (Number.isNaN(lastX)) return;
    const py = y(colMax);
    if (step && prevY !== undefined && prevY !== py) out.push(`${lastX.toFixed(1)},${prevY.toFixed(1)}`);
    out.push(`${x(colT).toFixed(1)},${py.toFixed(1)}`);
    prevY = py;
  };
  for (let i = 0; i < ts.length; i++) {
    const px = Math.round(x(ts[i]!));
    if (px !== lastX) {
      flush();
      lastX = px;
      colMax = ys[i]!;
      colT = ts[i]!;
    } else colMax = Math.max(colMax, ys[i]!);
  }
  flush();
  return out.join(' ');
}

/**
 * One SVG per profile: the freshness (age of the oldest unconsumed record) on top, with the
 * target; the replicas below, with the count the arrivals alone need (arrivals ÷ per-replica rate).
 */
export function plotProfile(profile: string, description: string, runs: readonly RunResult[], target: number, ratePerReplica: number): string {
  const W = 960;
  const H = 560;
  const left = 60;
  const right = 20;
  const top1 = 50;
  const h1 = 200;
  const top2 = top1 + h1 + 60;
  const h2 = 160;
  const first = runs[0]!;
  const t0 = first.series.t[0] ?? 0;
  const t1 = first.series.t[first.series.t.length - 1] ?? 1;
  const x = (t: number) => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left - right);
  const maxLag = Math.max(target * 2, ...runs.map((r) => Math.max(...r.series.lagSeconds)));
  const y1 = (v: number) => top1 + h1 - (Math.min(v, maxLag) / maxLag) * h1;
  const maxRep = Math.max(...runs.map((r) => Math.max(...r.series.replicas)), ...first.series.arrival.map((a) => a / ratePerReplica)) + 1;
  const y2 = (v: number) => top2 + h2 - (v / maxRep) * h2;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(profile)}</text>`);
  parts.push(`<text x="${left}" y="36" fill="#555">${esc(description)}</text>`);
  // axes
  for (const [top, h, label, max] of [
    [top1, h1, 'oldest unconsumed record (s)', maxLag],
    [top2, h2, 'replicas', maxRep],
  ] as const) {
    parts.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${h}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${left - 8}" y="${top + 4}" text-anchor="end">${Math.round(max)}</text>`);
    parts.push(`<text x="${left - 8}" y="${top + h + 4}" text-anchor="end">0</text>`);
    parts.push(`<text x="${left + 4}" y="${top - 6}" fill="#333">${esc(label)}</text>`);
  }
  for (let t = Math.ceil(t0 / 600) * 600; t <= t1; t += 600) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top2 + h2}" y2="${top2 + h2 + 5}" stroke="#999"/>`);
    parts.push(`<text x="${x(t)}" y="${top2 + h2 + 18}" text-anchor="middle">${t}s</text>`);
  }
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${y1(target)}" y2="${y1(target)}" stroke="#2a9d8f" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${W - right - 4}" y="${y1(target) - 4}" text-anchor="end" fill="#2a9d8f">target ${target}s</text>`);
  const need = first.series.arrival.map((a) => a / ratePerReplica);
  parts.push(`<polyline fill="none" stroke="#aaa" stroke-dasharray="3 3" points="${path(first.series.t, need, x, y2, false)}"/>`);
  runs.forEach((r, i) => {
    const color = COLORS[i % COLORS.length]!;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.4" points="${path(r.series.t, r.series.lagSeconds, x, y1, false)}"/>`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.4" points="${path(r.series.t, r.series.replicas, x, y2, true)}"/>`);
    const ly = H - 30 + 0;
    const lx = left + i * 230;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${color}"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly - 4}">${esc(r.scaler)}</text>`);
  });
  parts.push(`<text x="${left}" y="${H - 8}" fill="#777">dashed grey: replicas the arrivals alone need (arrivals ÷ per-replica rate)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
