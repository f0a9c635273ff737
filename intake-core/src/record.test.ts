import { describe, expect, it } from 'vitest';
import { checkWire, decodeRecord, rejectionCode, wireSchema, type IntakeRecordWire } from './record.js';

const now = new Date('2026-11-25T12:00:00Z');
const good: IntakeRecordWire = {
  v: 1,
  recordId: '3f1c2a4e-8b7d-4c1e-9a2b-0d4e5f6a7b8c',
  name: 'Ada Lovelace',
  dateOfBirth: '1965-12-10',
  favoriteColor: ' Teal ',
  eventTime: '2026-11-25T11:59:00.000Z',
  payload: 'notes',
};
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const code = (v: Buffer | null) => {
  const r = decodeRecord(v, now);
  return r.ok ? 'ok' : rejectionCode(r.rejection);
};

describe('decodeRecord', () => {
  it('accepts a valid record and normalizes the color', () => {
    const r = decodeRecord(enc(good), now);
    expect(r).toEqual({
      ok: true,
      identity: { nameNorm: 'ada lovelace', dateOfBirth: '1965-12-10' },
      record: {
        recordId: good.recordId,
        name: 'Ada Lovelace',
        dateOfBirth: '1965-12-10',
        favoriteColor: 'teal',
        eventTimeMs: Date.parse(good.eventTime),
        payload: 'notes',
      },
    });
  });

  it('payload is optional', () => {
    const { payload: _p, ...rest } = good;
    const r = decodeRecord(enc(rest), now);
    expect(r.ok && r.record.payload).toBe(null);
  });

  it.each<[string, Buffer | null, string]>([
    ['null value', null, 'empty_value'],
    ['empty value', Buffer.alloc(0), 'empty_value'],
    ['malformed JSON', enc('{"v":1,'), 'malformed_json'],
    ['an array', enc([good]), 'not_an_object'],
    ['a string', enc('"hello"'), 'not_an_object'],
    ['no version', enc({ ...good, v: undefined }), 'missing_field:v'],
    ['version 2', enc({ ...good, v: 2 }), 'unsupported_version'],
    ['missing name', enc({ ...good, name: undefined }), 'missing_field:name'],
    ['name of wrong type', enc({ ...good, name: 42 }), 'invalid_field:name'],
    ['blank name', enc({ ...good, name: '   ' }), 'invalid_field:name'],
    ['name without letters', enc({ ...good, name: '1234' }), 'invalid_field:name'],
    ['bad record id', enc({ ...good, recordId: 'abc' }), 'invalid_field:recordId'],
    ['missing date of birth', enc({ ...good, dateOfBirth: undefined }), 'missing_field:dateOfBirth'],
    ['impossible date', enc({ ...good, dateOfBirth: '2023-02-30' }), 'invalid_date:dateOfBirth'],
    ['future date of birth', enc({ ...good, dateOfBirth: '2027-01-01' }), 'future_date:dateOfBirth'],
    ['free text as color', enc({ ...good, favoriteColor: 'call me at 555-1234' }), 'invalid_field:favoriteColor'],
    ['event time without offset', enc({ ...good, eventTime: '2026-11-25T11:00:00' }), 'invalid_event_time:eventTime'],
    ['event time in the future', enc({ ...good, eventTime: '2026-11-25T13:00:00Z' }), 'future_event_time:eventTime'],
    ['payload of wrong type', enc({ ...good, payload: { a: 1 } }), 'invalid_field:payload'],
    ['unknown field', enc({ ...good, ssn: '123-45-6789' }), 'unknown_field'],
    ['oversized', enc({ ...good, payload: 'x'.repeat(40_000) }), 'oversized'],
    // PostgreSQL cannot store NUL in text (SQLSTATE 22021): refused here, not by the store.
    ['NUL in the name', enc({ ...good, name: 'Ada\u0000Lovelace' }), 'forbidden_character:name'],
    ['NUL in the payload', enc({ ...good, payload: 'a\u0000b' }), 'forbidden_character:payload'],
    // The audit record is what arrived or nothing: no silent U+FFFD repair.
    ['invalid UTF-8 inside a string', Buffer.concat([enc(good).subarray(0, 30), Buffer.from([0xff, 0xfe]), enc(good).subarray(30)]), 'invalid_unicode'],
    ['a truncated UTF-8 sequence', Buffer.from(JSON.stringify(good).replace('Ada', 'Ad\xc3'), 'latin1'), 'invalid_unicode'],
    ['a lone surrogate escape in the name', enc(JSON.stringify(good).replace('Ada', 'Ada \\ud800')), 'invalid_unicode:name'],
    ['a lone low surrogate escape in the payload', enc(JSON.stringify(good).replace('notes', 'notes \\udc00')), 'invalid_unicode:payload'],
  ])('rejects %s', (_label, value, expected) => {
    expect(code(value)).toBe(expected);
  });

  it.each<[string, string]>([
    ['Hangul fillers (letters that render as nothing)', '\u3164\u3164'],
    ['a half-width Hangul filler and a zero-width space', '\uFFA0\u200B'],
    ['Hangul choseong and jungseong fillers', '\u115F\u1160'],
  ])('rejects a name that normalizes to nothing: %s', (_label, name) => {
    expect(code(enc({ ...good, name }))).toBe('blank_name:name');
  });

  it('accepts well-formed non-ASCII text, astral characters included', () => {
    const r = decodeRecord(enc({ ...good, name: 'Zoë 李 Brontë', payload: 'pain 😣 at night' }), now);
    expect(r.ok && [r.record.name, r.record.payload]).toEqual(['Zoë 李 Brontë', 'pain 😣 at night']);
  });

  it('returns the identity it normalized, for the identity key', () => {
    const r = decodeRecord(enc({ ...good, name: '  ADA\u200B LOVELACE ' }), now);
    expect(r.ok && r.identity).toEqual({ nameNorm: 'ada lovelace', dateOfBirth: '1965-12-10' });
  });

  it('reason codes never carry a value', () => {
    const r = decodeRecord(enc({ ...good, 'Ada Lovelace': 1 }), now);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/Ada|Lovelace/);
  });

  it('honours a smaller size limit', () => {
    expect(decodeRecord(enc(good), now, { maxBytes: 50 }).ok).toBe(false);
  });
});

