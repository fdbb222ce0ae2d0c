import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { projectRoot } from '../../src/paths';
import { holdsDataAbout, personalData } from '../../src/privacy/data-rights';
import { FieldEncryption, UnknownKeyError, formatKeyRing, type DataKey } from '../../src/privacy/field-encryption';
import { keyCensus, resealAll } from '../../src/privacy/key-rotation';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedLetterActions, openedLetters, openedSignatures } from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/**
 * Supporters' personal data at rest: nothing readable in the database, everything readable by the
 * platform; key rotation while it runs (the service and `npm run keys:rotate`); a new lookup hash
 * key with `--reindex`.
 */
const SLUG = 'ban-facial-recognition';
let t: TestPlatform;
let sink: SmtpSink;
let statusPath: string;

// Values no template, campaign text or fixture holds, so that finding one anywhere means it leaked.
const signer = { name: 'Xanthippe Quillfeather', email: 'xq.signer@example.org', zip: '10001', address: '17 Zebrawood Lane' };
const writer = {
  name: 'Ulrika Vantongeren',
  email: 'ulrika.v@example.org',
  zip: '80010',
  address: '4471 Marigoldfield Street',
  city: 'Aurora',
  note: 'Mybrotherwasmisidentifiedbyacamera.',
};
const secrets = [signer.name, signer.email, signer.address, writer.name, writer.email, writer.address, writer.note];

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ SMTP_URL: sink.url });
  await importRepresentativeData(t.platform.db, path.join(__dirname, '..', 'fixtures', 'representatives'));
  await t.platform.representatives.refresh();
  await t.startWorkers();
  await request(t.app).post(`/api/v1/campaigns/${SLUG}/signatures`).send({ ...signer, optIn: true }).expect(202);
  const written = await request(t.app).post(`/api/v1/campaigns/${SLUG}/letters`).send(writer).expect(202);
  // The signer's confirmation, the two letters and the writer's copy: every table the letters touch has been written.
  await eventually(async () => sink.messages.length === 4);
  expect(written.body.letters.length).toBe(2);
  statusPath = new URL(written.body.statusUrl as string).pathname;
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

