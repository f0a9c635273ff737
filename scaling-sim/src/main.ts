#!/usr/bin/env node
/**
 * `make sim`: runs our policy and KEDA's Kafka scaler (behind the default HPA) on the same
 * arrival profiles, prints the side-by-side table and writes an SVG plot per profile.
 *
 *   node operator/dist/sim/main.js [--out reports/sim] [--partitions 12] [--rate 1000]
 *       [--target 10] [--startup 15] [--pause 10] [--max 24] [--seed 42]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { profiles } from './profiles.js';
import { markdownTable, verdicts } from './report.js';
import { DEFAULT_SIM, runOne, type RunResult, type SimParams } from './run.js';
import { SCALERS } from './scenarios.js';
import { plotProfile } from './svg.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'reports/sim' },
    partitions: { type: 'string' },
    rate: { type: 'string' },
    target: { type: 'string' },
    startup: { type: 'string' },
    pause: { type: 'string' },
    max: { type: 'string' },
    seed: { type: 'string' },
  },
});

function num(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name}: not a number: ${v}\n`);
    process.exit(2);
  }
  return n;
}

const sim: SimParams = {
  ...DEFAULT_SIM,
  partitions: num('partitions', values.partitions, DEFAULT_SIM.partitions),
  ratePerReplica: num('rate', values.rate, DEFAULT_SIM.ratePerReplica),
  freshnessTargetSeconds: num('target', values.target, DEFAULT_SIM.freshnessTargetSeconds),
  startupSeconds: num('startup', values.startup, DEFAULT_SIM.startupSeconds),
  rebalancePauseSeconds: num('pause', values.pause, DEFAULT_SIM.rebalancePauseSeconds),
  maxReplicas: num('max', values.max, DEFAULT_SIM.maxReplicas),
  seed: num('seed', values.seed, DEFAULT_SIM.seed),
};

const out = values.out ?? 'reports/sim';
mkdirSync(out, { recursive: true });
const results: RunResult[] = [];
const capacity = sim.partitions * sim.ratePerReplica;
for (const profile of profiles(capacity)) {
  const runs = SCALERS.map((s) => runOne(profile, s, sim));
  results.push(...runs);
  writeFileSync(join(out, `${profile.name}.svg`), plotProfile(profile.name, profile.description, runs, sim.freshnessTargetSeconds, sim.ratePerReplica));
}

const header =
  `Simulation: P=${sim.partitions} partitions, ${sim.ratePerReplica} rec/s per replica, freshness target ${sim.freshnessTargetSeconds}s, ` +
  `pod startup ${sim.startupSeconds}s, rebalance pause ${sim.rebalancePauseSeconds}s on every membership change, ` +
  `HPA sync ${sim.hpaSyncSeconds}s, operator poll ${sim.operatorPollSeconds}s, min ${sim.minReplicas} / max ${sim.maxReplicas} replicas, ` +
  `${sim.warmupSeconds}s warm-up not counted.\n` +
  `worst / p99: record latency produce → consumed (s), partitions that are not stuck; above target: seconds the oldest unconsumed record was older than the target.\n\n`;
const table = markdownTable(results);
const notes = verdicts(results, SCALERS[0]!.name)
  .map((v) => `- ${v}`)
  .join('\n');
process.stdout.write(header + table + '\n' + notes + '\n\n' + `plots: ${join(out, '*.svg')}\n`);
writeFileSync(join(out, 'results.md'), header + table + '\n' + notes + '\n');
writeFileSync(
  join(out, 'results.json'),
  JSON.stringify(
    results.map(({ series: _s, ...r }) => r),
    null,
    2,
  ) + '\n',
);
