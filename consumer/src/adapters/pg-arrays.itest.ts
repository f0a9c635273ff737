import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '@clinical-ingest/testkit';
import { binaryByteaArray, binaryFloat8Array, binaryInt8Array, binaryTextArray, boolArray, hexByteaArray, plainArray, textArray } from './pg-arrays.js';

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

  it('bytea from hex strings', async () => {
    const keys = [Buffer.alloc(32, 7), Buffer.alloc(32, 200)];
    expect(await roundTrip(hexByteaArray(keys.map((k) => k.toString('hex'))), 'bytea[]')).toEqual(keys);
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
