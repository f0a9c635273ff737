import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../paths.js';
import { ALERTS, grafanaDashboard, PANELS, ruleGroups } from './definitions.js';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

describe('the alerts', () => {
  it('each links to a section of docs/operations.md that exists', () => {
    const anchors = new Set([...readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]!)));
    for (const a of ALERTS) expect(anchors, `${a.alert} → #${a.runbook}`).toContain(a.runbook);
  });

  it('have unique names, a severity, and an expression built from their signals', () => {
    expect(new Set(ALERTS.map((a) => a.alert)).size).toBe(ALERTS.length);
    for (const a of ALERTS) for (const s of a.signals) expect(a.expr).toContain(s);
    const rules = ruleGroups()[0]!.rules;
    expect(rules.map((r) => r['alert'])).toEqual(ALERTS.map((a) => a.alert));
    expect(rules.every((r) => ['page', 'ticket'].includes((r['labels'] as { severity: string }).severity))).toBe(true);
  });
});

describe('the dashboard', () => {
  it('has one panel per definition, each query with its own refId, laid out without overlap', () => {
    const d = grafanaDashboard() as { panels: { gridPos: { x: number; y: number }; targets: { refId: string }[] }[] };
    expect(d.panels).toHaveLength(PANELS.length);
    const cells = d.panels.map((p) => `${p.gridPos.x},${p.gridPos.y}`);
    expect(new Set(cells).size).toBe(cells.length);
    for (const p of d.panels) expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
  });
});
