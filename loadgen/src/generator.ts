import { Faker, base, en } from '@faker-js/faker';
import { DEFAULT_MAX_RECORD_BYTES, identityOf, partitionKey, type Identity, type IntakeRecordWire } from '@clinical-ingest/intake-core';
import { payloadSlice, payloadSliceBytes } from './payload.js';

/**
 * A pure, deterministic generator of intake records: the same options (seed and clock included)
 * give byte-identical records. It draws every random choice from its own seeded Faker instance
 * (never the global one), and keeps per patient only what the final `Expectation` and returning
 * records need, so that it can generate millions of records.
 */

/** Largest payload a valid record carries (the record format allows 20 KiB of payload). */
export const MAX_PAYLOAD_BYTES = 20 * 1024;

export type RecordKind = 'new' | 'returning' | 'invalid';

/** The malformed-record kinds, produced in rotation. */
export const INVALID_KINDS = [
  'malformed_json',
  'missing_field',
  'wrong_type',
  'impossible_date',
  'future_date',
  'unsupported_version',
  'unknown_field',
  'oversized',
  'empty_value',
  'nul_character',
  'invalid_utf8',
  'lone_surrogate',
  'blank_name',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export interface GeneratedRecord {
  /** Kafka message key: the partition key of the patient for valid records, random otherwise. */
  readonly key: string;
  /** Kafka message value: the encoded record (or a malformed one). */
  readonly value: Buffer;
  /** `returning`: a patient already generated (the first record of each identity is `new`). */
  readonly kind: RecordKind;
  /** For invalid records: the rejection code (`rejectionCode`) intake-core's `decodeRecord` gives. */
  readonly expectedReject?: string;
  /** For invalid records: which malformation. */
  readonly invalidKind?: InvalidKind;
  /** For valid records: the normalized identity. */
  readonly identity?: Identity;
}

export interface GeneratorOptions {
  /** Number of records to generate (integer >= 0). */
  readonly count: number;
  /** Seed of the random source (integer). Default 1. */
  readonly seed?: number;
  /** Approximate UTF-8 size of each record's payload, 0..20480; 0 (default) sends no payload. */
  readonly payloadBytes?: number;
  /** Share of records that are for a patient already generated (0..1). Default 0. */
  readonly returningRatio?: number;
  /** Share of records that are malformed (0..1). Default 0. */
  readonly invalidRatio?: number;
  /** Clock for event times (and future dates of birth), in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** What a consumer that processed every generated record must have stored. */
export interface Expectation {
  readonly seed: number;
  /** Records generated so far (all of them once the generator is exhausted). */
  readonly records: number;
  readonly validRecords: number;
  readonly newRecords: number;
  readonly returningRecords: number;
  readonly invalidRecords: number;
  /** Invalid records by expected rejection code (`reason` or `reason:field`). */
  readonly invalidByReject: Readonly<Record<string, number>>;
  readonly distinctIdentities: number;
  /** The distinct normalized identities, in order of first appearance. */
  readonly identities: readonly Identity[];
  /** `newestColors[i]`: favorite color (as decoded: trimmed, lower-case) of the newest record of `identities[i]`. */
  readonly newestColors: readonly string[];
}

const DAY_MS = 86_400_000;
const DOB_FIRST_MS = Date.UTC(1930, 0, 1);
const DOB_DAYS = Math.round((Date.UTC(2020, 11, 31) - DOB_FIRST_MS) / DAY_MS) + 1;

/** Fields that can be left out (v included: `missing_field:v`). */
const OMITTABLE = ['recordId', 'name', 'dateOfBirth', 'favoriteColor', 'eventTime', 'v'] as const;
/** Fields given a value of the wrong JSON type. */
const RETYPABLE = ['recordId', 'name', 'dateOfBirth', 'favoriteColor', 'eventTime', 'payload'] as const;
const EXTRA_FIELDS = ['ssn', 'mrn', 'notes', 'favouriteColor', 'Name', 'insuranceNumber'];
/** Month-day pairs that never exist (Feb 29 is handled apart: it exists in leap years). */
const IMPOSSIBLE_DAYS = ['02-30', '02-31', '04-31', '06-31', '09-31', '11-31', '13-01', '00-10', '01-32', '05-00'];

function validateOptions(o: GeneratorOptions): Required<GeneratorOptions> {
  const seed = o.seed ?? 1;
  const payloadBytes = o.payloadBytes ?? 0;
  const returningRatio = o.returningRatio ?? 0;
  const invalidRatio = o.invalidRatio ?? 0;
  if (!Number.isSafeInteger(o.count) || o.count < 0) throw new RangeError('count must be an integer >= 0');
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be an integer');
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`payloadBytes must be an integer in 0..${MAX_PAYLOAD_BYTES}`);
  }
  for (const [name, r] of [
    ['returningRatio', returningRatio],
    ['invalidRatio', invalidRatio],
  ] as const) {
    if (!(r >= 0 && r <= 1)) throw new RangeError(`${name} must be in 0..1`);
  }
  if (returningRatio + invalidRatio > 1) throw new RangeError('returningRatio + invalidRatio must not exceed 1');
  return { count: o.count, seed, payloadBytes, returningRatio, invalidRatio, now: o.now ?? Date.now };
}

