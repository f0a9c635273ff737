import { createHash } from 'node:crypto';
import { decodeRecord, identityOf, normalizeName, partitionKey, rejectionCode, REJECT_REASONS } from '@clinical-ingest/intake-core';
import { describe, expect, it } from 'vitest';
import { INVALID_KINDS, RecordGenerator, varyName, type GeneratedRecord, type GeneratorOptions } from './generator.js';
import { payloadSlice, payloadSliceBytes } from './payload.js';

const NOW_MS = Date.parse('2026-11-25T18:00:00.000Z');
const NOW = new Date(NOW_MS);
const clock = (): number => NOW_MS;
const DAY = 86_400_000;

function generate(options: Partial<GeneratorOptions> & { count: number }): { records: GeneratedRecord[]; gen: RecordGenerator } {
  const gen = new RecordGenerator({ seed: 42, now: clock, ...options });
  return { records: [...gen], gen };
}

function digest(records: readonly GeneratedRecord[]): string {
  const h = createHash('sha256');
  for (const r of records) h.update(r.key).update('\0').update(r.value).update('\0').update(r.kind);
  return h.digest('hex');
}

const MIXED = { count: 10_000, returningRatio: 0.3, invalidRatio: 0.1, payloadBytes: 200 } as const;

describe('RecordGenerator determinism', () => {
  it('gives byte-identical output for the same seed and a different one for another seed', () => {
    const a = generate({ ...MIXED, count: 2000 }).records;
    const b = generate({ ...MIXED, count: 2000 }).records;
    const c = generate({ ...MIXED, count: 2000, seed: 43 }).records;
    expect(a).toHaveLength(2000);
    expect(digest(a)).toBe(digest(b));
    expect(a.map((r) => r.value.toString('hex'))).toEqual(b.map((r) => r.value.toString('hex')));
    expect(digest(c)).not.toBe(digest(a));
    // Not merely a shifted stream: most records differ.
    const same = a.filter((r, i) => r.value.equals(c[i]!.value)).length;
    expect(same).toBeLessThan(50); // the empty invalid values may coincide
  });

  it('announces the same expectation whatever the clock (a dry run predicts the real one)', () => {
    const a = new RecordGenerator({ ...MIXED, count: 3000, seed: 5, now: clock });
    let t = NOW_MS - 10 * DAY;
    const b = new RecordGenerator({ ...MIXED, count: 3000, seed: 5, now: () => (t += 7) });
    const ra = [...a];
    const rb = [...b];
    expect(b.expectation()).toEqual(a.expectation());
    expect(rb.map((r) => r.key)).toEqual(ra.map((r) => r.key));
    expect(rb.map((r) => r.value)).not.toEqual(ra.map((r) => r.value)); // event times differ
  });

  it('resumes where a partial iteration stopped', () => {
    const whole = generate({ ...MIXED, count: 500 }).records;
    const gen = new RecordGenerator({ ...MIXED, count: 500, seed: 42, now: clock });
    const parts: GeneratedRecord[] = [];
    for (const r of gen) {
      parts.push(r);
      if (parts.length === 123) break;
    }
    parts.push(...gen);
    expect(digest(parts)).toBe(digest(whole));
    expect(gen.done).toBe(true);
    expect(() => gen.next()).toThrow(RangeError);
  });

  it('rejects options out of range', () => {
    expect(() => new RecordGenerator({ count: -1 })).toThrow(/count/);
    expect(() => new RecordGenerator({ count: 1, payloadBytes: 20_481 })).toThrow(/payloadBytes/);
    expect(() => new RecordGenerator({ count: 1, returningRatio: 1.5 })).toThrow(/returningRatio/);
    expect(() => new RecordGenerator({ count: 1, invalidRatio: 0.6, returningRatio: 0.6 })).toThrow(/exceed/);
    expect(() => new RecordGenerator({ count: 1, seed: 1.5 })).toThrow(/seed/);
  });
});

