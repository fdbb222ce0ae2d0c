import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { ConfigError } from '../config';
import { queryRows, type Database } from './query';
import type { EncryptionKeys } from './field-encryption';
import type { KeyCensus } from './key-rotation';

/**
 * Every process must hold the same keys as the data. A process given another LOOKUP_HASH_KEY
 * would find nobody (repeats would sign twice, erasure would erase nothing); one given other key
 * material under a key id already in use would seal values the others cannot open; one without a
 * key the data still uses could not read it. So the database keeps a check value of each key that
 * has sealed here (an HMAC of a fixed text under the key: it reveals nothing of the key), and a
 * process whose keys do not match refuses to start, having written nothing.
 *
 * While `keys:rotate --reindex` makes the email hashes again under a new lookup key, the lookup
 * key's row is marked, and no process starts until it has finished. `keys:rotate` marks a key
 * retired once no value uses it, so that processes may run without it.
 */

const CHECK_TEXT = 'ban-face-surveillance key check v1';
const checkValue = (key: Buffer) =>
  createHmac('sha256', key).update(CHECK_TEXT).digest().subarray(0, 16);

/** The lookup hash key's row; encryption keys have their own ids, from 1. */
const LOOKUP_KEY_ID = 0;

export class KeyMismatchError extends ConfigError {}

interface StoredCheck {
  key_id: number;
  check_value: Uint8Array;
  reindexing: boolean;
  retired: boolean;
}

const hasKeyChecks = async (db: Database): Promise<boolean> => {
  const [table] = await queryRows<{ exists: boolean }>(
    db,
    sql`SELECT to_regclass('encryption_key_checks') IS NOT NULL AS exists`,
  );
  if (!table?.exists) return false;
  const [row] = await queryRows<{ any: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM encryption_key_checks) AS any`,
  );
  return Boolean(row?.any);
};

/**
 * Keys an embedded installation made just now, not yet in their file: written before anything is
 * sealed with them, when the database has no keys of its own yet (it is new, or from before
 * encryption at rest). A database that has keys means the file was lost: nothing is written, and
 * the message says to restore it. Returns the file written, if any.
 */
export async function saveNewKeys(
  db: Database,
  keys: EncryptionKeys | undefined,
): Promise<string | null> {
  const unsaved = keys?.unsaved;
  if (!unsaved) return null;
  if (await hasKeyChecks(db)) {
    throw new KeyMismatchError([
      `${unsaved.file}: missing, and this database's data is sealed with keys of its own: put back the keys.json from your backup (without it the data cannot be read)`,
    ]);
  }
  unsaved.save();
  delete keys.unsaved;
  return unsaved.file;
}

/**
 * Checks the keys against the database; then, unless `record` is false, records the lookup key
 * and the key that seals where the database has none for them yet. `reindexing`: the lookup key
 * is about to change (`keys:rotate --reindex`), so only the encryption keys are checked.
 */
export async function checkKeys(
  db: Database,
  keys: EncryptionKeys,
  options: { reindexing?: boolean; record?: boolean } = {},
): Promise<void> {
  await verify(db, keys, options);
  if (options.record === false) return;
  const recorded = [
    ...(options.reindexing ? [] : [{ id: LOOKUP_KEY_ID, key: keys.lookupKey }]),
    keys.keys[0]!,
  ];
  // Only where none is yet (several processes may start at once); a retired key that seals again is in use again.
  await db.execute(sql`INSERT INTO encryption_key_checks (key_id, check_value)
                       VALUES ${sql.join(
                         recorded.map(
                           (key) => sql`(${key.id}::int, ${checkValue(key.key)}::bytea)`,
                         ),
                         sql`, `,
                       )}
                       ON CONFLICT (key_id) DO UPDATE SET retired = false WHERE encryption_key_checks.retired`);
  // Another process may have recorded other keys at the same moment.
  await verify(db, keys, options);
}

async function verify(
  db: Database,
  keys: EncryptionKeys,
  options: { reindexing?: boolean },
): Promise<void> {
  const stored = await queryRows<StoredCheck>(
    db,
    sql`SELECT key_id, check_value, reindexing, retired FROM encryption_key_checks ORDER BY key_id`,
  );
  const byId = new Map(stored.map((row) => [Number(row.key_id), row]));
  const issues: string[] = [];
  const lookup = byId.get(LOOKUP_KEY_ID);
  if (lookup?.reindexing && !options.reindexing) {
    issues.push(
      'LOOKUP_HASH_KEY: the email hashes are being made again (`npm run keys:rotate -- --reindex`); start once it has finished',
    );
  } else if (
    lookup &&
    !lookup.reindexing &&
    !options.reindexing &&
    !matches(lookup, keys.lookupKey)
  ) {
    issues.push(
      "LOOKUP_HASH_KEY: not the key this database's email hashes were made with (to change it, see `npm run keys:rotate -- --reindex`)",
    );
  }
  for (const key of keys.keys) {
    const row = byId.get(key.id);
    if (row && !matches(row, key.key)) {
      issues.push(
        `ENCRYPTION_KEYS: key ${key.id} is not the key ${key.id} this database's data was sealed with (a new key needs a new id)`,
      );
    }
  }
  for (const row of stored) {
    const id = Number(row.key_id);
    if (id === LOOKUP_KEY_ID || row.retired || keys.keys.some((key) => key.id === id)) continue;
    issues.push(
      `ENCRYPTION_KEYS: lacks key ${id}, which has sealed data in this database: add it back after the others (it can go once \`npm run keys:rotate\` says no value uses it)`,
    );
  }
  if (issues.length > 0) throw new KeyMismatchError(issues);
}

function matches(row: StoredCheck, key: Buffer): boolean {
  const stored = Buffer.from(row.check_value);
  const expected = checkValue(key);
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

/** After a census: keys no value uses are retired (processes may run without them), keys in use are not. */
export async function retireUnusedKeys(db: Database, census: KeyCensus): Promise<void> {
  const used = [...new Set(Object.values(census).flatMap((counts) => [...counts.keys()]))];
  await db.execute(sql`UPDATE encryption_key_checks SET retired = NOT (key_id = ANY(${`{${used.join(',')}}`}::int[]))
                       WHERE key_id <> ${LOOKUP_KEY_ID}::int`);
}

/** `keys:rotate --reindex`: marks the lookup key as changing (no process starts meanwhile), then records the new one. */
export async function startReindexing(db: Database): Promise<void> {
  await db.execute(sql`INSERT INTO encryption_key_checks (key_id, check_value, reindexing) VALUES (${LOOKUP_KEY_ID}::int, '\\x'::bytea, true)
                       ON CONFLICT (key_id) DO UPDATE SET reindexing = true`);
}

export async function finishReindexing(db: Database, lookupKey: Buffer): Promise<void> {
  await db.execute(
    sql`UPDATE encryption_key_checks SET check_value = ${checkValue(lookupKey)}::bytea, reindexing = false WHERE key_id = ${LOOKUP_KEY_ID}::int`,
  );
}
