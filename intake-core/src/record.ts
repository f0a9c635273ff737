import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { parseDateOfBirth, parseInstant } from './dates.js';
import { normalizeName, type Identity } from './identity.js';

/**
 * The intake record, version 1: the JSON value of a message on the intake topic.
 *
 * ```json
 * { "v": 1, "recordId": "…uuid…", "name": "…", "dateOfBirth": "1984-02-29",
 *   "favoriteColor": "teal", "eventTime": "2026-11-25T18:00:00.000Z", "payload": "…" }
 * ```
 * `payload` is optional clinical free text (kept in the master store only).
 */
export const RECORD_VERSION = 1;

/** Largest accepted message value in bytes: 20 KiB of payload plus the envelope, with headroom. */
export const DEFAULT_MAX_RECORD_BYTES = 32 * 1024;

/** How far in the future an event time may lie (producer clock skew). */
export const EVENT_TIME_MAX_SKEW_MS = 5 * 60_000;

export interface IntakeRecord {
  readonly recordId: string;
  readonly name: string;
  readonly dateOfBirth: string;
  readonly favoriteColor: string;
  /** Epoch milliseconds. */
  readonly eventTimeMs: number;
  readonly payload: string | null;
}

/** What the producer sends (before decoding). */
export interface IntakeRecordWire {
  v: 1;
  recordId: string;
  name: string;
  dateOfBirth: string;
  favoriteColor: string;
  eventTime: string;
  payload?: string;
}

/**
 * Why a record was rejected. Codes name a rule and at most a schema field: never a value, so they
 * can go into DLQ headers, logs and metric labels without carrying PHI.
 */
export const REJECT_REASONS = [
  'oversized',
  'empty_value',
  'malformed_json',
  'not_an_object',
  'unsupported_version',
  'unknown_field',
  'missing_field',
  'invalid_field',
  'invalid_date',
  'future_date',
  'date_out_of_range',
  'invalid_event_time',
  'future_event_time',
  /** Not valid UTF-8, or a string with a lone surrogate escape: stored as sent or not at all. */
  'invalid_unicode',
  /** NUL (U+0000): no PostgreSQL text column can hold it. */
  'forbidden_character',
  /** A name with no letter left once the characters that render as nothing are removed. */
  'blank_name',
  /**
   * The master store refused this record alone (e.g. a value PostgreSQL cannot store), found by
   * narrowing down a batch that failed; the SQLSTATE is logged, the record goes to the DLQ.
   */
  'store_refused',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly reason: RejectReason;
  /** The schema field concerned, when there is one (a field name, never a value). */
  readonly field?: keyof IntakeRecordWire;
}

export type DecodeResult = { ok: true; record: IntakeRecord; identity: Identity } | { ok: false; rejection: Rejection };

const COLOR = /^\p{L}[\p{L}\p{M} '-]{0,39}$/u;
const LETTER = /\p{L}/u;
/** zod's `z.uuid()` pattern (RFC 9562 versions 1-8, the nil and the max UUID). */
const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;

/**
 * The wire schema, as a zod schema: the specification that `checkWire` implements by hand on the
 * hot path (zod's generic machinery cost 5 % of the consumer's CPU). A unit test holds the two
 * to the same verdict on every case it generates.
 */
export const wireSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  recordId: z.uuid(),
  name: z.string().trim().min(1).max(200).regex(/\p{L}/u),
  dateOfBirth: z.string(),
  favoriteColor: z.string().trim().toLowerCase().regex(COLOR),
  eventTime: z.string(),
  payload: z.string().optional(),
});

const FIELDS = new Set<string>(['v', 'recordId', 'name', 'dateOfBirth', 'favoriteColor', 'eventTime', 'payload']);

export interface DecodeOptions {
  readonly maxBytes?: number;
}

