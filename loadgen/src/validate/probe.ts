import type { ProduceSummary, ProducibleRecord } from '../producer.js';
import { generateRecords } from '../generator.js';
import { sampleProcesses } from '../machine.js';
import { scrape } from './run.js';

/**
 * What the running pipeline carries on this machine, measured: a short burst through Kafka, the
 * consumers and both stores, as fast as it goes. `make demo` paces the DynamoDB-API leg to a share
 * of it, because dynalite shares the machine's cores and boxes differ threefold in speed: a rate
 * written into the Makefile would fit only the box it was measured on.
 */

export interface ProbeDeps {
  readonly metricsUrls: readonly string[];
  readonly produce: (records: readonly ProducibleRecord[]) => Promise<ProduceSummary>;
  /** The local platform's pid files (for the public store's CPU), if it runs here. */
  readonly runDir?: string;
}

export interface ProbeResult {
  readonly records: number;
  /** Records stored and published per second, from the first send until the last was published. */
  readonly carriedPerSecond: number;
  /** CPU µs per record of the DynamoDB-API server (dynalite), when it runs on this machine. */
  readonly publicStoreMicrosPerItem?: number;
}

/** Shares of the measured rate a paced run uses: headroom for the freshness and completeness checks. */
export const PACED_SHARE = 0.7;
/** A paced leg holds at most this many seconds of records, so that it fits the 60 s criterion. */
export const PACED_LEG_SECONDS = 50;

export async function probeCarriedRate(deps: ProbeDeps, count = 20_000, seed = 1_000_003): Promise<ProbeResult> {
  const records = [...generateRecords({ count, seed: seed + (Date.now() % 1_000_000), payloadBytes: 0 })].map((r) => ({ key: r.key, value: r.value }));
  const before = (await scrape(deps.metricsUrls)).records;
  const cpu0 = deps.runDir === undefined ? undefined : sampleProcesses(deps.runDir).get('dynalite');
  const t0 = Date.now();
  await deps.produce(records);
  for (;;) {
    if ((await scrape(deps.metricsUrls)).records - before >= count) break;
    if (Date.now() - t0 > 300_000) throw new Error(`probe: the consumers did not process ${count} records within 5 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - t0) / 1000;
  const cpu1 = deps.runDir === undefined ? undefined : sampleProcesses(deps.runDir).get('dynalite');
  return {
    records: count,
    carriedPerSecond: count / seconds,
    ...(cpu0 !== undefined && cpu1 !== undefined ? { publicStoreMicrosPerItem: ((cpu1 - cpu0) / count) * 1e6 } : {}),
  };
}

/** The paced rate and record count for a leg from a probe's result. */
export function pacedLeg(probe: ProbeResult, wantedCount: number): { rate: number; count: number } {
  const rate = Math.max(1, Math.floor(probe.carriedPerSecond * PACED_SHARE));
  return { rate, count: Math.min(wantedCount, rate * PACED_LEG_SECONDS) };
}
