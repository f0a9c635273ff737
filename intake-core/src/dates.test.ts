import { describe, expect, it } from 'vitest';
import { parseDateOfBirth, parseInstant } from './dates.js';

const now = new Date('2026-11-25T12:00:00Z');

describe('parseDateOfBirth', () => {
  it.each([
    ['1984-02-29', true],
    ['2000-02-29', true],
    ['1900-02-28', true],
    ['2026-11-25', true],
    ['1890-01-01', true],
  ])('accepts %s', (text) => {
    expect(parseDateOfBirth(text, now)).toEqual({ ok: true, value: text });
  });

  it.each([
    ['2023-02-30', 'invalid_date'],
    ['1900-02-29', 'invalid_date'],
    ['2023-02-29', 'invalid_date'],
    ['2023-04-31', 'invalid_date'],
    ['2023-13-01', 'invalid_date'],
    ['2023-00-10', 'invalid_date'],
    ['2023-01-00', 'invalid_date'],
    ['23-01-01', 'invalid_date'],
    ['2023-1-1', 'invalid_date'],
    ['2023-01-01T00:00:00Z', 'invalid_date'],
    ['01/02/2003', 'invalid_date'],
    [' 2023-01-01', 'invalid_date'],
    ['2026-11-26', 'future_date'],
    ['2990-01-01', 'future_date'],
    ['1889-12-31', 'date_out_of_range'],
  ])('rejects %s as %s', (text, reason) => {
    expect(parseDateOfBirth(text, now)).toEqual({ ok: false, reason });
  });

  it('follows the clock from one call to the next, also when a Date is changed in place', () => {
    const clock = new Date('2026-11-25T23:59:59.999Z');
    expect(parseDateOfBirth('2026-11-26', clock)).toEqual({ ok: false, reason: 'future_date' });
    clock.setTime(clock.getTime() + 1);
    expect(parseDateOfBirth('2026-11-26', clock)).toEqual({ ok: true, value: '2026-11-26' });
    expect(parseDateOfBirth('2026-11-26', new Date('2026-11-25T00:00:00Z'))).toEqual({ ok: false, reason: 'future_date' });
  });
});

describe('parseInstant', () => {
  it('accepts RFC 3339 with an offset', () => {
    expect(parseInstant('2026-11-25T12:00:00Z')).toBe(Date.UTC(2026, 10, 25, 12));
    expect(parseInstant('2026-11-25T13:00:00.5+01:00')).toBe(Date.UTC(2026, 10, 25, 12, 0, 0, 500));
  });
  it.each(['2026-11-25T12:00:00', '2026-02-30T00:00:00Z', '2026-11-25 12:00:00Z', '2026-11-25T24:00:00Z', 'yesterday', ''])('rejects %j', (t) => {
    expect(parseInstant(t)).toBeUndefined();
  });
});
