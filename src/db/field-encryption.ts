import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  randomFillSync,
} from 'node:crypto';

/**
 * Encryption at rest of supporters' personal data: the names, email addresses, street addresses,
 * cities and notes of signers and letter writers, and the letters they wrote. A database dump, a
 * backup or a query that reads these columns gets ciphertext; only a process holding the keys
 * from the configuration reads them.
 *
 * Each value is sealed on its own with AES-256-GCM under a random 96-bit nonce:
 *
 *     byte 0       format (1)
 *     byte 1       the id of the key that sealed it (1 to 255)
 *     bytes 2-13   the nonce
 *     then         the ciphertext of the UTF-8 text, then the 16-byte tag
 *
 * The authenticated data is those first two bytes and the column's name, so a value fails to open
 * if it is altered, if its key id is changed, or if it is copied into another column (an email
 * into the name shown on a page, say).
 *
 * Keys form a ring (ENCRYPTION_KEYS): the first seals, all of them open, so a new key can be put
 * first while values sealed under the old one are still read; `npm run keys:rotate` then seals
 * those again under the new one, and says when the old key is no longer used.
 *
 * Email addresses are also kept as a keyed hash (HMAC-SHA-256 under LOOKUP_HASH_KEY, a key of its
 * own): the unique index that allows one signature per address and campaign is on the hash, and
 * every look-up by address (a repeat signature, "your data", unsubscribe) goes through it. The
 * hash of the address's domain groups signatures for the staff's burst report.
 */

export interface DataKey {
  id: number;
  key: Buffer;
}

export interface EncryptionKeys {
  /** The first seals; all open. */
  keys: DataKey[];
  lookupKey: Buffer;
  /**
   * Keys an embedded installation made just now, kept nowhere yet: the first migration writes
   * them to their file before sealing anything with them (see key-checks.ts, `saveNewKeys`).
   */
  unsaved?: { file: string; save(): void };
}

/** Every column that holds sealed values; its name is part of each value's authenticated data. */
export type SealedColumn =
  | 'signatures.email'
  | 'signatures.name'
  | 'signatures.address'
  | 'letter_actions.email'
  | 'letter_actions.name'
  | 'letter_actions.address'
  | 'letter_actions.city'
  | 'letter_actions.note'
  | 'letter_actions.prefix'
  | 'letters.subject'
  | 'letters.body'
  /** A webhook's signing secret, or a partner's Action Network API key. */
  | 'webhook_subscriptions.secret'
  /** What a `person.erased` webhook may tell its receiver of the person (JSON). */
  | 'webhook_items.payload';

export const KEY_BYTES = 32;
const FORMAT = 1;
const HEADER_BYTES = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Nonces are drawn from the system's random source this many at a time (one call per value costs more than the encryption). */
const NONCES_PER_DRAW = 256;

/** A new random key, base64: for ENCRYPTION_KEYS (after `<id>:`) or LOOKUP_HASH_KEY. */
export const newKey = (): string => randomBytes(KEY_BYTES).toString('base64');

function decodeKey(text: string): Buffer {
  const trimmed = text.trim();
  // Node reads both alphabets (standard and URL-safe); anything else is not a key.
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
    ? Buffer.from(trimmed, 'base64')
    : Buffer.alloc(0);
  if (key.length !== KEY_BYTES)
    throw new Error(
      `a key must be ${KEY_BYTES} random bytes in base64 (\`npm run keys:new\` makes one)`,
    );
  return key;
}

/** `ENCRYPTION_KEYS`: `<id>:<base64 key>`, comma-separated, the newest (the one that seals) first. Messages never quote a key. */
export function parseKeyRing(value: string): DataKey[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one key, as <id>:<base64 key>');
  const ring: DataKey[] = [];
  entries.forEach((entry, index) => {
    const match = /^(\d{1,3}):(.*)$/s.exec(entry);
    const id = match ? Number(match[1]) : NaN;
    if (!match || id < 1 || id > 255)
      throw new Error(`entry ${index + 1} must be <id>:<base64 key>, with an id from 1 to 255`);
    if (ring.some((key) => key.id === id)) throw new Error(`key id ${id} is listed twice`);
    let key: Buffer;
    try {
      key = decodeKey(match[2]!);
    } catch (error) {
      throw new Error(`key ${id}: ${(error as Error).message}`, { cause: error });
    }
    const same = ring.find((other) => other.key.equals(key));
    if (same) throw new Error(`keys ${same.id} and ${id} are the same key: a new key must be new`);
    ring.push({ id, key });
  });
  return ring;
}

export const parseLookupKey = (value: string): Buffer => decodeKey(value);

/** What follows an address's last `@`. */
export const emailDomain = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

/** A ring as ENCRYPTION_KEYS writes it (for a process that must share it). */
export const formatKeyRing = (keys: DataKey[]): string =>
  keys.map(({ id, key }) => `${id}:${key.toString('base64')}`).join(',');