/** Every row of every table of the platform, as PostgreSQL prints it (bytea as hex), in one text. */
async function wholeDatabase(): Promise<string> {
  const tables = await queryRows<{ name: string }>(
    t.platform.db,
    sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  let text = '';
  for (const { name } of tables) {
    const rows = await queryRows<{ row: string }>(t.platform.db, sql.raw(`SELECT t::text AS row FROM "${name}" t`));
    text += rows.map((row) => row.row).join('\n');
  }
  return text;
}

describe('what the database holds', () => {
  it('has no supporter name, email address, street address, note or letter text in clear, in any table', async () => {
    const dump = (await wholeDatabase()).toLowerCase();
    expect(dump).toContain('ban-facial-recognition');
    for (const secret of secrets) {
      expect(dump).not.toContain(secret.toLowerCase());
      // Nor as the hex PostgreSQL prints a bytea in.
      expect(dump).not.toContain(Buffer.from(secret).toString('hex'));
    }
  });

  it('is read back whole by the platform: the stored rows, the status page and the data download', async () => {
    const [signature] = await openedSignatures(t.platform, sql`email_hash = ${t.platform.encryption.emailHash(signer.email)}::bytea`);
    expect(signature).toMatchObject({ name: signer.name, email: signer.email, address: signer.address, zip: signer.zip, optIn: true });
    const [action] = await openedLetterActions(t.platform);
    expect(action).toMatchObject({ name: writer.name, email: writer.email, address: writer.address, city: writer.city, note: writer.note });
    const letters = await openedLetters(t.platform);
    expect(letters).toHaveLength(2);
    for (const letter of letters) expect(letter.body).toContain(writer.note);
    const status = await request(t.app).get(statusPath).expect(200);
    expect(status.text).toContain(writer.note);

    const data = await personalData(t.platform, writer.email);
    expect(data.signatures.map((s) => [s.name, s.email])).toEqual([[writer.name, writer.email]]);
    expect(data.letters[0]).toMatchObject({ name: writer.name, address: writer.address, city: writer.city, note: writer.note });
    expect(data.letters[0]!.letters.map((letter) => letter.body).every((body) => body.includes(writer.note))).toBe(true);
  });
});

/**
 * One story, in order: the platform's key, then a new key by the service, then another by the
 * command, then a new lookup hash key. `ring` is always the keys the data is sealed under.
 */
describe('key rotation', () => {
  let ring: DataKey[];
  let lookupKey: Buffer;
  beforeAll(() => {
    ({ keys: ring, lookupKey } = t.platform.config.encryption);
  });

  it('seals everything again under a new key while the platform runs; then the old key can go', async () => {
    const oldKey = ring[0]!;
    const newKey = { id: oldKey.id + 1, key: randomBytes(32) };
    const before = await openedSignatures(t.platform);
    const lettersBefore = await openedLetters(t.platform);
    const census = await keyCensus(t.platform.db);
    expect([...census.signatures.keys()]).toEqual([oldKey.id]);
    // Two signatures (the signer's, the letter writer's): each an email, a name and a street address.
    expect(census.signatures.get(oldKey.id)).toBe(6);

    const rotated = new FieldEncryption({ keys: [newKey, oldKey], lookupKey });
    expect((await resealAll({ db: t.platform.db, encryption: rotated })).rows).toEqual({ signatures: 2, letter_actions: 1, letters: 2 });
    const after = await keyCensus(t.platform.db);
    for (const table of ['signatures', 'letter_actions', 'letters'] as const) expect([...after[table].keys()]).toEqual([newKey.id]);
    // Nothing left to do: a second run changes nothing.
    expect((await resealAll({ db: t.platform.db, encryption: rotated })).rows).toEqual({ signatures: 0, letter_actions: 0, letters: 0 });

    // The new key alone opens everything, as it was; the old key alone opens nothing.
    const onlyNew = new FieldEncryption({ keys: [newKey], lookupKey });
    expect(await openedSignatures({ db: t.platform.db, encryption: onlyNew })).toEqual(before);
    expect((await openedLetters({ db: t.platform.db, encryption: onlyNew })).map((letter) => letter.body)).toEqual(lettersBefore.map((letter) => letter.body));
    await expect(openedSignatures({ db: t.platform.db, encryption: new FieldEncryption({ keys: [oldKey], lookupKey }) })).rejects.toThrow(UnknownKeyError);
    // The hashes did not change: look-ups work through the rotation.
    expect(await holdsDataAbout({ db: t.platform.db, encryption: onlyNew }, signer.email)).toBe(true);
    ring = [newKey];
  });

  function keysRotate(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'privacy', 'rotate-keys.ts'), ...args], {
        cwd: projectRoot,
        env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: t.platform.config.databaseUrl!, APP_SECRET: t.platform.config.secret, DATA_DIR: t.platform.config.dataDir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('`npm run keys:rotate` refuses, changing nothing, when the data uses a key ENCRYPTION_KEYS lacks, or an argument is unknown', async () => {
    const used = ring[0]!.id;
    const stranger = { id: 99, key: randomBytes(32) };
    const missing = await keysRotate([], { ENCRYPTION_KEYS: formatKeyRing([stranger]), LOOKUP_HASH_KEY: lookupKey.toString('base64') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`keys:rotate: some values are sealed with key ${used}, which ENCRYPTION_KEYS does not hold: add it back, after the current key, and run this again\n`);
    expect(missing.stdout).toContain(`signatures: key ${used}: 6`);
    expect([...(await keyCensus(t.platform.db)).signatures.keys()]).toEqual([used]);

    const usage = await keysRotate(['--fast'], { ENCRYPTION_KEYS: formatKeyRing(ring), LOOKUP_HASH_KEY: lookupKey.toString('base64') });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^keys:rotate: .*--fast.*Usage: npm run keys:rotate/);
  });

  it('`npm run keys:rotate` moves the data to the key given first in ENCRYPTION_KEYS, and says when the old one can go', async () => {
    const old = ring[0]!;
    const forward = { id: 9, key: randomBytes(32) };
    const env = { ENCRYPTION_KEYS: formatKeyRing([forward, old]), LOOKUP_HASH_KEY: lookupKey.toString('base64') };
    const check = await keysRotate(['--check'], env);
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toContain(`Key ${old.id} is still in use`);

    const rotated = await keysRotate([], env);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toMatch(/Rows sealed again under key 9 in [\d.]+ s: signatures 2, letter_actions 1, letters 2\./);
    expect(rotated.stdout).toContain('signatures: key 9: 6');
    expect(rotated.stdout).toContain(`No value is sealed with key ${old.id}: it can be removed from ENCRYPTION_KEYS.`);
    expect(await openedSignatures({ db: t.platform.db, encryption: new FieldEncryption({ keys: [forward], lookupKey }) })).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: signer.name, email: signer.email, address: signer.address })]),
    );
    // Nothing the command printed holds personal data or a key.
    for (const secret of [...secrets, forward.key.toString('base64'), old.key.toString('base64')]) expect(rotated.stdout + rotated.stderr).not.toContain(secret);
    ring = [forward];
  });

  it('after a change of LOOKUP_HASH_KEY, `--reindex` makes look-ups and de-duplication work again', async () => {
    const newLookup = randomBytes(32);
    const changed = new FieldEncryption({ keys: ring, lookupKey: newLookup });
    // With the new hash key, the supporters cannot be found until the hashes are made again.
    expect(await holdsDataAbout({ db: t.platform.db, encryption: changed }, signer.email)).toBe(false);
    const reindexed = await keysRotate(['--reindex'], { ENCRYPTION_KEYS: formatKeyRing(ring), LOOKUP_HASH_KEY: newLookup.toString('base64') });
    expect(reindexed).toMatchObject({ code: 0, stderr: '' });
    expect(reindexed.stdout).toMatch(/Rows sealed under key 9 and hashed again in [\d.]+ s: signatures 2, letter_actions 1, letters 0\./);
    expect(await holdsDataAbout({ db: t.platform.db, encryption: changed }, signer.email)).toBe(true);
    expect((await personalData({ db: t.platform.db, encryption: changed }, writer.email)).letters).toHaveLength(1);
    const [row] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures
          WHERE email_hash = ${changed.emailHash(signer.email)}::bytea AND email_domain_hash = ${changed.domainHash(signer.email)}::bytea`,
    );
    expect(row!.n).toBe(1);
  });
});
