import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { openDatabase, queryRows } from '../../src/db/client';
import { signatures, webhookSubscriptions } from '../../src/db/schema';
import { sealedLetter, sealedSignature } from '../../src/db/sealed-rows';
import { countMoves } from '../../src/letters/letter-store';
import { holdsDataAbout, personalData } from '../../src/privacy/data-rights';
import {
  FieldEncryption,
  UnknownKeyError,
  formatKeyRing,
  type DataKey,
  type EncryptionKeys,
} from '../../src/db/field-encryption';
import {
  KeyMismatchError,
  finishReindexing,
  retireUnusedKeys,
  startReindexing,
} from '../../src/db/key-checks';
import { keyCensus, resealAll } from '../../src/db/key-rotation';
import { importRepresentativeData } from '../../src/representatives/import';
import { runCommand } from '../helpers/command';
import { createTestPlatform, goLive, eventually, type TestPlatform } from '../helpers/platform';
import {
  openedLetterActions,
  openedLetters,
  openedSignatures,
  signatureValues,
} from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { addWebhook } from '../../src/webhooks/subscriptions';
import { requestDelivery } from '../../src/delivery/jobs/deliver-letter';
import { requestNoticeJob } from '../../src/privacy/jobs/send-notices';

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
const signer = {
  name: 'Xanthippe Quillfeather',
  email: 'xq.signer@example.org',
  zip: '10001',
  address: '17 Zebrawood Lane',
};
const writer = {
  name: 'Ulrika Vantongeren',
  email: 'ulrika.v@example.org',
  zip: '80010',
  address: '4471 Marigoldfield Street',
  city: 'Aurora',
  note: 'Mybrotherwasmisidentifiedbyacamera.',
};
const secrets = [
  signer.name,
  signer.email,
  signer.address,
  writer.name,
  writer.email,
  writer.address,
  writer.note,
];

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ SMTP_URL: sink.url });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  await t.startWorkers();
  await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({ ...signer, optIn: true })
    .expect(202);
  const written = await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send(writer)
    .expect(202);
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
    const rows = await queryRows<{ row: string }>(
      t.platform.db,
      sql.raw(`SELECT t::text AS row FROM "${name}" t`),
    );
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
    const [signature] = await openedSignatures(
      t.platform,
      sql`email_hash = ${t.platform.encryption.emailHash(signer.email)}::bytea`,
    );
    expect(signature).toMatchObject({
      name: signer.name,
      email: signer.email,
      address: signer.address,
      zip: signer.zip,
      optIn: true,
    });
    const [action] = await openedLetterActions(t.platform);
    expect(action).toMatchObject({
      name: writer.name,
      email: writer.email,
      address: writer.address,
      city: writer.city,
      note: writer.note,
    });
    const letters = await openedLetters(t.platform);
    expect(letters).toHaveLength(2);
    for (const letter of letters) expect(letter.body).toContain(writer.note);
    const status = await request(t.app).get(statusPath).expect(200);
    expect(status.text).toContain(writer.note);

    const data = await personalData(t.platform, writer.email);
    expect(data.signatures.map((s) => [s.name, s.email])).toEqual([[writer.name, writer.email]]);
    expect(data.letters[0]).toMatchObject({
      name: writer.name,
      address: writer.address,
      city: writer.city,
      note: writer.note,
    });
    expect(
      data.letters[0]!.letters.map((letter) => letter.body).every((body) =>
        body.includes(writer.note),
      ),
    ).toBe(true);
  });
});