describe('RecordGenerator records', () => {
  const { records, gen } = generate(MIXED);

  it('keeps the requested ratios within tolerance', () => {
    const n = records.length;
    const invalid = records.filter((r) => r.kind === 'invalid').length;
    const returning = records.filter((r) => r.kind === 'returning').length;
    const fresh = records.filter((r) => r.kind === 'new').length;
    expect(invalid + returning + fresh).toBe(n);
    expect(Math.abs(invalid / n - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(returning / n - 0.3)).toBeLessThan(0.02);
    const none = generate({ count: 2000 }).records;
    expect(none.every((r) => r.kind === 'new')).toBe(true);
  });

  it('produces valid records that decodeRecord accepts, with the identity and key announced', () => {
    const valid = records.filter((r) => r.kind !== 'invalid');
    expect(valid.length).toBeGreaterThan(8000);
    for (const r of valid) {
      const d = decodeRecord(r.value, NOW);
      if (!d.ok) throw new Error(`valid record rejected: ${rejectionCode(d.rejection)}`);
      expect(r.expectedReject).toBeUndefined();
      const identity = identityOf(d.record.name, d.record.dateOfBirth);
      expect(r.identity).toEqual(identity);
      expect(r.key).toBe(partitionKey(identity));
      expect(d.record.dateOfBirth >= '1930-01-01' && d.record.dateOfBirth <= '2020-12-31').toBe(true);
      expect(d.record.eventTimeMs).toBeGreaterThanOrEqual(NOW_MS);
    }
  });

  it('produces every kind of invalid record, each rejected with exactly its expected code', () => {
    const invalid = records.filter((r) => r.kind === 'invalid');
    const kinds = new Set<string>();
    const codes = new Set<string>();
    for (const r of invalid) {
      const d = decodeRecord(r.value, NOW);
      expect(d.ok).toBe(false);
      if (d.ok) continue;
      expect(rejectionCode(d.rejection)).toBe(r.expectedReject);
      expect(r.identity).toBeUndefined();
      kinds.add(r.invalidKind!);
      codes.add(r.expectedReject!);
    }
    expect([...kinds].sort()).toEqual([...INVALID_KINDS].sort());
    // Several distinct reasons, all of them known to intake-core.
    const reasons = new Set([...codes].map((c) => c.split(':')[0]));
    for (const reason of reasons) expect(REJECT_REASONS).toContain(reason);
    for (const expected of [
      'malformed_json',
      'empty_value',
      'oversized',
      'unsupported_version',
      'unknown_field',
      'invalid_date:dateOfBirth',
      'future_date:dateOfBirth',
      'missing_field:name',
      'missing_field:v',
      'invalid_field:favoriteColor',
      'forbidden_character:name',
      'invalid_unicode',
      'invalid_unicode:name',
      'blank_name:name',
    ]) {
      expect(codes).toContain(expected);
    }
    // The rotation spreads kinds evenly.
    const perKind = new Map<string, number>();
    for (const r of invalid) perKind.set(r.invalidKind!, (perKind.get(r.invalidKind!) ?? 0) + 1);
    const counts = [...perKind.values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('sends returning records with the first key, the same normalized identity, a new color and a later event time', () => {
    const first = new Map<string, { nameNorm: string; dob: string; color: string; eventTimeMs: number }>();
    let variedNames = 0;
    let returning = 0;
    const firstNames = new Map<string, string>();
    for (const r of records) {
      if (r.kind === 'invalid') continue;
      const d = decodeRecord(r.value, NOW);
      if (!d.ok) throw new Error('rejected');
      const nameNorm = normalizeName(d.record.name);
      const previous = first.get(r.key);
      if (r.kind === 'new') {
        expect(previous).toBeUndefined();
        firstNames.set(r.key, JSON.parse(r.value.toString('utf8')).name);
      } else {
        returning++;
        expect(previous).toBeDefined();
        expect(nameNorm).toBe(previous!.nameNorm);
        expect(d.record.dateOfBirth).toBe(previous!.dob);
        expect(d.record.favoriteColor).not.toBe(previous!.color);
        expect(d.record.eventTimeMs).toBeGreaterThan(previous!.eventTimeMs);
        if (JSON.parse(r.value.toString('utf8')).name !== firstNames.get(r.key)) variedNames++;
      }
      first.set(r.key, { nameNorm, dob: d.record.dateOfBirth, color: d.record.favoriteColor, eventTimeMs: d.record.eventTimeMs });
    }
    expect(returning).toBeGreaterThan(2500);
    expect(variedNames).toBeGreaterThan(returning / 2);
  });

  it('varies names harmlessly', () => {
    const name = "Mary-Jane O'Connell";
    const accented = 'Zoë Ångström';
    for (let v = 0; v < 6; v++) {
      expect(normalizeName(varyName(name, v))).toBe(normalizeName(name));
      expect(normalizeName(varyName(accented, v))).toBe(normalizeName(accented));
    }
    expect(varyName(accented, 5)).not.toBe(accented); // NFD decomposes
    expect(new Set([0, 1, 2, 3, 4].map((v) => varyName(name, v))).size).toBe(5);
  });

  it('announces an expectation that matches a recomputation from the stream', () => {
    const newest = new Map<string, { identity: { nameNorm: string; dateOfBirth: string }; color: string; eventTimeMs: number }>();
    const invalidByReject: Record<string, number> = {};
    let valid = 0;
    for (const r of records) {
      const d = decodeRecord(r.value, NOW);
      if (!d.ok) {
        const code = rejectionCode(d.rejection);
        invalidByReject[code] = (invalidByReject[code] ?? 0) + 1;
        continue;
      }
      valid++;
      const identity = identityOf(d.record.name, d.record.dateOfBirth);
      const k = `${identity.nameNorm}\u0000${identity.dateOfBirth}`;
      const prev = newest.get(k);
      if (prev === undefined || d.record.eventTimeMs >= prev.eventTimeMs)
        newest.set(k, { identity, color: d.record.favoriteColor, eventTimeMs: d.record.eventTimeMs });
    }
    const e = gen.expectation();
    expect(e.records).toBe(records.length);
    expect(e.validRecords).toBe(valid);
    expect(e.newRecords + e.returningRecords).toBe(valid);
    expect(e.invalidRecords).toBe(records.length - valid);
    expect(e.invalidByReject).toEqual(invalidByReject);
    expect(e.distinctIdentities).toBe(newest.size);
    expect(e.identities).toHaveLength(newest.size);
    expect(e.newestColors).toHaveLength(newest.size);
    const announced = new Map(e.identities.map((id, i) => [`${id.nameNorm}\u0000${id.dateOfBirth}`, e.newestColors[i]]));
    expect(announced.size).toBe(newest.size);
    for (const [k, v] of newest) expect(announced.get(k)).toBe(v.color);
  });

  it('starts a new identity with every `new` record (a chance collision counts as returning)', () => {
    const keys = new Set<string>();
    for (const r of records) {
      if (r.kind !== 'new') continue;
      expect(keys.has(r.key)).toBe(false);
      keys.add(r.key);
    }
    expect(keys.size).toBe(gen.expectation().distinctIdentities);
  });
});

describe('event times', () => {
  it('uses the clock and keeps a returning patient strictly increasing even when the clock stands still', () => {
    let t = NOW_MS;
    const gen = new RecordGenerator({ count: 3000, seed: 9, returningRatio: 0.6, now: () => t });
    const last = new Map<string, number>();
    let i = 0;
    for (const r of gen) {
      if (i++ % 100 === 0) t += 1000; // the clock advances now and then
      const d = decodeRecord(r.value, new Date(t));
      if (!d.ok) throw new Error('rejected');
      expect(d.record.eventTimeMs).toBeGreaterThanOrEqual(NOW_MS);
      const prev = last.get(r.key);
      if (prev !== undefined) expect(d.record.eventTimeMs).toBeGreaterThan(prev);
      last.set(r.key, d.record.eventTimeMs);
    }
  });
});

describe('payloads', () => {
  it.each([100, 2000, 20_480])('is within a few percent of %i bytes', (bytes) => {
    const { records } = generate({ count: 300, payloadBytes: bytes, invalidRatio: 0 });
    const sizes = new Set<number>();
    for (const r of records) {
      const d = decodeRecord(r.value, NOW);
      if (!d.ok) throw new Error('rejected');
      const size = Buffer.byteLength(d.record.payload ?? '', 'utf8');
      sizes.add(size);
      expect(size).toBeLessThanOrEqual(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes * 0.97);
    }
    // Slices at random offsets, not one repeated text.
    expect(new Set(records.map((r) => decodeRecord(r.value, NOW)).map((d) => (d.ok ? d.record.payload : ''))).size).toBeGreaterThan(250);
  });

  it('sends no payload when payloadBytes is 0', () => {
    const { records } = generate({ count: 50 });
    for (const r of records) expect(JSON.parse(r.value.toString('utf8'))).not.toHaveProperty('payload');
  });

  it('gives the same text as bytes and as a string, JSON-safe', () => {
    for (const [bytes, at] of [
      [1, 0],
      [777, 0.5],
      [20_480, 0.999],
      [40_000, 0.3],
    ] as const) {
      const text = payloadSlice(bytes, at);
      expect(payloadSliceBytes(bytes, at).equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(JSON.stringify(text)).toBe(`"${text}"`);
    }
  });
});
