import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { ConfigError } from '../config';
import { queryRows, type Database } from '../db/client';
import type { EncryptionKeys } from './field-encryption';

/**
 * Every process must hold the same keys as the data. A process given another LOOKUP_HASH_KEY
 * would find nobody (repeats would sign twice, erasure would erase nothing), and one given other
 * key material under a key id already in use would seal values the others cannot open. So the
 * database keeps a check value of each key it has seen (an HMAC of a fixed text under the key:
 * it reveals nothing of the key), and a process whose keys do not match refuses to start.
 *
 * While `keys:rotate --reindex` makes the email hashes again under a new lookup key, the lookup
 * key's row is marked, and no process starts until it has finished.
 */

const CHECK_TEXT = 'ban-face-surveillance key check v1';
const checkValue = (key: Buffer) => createHmac('sha256', key).update(CHECK_TEXT).digest().subarray(0, 16);

/** The lookup hash key's row; encryption keys have their own ids, from 1. */
const LOOKUP_KEY_ID = 0;

export class KeyMismatchError extends ConfigError {}

interface StoredCheck {
  key_id: number;
  check_value: Uint8Array;
  reindexing: boolean;
}

/**
 * Checks the keys against the database, and records the lookup key and the key that seals when
 * the database has none for them yet. `reindexing`: the lookup key is about to change
 * (`keys:rotate --reindex`), so only the encryption keys are checked.
 */
export async function checkKeys(db: Database, keys: EncryptionKeys, options: { reindexing?: boolean } = {}): Promise<void> {
  const lookup = options.reindexing ? [] : [{ id: LOOKUP_KEY_ID, value: checkValue(keys.lookupKey) }];
  const ring = keys.keys.map((key) => ({ id: key.id, value: checkValue(key.key) }));
  // Written only where none is yet (several processes may start at once), then compared with what is stored.
  await db.execute(sql`INSERT INTO encryption_key_checks (key_id, check_value)
                       VALUES ${sql.join([...lookup, ring[0]!].map((check) => sql`(${check.id}::int, ${check.value}::bytea)`), sql`, `)}
                       ON CONFLICT (key_id) DO NOTHING`);
  const wanted = [...lookup, ...ring];
  const stored = new Map(
    (await queryRows<StoredCheck>(db, sql`SELECT key_id, check_value, reindexing FROM encryption_key_checks`)).map((row) => [Number(row.key_id), row]),
  );
  const issues: string[] = [];
  if (!options.reindexing && stored.get(LOOKUP_KEY_ID)?.reindexing) {
    issues.push('LOOKUP_HASH_KEY: the email hashes are being made again (`npm run keys:rotate -- --reindex`); start once it has finished');
  }
  for (const check of wanted) {
    const row = stored.get(check.id);
    // A key that has not sealed anything here yet (an older key from before the checks, or one added ahead of a rotation).
    if (!row) continue;
    const value = Buffer.from(row.check_value);
    if (row.reindexing || (value.length === check.value.length && timingSafeEqual(value, check.value))) continue;
    issues.push(
      check.id === LOOKUP_KEY_ID
        ? "LOOKUP_HASH_KEY: not the key this database's email hashes were made with (to change it, see `npm run keys:rotate -- --reindex`)"
        : `ENCRYPTION_KEYS: key ${check.id} is not the key ${check.id} this database's data was sealed with (a new key needs a new id)`,
    );
  }
  if (issues.length > 0) throw new KeyMismatchError(issues);
}

/** `keys:rotate --reindex`: marks the lookup key as changing (no process starts meanwhile), then records the new one. */
export async function startReindexing(db: Database): Promise<void> {
  await db.execute(sql`INSERT INTO encryption_key_checks (key_id, check_value, reindexing) VALUES (${LOOKUP_KEY_ID}::int, '\\x'::bytea, true)
                       ON CONFLICT (key_id) DO UPDATE SET reindexing = true`);
}

export async function finishReindexing(db: Database, lookupKey: Buffer): Promise<void> {
  await db.execute(sql`UPDATE encryption_key_checks SET check_value = ${checkValue(lookupKey)}::bytea, reindexing = false WHERE key_id = ${LOOKUP_KEY_ID}::int`);
}
