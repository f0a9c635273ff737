import { describe, expect, it } from 'vitest';
import { decodeRecord, rejectionCode, type IntakeRecordWire } from './record.js';

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
      record: { recordId: good.recordId, name: 'Ada Lovelace', dateOfBirth: '1965-12-10', favoriteColor: 'teal', eventTimeMs: Date.parse(good.eventTime), payload: 'notes' },
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
  ])('rejects %s', (_label, value, expected) => {
    expect(code(value)).toBe(expected);
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
