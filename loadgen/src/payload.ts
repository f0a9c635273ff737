/**
 * Clinical-looking filler text for record payloads, generated cheaply: one pool of text is built
 * once per process (deterministically, independent of any seed) and payloads are slices of it at a
 * random offset. The pool is JSON-safe (no quotes, backslashes, control characters or newlines), so
 * a payload of N bytes adds exactly N bytes to the encoded record. A few non-ASCII characters (°, µ)
 * make the UTF-8 byte length differ from the character count, as in real notes.
 */

import { prng } from '@clinical-ingest/intake-core';

/** Pool size in characters: room for the largest payload plus an oversized one (> 32 KiB). */
export const POOL_CHARS = 128 * 1024;

const OPENINGS = [
  'Patient reports',
  'Patient denies',
  'Follow-up visit for',
  'Seen in clinic for',
  'Referred by GP for',
  'Telephone consultation regarding',
  'Admitted overnight with',
  'Review of',
];
const FINDINGS = [
  'intermittent headache',
  'productive cough',
  'lower back pain',
  'shortness of breath on exertion',
  'mild chest tightness',
  'fatigue and poor sleep',
  'dizziness when standing',
  'swelling of the left ankle',
  'epigastric discomfort after meals',
  'recurrent urinary symptoms',
  'skin rash on both forearms',
  'palpitations at rest',
];
const DURATIONS = ['for 2 days', 'for 1 week', 'for 3 weeks', 'since last month', 'for several months', 'since the last visit'];
const VITALS = [
  'BP {sys}/{dia} mmHg, HR {hr} bpm, SpO2 {spo2}% on room air',
  'Temp {temp} °C, RR {rr}/min, HR {hr} bpm',
  'Weight {kg} kg, BMI {bmi}, BP {sys}/{dia} mmHg',
  'Glucose {glu} mmol/L fasting, HbA1c {a1c}%',
];
const PLANS = [
  'Continue current medication and review in 4 weeks',
  'Started amoxicillin 500 mg three times daily for 7 days',
  'Vitamin D 25 µg daily advised',
  'Bloods requested: FBC, U&E, LFT, CRP',
  'ECG shows sinus rhythm, no acute changes',
  'Advised fluids, rest and paracetamol as needed',
  'Physiotherapy referral made',
  'Safety-netting advice given, return if symptoms worsen',
  'Chest X-ray unremarkable',
  'Dose of ramipril increased to 5 mg once daily',
];

function buildPool(): string {
  const rnd = prng(0x5eed); // fixed seed: the pool is identical in every process
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const parts: string[] = [];
  let length = 0;
  while (length < POOL_CHARS + 256) {
    const vitals = pick(VITALS)
      .replace('{sys}', String(int(100, 165)))
      .replace('{dia}', String(int(60, 100)))
      .replace('{hr}', String(int(52, 118)))
      .replace('{spo2}', String(int(91, 100)))
      .replace('{temp}', (36 + rnd() * 3).toFixed(1))
      .replace('{rr}', String(int(12, 24)))
      .replace('{kg}', String(int(45, 130)))
      .replace('{bmi}', (18 + rnd() * 17).toFixed(1))
      .replace('{glu}', (4 + rnd() * 8).toFixed(1))
      .replace('{a1c}', (5 + rnd() * 4).toFixed(1));
    const sentence = `${pick(OPENINGS)} ${pick(FINDINGS)} ${pick(DURATIONS)}. ${vitals}. ${pick(PLANS)}. `;
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').slice(0, POOL_CHARS);
}

const POOL = buildPool();

/** PREFIX[i] = UTF-8 bytes of POOL.slice(0, i). */
const PREFIX = (() => {
  const prefix = new Uint32Array(POOL.length + 1);
  for (let i = 0; i < POOL.length; i++) {
    const c = POOL.charCodeAt(i);
    // The pool holds no surrogate pairs (only BMP characters below U+0800 besides ASCII).
    prefix[i + 1] = prefix[i]! + (c < 0x80 ? 1 : c < 0x800 ? 2 : 3);
  }
  return prefix;
})();

/** The largest payload `payloadSlice` can make, in bytes (with room for any start offset). */
export const MAX_SLICE_BYTES = 64 * 1024;

/** The pool as UTF-8 bytes: `POOL_BYTES.subarray(PREFIX[a], PREFIX[b])` is `POOL.slice(a, b)`. */
const POOL_BYTES = Buffer.from(POOL, 'utf8');

/** Character range [start, end) of a slice of at most `bytes` UTF-8 bytes (and at least `bytes - 1`). */
function sliceRange(bytes: number, offset01: number): [number, number] {
  if (bytes > MAX_SLICE_BYTES) throw new RangeError(`payload of ${bytes} bytes exceeds ${MAX_SLICE_BYTES}`);
  // Any start up to POOL.length - bytes leaves at least `bytes` characters (>= bytes bytes).
  const start = Math.floor(offset01 * (POOL.length - bytes));
  const limit = PREFIX[start]! + bytes;
  // Largest end with PREFIX[end] <= limit (a 2-byte character may not fit at the end).
  let lo = start;
  let hi = Math.min(POOL.length, start + bytes);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (PREFIX[mid]! <= limit) lo = mid;
    else hi = mid - 1;
  }
  return [start, lo];
}

/**
 * A payload of at most `bytes` UTF-8 bytes (and at least `bytes - 1`), starting at character
 * `offset01 * (available)` of the pool. `offset01` in [0, 1) comes from the caller's seeded source.
 */
export function payloadSlice(bytes: number, offset01: number): string {
  if (bytes <= 0) return '';
  const [start, end] = sliceRange(bytes, offset01);
  return POOL.slice(start, end);
}

/** The same payload as `payloadSlice(bytes, offset01)`, as UTF-8 bytes (a view: do not modify). */
export function payloadSliceBytes(bytes: number, offset01: number): Buffer {
  if (bytes <= 0) return POOL_BYTES.subarray(0, 0);
  const [start, end] = sliceRange(bytes, offset01);
  return POOL_BYTES.subarray(PREFIX[start], PREFIX[end]);
}
