import { sql } from 'drizzle-orm';
import { queryRows, type Database } from './query';
import { SEALED_TABLES, sealedTables, type SealedTable } from './sealed-rows';
import type { FieldEncryption } from './field-encryption';

/**
 * Key rotation for the personal data sealed at rest (see field-encryption.ts).
 *
 * A new encryption key is added to ENCRYPTION_KEYS after the old ones (every process can then
 * open what it will seal), then moved first: from then on new values are sealed with it, and old
 * ones still open. `resealAll` then seals every
 * value still under an older key again under the new one, batch by batch (each batch one short
 * statement, so the platform keeps running); `keyCensus` says which keys the data still uses, so
 * an old key is removed only once nothing needs it.
 *
 * With `reindex`, it also makes every email hash again with the LOOKUP_HASH_KEY configured now:
 * after a change of that key, which needs the platform stopped (a hash made with the old key and
 * one made with the new would not match, so repeats and look-ups would fail until it is done; the
 * key checks keep any process from starting meanwhile: see key-checks.ts).
 */

const BATCH = 500;

/** How many values each key has sealed, per table. */
export type KeyCensus = Record<SealedTable, Map<number, number>>;

export async function keyCensus(db: Database): Promise<KeyCensus> {
  const census = {} as KeyCensus;
  for (const table of sealedTables) {
    const keys = SEALED_TABLES[table].columns.map(([column]) => `get_byte(${column}, 1)`);
    const rows = await queryRows<{ key_id: number; n: string | number }>(
      db,
      sql.raw(`SELECT k.key_id, count(*) AS n FROM ${table} CROSS JOIN LATERAL (VALUES ${keys.map((key) => `(${key})`).join(', ')}) AS k(key_id)
               WHERE k.key_id IS NOT NULL GROUP BY k.key_id ORDER BY k.key_id`),
    );
    census[table] = new Map(rows.map((row) => [Number(row.key_id), Number(row.n)]));
  }
  return census;
}

/** The keys the data uses that the ring does not hold (values that cannot be opened). */
export function missingKeys(census: KeyCensus, encryption: FieldEncryption): number[] {
  const used = new Set(Object.values(census).flatMap((counts) => [...counts.keys()]));
  return [...used].filter((id) => !encryption.keyIds.includes(id)).sort((a, b) => a - b);
}

export interface Resealed {
  /** Rows changed, per table. */
  rows: Record<SealedTable, number>;
}

/**
 * Seals again, under the sealing key, every value sealed with another key; with `reindex`, makes
 * every email hash again as well (every row, then). Without it, rows already done are skipped; either
 * way it can be stopped and run again.
 */
export async function resealAll(
  ctx: { db: Database; encryption: FieldEncryption },
  options: { reindex?: boolean; onProgress?: (table: SealedTable, rows: number) => void } = {},
): Promise<Resealed> {
  const rows = {} as Record<SealedTable, number>;
  for (const table of sealedTables) rows[table] = await resealTable(ctx, table, options);
  return { rows };
}

async function resealTable(
  { db, encryption }: { db: Database; encryption: FieldEncryption },
  table: SealedTable,
  options: { reindex?: boolean; onProgress?: (table: SealedTable, rows: number) => void },
): Promise<number> {
  const { columns, hashes } = SEALED_TABLES[table];
  const hashNames = Object.keys(hashes);
  const email = columns.find(([column]) => column === 'email')?.[1];
  const reindex = Boolean(options.reindex) && email !== undefined;
  const sealing = encryption.sealingKeyId;
  // Without reindexing, only rows with a value under another key are read.
  const stale = reindex
    ? 'true'
    : columns.map(([column]) => `get_byte(${column}, 1) <> ${sealing}`).join(' OR ');
  let changed = 0;
  for (let after = 0; ;) {
    const found = await queryRows<Record<string, Uint8Array | null> & { id: string | number }>(
      db,
      sql.raw(`SELECT id, ${columns.map(([column]) => column).join(', ')} FROM ${table}
               WHERE id > ${after} AND (${stale}) ORDER BY id LIMIT ${BATCH}`),
    );
    if (found.length === 0) return changed;
    after = Number(found[found.length - 1]!.id);
    const values = found.map((row) => {
      const sealed = columns.map(([column, as]) => {
        const value = row[column] ?? null;
        return value === null || value[1] === sealing
          ? value
          : encryption.seal(as, encryption.open(as, value));
      });
      const opened = reindex ? encryption.open(email, row.email!) : '';
      const hashed = reindex ? Object.values(hashes).map((hash) => hash(encryption, opened)) : [];
      return sql`(${Number(row.id)}::bigint, ${sql.join(
        [...sealed, ...hashed].map((value) => sql`${value}::bytea`),
        sql`, `,
      )})`;
    });
    const targets = [...columns.map(([column]) => column), ...(reindex ? hashNames : [])];
    await db.execute(sql`
      UPDATE ${sql.raw(table)} t SET ${sql.raw(targets.map((column) => `${column} = v.${column}`).join(', '))}
      FROM (VALUES ${sql.join(values, sql`, `)}) AS v(id, ${sql.raw(targets.join(', '))})
      WHERE t.id = v.id`);
    changed += found.length;
    options.onProgress?.(table, changed);
  }
}
