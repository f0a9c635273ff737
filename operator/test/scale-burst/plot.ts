/**
 * The scale-burst trace's SVG: total lag on top; desired replicas (the policy), the Deployment's count (the
 * HPA) and the running consumer processes below, on one time axis. (scaling-sim/src/svg.ts plots the
 * simulation's RunResult; this trace has other series, so it has its own small plot.)
 */

export interface TraceRow {
  /** Seconds since the pipeline was created. */
  readonly t: number;
  readonly lag: number;
  readonly desired: number;
  readonly deployment: number;
  readonly ready: number;
  readonly processes: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plotTrace(rows: readonly TraceRow[], opts: { title: string; burst?: { start: number; end: number } }): string {
  const W = 960;
  const H = 560;
  const left = 70;
  const right = 160;
  const top1 = 50;
  const h1 = 200;
  const top2 = top1 + h1 + 60;
  const h2 = 160;
  const t0 = rows[0]?.t ?? 0;
  const t1 = Math.max(t0 + 1, rows.at(-1)?.t ?? 1);
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (W - left - right);
  const maxLag = Math.max(1, ...rows.map((r) => r.lag));
  const y1 = (v: number) => top1 + h1 - (v / maxLag) * h1;
  const maxRep = Math.max(2, ...rows.map((r) => Math.max(r.desired, r.deployment, r.processes))) + 1;
  const y2 = (v: number) => top2 + h2 - (v / maxRep) * h2;
  const line = (ys: (r: TraceRow) => number, y: (v: number) => number, step: boolean) => {
    const pts: string[] = [];
    let prev: number | undefined;
    for (const r of rows) {
      const py = y(ys(r));
      if (step && prev !== undefined && prev !== py) pts.push(`${x(r.t).toFixed(1)},${prev.toFixed(1)}`);
      pts.push(`${x(r.t).toFixed(1)},${py.toFixed(1)}`);
      prev = py;
    }
    return pts.join(' ');
  };
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  p.push(`<rect width="100%" height="100%" fill="white"/>`);
  p.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(opts.title)}</text>`);
  if (opts.burst) {
    const bx = x(opts.burst.start);
    p.push(
      `<rect x="${bx.toFixed(1)}" y="${top1}" width="${Math.max(1, x(opts.burst.end) - bx).toFixed(1)}" height="${top2 + h2 - top1}" fill="#edae49" opacity="0.15"/>`,
    );
    p.push(`<text x="${(bx + 4).toFixed(1)}" y="${top1 + 14}" fill="#8a6400">burst</text>`);
  }
  for (const [top, h, label, max] of [
    [top1, h1, 'total lag (records)', maxLag],
    [top2, h2, 'replicas', maxRep],
  ] as const) {
    p.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${h}" fill="none" stroke="#999"/>`);
    p.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${label}</text>`);
    p.push(`<text x="${left - 6}" y="${top + 4}" text-anchor="end">${Math.round(max)}</text>`);
    p.push(`<text x="${left - 6}" y="${top + h}" text-anchor="end">0</text>`);
  }
  for (let r = 1; r < maxRep; r++)
    p.push(
      `<line x1="${left}" x2="${W - right}" y1="${y2(r).toFixed(1)}" y2="${y2(r).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y2(r) + 4).toFixed(1)}" text-anchor="end">${r}</text>`,
    );
  const step = Math.max(10, Math.ceil((t1 - t0) / 10 / 10) * 10);
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) p.push(`<text x="${x(t).toFixed(1)}" y="${top2 + h2 + 16}" text-anchor="middle">${t}s</text>`);
  p.push(`<polyline fill="none" stroke="#d1495b" stroke-width="2" points="${line((r) => r.lag, y1, false)}"/>`);
  const series: [string, string, (r: TraceRow) => number, string][] = [
    ['desired (policy)', '#1b6ac9', (r) => r.desired, '6 3'],
    ['Deployment (HPA)', '#00798c', (r) => r.deployment, ''],
    ['consumer processes', '#6a4c93', (r) => r.processes, '2 2'],
  ];
  series.forEach(([label, color, f, dash], i) => {
    p.push(`<polyline fill="none" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${line(f, y2, true)}"/>`);
    const ly = top2 + 14 + i * 18;
    p.push(
      `<line x1="${W - right + 10}" x2="${W - right + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''}/><text x="${W - right + 40}" y="${ly}">${esc(label)}</text>`,
    );
  });
  p.push(
    `<line x1="${W - right + 10}" x2="${W - right + 34}" y1="${top1 + 10}" y2="${top1 + 10}" stroke="#d1495b" stroke-width="2"/><text x="${W - right + 40}" y="${top1 + 14}">total lag</text>`,
  );
  p.push(`<text x="${(W - right) / 2}" y="${H - 12}" text-anchor="middle" fill="#555">seconds since the pipeline was created</text>`);
  p.push('</svg>');
  return p.join('\n');
}
