#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { TestPlatform } from '../index.js';
import { createLogger } from '@clinical-ingest/intake-core';
import { formatChaosTable, runScenario, scenarios, type ScenarioResult } from './run.js';

/**
 * `make chaos`: the fault suite on the local platform (`make up`; it starts its own consumers on
 * fresh topics). CHAOS_RECORDS (default 20000) records per scenario at CHAOS_RATE (default 4000)
 * records/s; CHAOS_SCENARIOS picks scenarios by a part of their name (comma list). Prints the
 * table and exits non-zero if any scenario lost, doubled or split anything, left the public store
 * unequal to the master, or let the canary PHI out.
 */
/** The suite's output: scenario names, counts and the table, never a record's content. */
const out = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const records = Number(process.env['CHAOS_RECORDS'] ?? 20_000);
  const rate = Number(process.env['CHAOS_RATE'] ?? 4_000);
  const pick = (process.env['CHAOS_SCENARIOS'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const chosen = scenarios().filter((s) => pick.length === 0 || pick.some((p) => s.name.toLowerCase().includes(p)));
  const platform = await TestPlatform.connect();
  const results: ScenarioResult[] = [];
  try {
    for (const s of chosen) {
      out(`chaos: ${s.name} …`);
      results.push(await runScenario(s, { platform, root, records, rate, partitions: 6, log: (line) => out(`chaos: ${line}`) }));
    }
  } finally {
    await platform.close();
  }
  out(`\n${formatChaosTable(results)}\n`);
  const failed = results.filter((r) => !r.pass).length;
  out(failed === 0 ? `chaos: PASS (${results.length} scenarios)` : `chaos: FAIL (${failed} of ${results.length} scenarios)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  createLogger('chaos').fatal({ err }, 'the fault suite failed to run');
  process.exit(1);
});
