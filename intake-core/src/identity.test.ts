import { describe, expect, it } from 'vitest';
import { IdentityKeyer, identityOf, normalizeName, partitionKey } from './identity.js';

describe('normalizeName', () => {
  const same: [string, string, string][] = [
    ['NFC vs NFD', 'Zoë Brontë', 'Zoe\u0308 Bronte\u0308'],
    ['case', 'MARY o’NEIL', 'mary O’Neil'],
    ['leading, trailing and inner white space', '  Ada   Lovelace ', 'Ada Lovelace'],
    ['tabs and non-breaking spaces', 'Ada\t\u00A0Lovelace', 'Ada Lovelace'],
    ['zero-width space and joiner', 'Ad\u200Ba Love\u200Dlace', 'Ada Lovelace'],
    ['byte order mark and word joiner', '\uFEFFAda\u2060 Lovelace', 'Ada Lovelace'],
    ['bidi controls', '\u202EAda Lovelace\u202C', 'Ada Lovelace'],
    ['bidi isolates and marks', '\u2067Ada\u200F Lovelace\u2069', 'Ada Lovelace'],
    ['full-width compatibility forms', 'Ａｄａ Ｌｏｖｅｌａｃｅ', 'Ada Lovelace'],
    ['sharp s folds to ss', 'Strauß', 'STRAUSS'],
    ['final sigma', 'ΟΔΥΣΣΕΥΣ', 'οδυσσευς'],
    ['soft hyphen', 'Love\u00ADlace', 'Lovelace'],
    // Every default-ignorable code point, not only a list of the common zero-width ones.
    ['Hangul filler', 'Ada\u3164 Lovelace', 'Ada Lovelace'],
    ['tag characters', 'Ada\u{E0041}\u{E007F} Lovelace', 'Ada Lovelace'],
    ['musical-symbol format controls', 'Ada\u{1D173} Lovelace', 'Ada Lovelace'],
    ['shorthand format controls', 'Ada\u{1BCA0} Lovelace', 'Ada Lovelace'],
    ['Mongolian vowel separator', 'Ada\u180E Lovelace', 'Ada Lovelace'],
    ['a blank Braille pattern', '\u2800Ada Lovelace', 'Ada Lovelace'],
  ];
  it.each(same)('%s: same person', (_label, a, b) => {
    expect(normalizeName(a)).toBe(normalizeName(b));
  });

  const different: [string, string, string][] = [
    ['Cyrillic а vs Latin a', 'Anna', 'Аnna'],
    ['Cyrillic о vs Latin o', 'Olga', 'Оlga'],
    ['Greek ο vs Latin o', 'Bob', 'Bοb'],
    ['different people', 'Ada Lovelace', 'Ada Byron'],
    ['a space inside a name is kept', 'Mary Ann', 'Maryann'],
  ];
  it.each(different)('%s: different people', (_label, a, b) => {
    expect(normalizeName(a)).not.toBe(normalizeName(b));
  });

  it('a name made only of characters that render as nothing normalizes to nothing', () => {
    expect(normalizeName('\u3164\u2800\u{E0020}\u200B\u115F')).toBe('');
  });

  it('produces the canonical form', () => {
    expect(normalizeName('  JOSÉ\u200B  María  ')).toBe('josé maría');
  });
});

describe('identity keys', () => {
  const keyer = new IdentityKeyer('0123456789abcdef0123456789abcdef');
  it('equal identities give equal HMAC keys and partition keys', () => {
    const a = identityOf('Ada  LOVELACE', '1815-12-10');
    const b = identityOf('ada lovelace', '1815-12-10');
    expect(keyer.key(a).equals(keyer.key(b))).toBe(true);
    expect(partitionKey(a)).toBe(partitionKey(b));
  });
  it('a different date of birth is a different person', () => {
    const a = identityOf('Ada Lovelace', '1815-12-10');
    const b = identityOf('Ada Lovelace', '1815-12-11');
    expect(keyer.key(a).equals(keyer.key(b))).toBe(false);
  });
  it('the key depends on the secret', () => {
    const other = new IdentityKeyer('fedcba9876543210fedcba9876543210');
    const a = identityOf('Ada Lovelace', '1815-12-10');
    expect(keyer.key(a).equals(other.key(a))).toBe(false);
  });
  it('name and date cannot be shifted into each other', () => {
    const a = identityOf('Ada 1', '1815-12-10');
    expect(keyer.key(a).equals(keyer.key({ nameNorm: 'ada', dateOfBirth: '1 1815-12-10' }))).toBe(false);
  });
  it('refuses a short secret', () => {
    expect(() => new IdentityKeyer('short')).toThrow(/at least 16 bytes/);
  });
});
