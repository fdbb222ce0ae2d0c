import { sql } from 'drizzle-orm';
import { FieldEncryption, type EncryptionKeys } from './field-encryption';
import { queryRows, type Database } from './query';
import { SEALED_TABLES, sealedTables, type SealedTable as Table } from './sealed-rows';

/**
 * Migration 0010 encrypts supporters' personal data at rest. PostgreSQL cannot encrypt with the
 * application's keys, so before that migration runs, this seals what a database made by an
 * earlier version holds in plaintext (names, emails, addresses, letters) into the temporary table
 * `personal_data_sealed`, on the connection that then runs the migration, which moves the sealed
 * values into the new columns and drops it. Temporary: nothing of it outlives the connection,
 * whatever happens. On a new database it only makes that table, empty; once the migration has
 * run it does nothing.
 */

const BATCH = 500;

/** The personal data columns of a database from before migration 0010: those it seals (columns added since were sealed from the start). */
const PLAINTEXT_COLUMNS = new Set(['email', 'name', 'address', 'city', 'note', 'subject', 'body']);

export class PlaintextNeedsKeysError extends Error {}

/**
 * Run just before the migrations, on the connection (and under the lock) that runs them: the table
 * is that connection's. Returns how many rows it sealed.
 */
export async function sealPlaintextBeforeMigration(
  db: Database,
  keys: EncryptionKeys | undefined,
): Promise<number> {
  const types = await queryRows<{ table_name: Table; data_type: string }>(
    db,
    sql`SELECT table_name, data_type FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_name = 'email' AND table_name IN ('signatures', 'letter_actions')
           OR table_schema = current_schema() AND column_name = 'body' AND table_name = 'letters'`,
  );
  const typeOf = new Map(types.map((row) => [row.table_name, row.data_type]));
  // Migration 0010 has run.
  if (typeOf.get('signatures') === 'bytea') return 0;
  await db.execute(sql`CREATE TEMPORARY TABLE IF NOT EXISTS personal_data_sealed (
    table_name text NOT NULL, id bigint NOT NULL,
    email bytea, email_hash bytea, email_domain_hash bytea, name bytea, address bytea, city bytea, note bytea, subject bytea, body bytea,
    PRIMARY KEY (table_name, id))`);
  await db.execute(sql`TRUNCATE personal_data_sealed`);
  const tables = sealedTables.filter((table) => typeOf.get(table) === 'text');
  if (tables.length === 0) return 0;
  const [held] = await queryRows<{ any: boolean }>(
    db,
    sql.raw(
      `SELECT ${tables.map((table) => `EXISTS (SELECT 1 FROM ${table})`).join(' OR ')} AS any`,
    ),
  );
  if (!held?.any) return 0;
  if (!keys) {
    throw new PlaintextNeedsKeysError(
      'this database holds personal data from before encryption at rest: open it once with the encryption keys (start the platform, or `npm run db:migrate`)',
    );
  }
  const encryption = new FieldEncryption(keys);
  let sealed = 0;
  for (const table of tables) sealed += await sealTable(db, encryption, table);
  return sealed;
}

async function sealTable(db: Database, encryption: FieldEncryption, table: Table): Promise<number> {
  const { hashes } = SEALED_TABLES[table];
  const columns = SEALED_TABLES[table].columns.filter(([column]) => PLAINTEXT_COLUMNS.has(column));
  const targets = [...columns.map(([column]) => column), ...Object.keys(hashes)];
  let sealed = 0;
  for (let after = 0; ;) {
    const rows = await queryRows<Record<string, string | null> & { id: string | number }>(
      db,
      sql.raw(
        `SELECT id, ${columns.map(([column]) => column).join(', ')} FROM ${table} WHERE id > ${after} ORDER BY id LIMIT ${BATCH}`,
      ),
    );
    if (rows.length === 0) return sealed;
    sealed += rows.length;
    const values = rows.map((row) => {
      const sealed = columns.map(([column, as]) => encryption.sealOptional(as, row[column]));
      const hashed = Object.values(hashes).map((hash) => hash(encryption, row.email!));
      return sql`(${table}, ${Number(row.id)}::bigint, ${sql.join(
        [...sealed, ...hashed].map((value) => sql`${value}::bytea`),
        sql`, `,
      )})`;
    });
    await db.execute(
      sql`INSERT INTO personal_data_sealed (table_name, id, ${sql.raw(targets.join(', '))}) VALUES ${sql.join(values, sql`, `)}`,
    );
    after = Number(rows[rows.length - 1]!.id);
  }
}
