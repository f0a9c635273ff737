/** Strict calendar dates and instants. Pure: the current time is always passed in. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The earliest date of birth accepted. */
export const MIN_DATE_OF_BIRTH = '1890-01-01';

export type DateCheck = { ok: true; value: string } | { ok: false; reason: 'invalid_date' | 'future_date' | 'date_out_of_range' };

/** `YYYY-MM-DD`, a real calendar day (no 30 February), not after `today`, not before 1890. */
export function parseDateOfBirth(text: string, now: Date): DateCheck {
  const m = ISO_DATE.exec(text);
  if (!m) return { ok: false, reason: 'invalid_date' };
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return { ok: false, reason: 'invalid_date' };
  const today = isoDay(now);
  if (text > today) return { ok: false, reason: 'future_date' };
  if (text < MIN_DATE_OF_BIRTH) return { ok: false, reason: 'date_out_of_range' };
  return { ok: true, value: text };
}

/**
 * `now`'s UTC day as YYYY-MM-DD. A consumer decodes a whole batch against one clock reading:
 * the last day made is kept (toISOString on every record was 2 % of a consumer's CPU, measured).
 */
let lastDay = { ms: Number.NaN, day: '' };
function isoDay(now: Date): string {
  const ms = now.getTime();
  if (ms !== lastDay.ms) lastDay = { ms, day: now.toISOString().slice(0, 10) };
  return lastDay.day;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`), as event times must be. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Returns epoch milliseconds, or undefined when the text is not a real RFC 3339 instant. */
export function parseInstant(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
