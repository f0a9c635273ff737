import { describe, expect, it } from 'vitest';
import { checkInstant, progressLine, snapshotCopySql, snapshotManifest, snapshotRequest, SnapshotUsageError } from './snapshot.js';

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;
const PID = '2d6e2062-1b1b-4a21-9bda-b004110af9a1';

describe('snapshotRequest', () => {
  it('takes an instant with a zone, a scope, an optional patient and a format', () => {
    expect(snapshotRequest({ 'as-of': '2026-12-02T14:00:00Z', out: 'a.csv' })).toEqual({
      asOf: '2026-12-02T14:00:00Z',
      scope: 'master',
      format: 'csv',
      out: 'a.csv',
    });
    expect(snapshotRequest({ 'as-of': '2026-12-02T14:00:00.123456+01:00', public: true, patient: PID.toUpperCase(), out: 'x.jsonl' })).toEqual({
      asOf: '2026-12-02T14:00:00.123456+01:00',
      scope: 'public',
      patientId: PID,
      format: 'jsonl',
      out: 'x.jsonl',
    });
    expect(snapshotRequest({ 'as-of': '2026-12-02 14:00Z', format: 'jsonl', out: '-' }).format).toBe('jsonl');
  });

  it.each([
    [{ out: 'a.csv' }, /--as-of is required/],
    [{ 'as-of': '2026-12-02T14:00:00', out: 'a.csv' }, /with a zone/],
    [{ 'as-of': 'yesterday', out: 'a.csv' }, /not an ISO-8601 instant/],
    [{ 'as-of': '2026-13-45T14:00:00Z', out: 'a.csv' }, /not an ISO-8601 instant/],
    [{ 'as-of': '2026-12-02T14:00:00Z' }, /--out is required/],
    [{ 'as-of': '2026-12-02T14:00:00Z', out: 'a', patient: 'bob' }, /--patient: not a patient ID/],
    [{ 'as-of': '2026-12-02T14:00:00Z', out: 'a', format: 'xml' }, /--format: csv or jsonl/],
  ])('refuses %j', (o, message) => {
    expect(() => snapshotRequest(o)).toThrow(SnapshotUsageError);
    expect(() => snapshotRequest(o)).toThrow(message);
  });
});

describe('snapshotCopySql', () => {
  it('streams the whole store, the public projection or one patient, as CSV with a header or as JSON lines', () => {
    const master = snapshotRequest({ 'as-of': '2026-12-02T14:00:00Z', out: 'a.csv' });
    expect(snapshotCopySql(master, quote)).toBe(
      "COPY (SELECT patient_id, name, date_of_birth, favorite_color, event_time, kafka_partition, kafka_offset FROM ingest.patient_state_as_of('2026-12-02T14:00:00Z'::timestamptz)) TO STDOUT WITH (FORMAT csv, HEADER true)",
    );
    const pub = snapshotRequest({ 'as-of': '2026-12-02T14:00:00Z', public: true, out: 'a.jsonl' });
    expect(snapshotCopySql(pub, quote)).toBe(
      "COPY (SELECT row_to_json(s)::text FROM (SELECT patient_id, favorite_color FROM ingest.public_projection_as_of('2026-12-02T14:00:00Z'::timestamptz)) s) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
    );
    const one = snapshotRequest({ 'as-of': '2026-12-02T14:00:00Z', public: true, patient: PID, out: 'a.csv' });
    expect(snapshotCopySql(one, quote)).toBe(
      `COPY (SELECT patient_id, favorite_color FROM ingest.patient_as_of('${PID}'::uuid, '2026-12-02T14:00:00Z'::timestamptz)) TO STDOUT WITH (FORMAT csv, HEADER true)`,
    );
  });
});

describe('checkInstant', () => {
  const bounds = { firstUs: 1_000_000n, first: '1970-01-01 00:00:01+00' };
  it('accepts an instant from the first commit up to now', () => {
    expect(() => checkInstant(1_000_000n, 5_000_000n, bounds, 'x')).not.toThrow();
    expect(() => checkInstant(5_000_000n, 5_000_000n, bounds, 'x')).not.toThrow();
  });
  it('refuses the future, an empty store and an instant before the first record, each saying which', () => {
    expect(() => checkInstant(5_000_001n, 5_000_000n, bounds, 'x')).toThrow(/in the future/);
    expect(() => checkInstant(2_000_000n, 5_000_000n, undefined, 'x')).toThrow(/no history yet/);
    expect(() => checkInstant(999_999n, 5_000_000n, bounds, 'x')).toThrow(/before the first record \(history begins at 1970-01-01 00:00:01\+00\)/);
  });
});

describe('snapshotManifest', () => {
  it('says what was exported, where, how many rows, with checksums, and whether it is PHI', () => {
    const r = snapshotRequest({ 'as-of': '2026-12-02T14:00:00Z', out: 'a.csv' });
    const m = snapshotManifest(r, '2026-12-02 14:00:00+00', 3, [{ path: 'a.csv', bytes: 10, sha256: 'ab' }], { first: 'f', last: 'l' }, new Date(0));
    expect(m).toMatchObject({
      kind: 'clinical-ingest.snapshot',
      version: 1,
      asOf: '2026-12-02 14:00:00+00',
      scope: 'master',
      patientId: null,
      rows: 3,
      phi: true,
    });
    expect(m.columns).toContain('name');
    expect(snapshotManifest({ ...r, scope: 'public' }, 'x', 0, [], { first: 'f', last: 'l' }, new Date(0)).phi).toBe(false);
  });
});

describe('progressLine', () => {
  it('shows rows, MB, rate and an estimate capped below 100 %', () => {
    expect(progressLine(500_000, 20_000_000, 2, 1_000_000)).toBe('500,000 rows (~50 %), 20.0 MB, 250,000 rows/s');
    expect(progressLine(1_200_000, 0, 0, 1_000_000)).toBe('1,200,000 rows (~99 %), 0.0 MB, 0 rows/s');
  });
});
