import { randomBytes } from 'node:crypto';
import {
  FieldEncryption,
  SealedValueError,
  UnknownKeyError,
  newKey,
  parseKeyRing,
  parseLookupKey,
} from '../../src/db/field-encryption';

const key = (id: number) => ({ id, key: randomBytes(32) });
const lookupKey = randomBytes(32);

describe('FieldEncryption', () => {
  const one = key(1);
  const encryption = new FieldEncryption({ keys: [one], lookupKey });

  it('seals text so that it opens to the same text, and holds none of it in clear', () => {
    for (const text of [
      'Ada Lovelace',
      'ada@example.org',
      '',
      'Zoë “Quoted” Ñandú, 12 Rue de l’Église',
      "'; DROP TABLE signatures; --",
      'a'.repeat(5000),
    ]) {
      const sealed = encryption.seal('signatures.name', text);
      expect(encryption.open('signatures.name', sealed)).toBe(text);
      if (text.length > 3) expect(sealed.includes(Buffer.from(text))).toBe(false);
      // Format 1, key 1, a 12-byte nonce, the ciphertext, a 16-byte tag.
      expect([sealed[0], sealed[1]]).toEqual([1, 1]);
      expect(sealed.length).toBe(2 + 12 + Buffer.byteLength(text) + 16);
    }
  });

  it('never seals the same text the same way twice (a fresh nonce each time)', () => {
    const sealed = Array.from({ length: 2000 }, () =>
      encryption.seal('signatures.email', 'same@example.org'),
    );
    expect(new Set(sealed.map((value) => value.toString('hex'))).size).toBe(2000);
    expect(new Set(sealed.map((value) => value.subarray(2, 14).toString('hex'))).size).toBe(2000);
  });

  it('opens the Uint8Array PGlite gives as well as a Buffer', () => {
    const sealed = encryption.seal('letters.body', 'Dear Senator');
    expect(encryption.open('letters.body', new Uint8Array(sealed))).toBe('Dear Senator');
  });

  it('refuses a value moved to another column, altered in any byte, or cut short', () => {
    const sealed = encryption.seal('signatures.email', 'ada@example.org');
    expect(() => encryption.open('signatures.name', sealed)).toThrow(SealedValueError);
    for (let index = 0; index < sealed.length; index++) {
      const altered = Buffer.from(sealed);
      altered[index]! ^= 0x01;
      expect(() => encryption.open('signatures.email', altered)).toThrow(
        index === 1 ? UnknownKeyError : SealedValueError,
      );
    }
    expect(() => encryption.open('signatures.email', sealed.subarray(0, 20))).toThrow(
      SealedValueError,
    );
  });

  it('seals with the first key of the ring and opens with any; a key no longer held is named', () => {
    const two = key(2);
    const rotated = new FieldEncryption({ keys: [two, one], lookupKey });
    const old = encryption.seal('signatures.name', 'Grace Hopper');
    const fresh = rotated.seal('signatures.name', 'Grace Hopper');
    expect(FieldEncryption.keyIdOf(fresh)).toBe(2);
    expect(rotated.open('signatures.name', old)).toBe('Grace Hopper');
    expect(rotated.open('signatures.name', fresh)).toBe('Grace Hopper');
    const onlyNew = new FieldEncryption({ keys: [two], lookupKey });
    expect(() => onlyNew.open('signatures.name', old)).toThrow(
      new UnknownKeyError(1, 'signatures.name'),
    );
    expect(() => onlyNew.open('signatures.name', old)).toThrow(
      /sealed with key 1, which ENCRYPTION_KEYS does not hold/,
    );
    // The same id with other key material: refused, not misread.
    const impostor = new FieldEncryption({ keys: [key(1)], lookupKey });
    expect(() => impostor.open('signatures.name', old)).toThrow(SealedValueError);
  });

  it('hashes an address the same way every time, under its own key, apart from its domain', () => {
    expect(encryption.emailHash('ada@example.org')).toEqual(
      encryption.emailHash('ada@example.org'),
    );
    expect(encryption.emailHash('ada@example.org')).not.toEqual(
      encryption.emailHash('ada2@example.org'),
    );
    expect(encryption.emailHash('ada@example.org')).toHaveLength(32);
    expect(
      new FieldEncryption({ keys: [one], lookupKey: randomBytes(32) }).emailHash('ada@example.org'),
    ).not.toEqual(encryption.emailHash('ada@example.org'));
    // Rotating the encryption key does not change the hashes: look-ups keep working.
    expect(
      new FieldEncryption({ keys: [key(2), one], lookupKey }).emailHash('ada@example.org'),
    ).toEqual(encryption.emailHash('ada@example.org'));
    expect(encryption.domainHash('ada@example.org')).toEqual(
      encryption.domainHash('grace@example.org'),
    );
    expect(encryption.domainHash('ada@example.org')).not.toEqual(
      encryption.domainHash('ada@example.net'),
    );
    expect(encryption.domainHash('ada@example.org')).toHaveLength(16);
  });
});

describe('key configuration', () => {
  it('reads a ring of <id>:<base64 key>, newest first, in either base64 alphabet', () => {
    const a = newKey();
    const b = randomBytes(32).toString('base64url');
    const ring = parseKeyRing(` 7:${a} , 3:${b}`);
    expect(ring.map((entry) => entry.id)).toEqual([7, 3]);
    expect(ring[0]!.key).toEqual(Buffer.from(a, 'base64'));
    expect(ring[1]!.key).toEqual(Buffer.from(b, 'base64url'));
    expect(parseLookupKey(a)).toEqual(Buffer.from(a, 'base64'));
  });

  it('says what is wrong without ever repeating a key', () => {
    const short = randomBytes(16).toString('base64');
    const good = newKey();
    const cases: Array<[string, RegExp]> = [
      ['', /at least one key/],
      [good, /entry 1 must be <id>:<base64 key>/],
      [`0:${good}`, /id from 1 to 255/],
      [`256:${good}`, /id from 1 to 255/],
      [`1:${good},1:${newKey()}`, /key id 1 is listed twice/],
      [`1:${short}`, /key 1: a key must be 32 random bytes/],
      [`1:${good},2:not base64!`, /key 2: a key must be 32 random bytes/],
    ];
    for (const [value, message] of cases) {
      let thrown: Error | undefined;
      try {
        parseKeyRing(value);
      } catch (error) {
        thrown = error as Error;
      }
      expect(thrown?.message).toMatch(message);
      expect(thrown!.message).not.toContain(short);
      expect(thrown!.message).not.toContain(good);
    }
    expect(() => parseLookupKey(short)).toThrow(/32 random bytes/);
  });
});
