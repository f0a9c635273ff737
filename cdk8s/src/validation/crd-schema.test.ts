import { describe, expect, it } from 'vitest';
import { re2ToJs } from './crd-schema.js';

describe('re2ToJs', () => {
  it("turns RE2's (?i) into letter classes, leaving escapes and classes alone", () => {
    const re = new RegExp(re2ToJs('^(?i)(abort|warn)?$'));
    for (const ok of ['abort', 'WARN', 'Abort', '']) expect(re.test(ok), ok).toBe(true);
    expect(re.test('error')).toBe(false);
    expect(re2ToJs('^(?i)[a-z]\\d+$')).toBe('^[a-zA-Z]\\d+$');
    expect(re2ToJs('^[a-z]+$')).toBe('^[a-z]+$');
  });
});
