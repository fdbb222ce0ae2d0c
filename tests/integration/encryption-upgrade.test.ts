import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { openDatabase, queryRows, type Database, type DatabaseHandle } from '../../src/db/client';
import { PlaintextNeedsKeysError, sealPlaintextBeforeMigration } from '../../src/db/seal-plaintext';
import { migrationsDir } from '../../src/paths';
import { FieldEncryption, type EncryptionKeys } from '../../src/db/field-encryption';
import { openedLetterActions, openedLetters, openedSignatures } from '../helpers/sealed';
import { testDatabaseUrl } from '../helpers/services';

/**
 * A database written by the version before encryption at rest (migrations up to 0009, names,
 * emails, addresses and letters in plaintext) is sealed when the platform next opens it with its
 * keys: everything is kept, nothing stays readable, and without the keys nothing changes.
 */

const keys: EncryptionKeys = {
  keys: [{ id: 1, key: randomBytes(32) }],
  lookupKey: randomBytes(32),
};
const encryption = new FieldEncryption(keys);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'frb-upgrade-'));

/** The migrations folder as the previous version shipped it: up to 0009. */
const previousMigrations = path.join(scratch, 'migrations-0009');
cpSync(migrationsDir, previousMigrations, { recursive: true });
const journalFile = path.join(previousMigrations, 'meta', '_journal.json');
const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as {
  entries: Array<{ idx: number }>;
};
writeFileSync(
  journalFile,
  JSON.stringify({ ...journal, entries: journal.entries.filter((entry) => entry.idx <= 9) }),
);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const people = [
  { email: 'old.signer@example.org', name: 'Odette Oldfield', address: '12 Elderberry Row' },
  { email: 'old.writer@example.org', name: 'Wendell Writesworth', address: null },
];

/** What a database of the previous version held: two signatures, a letter action and its letter, all in plaintext. */
async function writePlaintext(db: Database): Promise<void> {
  await db.execute(
    sql`INSERT INTO campaigns (slug, title, summary, petition_text, goal) VALUES ('old', 'Old', 'Old.', 'Old.', 10)`,
  );
  for (const person of people) {
    await db.execute(sql`INSERT INTO signatures (campaign_id, email, name, zip, address, state, tallied)
                         SELECT id, ${person.email}, ${person.name}, '80010', ${person.address}, 'CO', false FROM campaigns WHERE slug = 'old'`);
  }
  await db.execute(sql`INSERT INTO letter_actions (campaign_id, status_token, name, email, zip, city, address, note)
                       SELECT id, 'token-old-0000000000000000000000000', 'Wendell Writesworth', 'old.writer@example.org', '80010', 'Aurora',
                              '9 Quillpen Court', 'Written before the upgrade.'
                       FROM campaigns WHERE slug = 'old'`);
  await db.execute(sql`INSERT INTO letters (action_id, campaign_id, idempotency_key, target_key, office, target_name, target_title, channel,
                                            subject, body, status, counted_status)
                       SELECT a.id, a.campaign_id, a.id || ':governor:x', 'governor:x', 'governor', 'Nia Governor', 'Governor', 'hand',
                              'Ban facial recognition', 'Dear Governor, ... Wendell Writesworth, Aurora', 'hand-delivery', 'hand-delivery'
                       FROM letter_actions a`);
}

async function expectSealedAndKept(database: DatabaseHandle): Promise<void> {
  const ctx = { db: database.db, encryption };
  expect(
    (await openedSignatures(ctx)).map(({ email, name, address }) => ({ email, name, address })),
  ).toEqual(people);
  expect(await openedLetterActions(ctx)).toEqual([
    expect.objectContaining({
      name: 'Wendell Writesworth',
      email: 'old.writer@example.org',
      city: 'Aurora',
      address: '9 Quillpen Court',
      note: 'Written before the upgrade.',
    }),
  ]);
  expect((await openedLetters(ctx)).map((letter) => [letter.subject, letter.body])).toEqual([
    ['Ban facial recognition', 'Dear Governor, ... Wendell Writesworth, Aurora'],
  ]);
  // Found by the keyed hash, as every look-up does now.
  const [found] = await queryRows<{ n: number }>(
    database.db,
    sql`SELECT count(*)::int AS n FROM signatures WHERE email_hash = ${encryption.emailHash('old.signer@example.org')}::bytea
          AND email_domain_hash = ${encryption.domainHash('old.signer@example.org')}::bytea`,
  );
  expect(found!.n).toBe(1);
  // Nothing readable is left, and the sealing's own table is gone.
  const dump = await queryRows<{ row: string }>(
    database.db,
    sql`SELECT s::text AS row FROM signatures s UNION ALL SELECT a::text FROM letter_actions a UNION ALL SELECT l::text FROM letters l`,
  );
  const text = dump.map((row) => row.row).join('\n');
  for (const secret of [
    'Odette',
    'Wendell',
    'old.signer',
    'Elderberry',
    'Quillpen',
    'Written before',
    'Dear Governor',
  ]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('hex'));
  }
  const [leftover] = await queryRows<{ exists: boolean }>(
    database.db,
    sql`SELECT to_regclass('personal_data_sealed') IS NOT NULL AS exists`,
  );
  expect(leftover!.exists).toBe(false);
}