let dobStrings: string[] | undefined;

/** `YYYY-MM-DD` of day `epochDay` after 1930-01-01 (from a table: toISOString is slow). */
function isoDate(epochDay: number): string {
  dobStrings ??= Array.from({ length: DOB_DAYS }, (_, d) => new Date(DOB_FIRST_MS + d * DAY_MS).toISOString().slice(0, 10));
  return dobStrings[epochDay]!;
}

/**
 * Generates `count` records lazily: iterate it (once; a second iteration resumes where the first
 * stopped), then call `expectation()`.
 */
export class RecordGenerator implements Iterable<GeneratedRecord> {
  readonly options: Readonly<Required<GeneratorOptions>>;
  readonly #faker: Faker;
  #generated = 0;
  #invalidSeq = 0;
  #newRecords = 0;
  #returningRecords = 0;
  readonly #invalidByReject = new Map<string, number>();

  // Per distinct identity, in parallel arrays (index = order of first appearance).
  readonly #index = new Map<string, number>(); // partition key -> index
  readonly #keys: string[] = [];
  readonly #names: string[] = []; // the name as first sent
  readonly #dobDays: number[] = []; // days since 1930-01-01
  readonly #colors: string[] = []; // favorite color of the newest record
  readonly #lastEventMs: number[] = []; // event time of the newest record

  #cached: Expectation | undefined;
  #isoMs = Number.NaN;
  #iso = '';

  constructor(options: GeneratorOptions) {
    this.options = Object.freeze(validateOptions(options));
    this.#faker = new Faker({ locale: [en, base] });
    this.#faker.seed(this.options.seed);
  }

  /** Records generated so far. */
  get generated(): number {
    return this.#generated;
  }

  get done(): boolean {
    return this.#generated >= this.options.count;
  }