describe('checkWire agrees with the zod wire schema it implements', () => {
  // The zod verdict, as decodeRecord computed it before checkWire: the first issue decides.
  const FIELDS = new Set(['v', 'recordId', 'name', 'dateOfBirth', 'favoriteColor', 'eventTime', 'payload']);
  function zodVerdict(o: Record<string, unknown>): string {
    const parsed = wireSchema.safeParse(o);
    if (parsed.success) return `ok ${JSON.stringify(parsed.data)}`;
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') return 'unknown_field';
    const field = typeof issue.path[0] === 'string' && FIELDS.has(issue.path[0]) ? issue.path[0] : undefined;
    const missing = issue.code === 'invalid_type' && field !== undefined && !(field in o);
    return `${missing ? 'missing_field' : 'invalid_field'}${field === undefined ? '' : `:${field}`}`;
  }
  function handVerdict(o: Record<string, unknown>): string {
    const w = checkWire(o);
    return 'rejection' in w ? rejectionCode(w.rejection) : `ok ${JSON.stringify({ v: 1, ...w })}`;
  }

  const variants: Record<string, unknown[]> = {
    recordId: [
      undefined,
      null,
      7,
      'abc',
      good.recordId,
      good.recordId.toUpperCase(),
      '00000000-0000-0000-0000-000000000000',
      '3f1c2a4e-8b7d-9c1e-9a2b-0d4e5f6a7b8c',
      ` ${good.recordId}`,
    ],
    name: [undefined, null, 42, ['a'], '', '   ', '1234', ' Ada ', 'x'.repeat(200), 'x'.repeat(201), `  ${'x'.repeat(199)}  `, 'Zoë', '名前', '\u200B'],
    dateOfBirth: [undefined, null, 19651210, '1965-12-10', 'whenever'],
    favoriteColor: [undefined, null, true, ' Teal ', 'TEAL', 'call me at 555-1234', "navy-blue o'clock", '', 'a'.repeat(41), 'Ünïcode'],
    eventTime: [undefined, null, 0, '2026-11-25T11:59:00.000Z'],
    payload: [undefined, null, 'notes', { a: 1 }, ''],
    extra: [undefined, 'x'],
  };
  // A seeded walk over combinations (a full product is 9 × 14 × 5 × 10 × 4 × 5 × 2 = 252,000).
  let seed = 12345;
  const pick = <T>(xs: T[]): T => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return xs[seed % xs.length]!;
  };
  const cases = Array.from({ length: 4000 }, () => {
    const o: Record<string, unknown> = { v: 1 };
    for (const [k, vs] of Object.entries(variants)) {
      const v = pick(vs);
      if (v !== undefined) o[k === 'extra' ? 'ssn' : k] = v;
    }
    return o;
  });

  it('on 4,000 generated records: the same verdict, the same cleaned values', () => {
    const disagreements = cases.filter((o) => zodVerdict(o) !== handVerdict(o));
    expect(disagreements.slice(0, 3).map((o) => ({ o, zod: zodVerdict(o), hand: handVerdict(o) }))).toEqual([]);
  });
});