/** A sealed value names a key the ring does not hold: it was removed before `keys:rotate` had sealed everything again. */
export class UnknownKeyError extends Error {
  constructor(
    readonly keyId: number,
    readonly column: SealedColumn,
  ) {
    super(
      `a value in ${column} was sealed with key ${keyId}, which ENCRYPTION_KEYS does not hold: add that key back (after the current one)`,
    );
  }
}

/** A value that is not one this module sealed, or that was altered: it cannot be opened. */
export class SealedValueError extends Error {}

export class FieldEncryption {
  private readonly ring: Map<number, Buffer>;
  private readonly sealing: DataKey;
  private readonly lookupKey: Buffer;
  private readonly additionalData = new Map<string, Buffer>();
  private nonces = Buffer.alloc(0);
  private nonceOffset = 0;

  constructor(keys: EncryptionKeys) {
    if (keys.keys.length === 0) throw new Error('no encryption key');
    this.sealing = keys.keys[0]!;
    this.ring = new Map(keys.keys.map((key) => [key.id, key.key]));
    this.lookupKey = keys.lookupKey;
  }

  /** The id of the key that seals new values. */
  get sealingKeyId(): number {
    return this.sealing.id;
  }

  /** The ids of every key in the ring, newest first. */
  get keyIds(): number[] {
    return [...this.ring.keys()];
  }

  seal(column: SealedColumn, text: string): Buffer {
    const nonce = this.nextNonce();
    const cipher = createCipheriv('aes-256-gcm', this.sealing.key, nonce, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(this.authenticatedData(this.sealing.id, column));
    const encrypted = cipher.update(text, 'utf8');
    cipher.final();
    return Buffer.concat([
      Buffer.of(FORMAT, this.sealing.id),
      nonce,
      encrypted,
      cipher.getAuthTag(),
    ]);
  }

  sealOptional(column: SealedColumn, text: string | null | undefined): Buffer | null {
    return text === null || text === undefined ? null : this.seal(column, text);
  }

  /** The text of a sealed value. Throws UnknownKeyError or SealedValueError when it cannot be opened. */
  open(column: SealedColumn, value: Uint8Array): string {
    const data = Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (data.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES || data[0] !== FORMAT)
      throw new SealedValueError(
        `a value in ${column} is not sealed in a format this version reads`,
      );
    const keyId = data[1]!;
    const key = this.ring.get(keyId);
    if (!key) throw new UnknownKeyError(keyId, column);
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        key,
        data.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
        { authTagLength: TAG_BYTES },
      );
      decipher.setAAD(this.authenticatedData(keyId, column));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const text = decipher.update(
        data.subarray(HEADER_BYTES + NONCE_BYTES, data.length - TAG_BYTES),
      );
      decipher.final();
      return text.toString('utf8');
    } catch {
      throw new SealedValueError(
        `a value in ${column} does not open with key ${keyId}: it was altered, or sealed under a different key with that id`,
      );
    }
  }

  openOptional(column: SealedColumn, value: Uint8Array | null | undefined): string | null {
    return value === null || value === undefined ? null : this.open(column, value);
  }

  /** The id of the key a sealed value was sealed with. */
  static keyIdOf(value: Uint8Array): number {
    return value[1] ?? 0;
  }

  /**
   * The keyed hash of a (normalised: trimmed, lower-cased) email address: what the database
   * de-duplicates and finds addresses by.
   */
  emailHash(email: string): Buffer {
    return createHmac('sha256', this.lookupKey).update(`email:${email}`).digest();
  }

  /** The keyed hash of an address's domain, for the burst report: 16 bytes are plenty to group by. */
  domainHash(email: string): Buffer {
    return createHmac('sha256', this.lookupKey)
      .update(`domain:${emailDomain(email)}`)
      .digest()
      .subarray(0, 16);
  }

  private authenticatedData(keyId: number, column: SealedColumn): Buffer {
    const name = `${keyId}:${column}`;
    let data = this.additionalData.get(name);
    if (!data)
      this.additionalData.set(
        name,
        (data = Buffer.concat([Buffer.of(FORMAT, keyId), Buffer.from(column, 'utf8')])),
      );
    return data;
  }

  /**
   * A fresh 96-bit random nonce. Two values sealed under one key must never share one; with random
   * nonces that holds (odds of a repeat below 2^-32) for up to 2^32 values per key (NIST SP 800-38D),
   * thousands of times what a campaign writes.
   */
  private nextNonce(): Buffer {
    if (this.nonceOffset + NONCE_BYTES > this.nonces.length) {
      this.nonces = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * NONCES_PER_DRAW));
      this.nonceOffset = 0;
    }
    const nonce = this.nonces.subarray(this.nonceOffset, this.nonceOffset + NONCE_BYTES);
    this.nonceOffset += NONCE_BYTES;
    return nonce;
  }
}