/** Strictly decodes one message value. Pure: `now` is the consumer's clock. */
export function decodeRecord(value: Buffer | null, now: Date, options: DecodeOptions = {}): DecodeResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (value === null || value.length === 0) return reject('empty_value');
  if (value.length > maxBytes) return reject('oversized');
  // JSON.parse would replace invalid bytes by U+FFFD: the master store would keep something else
  // than what arrived, and two different names could become one person.
  if (!isUtf8(value)) return reject('invalid_unicode');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return reject('malformed_json');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return reject('not_an_object');
  if ((json as { v?: unknown }).v !== RECORD_VERSION) {
    return 'v' in json ? reject('unsupported_version') : reject('missing_field', 'v');
  }
  const w = checkWire(json as Record<string, unknown>);
  if ('rejection' in w) return { ok: false, rejection: w.rejection };
  // The free-text fields; every other string field is held to a pattern that excludes both.
  if (!w.name.isWellFormed()) return reject('invalid_unicode', 'name');
  if (w.name.includes('\u0000')) return reject('forbidden_character', 'name');
  if (w.payload !== undefined) {
    if (!w.payload.isWellFormed()) return reject('invalid_unicode', 'payload');
    if (w.payload.includes('\u0000')) return reject('forbidden_character', 'payload');
  }
  const nameNorm = normalizeName(w.name);
  if (!LETTER.test(nameNorm)) return reject('blank_name', 'name');
  const dob = parseDateOfBirth(w.dateOfBirth, now);
  if (!dob.ok) return reject(dob.reason, 'dateOfBirth');
  const eventTimeMs = parseInstant(w.eventTime);
  if (eventTimeMs === undefined) return reject('invalid_event_time', 'eventTime');
  if (eventTimeMs > now.getTime() + EVENT_TIME_MAX_SKEW_MS) return reject('future_event_time', 'eventTime');
  return {
    ok: true,
    identity: { nameNorm, dateOfBirth: dob.value },
    record: {
      recordId: w.recordId.toLowerCase(),
      name: w.name,
      dateOfBirth: dob.value,
      favoriteColor: w.favoriteColor,
      eventTimeMs,
      payload: w.payload ?? null,
    },
  };
}

/**
 * `wireSchema` by hand: the fields in schema order, the first one at fault decides (missing, or
 * wrong type or rule), then unknown fields. Returns the cleaned values (name trimmed, color
 * trimmed and lower-cased).
 */
export function checkWire(o: Record<string, unknown>): Omit<IntakeRecordWire, 'v'> | { rejection: Rejection } {
  const recordId = o['recordId'];
  if (recordId === undefined) return { rejection: { reason: 'missing_field', field: 'recordId' } };
  if (typeof recordId !== 'string' || !UUID.test(recordId)) return { rejection: { reason: 'invalid_field', field: 'recordId' } };
  const rawName = o['name'];
  if (rawName === undefined) return { rejection: { reason: 'missing_field', field: 'name' } };
  if (typeof rawName !== 'string') return { rejection: { reason: 'invalid_field', field: 'name' } };
  const name = rawName.trim();
  if (name.length < 1 || name.length > 200 || !LETTER.test(name)) return { rejection: { reason: 'invalid_field', field: 'name' } };
  const dateOfBirth = o['dateOfBirth'];
  if (dateOfBirth === undefined) return { rejection: { reason: 'missing_field', field: 'dateOfBirth' } };
  if (typeof dateOfBirth !== 'string') return { rejection: { reason: 'invalid_field', field: 'dateOfBirth' } };
  const rawColor = o['favoriteColor'];
  if (rawColor === undefined) return { rejection: { reason: 'missing_field', field: 'favoriteColor' } };
  if (typeof rawColor !== 'string') return { rejection: { reason: 'invalid_field', field: 'favoriteColor' } };
  const favoriteColor = rawColor.trim().toLowerCase();
  if (!COLOR.test(favoriteColor)) return { rejection: { reason: 'invalid_field', field: 'favoriteColor' } };
  const eventTime = o['eventTime'];
  if (eventTime === undefined) return { rejection: { reason: 'missing_field', field: 'eventTime' } };
  if (typeof eventTime !== 'string') return { rejection: { reason: 'invalid_field', field: 'eventTime' } };
  const payload = o['payload'];
  if (payload !== undefined && typeof payload !== 'string') return { rejection: { reason: 'invalid_field', field: 'payload' } };
  for (const k in o) if (!FIELDS.has(k)) return { rejection: { reason: 'unknown_field' } };
  return payload === undefined ? { recordId, name, dateOfBirth, favoriteColor, eventTime } : { recordId, name, dateOfBirth, favoriteColor, eventTime, payload };
}

function reject(reason: RejectReason, field?: keyof IntakeRecordWire): DecodeResult {
  return { ok: false, rejection: field === undefined ? { reason } : { reason, field } };
}

/** `reason` or `reason:field`, the PHI-free code stored with a rejected record and sent in DLQ headers. */
export function rejectionCode(r: Rejection): string {
  return r.field === undefined ? r.reason : `${r.reason}:${r.field}`;
}

export function encodeRecord(r: IntakeRecordWire): Buffer {
  return Buffer.from(JSON.stringify(r), 'utf8');
}
