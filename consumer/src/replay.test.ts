import { describe, expect, it } from 'vitest';
import { formatReplayReport, replayRejects, type RejectFilter, type RejectsToReplay, type ReplayCandidate } from './replay.js';

/** The master store's rejects and claims, in memory, with transactions. */
class FakeRejects implements RejectsToReplay {
  claimed = new Set<string>();
  #pending: string[] = [];
  constructor(readonly rows: ReplayCandidate[]) {}
  async begin() {
    this.#pending = [];
  }
  async claim(f: RejectFilter, limit: number) {
    const out = this.rows
      .filter((r) => !this.claimed.has(`${r.partition}/${r.offset}`))
      .filter((r) => f.reasons.length === 0 || f.reasons.includes(r.reason) || f.reasons.includes(r.reason.split(':')[0]!))
      .filter((r) => f.partitions.length === 0 || f.partitions.includes(r.partition))
      .filter((r) => (!f.from || r.producedAt >= f.from) && (!f.to || r.producedAt < f.to))
      .slice(0, limit);
    this.#pending = out.map((r) => `${r.partition}/${r.offset}`);
    for (const k of this.#pending) this.claimed.add(k);
    return out;
  }
  async commit() {
    this.#pending = [];
  }
  async rollback() {
    for (const k of this.#pending) this.claimed.delete(k);
    this.#pending = [];
  }
}

const t = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s));
const row = (partition: number, offset: number, reason: string, s: number): ReplayCandidate => ({
  partition,
  offset,
  reason,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  producedAt: t(s),
});
const rows = [
  row(0, 1, 'invalid_date:dateOfBirth', 1),
  row(0, 5, 'malformed_json', 2),
  row(1, 2, 'invalid_date:dateOfBirth', 3),
  row(1, 9, 'blank_name:name', 4),
  row(2, 3, 'invalid_date:dateOfBirth', 5),
];
const all: RejectFilter = { topic: 'in', reasons: [], partitions: [] };

describe('replayRejects', () => {
  it('sends the chosen rejects by reason, partition and time, and reports them', async () => {
    const source = new FakeRejects(rows);
    const sent: ReplayCandidate[] = [];
    const report = await replayRejects(
      source,
      async (_topic, r) => void sent.push(...r),
      { ...all, reasons: ['invalid_date'], partitions: [0, 1], from: t(0), to: t(5) },
      { limit: 100, dryRun: false },
    );
    expect(sent.map((r) => `${r.partition}/${r.offset}`)).toEqual(['0/1', '1/2']);
    expect(report).toEqual({
      dryRun: false,
      sent: 2,
      byReason: { 'invalid_date:dateOfBirth': 2 },
      byPartition: { '0': 1, '1': 1 },
      firstProducedAt: t(1).toISOString(),
      lastProducedAt: t(3).toISOString(),
    });
    expect(formatReplayReport(report)).toContain('replayed 2 rejected record(s)');
  });

  it('is idempotent: a second run sends nothing again', async () => {
    const source = new FakeRejects(rows);
    const send = async () => {};
    expect((await replayRejects(source, send, all, { limit: 100, dryRun: false, pageSize: 2 })).sent).toBe(5);
    expect((await replayRejects(source, send, all, { limit: 100, dryRun: false })).sent).toBe(0);
  });

  it('claims nothing when Kafka did not take the records, so the next run sends them', async () => {
    const source = new FakeRejects(rows);
    await expect(replayRejects(source, async () => Promise.reject(new Error('broker down')), all, { limit: 100, dryRun: false })).rejects.toThrow(
      /broker down/,
    );
    expect(source.claimed.size).toBe(0);
    expect((await replayRejects(source, async () => {}, all, { limit: 100, dryRun: false })).sent).toBe(5);
  });

  it('a dry run counts everything and claims and sends nothing; the limit holds', async () => {
    const source = new FakeRejects(rows);
    let sends = 0;
    const dry = await replayRejects(source, async () => void sends++, all, { limit: 100, dryRun: true, pageSize: 2 });
    expect([dry.sent, sends, source.claimed.size]).toEqual([5, 0, 0]);
    expect((await replayRejects(source, async () => {}, all, { limit: 3, dryRun: false, pageSize: 2 })).sent).toBe(3);
  });
});