  *[Symbol.iterator](): Generator<GeneratedRecord, void, undefined> {
    while (this.#generated < this.options.count) yield this.next();
  }

  /** The next record; throws once `count` records were generated. */
  next(): GeneratedRecord {
    if (this.#generated >= this.options.count) throw new RangeError('all records were generated');
    this.#generated++;
    this.#cached = undefined;
    const { invalidRatio, returningRatio } = this.options;
    const u = this.#faker.number.float();
    if (u < invalidRatio) return this.#invalid();
    if (u < invalidRatio + returningRatio && this.#keys.length > 0) {
      return this.#returning(this.#faker.number.int(this.#keys.length - 1));
    }
    return this.#fresh();
  }

  /** What must be stored after the records generated so far (all of them, once done). */
  expectation(): Expectation {
    if (this.#cached) return this.#cached;
    const n = this.#keys.length;
    const identities: Identity[] = new Array<Identity>(n);
    const newestColors: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      identities[i] = identityOf(this.#names[i]!, isoDate(this.#dobDays[i]!));
      newestColors[i] = this.#colors[i]!.trim().toLowerCase();
    }
    const invalidRecords = this.#invalidSeq;
    this.#cached = Object.freeze({
      seed: this.options.seed,
      records: this.#generated,
      validRecords: this.#generated - invalidRecords,
      newRecords: this.#newRecords,
      returningRecords: this.#returningRecords,
      invalidRecords,
      invalidByReject: Object.freeze(Object.fromEntries([...this.#invalidByReject].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
      distinctIdentities: n,
      identities,
      newestColors,
    });
    return this.#cached;
  }

  // ---------------------------------------------------------------------------------------------

  #freshName(): string {
    return `${this.#faker.person.firstName()} ${this.#faker.person.lastName()}`;
  }

  #payload(bytes: number): string {
    return payloadSlice(bytes, this.#faker.number.float());
  }

  /** ISO 8601 of an event time (cached: consecutive records mostly share a millisecond). */
  #eventTime(ms: number): string {
    if (ms !== this.#isoMs) {
      this.#isoMs = ms;
      this.#iso = new Date(ms).toISOString();
    }
    return this.#iso;
  }

  /** The record without its payload. */
  #wire(name: string, dateOfBirth: string, favoriteColor: string, eventTimeMs: number): IntakeRecordWire {
    return { v: 1, recordId: uuidV4(this.#faker), name, dateOfBirth, favoriteColor, eventTime: this.#eventTime(eventTimeMs) };
  }

  /**
   * A valid record, encoded. The payload is copied as bytes from the pool (JSON-safe text), which
   * gives the same bytes as `JSON.stringify` with a `payload` field, without scanning 20 KiB strings.
   */
  #encodeValid(name: string, dateOfBirth: string, favoriteColor: string, eventTimeMs: number): Buffer {
    const head = JSON.stringify(this.#wire(name, dateOfBirth, favoriteColor, eventTimeMs));
    if (this.options.payloadBytes === 0) return Buffer.from(head, 'utf8');
    const payload = payloadSliceBytes(this.options.payloadBytes, this.#faker.number.float());
    const headBytes = Buffer.from(head.slice(0, -1), 'utf8'); // without the closing brace
    return Buffer.concat([headBytes, PAYLOAD_OPEN, payload, PAYLOAD_CLOSE], headBytes.length + PAYLOAD_OPEN.length + payload.length + PAYLOAD_CLOSE.length);
  }

  /** A freshly drawn identity; a chance collision with a known one makes it a returning record. */
  #fresh(): GeneratedRecord {
    const name = this.#freshName();
    const dobDay = this.#faker.number.int(DOB_DAYS - 1);
    const dob = isoDate(dobDay);
    const identity = identityOf(name, dob);
    const key = partitionKey(identity);
    const known = this.#index.get(key);
    if (known !== undefined) return this.#returning(known, name, identity);

    const color = this.#faker.color.human();
    const eventMs = this.options.now();
    this.#index.set(key, this.#keys.length);
    this.#keys.push(key);
    this.#names.push(name);
    this.#dobDays.push(dobDay);
    this.#colors.push(color);
    this.#lastEventMs.push(eventMs);
    this.#newRecords++;
    return { key, value: this.#encodeValid(name, dob, color, eventMs), kind: 'new', identity };
  }

  /**
   * Another record for patient `i`: a new favorite color, an event time after the previous one,
   * and the name as first sent or with a harmless variation (same normalized identity).
   */
  #returning(i: number, drawnName?: string, drawnIdentity?: Identity): GeneratedRecord {
    const dob = isoDate(this.#dobDays[i]!);
    const name = drawnName ?? varyName(this.#names[i]!, this.#faker.number.int(NAME_VARIATIONS - 1));
    const identity = drawnIdentity ?? identityOf(name, dob);
    const previous = this.#colors[i]!;
    let color = this.#faker.color.human();
    while (color === previous) color = this.#faker.color.human();
    const eventMs = Math.max(this.options.now(), this.#lastEventMs[i]! + 1);
    this.#colors[i] = color;
    this.#lastEventMs[i] = eventMs;
    this.#returningRecords++;
    return { key: this.#keys[i]!, value: this.#encodeValid(name, dob, color, eventMs), kind: 'returning', identity };
  }

  #invalid(): GeneratedRecord {
    const kind = INVALID_KINDS[this.#invalidSeq % INVALID_KINDS.length]!;
    this.#invalidSeq++;
    const f = this.#faker;
    const nowMs = this.options.now();
    const w: Record<string, unknown> = { ...this.#wire(this.#freshName(), isoDate(f.number.int(DOB_DAYS - 1)), f.color.human(), nowMs) };
    if (this.options.payloadBytes > 0) w['payload'] = this.#payload(this.options.payloadBytes);
    let value: Buffer;
    let code: string;
    switch (kind) {
      case 'malformed_json': {
        const text = JSON.stringify(w);
        const variant = f.number.int(2);
        // A proper prefix of a JSON object is never valid JSON; nor is a trailing comma or a bare key.
        const bad =
          variant === 0
            ? text.slice(0, text.length - 1 - f.number.int(Math.min(20, text.length - 2)))
            : variant === 1
              ? `${text.slice(0, -1)},}`
              : `{v:1,${text.slice(1)}`;
        value = Buffer.from(bad, 'utf8');
        code = 'malformed_json';
        break;
      }
      case 'missing_field': {
        const field = OMITTABLE[f.number.int(OMITTABLE.length - 1)]!;
        delete w[field];
        value = encodeUnknown(w);
        code = `missing_field:${field}`;
        break;
      }
      case 'wrong_type': {
        const field = RETYPABLE[f.number.int(RETYPABLE.length - 1)]!;
        w[field] = wrongType(field, w, nowMs);
        value = encodeUnknown(w);
        code = `invalid_field:${field}`;
        break;
      }
      case 'impossible_date': {
        const year = 1930 + f.number.int(90);
        const nonLeap = year % 4 === 0 ? year + 1 : year; // never a leap year (1930..2021: no century)
        const md = IMPOSSIBLE_DAYS[f.number.int(IMPOSSIBLE_DAYS.length)];
        w['dateOfBirth'] = md === undefined ? `${nonLeap}-02-29` : `${year}-${md}`;
        value = encodeUnknown(w);
        code = 'invalid_date:dateOfBirth';
        break;
      }
      case 'future_date': {
        // At least two days ahead, so that a consumer clock somewhat behind still sees the future.
        w['dateOfBirth'] = new Date(nowMs + (2 + f.number.int(3650)) * DAY_MS).toISOString().slice(0, 10);
        value = encodeUnknown(w);
        code = 'future_date:dateOfBirth';
        break;
      }
      case 'unsupported_version':
        w['v'] = 2;
        value = encodeUnknown(w);
        code = 'unsupported_version';
        break;
      case 'unknown_field':
        w[EXTRA_FIELDS[f.number.int(EXTRA_FIELDS.length - 1)]!] = 'x';
        value = encodeUnknown(w);
        code = 'unknown_field';
        break;
      case 'oversized':
        w['payload'] = this.#payload(DEFAULT_MAX_RECORD_BYTES + 1 + f.number.int(4095));
        value = encodeUnknown(w);
        code = 'oversized';
        break;
      case 'empty_value':
        value = Buffer.alloc(0);
        code = 'empty_value';
        break;
      case 'nul_character': {
        // PostgreSQL's text refuses NUL (SQLSTATE 22021): a record that once stopped its partition.
        const field = 'payload' in w && f.number.int(1) === 1 ? 'payload' : 'name';
        w[field] = `${String(w[field]).slice(0, 8)}\u0000${String(w[field]).slice(8)}`;
        value = encodeUnknown(w);
        code = `forbidden_character:${field}`;
        break;
      }
      case 'invalid_utf8': {
        // Bytes that are not UTF-8 inside the name's string (JSON.parse would repair them to U+FFFD).
        const text = JSON.stringify(w);
        const at = text.indexOf('"name":"') + 9;
        value = Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(at), 'utf8')]);
        code = 'invalid_unicode';
        break;
      }
      case 'lone_surrogate': {
        const text = JSON.stringify(w);
        value = Buffer.from(text.replace('"name":"', '"name":"\\udc8f'), 'utf8');
        code = 'invalid_unicode:name';
        break;
      }
      case 'blank_name':
        // Hangul fillers are letters (Lo) that render as nothing: the name normalizes to "".
        w['name'] = '\u3164'.repeat(1 + f.number.int(3));
        value = encodeUnknown(w);
        code = 'blank_name:name';
        break;
    }
    this.#invalidByReject.set(code, (this.#invalidByReject.get(code) ?? 0) + 1);
    return { key: randomKey(f), value, kind: 'invalid', expectedReject: code, invalidKind: kind };
  }
}

export function generateRecords(options: GeneratorOptions): RecordGenerator {
  return new RecordGenerator(options);
}

// ---------------------------------------------------------------------------------------------

const PAYLOAD_OPEN = Buffer.from(',"payload":"', 'utf8');
const PAYLOAD_CLOSE = Buffer.from('"}', 'utf8');

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(n: number): string {
  return HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

function hex4(n: number): string {
  return HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

/** A random (version 4, RFC 9562 variant) UUID from the seeded source: several times faster than faker.string.uuid(). */
export function uuidV4(f: Faker): string {
  const a = f.number.int(0xffffffff);
  const b = ((f.number.int(0xffffffff) & 0xffff0fff) | 0x4000) >>> 0;
  const c = ((f.number.int(0xffffffff) & 0x3fffffff) | 0x80000000) >>> 0;
  const d = f.number.int(0xffffffff);
  return `${hex8(a)}-${hex4(b >>> 16)}-${hex4(b)}-${hex4(c >>> 16)}-${hex4(c)}${hex8(d)}`;
}

function encodeUnknown(w: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(w), 'utf8');
}

function wrongType(field: (typeof RETYPABLE)[number], w: Record<string, unknown>, nowMs: number): unknown {
  switch (field) {
    case 'recordId':
      return 4711;
    case 'name':
      return 12345;
    case 'dateOfBirth':
      return Number(String(w['dateOfBirth']).replaceAll('-', ''));
    case 'favoriteColor':
      return [w['favoriteColor']];
    case 'eventTime':
      return nowMs;
    case 'payload':
      return { text: 'see attached' };
  }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A random 22-character key shaped like a partition key. */
function randomKey(f: Faker): string {
  let key = '';
  for (let i = 0; i < 6; i++) {
    const n = f.number.int(0xffffff);
    key += BASE64URL[n & 63]! + BASE64URL[(n >>> 6) & 63]! + BASE64URL[(n >>> 12) & 63]! + BASE64URL[(n >>> 18) & 63]!;
  }
  return key.slice(0, 22);
}

const NAME_VARIATIONS = 6;

/** The name as sent again: harmless variations that normalize to the same name. */
export function varyName(name: string, variation: number): string {
  switch (variation) {
    case 1:
      return name.toUpperCase();
    case 2:
      return name.toLowerCase();
    case 3:
      return name.replaceAll(' ', '  ');
    case 4:
      return `  ${name} `;
    case 5:
      return name.normalize('NFD');
    default:
      return name;
  }
}
