import { IngestError } from '@clinical-ingest/intake-core';
import {
  FencedError,
  type BatchCommit,
  type DeadLetters,
  type IntakeLog,
  type IdentityCache,
  type IdentityStore,
  type IdentityToResolve,
  type MasterStore,
  type PartitionPosition,
  type PublicItem,
  type PublicStore,
  type RejectedRow,
  type ResolvedIdentities,
} from '../ports.js';

/**
 * In-memory stand-ins for the ports, for unit tests of the processor's logic only. Integration
 * tests use the real servers.
 */
export class FakeMaster implements MasterStore, IdentityStore {
  positions = new Map<number, { next: number; published: number }>();
  /** The database's epoch (see PartitionPosition.epoch). */
  epoch = 'e1';
  log: BatchCommit['accepted'][number][] = [];
  rejected: RejectedRow[] = [];
  state = new Map<string, { color: string; eventTimeMs: number; offset: number; rev: number }>();
  ids = new Map<string, string>();
  commits = 0;
  /** Refuses, as PostgreSQL refuses a value it cannot store, every batch with a record whose name matches. */
  refuse: ((name: string) => boolean) | undefined;
  /** Thrown by the next commitBatch, once. */
  failNext: Error | undefined;
  #seq = 0;

  async storedPosition(_t: string, p: number): Promise<PartitionPosition | undefined> {
    const pos = this.positions.get(p);
    return pos ? { ...pos, epoch: this.epoch } : undefined;
  }

  async position(_t: string, p: number, initial: number): Promise<PartitionPosition> {
    if (!this.positions.has(p)) this.positions.set(p, { next: initial, published: initial });
    return { ...this.positions.get(p)!, epoch: this.epoch };
  }

  async commitBatch(b: BatchCommit): Promise<PublicItem[]> {
    const pos = this.positions.get(b.partition);
    if (b.epoch !== this.epoch) throw new IngestError('EPOCH_CHANGED', 'the master store epoch moved', { retriable: true });
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (this.refuse && b.accepted.some((r) => this.refuse!(r.record.name))) {
      throw new IngestError('DB_22021', 'database operation commit_batch failed (SQLSTATE 22021)', { recordFault: true });
    }
    if (!pos || pos.next !== b.expectedNext) throw new FencedError('fenced');
    this.commits++;
    pos.next = b.next;
    pos.published = Math.max(pos.published, Math.min(b.publishedThrough, b.next));
    this.log.push(...b.accepted);
    this.rejected.push(...b.rejected);
    const changed: PublicItem[] = [];
    for (const r of b.newestPerPatient) {
      const cur = this.state.get(r.patientId);
      // The real store inserts such a state without a conflict check: a state would violate its key.
      if (r.newIdentity && cur) throw new Error(`patient ${r.patientId} marked new but has a state`);
      const newer = !cur || r.record.eventTimeMs > cur.eventTimeMs || (r.record.eventTimeMs === cur.eventTimeMs && r.offset > cur.offset);
      if (!newer) continue;
      const rev = (cur?.rev ?? 0) + 1;
      this.state.set(r.patientId, { color: r.record.favoriteColor, eventTimeMs: r.record.eventTimeMs, offset: r.offset, rev });
      changed.push({ patientId: r.patientId, favoriteColor: r.record.favoriteColor, rev });
    }
    return changed;
  }

  async publicStateForRange(_t: string, _p: number, from: number, to: number): Promise<PublicItem[]> {
    const pids = new Set(this.log.filter((r) => r.offset >= from && r.offset < to).map((r) => r.patientId));
    return [...pids].map((pid) => {
      const s = this.state.get(pid)!;
      return { patientId: pid, favoriteColor: s.color, rev: s.rev };
    });
  }

  /** As a restore to an empty database: every identity, record, state and position is gone. */
  restoreEmpty(): void {
    this.positions.clear();
    this.log = [];
    this.rejected = [];
    this.state.clear();
    this.ids.clear();
  }

  async rejectedForRange(_t: string, _p: number, from: number, to: number): Promise<RejectedRow[]> {
    return this.rejected.filter((r) => r.offset >= from && r.offset < to);
  }

  async markPublished(_t: string, p: number, offset: number): Promise<void> {
    const pos = this.positions.get(p)!;
    if (pos.published < offset && pos.next >= offset) pos.published = offset;
  }

  async stampCommits(): Promise<number> {
    return 0;
  }

  async resolve(identities: readonly IdentityToResolve[]): Promise<ResolvedIdentities> {
    const ids = new Map<string, string>();
    const created = new Set<string>();
    for (const i of identities) {
      if (!this.ids.has(i.keyB64)) {
        this.ids.set(i.keyB64, `00000000-0000-4000-8000-${String(++this.#seq).padStart(12, '0')}`);
        created.add(i.keyB64);
      }
      ids.set(i.keyB64, this.ids.get(i.keyB64)!);
    }
    return { ids, created };
  }
}

export class FakeCache implements IdentityCache {
  map = new Map<string, string>();
  failing = false;
  async getMany(namespace: string, keys: readonly string[]) {
    if (this.failing) throw new Error('cache down');
    return keys.map((k) => this.map.get(`${namespace}:${k}`) ?? null);
  }
  async putMany(namespace: string, entries: ReadonlyMap<string, string>) {
    if (this.failing) throw new Error('cache down');
    for (const [k, v] of entries) this.map.set(`${namespace}:${k}`, v);
  }
}

export class FakePublic implements PublicStore {
  readonly kind = 'postgres' as const;
  items = new Map<string, PublicItem>();
  puts = 0;
  async put(items: readonly PublicItem[]) {
    this.puts++;
    for (const i of items) {
      const cur = this.items.get(i.patientId);
      if (!cur || cur.rev < i.rev) this.items.set(i.patientId, i);
    }
  }
  async get(ids: readonly string[]) {
    return new Map(ids.filter((i) => this.items.has(i)).map((i) => [i, this.items.get(i)!]));
  }
  async count() {
    return this.items.size;
  }
  async *scan() {
    yield [...this.items.values()];
  }
  async attributeNames() {
    return this.items.size === 0 ? [] : ['favorite_color', 'patient_id', 'rev'];
  }
  async close() {}
}

export class FakeDeadLetters implements DeadLetters {
  sent: { partition: number; row: RejectedRow }[] = [];
  async publish(_t: string, partition: number, rows: readonly RejectedRow[]) {
    for (const row of rows) this.sent.push({ partition, row });
  }
}

export class FakeIntakeLog implements IntakeLog {
  /** The log start offset of every partition. */
  earliest = 0;
  async earliestOffset(): Promise<number> {
    return this.earliest;
  }
}
