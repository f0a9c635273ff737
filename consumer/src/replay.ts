/**
 * Replays rejected records: re-sends chosen rejects (by reason, partition, time range) to the
 * intake topic, unchanged and with their original key, so that they are decoded again after an
 * upstream fix or a change of the rules. Idempotent: each reject is claimed in the master store
 * (ingest.replayed_reject) in the transaction that commits only after Kafka acknowledged it, so a
 * second run sends nothing again. A crash between Kafka's acknowledgement and that commit leaves
 * the page unclaimed, and the next run sends it again: those copies carry the same
 * `x-replay-of` header.
 */

export interface RejectFilter {
  readonly topic: string;
  /** Reason codes (`invalid_date`, or with the field: `invalid_date:dateOfBirth`); none = all. */
  readonly reasons: readonly string[];
  /** Intake partitions; none = all. */
  readonly partitions: readonly number[];
  /** Produced at or after (inclusive), before (exclusive). */
  readonly from?: Date;
  readonly to?: Date;
}

export interface ReplayCandidate {
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly producedAt: Date;
}

/** The master store's rejects, claimed page by page inside a transaction. */
export interface RejectsToReplay {
  begin(): Promise<void>;
  claim(filter: RejectFilter, limit: number): Promise<ReplayCandidate[]>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Sends replayed records to the intake topic; resolves once Kafka acknowledged all of them. */
export type ReplaySend = (topic: string, rows: readonly ReplayCandidate[]) => Promise<void>;

export interface ReplayReport {
  readonly dryRun: boolean;
  readonly sent: number;
  readonly byReason: Record<string, number>;
  readonly byPartition: Record<string, number>;
  readonly firstProducedAt?: string;
  readonly lastProducedAt?: string;
}

export async function replayRejects(
  source: RejectsToReplay,
  send: ReplaySend,
  filter: RejectFilter,
  o: { readonly limit: number; readonly dryRun: boolean; readonly pageSize?: number; readonly onPage?: (sent: number) => void },
): Promise<ReplayReport> {
  // A dry run claims nothing (it rolls back), so it reads everything in one page.
  const pageSize = o.dryRun ? o.limit : (o.pageSize ?? 2_000);
  const byReason = new Map<string, number>();
  const byPartition = new Map<string, number>();
  let sent = 0;
  let first: Date | undefined;
  let last: Date | undefined;
  while (sent < o.limit) {
    await source.begin();
    let page: ReplayCandidate[];
    try {
      page = await source.claim(filter, Math.min(pageSize, o.limit - sent));
      if (page.length > 0 && !o.dryRun) await send(filter.topic, page);
    } catch (err) {
      await source.rollback().catch(() => {});
      throw err;
    }
    if (o.dryRun) await source.rollback();
    else await source.commit();
    for (const r of page) {
      byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
      byPartition.set(String(r.partition), (byPartition.get(String(r.partition)) ?? 0) + 1);
      if (first === undefined || r.producedAt < first) first = r.producedAt;
      if (last === undefined || r.producedAt > last) last = r.producedAt;
    }
    sent += page.length;
    o.onPage?.(sent);
    if (page.length < pageSize || o.dryRun) break;
  }
  return {
    dryRun: o.dryRun,
    sent,
    byReason: Object.fromEntries([...byReason].sort()),
    byPartition: Object.fromEntries([...byPartition].sort((a, b) => Number(a[0]) - Number(b[0]))),
    ...(first ? { firstProducedAt: first.toISOString() } : {}),
    ...(last ? { lastProducedAt: last.toISOString() } : {}),
  };
}

/** The report as a few lines of text (PHI-free: counts, reason codes, partitions, instants). */
export function formatReplayReport(r: ReplayReport): string {
  const lines = [
    `${r.dryRun ? 'would replay' : 'replayed'} ${r.sent} rejected record(s)${r.sent > 0 ? `, produced ${r.firstProducedAt} .. ${r.lastProducedAt}` : ''}`,
  ];
  for (const [reason, n] of Object.entries(r.byReason)) lines.push(`  reason ${reason}: ${n}`);
  for (const [p, n] of Object.entries(r.byPartition)) lines.push(`  partition ${p}: ${n}`);
  return lines.join('\n');
}