describe('processes with other keys', () => {
  const open = (encryption: EncryptionKeys) =>
    openDatabase({
      databaseUrl: t.platform.config.databaseUrl,
      dataDir: t.platform.config.dataDir,
      encryption,
    });

  it('refuse to start: another lookup hash key, or other key material under a key id the data uses', async () => {
    const { keys, lookupKey } = t.platform.config.encryption;
    const cases: Array<[EncryptionKeys, string]> = [
      [
        { keys, lookupKey: randomBytes(32) },
        "LOOKUP_HASH_KEY: not the key this database's email hashes were made with",
      ],
      [
        { keys: [{ id: keys[0]!.id, key: randomBytes(32) }], lookupKey },
        `ENCRYPTION_KEYS: key ${keys[0]!.id} is not the key ${keys[0]!.id} this database's data was sealed with`,
      ],
    ];
    for (const [wrong, message] of cases) {
      const database = await open(wrong);
      try {
        const failure = database.migrate();
        await expect(failure).rejects.toThrow(KeyMismatchError);
        await expect(failure).rejects.toThrow(message);
      } finally {
        await database.close();
      }
    }
    // Nor without a key the data still uses; and a refused start records nothing of its keys.
    const stranger = { id: 60, key: randomBytes(32) };
    const lacking = await open({ keys: [stranger], lookupKey });
    try {
      await expect(lacking.migrate()).rejects.toThrow(
        `ENCRYPTION_KEYS: lacks key ${keys[0]!.id}, which has sealed data in this database`,
      );
    } finally {
      await lacking.close();
    }
    const recorded = async () =>
      (
        await queryRows<{ key_id: number }>(
          t.platform.db,
          sql`SELECT key_id FROM encryption_key_checks ORDER BY key_id`,
        )
      ).map((row) => Number(row.key_id));
    expect(await recorded()).toEqual([0, keys[0]!.id]);
    // A new key under a new id, ahead of a rotation, is welcome (and recorded once it seals).
    const database = await open({ keys: [...keys, { id: 50, key: randomBytes(32) }], lookupKey });
    await database.migrate();
    await database.close();
    expect(await recorded()).toEqual([0, keys[0]!.id]);
  });

  it('a letter or a signer email that does not open fails alone: retried while its key is missing, failed when altered', async () => {
    const [action] = await queryRows<{ id: number; campaign_id: number }>(
      t.platform.db,
      sql`SELECT id, campaign_id FROM letter_actions ORDER BY id LIMIT 1`,
    );
    const elsewhere = new FieldEncryption({
      keys: [{ id: 77, key: randomBytes(32) }],
      lookupKey: randomBytes(32),
    });
    const sealedElsewhere = sealedLetter(elsewhere, {
      subject: 'Subject',
      body: 'Sealed under a key this platform does not hold',
    });
    const altered = sealedLetter(t.platform.encryption, {
      subject: 'Subject',
      body: 'Altered in the database',
    });
    altered.body[altered.body.length - 1]! ^= 1;
    const ids: number[] = [];
    for (const [key, text] of [
      ['unknown-key', sealedElsewhere],
      ['altered', altered],
    ] as const) {
      const [letter] = await queryRows<{ id: number }>(
        t.platform.db,
        sql`INSERT INTO letters (action_id, campaign_id, idempotency_key, target_key, office, target_name, target_title, channel, channel_address,
                                 subject, body, status, counted_status)
            VALUES (${action!.id}, ${action!.campaign_id}, ${`${action!.id}:${key}`}, ${`custom:${key}`}, 'custom', 'An Office', 'Office', 'email',
                    'office@example.org', ${text.subject}::bytea, ${text.body}::bytea, 'queued', 'queued')
            RETURNING id`,
      );
      ids.push(Number(letter!.id));
    }
    await t.platform.db
      .execute(sql`WITH moved AS (SELECT id, NULL::text AS previous, counted_status AS next FROM letters WHERE id IN (${ids[0]!}, ${ids[1]!}))
                                    ${countMoves('moved')}`);
    const sent = sink.messages.length;
    try {
      for (const id of ids) await requestDelivery(t.platform.queues, id, 'office@example.org');
      await eventually(async () => {
        const rows = await queryRows<{ status: string }>(
          t.platform.db,
          sql`SELECT status FROM letters WHERE id IN (${ids[0]!}, ${ids[1]!}) ORDER BY id`,
        );
        return rows[0]?.status === 'retrying' && rows[1]?.status === 'failed';
      });
      const rows = await queryRows<{ last_error: string }>(
        t.platform.db,
        sql`SELECT last_error FROM letters WHERE id IN (${ids[0]!}, ${ids[1]!}) ORDER BY id`,
      );
      expect(rows.map((row) => row.last_error)).toEqual([
        'a value in letters.subject was sealed with key 77, which ENCRYPTION_KEYS does not hold: add that key back (after the current one)',
        `a value in letters.body does not open with key ${t.platform.encryption.sealingKeyId}: it was altered, or sealed under a different key with that id`,
      ]);
      expect(sink.messages.length).toBe(sent);
    } finally {
      // Out of the way for what follows.
      await t.platform.db.execute(sql`DELETE FROM letters WHERE id IN (${ids[0]!}, ${ids[1]!})`);
    }

    // Two new signers owed their confirmation: one whose address does not open waits, the other gets hers.
    const campaignId = Number(action!.campaign_id);
    const owed = { campaignId, zip: '10001', tallied: true, noticePending: true };
    const inserted = await t.platform.db
      .insert(signatures)
      .values([
        {
          ...owed,
          ...sealedSignature(elsewhere, {
            email: 'unreadable@example.org',
            name: 'Unreadable Signer',
          }),
        },
        signatureValues(t.platform.encryption, {
          ...owed,
          email: 'readable@example.org',
          name: 'Readable Signer',
        }),
      ])
      .returning({ id: signatures.id });
    try {
      await requestNoticeJob(t.platform.queues, campaignId);
      const recipients = () =>
        sink.messages.flatMap((mail) =>
          (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((to) =>
            to.value.map((box) => box.address),
          ),
        );
      const pending = async () =>
        (
          await queryRows<{ notice_pending: boolean }>(
            t.platform.db,
            sql`SELECT notice_pending FROM signatures WHERE id = ${inserted[0]!.id}`,
          )
        )[0]?.notice_pending;
      await eventually(async () => recipients().includes('readable@example.org'));
      // Owed again once the batch's sends are over, a moment after the readable one arrives.
      await eventually(async () => (await pending()) === true);
      expect(recipients()).not.toContain('unreadable@example.org');
      expect(t.logs()).toContain('signer email not sent: the signature does not open');
    } finally {
      await t.platform.db.execute(
        sql`DELETE FROM signatures WHERE id IN (${inserted[0]!.id}, ${inserted[1]!.id})`,
      );
    }
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

    // A webhook's secret is sealed with the same keys: the rotation takes it too, or the old key would seem unused.
    const campaign = await t.platform.campaigns.bySlug('ban-facial-recognition');
    const { secret } = await addWebhook(
      t.platform,
      {
        campaignId: campaign!.id,
        partnerId: null,
        url: 'https://hooks.example.org/in',
        events: ['signature'],
      },
      'command line',
    );
    expect([...census.webhook_subscriptions.keys()]).toEqual([]);

    const rotated = new FieldEncryption({ keys: [newKey, oldKey], lookupKey });
    expect((await resealAll({ db: t.platform.db, encryption: rotated })).rows).toEqual({
      signatures: 2,
      letter_actions: 1,
      letters: 2,
      webhook_subscriptions: 1,
      webhook_items: 0,
    });
    const after = await keyCensus(t.platform.db);
    for (const table of [
      'signatures',
      'letter_actions',
      'letters',
      'webhook_subscriptions',
    ] as const)
      expect([...after[table].keys()]).toEqual([newKey.id]);
    const [subscription] = await t.platform.db.select().from(webhookSubscriptions);
    expect(
      new FieldEncryption({ keys: [newKey], lookupKey }).open(
        'webhook_subscriptions.secret',
        subscription!.secret,
      ),
    ).toBe(secret);
    await t.platform.db.delete(webhookSubscriptions);
    // As `keys:rotate` does after its census: processes may now run without the old key.
    await retireUnusedKeys(t.platform.db, after);
    // Nothing left to do: a second run changes nothing.
    expect((await resealAll({ db: t.platform.db, encryption: rotated })).rows).toEqual({
      signatures: 0,
      letter_actions: 0,
      letters: 0,
      webhook_subscriptions: 0,
      webhook_items: 0,
    });

    // The new key alone opens everything, as it was; the old key alone opens nothing.
    const onlyNew = new FieldEncryption({ keys: [newKey], lookupKey });
    expect(await openedSignatures({ db: t.platform.db, encryption: onlyNew })).toEqual(before);
    expect(
      (await openedLetters({ db: t.platform.db, encryption: onlyNew })).map(
        (letter) => letter.body,
      ),
    ).toEqual(lettersBefore.map((letter) => letter.body));
    await expect(
      openedSignatures({
        db: t.platform.db,
        encryption: new FieldEncryption({ keys: [oldKey], lookupKey }),
      }),
    ).rejects.toThrow(UnknownKeyError);
    // The hashes did not change: look-ups work through the rotation.
    expect(await holdsDataAbout({ db: t.platform.db, encryption: onlyNew }, signer.email)).toBe(
      true,
    );
    ring = [newKey];
  });

  /** `npm run keys:rotate`, run as a command against the test database with the keys given. */
  const keysRotate = (args: string[], keys: { ENCRYPTION_KEYS: string; LOOKUP_HASH_KEY: string }) =>
    runCommand(path.join('privacy', 'rotate-keys.ts'), args, {
      DATABASE_URL: t.platform.config.databaseUrl,
      APP_SECRET: t.platform.config.secret,
      DATA_DIR: t.platform.config.dataDir,
      ...keys,
    });

  it('`npm run keys:rotate` refuses, sealing nothing, when the data uses a key ENCRYPTION_KEYS lacks, or an argument is unknown', async () => {
    const used = ring[0]!.id;
    const stranger = { id: 99, key: randomBytes(32) };
    const missing = await keysRotate([], {
      ENCRYPTION_KEYS: formatKeyRing([stranger]),
      LOOKUP_HASH_KEY: lookupKey.toString('base64'),
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `keys:rotate: some values are sealed with key ${used}, which ENCRYPTION_KEYS does not hold: add it back, after the current key, and run this again\n`,
    );
    expect(missing.stdout).toContain(`signatures: key ${used}: 6`);
    expect([...(await keyCensus(t.platform.db)).signatures.keys()]).toEqual([used]);

    const usage = await keysRotate(['--fast'], {
      ENCRYPTION_KEYS: formatKeyRing(ring),
      LOOKUP_HASH_KEY: lookupKey.toString('base64'),
    });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^keys:rotate: .*--fast.*Usage: npm run keys:rotate/);
  });

  it('`npm run keys:rotate` moves the data to the key given first in ENCRYPTION_KEYS, and says when the old one can go', async () => {
    const old = ring[0]!;
    const forward = { id: 9, key: randomBytes(32) };
    const env = {
      ENCRYPTION_KEYS: formatKeyRing([forward, old]),
      LOOKUP_HASH_KEY: lookupKey.toString('base64'),
    };
    const check = await keysRotate(['--check'], env);
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toContain(`Key ${old.id} is still in use`);

    const rotated = await keysRotate([], env);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toMatch(
      /Rows sealed again under key 9 in [\d.]+ s: signatures 2, letter_actions 1, letters 2, webhook_subscriptions 0, webhook_items 0\./,
    );
    expect(rotated.stdout).toContain('signatures: key 9: 6');
    expect(rotated.stdout).toContain(
      `No value is sealed with key ${old.id}: it can be removed from ENCRYPTION_KEYS.`,
    );
    expect(
      await openedSignatures({
        db: t.platform.db,
        encryption: new FieldEncryption({ keys: [forward], lookupKey }),
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: signer.name,
          email: signer.email,
          address: signer.address,
        }),
      ]),
    );
    // Nothing the command printed holds personal data or a key.
    for (const secret of [...secrets, forward.key.toString('base64'), old.key.toString('base64')])
      expect(rotated.stdout + rotated.stderr).not.toContain(secret);
    ring = [forward];
  });

  it('after a change of LOOKUP_HASH_KEY, `--reindex` makes look-ups and de-duplication work again', async () => {
    const newLookup = randomBytes(32);
    const changed = new FieldEncryption({ keys: ring, lookupKey: newLookup });
    // With the new hash key, the supporters cannot be found until the hashes are made again.
    expect(await holdsDataAbout({ db: t.platform.db, encryption: changed }, signer.email)).toBe(
      false,
    );
    const reindexed = await keysRotate(['--reindex'], {
      ENCRYPTION_KEYS: formatKeyRing(ring),
      LOOKUP_HASH_KEY: newLookup.toString('base64'),
    });
    expect(reindexed).toMatchObject({ code: 0, stderr: '' });
    expect(reindexed.stdout).toMatch(
      /Rows sealed under key 9 and hashed again in [\d.]+ s: signatures 2, letter_actions 1, letters 0, webhook_subscriptions 0, webhook_items 0\./,
    );
    expect(await holdsDataAbout({ db: t.platform.db, encryption: changed }, signer.email)).toBe(
      true,
    );
    expect(
      (await personalData({ db: t.platform.db, encryption: changed }, writer.email)).letters,
    ).toHaveLength(1);
    const [row] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures
          WHERE email_hash = ${changed.emailHash(signer.email)}::bytea AND email_domain_hash = ${changed.domainHash(signer.email)}::bytea`,
    );
    expect(row!.n).toBe(1);

    // From now on a process with the old lookup key refuses to start; and none starts while a reindex runs.
    const withOld = await openDatabase({
      databaseUrl: t.platform.config.databaseUrl,
      dataDir: t.platform.config.dataDir,
      encryption: { keys: ring, lookupKey },
    });
    const withNew = await openDatabase({
      databaseUrl: t.platform.config.databaseUrl,
      dataDir: t.platform.config.dataDir,
      encryption: { keys: ring, lookupKey: newLookup },
    });
    try {
      await expect(withOld.migrate()).rejects.toThrow(
        "LOOKUP_HASH_KEY: not the key this database's email hashes were made with",
      );
      await withNew.migrate();
      await startReindexing(withNew.db);
      await expect(withNew.migrate()).rejects.toThrow(
        'LOOKUP_HASH_KEY: the email hashes are being made again',
      );
      await finishReindexing(withNew.db, newLookup);
      await withNew.migrate();
    } finally {
      await withOld.close();
      await withNew.close();
    }
  });
});
