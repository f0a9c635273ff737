import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '@clinical-ingest/testkit';
import {
  binaryByteaArray,
  binaryDateArray,
  binaryFloat8Array,
  binaryInt8Array,
  binaryRandomUuidArray,
  binaryTextArray,
  binaryUuidArray,
  boolArray,
  plainArray,
  textArray,
} from './pg-arrays.js';

/** The hand-built array literals read back in PostgreSQL as exactly the values they were built from. */

let platform: TestPlatform;
beforeAll(async () => {
  platform = await TestPlatform.connect();
});
afterAll(async () => {
  await platform?.close();
});

const roundTrip = async (literal: string | Buffer, type: string) => (await platform.app.query(`SELECT $1::${type} AS a`, [literal])).rows[0].a;

describe('array literals', () => {
  it('text: quotes, backslashes, braces, commas, blanks, empty strings, other scripts and NULL survive', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash\\', '{braces}', 'a,b', '  padded  ', '', 'NULL', 'Zoë Ωμέγα 名前', '\\"', null, 'new\nline\ttab'];
    expect(await roundTrip(textArray(values), 'text[]')).toEqual(values);
  });

  it('binary text and bytea arrays: verbatim bytes, NULL, empty values, large values, the empty array', async () => {
    const texts = ['plain', 'with "quotes" and \\ backslashes, {braces}', null, '', 'Zoë Ωμέγα 名前 🩺', 'x'.repeat(25_000)];
    expect(await roundTrip(binaryTextArray(texts), 'text[]')).toEqual(texts);
    const bufs = [Buffer.from([0, 1, 2, 255]), null, Buffer.alloc(0), Buffer.alloc(40_000, 0xab)];
    expect(await roundTrip(binaryByteaArray(bufs), 'bytea[]')).toEqual(bufs);
    expect(await roundTrip(binaryTextArray([]), 'text[]')).toEqual([]);
    expect(await roundTrip(binaryByteaArray([]), 'bytea[]')).toEqual([]);
  });

  it('binary int8 and float8 arrays: both halves and the sign of an int8, every double exactly, the empty array', async () => {
    const ints = [0, 1, 2 ** 31, 2 ** 32, 2 ** 32 + 5, 1796232865800, Number.MAX_SAFE_INTEGER, -1, -(2 ** 32) - 7, Number.MIN_SAFE_INTEGER];
    expect((await roundTrip(binaryInt8Array(ints), 'int8[]')).map(Number)).toEqual(ints);
    expect(await roundTrip(binaryInt8Array(ints), 'int8[]')).toEqual(ints.map(String));
    const doubles = [1796232865800.5, -1, 0, 1e-300, 2 ** 53 + 2, Number.MAX_VALUE];
    expect(await roundTrip(binaryFloat8Array(doubles), 'float8[]')).toEqual(doubles);
    expect(await roundTrip(binaryInt8Array([]), 'int8[]')).toEqual([]);
    expect(await roundTrip(binaryFloat8Array([]), 'float8[]')).toEqual([]);
    // Read as what they claim to be: an int8 array is not taken for float8, nor the reverse.
    await expect(roundTrip(binaryInt8Array([1]), 'float8[]')).rejects.toThrow();
    expect(() => binaryInt8Array([2 ** 53])).toThrow(RangeError);
    expect(() => binaryInt8Array([1.5])).toThrow(RangeError);
  });

  it('binary uuid arrays: every byte in place, either case, the empty array; anything but the canonical form refused', async () => {
    const ids = [
      '2f1c7a52-8a0e-4a55-9c1a-3a0f4e2b9d11',
      '00000000-0000-4000-8000-000000000001',
      'ffffffff-ffff-4fff-bfff-ffffffffffff',
      '0123ABCD-4567-49EF-89AB-CDEF01234567',
    ];
    expect(await roundTrip(binaryUuidArray(ids), 'uuid[]')).toEqual(ids.map((id) => id.toLowerCase()));
    const text = (await platform.app.query<{ t: string }>('SELECT ($1::uuid[])::text AS t', [binaryUuidArray(ids)])).rows[0]!.t;
    expect(text).toBe(`{${ids.map((id) => id.toLowerCase()).join(',')}}`);
    expect(await roundTrip(binaryUuidArray([]), 'uuid[]')).toEqual([]);
    for (const bad of [
      '2f1c7a528a0e4a559c1a3a0f4e2b9d11',
      '{2f1c7a52-8a0e-4a55-9c1a-3a0f4e2b9d11}',
      '2f1c7a52-8a0e-4a55-9c1a-3a0f4e2b9d1g',
      '2f1c7a52-8a0e-4a55_9c1a-3a0f4e2b9d11',
      '2f1c7a52-8a0e-4a55-9c1a-3a0f4e2b9d1é',
      '',
    ]) {
      expect(() => binaryUuidArray([bad])).toThrow(RangeError);
    }
  });

  it('binary random uuid arrays: version-4 UUIDs, all different, none for none', async () => {
    const ids = (await roundTrip(binaryRandomUuidArray(2_000), 'uuid[]')) as string[];
    expect(ids).toHaveLength(2_000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(2_000);
    expect(await roundTrip(binaryRandomUuidArray(0), 'uuid[]')).toEqual([]);
  });

  it('binary date arrays: the same day as PostgreSQL reads from the text, across eras, leap days and the epoch; impossible dates refused', async () => {
    const days = [
      '2000-01-01',
      '1999-12-31',
      '1970-01-01',
      '1890-01-01',
      '1984-02-29',
      '2000-02-29',
      '1900-02-28',
      '1900-03-01',
      '2026-12-03',
      '0001-01-01',
      '9999-12-31',
    ];
    expect(await roundTrip(binaryDateArray(days), 'date[]::text[]')).toEqual(days);
    expect(await roundTrip(binaryDateArray([]), 'date[]')).toEqual([]);
    for (const bad of [
      '1900-02-29',
      '2023-02-29',
      '2024-04-31',
      '2024-13-01',
      '2024-00-10',
      '2024-01-00',
      '0000-01-01',
      '2024-1-01',
      '20240101',
      '2024/01/01',
      '2024-01-01T00:00:00Z',
      '',
    ]) {
      expect(() => binaryDateArray([bad])).toThrow(RangeError);
    }
  });

  it('numbers, uuids, dates and booleans', async () => {
    expect((await roundTrip(plainArray([0, 1796232865800, 9007199254740991]), 'int8[]')).map(Number)).toEqual([0, 1796232865800, 9007199254740991]);
    expect(await roundTrip(plainArray([1796232865800.5, -1]), 'float8[]')).toEqual([1796232865800.5, -1]);
    const ids = ['2f1c7a52-8a0e-4a55-9c1a-3a0f4e2b9d11', '00000000-0000-4000-8000-000000000001'];
    expect(await roundTrip(plainArray(ids), 'uuid[]')).toEqual(ids);
    expect(await roundTrip(boolArray([true, false, true]), 'bool[]')).toEqual([true, false, true]);
    expect(await roundTrip(plainArray([]), 'int8[]')).toEqual([]);
    expect(await roundTrip(textArray([]), 'text[]')).toEqual([]);
  });
});