/** The bytes of a table's files on disk (PostgreSQL's own reading of them, as a superuser), after a checkpoint. */
async function tableFiles(database: DatabaseHandle, table: string): Promise<Buffer> {
  await database.db.execute(sql`CHECKPOINT`);
  const [row] = await queryRows<{ bytes: Buffer }>(
    database.db,
    sql`SELECT pg_read_binary_file(pg_relation_filepath(${table}::regclass)) AS bytes`,
  );
  return row!.bytes;
}

describe('on PostgreSQL', () => {
  const name = `frb_test_upgrade_${randomBytes(4).toString('hex')}`;
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    await client.query(statement);
    await client.end();
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    const pool = new pg.Pool({ connectionString: url.toString() });
    const db = drizzlePg(pool);
    await migratePg(db, { migrationsFolder: previousMigrations });
    await writePlaintext(db as unknown as Database);
    await pool.end();
  });
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('without the keys, refuses to migrate and leaves the data as it was', async () => {
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: scratch });
    try {
      await expect(database.migrate()).rejects.toThrow(PlaintextNeedsKeysError);
      const [row] = await queryRows<{ email: string }>(
        database.db,
        sql`SELECT email FROM signatures ORDER BY id LIMIT 1`,
      );
      expect(row!.email).toBe('old.signer@example.org');
    } finally {
      await database.close();
    }
  });

  it('stops with a clear message, changing nothing, when a row is written between the sealing and the migration', async () => {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const db = drizzlePg(client);
      await sealPlaintextBeforeMigration(db as unknown as Database, keys);
      // An old-version process still running signs meanwhile.
      await db.execute(
        sql`INSERT INTO signatures (campaign_id, email, name, zip, state) SELECT id, 'late@example.org', 'Late Signer', '80010', 'CO' FROM campaigns`,
      );
      await expect(migratePg(db, { migrationsFolder: migrationsDir })).rejects.toThrow(
        /rows were written while the existing ones were being encrypted: stop every process of the previous version, then start again/,
      );
      const rows = await queryRows<{ email: string }>(
        db,
        sql`SELECT email FROM signatures ORDER BY id`,
      );
      expect(rows.map((row) => row.email)).toEqual([
        ...people.map((person) => person.email),
        'late@example.org',
      ]);
      await db.execute(sql`DELETE FROM signatures WHERE email = 'late@example.org'`);
    } finally {
      await client.end();
    }
  });

  it('with the keys, seals every row in the migration, and a second start changes nothing', async () => {
    const database = await openDatabase({
      databaseUrl: url.toString(),
      dataDir: scratch,
      encryption: keys,
    });
    try {
      await database.migrate();
      await expectSealedAndKept(database);
      // The tables were rewritten: their files hold no trace of the plaintext either.
      for (const table of ['signatures', 'letter_actions', 'letters']) {
        const bytes = (await tableFiles(database, table)).toString('latin1');
        expect(bytes.length).toBeGreaterThan(0);
        for (const secret of [
          'Odette',
          'Wendell',
          'old.signer',
          'Elderberry',
          'Quillpen',
          'Written before',
          'Dear Governor',
        ])
          expect(bytes).not.toContain(secret);
      }
      const before = await queryRows<{ email: Buffer }>(
        database.db,
        sql`SELECT email FROM signatures ORDER BY id`,
      );
      await database.migrate();
      expect(
        await queryRows<{ email: Buffer }>(
          database.db,
          sql`SELECT email FROM signatures ORDER BY id`,
        ),
      ).toEqual(before);
    } finally {
      await database.close();
    }
  });
});

describe('on PGlite (the embedded database of `npm start`)', () => {
  const dataDir = path.join(scratch, 'embedded');

  beforeAll(async () => {
    mkdirSync(path.join(dataDir, 'pg'), { recursive: true });
    const client = await PGlite.create(path.join(dataDir, 'pg'));
    const db = drizzlePglite(client);
    await migratePglite(db, { migrationsFolder: previousMigrations });
    await writePlaintext(db as unknown as Database);
    await client.close();
  });

  it('seals every row when the platform next opens it with its keys', async () => {
    const database = await openDatabase({ databaseUrl: undefined, dataDir, encryption: keys });
    try {
      expect(await database.migrate()).toEqual({ sealedRows: 4, keysFile: null });
      await expectSealedAndKept(database);
    } finally {
      await database.close();
    }
  });

  it('writes the keys it made on first start only while the database has none: a lost keys file must be restored', async () => {
    const embedded = path.join(scratch, 'embedded-new');
    const file = path.join(embedded, 'keys.json');
    const first = loadConfig({ DATA_DIR: embedded });
    let database = await openDatabase(first);
    expect(await database.migrate()).toEqual({ sealedRows: 0, keysFile: file });
    await database.close();
    const kept = readFileSync(file);

    renameSync(file, `${file}.away`);
    const lost = loadConfig({ DATA_DIR: embedded });
    database = await openDatabase(lost);
    try {
      await expect(database.migrate()).rejects.toThrow(
        `${file}: missing, and this database's data is sealed with keys of its own: put back the keys.json from your backup`,
      );
    } finally {
      await database.close();
    }
    expect(existsSync(file)).toBe(false);

    renameSync(`${file}.away`, file);
    database = await openDatabase(loadConfig({ DATA_DIR: embedded }));
    try {
      expect(await database.migrate()).toEqual({ sealedRows: 0, keysFile: null });
    } finally {
      await database.close();
    }
    expect(readFileSync(file)).toEqual(kept);
  });
});
