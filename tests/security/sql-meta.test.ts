import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, customTargets, partners, signatures } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { hiddenFields, unescapeHtml } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedLetterActions, openedLetters, openedSignatures } from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';
import { expectSafeHtml } from './safe-html';

/**
 * SQL meta-characters (quotes, comments, statement separators, backslashes, LIKE wildcards) in
 * every field and in addresses and query strings: stored byte for byte, shown and exported as
 * typed, matched literally, and nothing else in the database touched.
 */
const META = `O'Brien"); DROP TABLE signatures; -- \\ \\' %_ 100% _x_ $1 ::text`;
const EMAIL = `o'brien--_x_@example.org`;
const SLUG = 'meta';

let t: TestPlatform;
let organizer: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(async () => {
  await t.close();
});

const tables = async () =>
  (
    await queryRows<{ table_name: string }>(
      t.platform.db,
      sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    )
  ).map((row) => row.table_name);

it('stores, shows and exports SQL meta-characters exactly as typed, and drops nothing', async () => {
  const tablesBefore = await tables();

  // Staff: a campaign, a partner, a custom target list.
  await organizer.agent
    .post('/staff/campaigns')
    .type('form')
    .send({
      _csrf: organizer.token,
      title: META,
      slug: SLUG,
      summary: META,
      petitionText: META,
      goal: '100',
      status: 'open',
      subjectMax: '150',
      bodyMax: '5000',
      targetOffices: ['state-upper', 'governor', 'custom'],
    })
    .expect(303);
  await organizer.agent
    .post(`/staff/campaigns/${SLUG}/partners`)
    .type('form')
    .send({ _csrf: organizer.token, name: META, sourceCode: 'meta_partner', origins: '' })
    .expect(303);
  const targetsPage = await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200);
  const csv = `name,title,email,postal_address,represents\n"${META.replace(/"/g, '""')}","${META.replace(/"/g, '""')}",meta@council.example,"${META.replace(/"/g, '""')}",everyone\n`;
  await organizer.agent
    .post(`/staff/campaigns/${SLUG}/targets`)
    .field('_csrf', csrfTokenOf(targetsPage.text))
    .field('list', META)
    .attach('file', Buffer.from(csv), 'meta.csv')
    .expect(303);

  // Supporters: a signature by the API and one by the form, letters by the API.
  await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({
      name: META,
      email: EMAIL,
      zip: '80010',
      address: META,
      source: 'meta_partner',
      optIn: true,
    })
    .expect(202);
  const agent = request.agent(t.app);
  const page = await agent.get(`/campaigns/${SLUG}`).expect(200);
  await agent
    .post(`/campaigns/${SLUG}/sign`)
    .type('form')
    .send({
      ...hiddenFields(page.text),
      name: META,
      email: `form.${EMAIL}`,
      zip: '80010',
      address: META,
    })
    .expect(303);
  const written = await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send({
      name: META,
      email: `letters.${EMAIL}`,
      zip: '80010',
      note: META,
      subject: META,
      body: `${META}\n\n${META}`,
    })
    .expect(202);

  // Stored byte for byte.
  const [campaign] = await t.platform.db.select().from(campaigns).where(eq(campaigns.slug, SLUG));
  expect(campaign).toMatchObject({ title: META, summary: META, petitionText: META });
  expect(await t.platform.db.select({ name: partners.name }).from(partners)).toEqual([
    { name: META },
  ]);
  expect(
    await t.platform.db
      .select({
        name: customTargets.name,
        list: customTargets.list,
        postal: customTargets.postalAddress,
      })
      .from(customTargets),
  ).toEqual([{ name: META, list: META, postal: META }]);
  // Supporters' details are sealed at rest: opened with the platform's keys, they are as typed.
  const signed = (await openedSignatures(t.platform)).map(({ name, email, address }) => ({
    name,
    email,
    address,
  }));
  expect(signed).toEqual([
    { name: META, email: EMAIL, address: META },
    { name: META, email: `form.${EMAIL}`, address: META },
    { name: META, email: `letters.${EMAIL}`, address: null },
  ]);
  // Found by the keyed hash of the address as typed, as every look-up by email finds it.
  expect(
    (
      await openedSignatures(
        t.platform,
        eq(signatures.emailHash, t.platform.encryption.emailHash(EMAIL)),
      )
    ).map((row) => row.email),
  ).toEqual([EMAIL]);
  const wrote = (await openedLetterActions(t.platform)).map(({ name, email, address, note }) => ({
    name,
    email,
    address,
    note,
  }));
  expect(wrote).toEqual([{ name: META, email: `letters.${EMAIL}`, address: null, note: META }]);
  const sent = (await openedLetters(t.platform)).map(({ subject, body, targetName }) => ({
    subject,
    body,
    targetName,
  }));
  expect(sent.length).toBeGreaterThan(0);
  expect(
    sent.every((letter) => letter.subject === META && letter.body.includes(`${META}\n\n${META}`)),
  ).toBe(true);
  expect(sent.map((letter) => letter.targetName)).toContain(META);

  // Nothing a supporter typed is in the database in plaintext: the raw bytes of every column of
  // every signature and letter action, and of every letter's own columns (its target's name and
  // title are the staff's custom target list, typed by staff), hold neither the typed text nor
  // the email addresses.
  const typed = [META, EMAIL, `O'Brien"); DROP TABLE signatures;`, `o'brien--_x_`].map((text) =>
    Buffer.from(text, 'utf8'),
  );
  for (const table of ['signatures', 'letter_actions', 'letters']) {
    const raw = await queryRows<Record<string, unknown>>(
      t.platform.db,
      sql`SELECT * FROM ${sql.identifier(table)}`,
    );
    expect(raw.length).toBeGreaterThan(0);
    for (const row of raw) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || (table === 'letters' && column.startsWith('target_'))) continue;
        const bytes =
          value instanceof Uint8Array
            ? Buffer.from(value)
            : Buffer.from(
                value instanceof Date
                  ? value.toISOString()
                  : typeof value === 'object'
                    ? JSON.stringify(value)
                    : String(value as string | number | boolean | bigint),
                'utf8',
              );
        expect({ table, column, plaintext: typed.some((text) => bytes.includes(text)) }).toEqual({
          table,
          column,
          plaintext: false,
        });
      }
    }
  }
  const [rawSignature] = await queryRows<{
    email: Uint8Array;
    name: Uint8Array;
    address: Uint8Array;
  }>(
    t.platform.db,
    sql`SELECT email, name, address FROM signatures WHERE email_hash = ${t.platform.encryption.emailHash(EMAIL)}::bytea`,
  );
  expect(rawSignature).toBeDefined();
  for (const value of [rawSignature!.email, rawSignature!.name, rawSignature!.address]) {
    expect(value).toBeInstanceOf(Uint8Array);
    const bytes = Buffer.from(value);
    expect(bytes.includes(Buffer.from(META, 'utf8'))).toBe(false);
    expect(bytes.includes(Buffer.from(EMAIL, 'utf8'))).toBe(false);
  }

  // Shown as typed.
  const shown: Array<[string, ReturnType<typeof request.agent>]> = [
    [`/campaigns/${SLUG}`, request.agent(t.app)],
    [new URL(written.body.statusUrl).pathname, request.agent(t.app)],
    [`/staff/campaigns/${SLUG}/edit`, organizer.agent],
    [`/staff/campaigns/${SLUG}/partners`, organizer.agent],
    [`/staff/campaigns/${SLUG}/targets`, organizer.agent],
  ];
  for (const [url, reader] of shown) {
    const answer = await reader.get(url).expect(200);
    expectSafeHtml(answer.text, url);
    expect({ url, shown: unescapeHtml(answer.text).includes(META) }).toEqual({ url, shown: true });
  }
  const status = await request(t.app)
    .get(`/api/v1/letters/${new URL(written.body.statusUrl).pathname.split('/').pop()}`)
    .expect(200);
  expect(status.body.letters.map((letter: { subject: string }) => letter.subject)).toContain(META);

  // Exported as typed, but for the `-` after a `;`, which a spreadsheet splitting on `;` would run as a formula: it gets a `'`.
  const exportsPage = await organizer.agent.get(`/staff/campaigns/${SLUG}/exports`).expect(200);
  const exported = await organizer.agent
    .post(`/staff/campaigns/${SLUG}/exports`)
    .type('form')
    .send({ _csrf: csrfTokenOf(exportsPage.text), kind: 'signatures' })
    .buffer(true)
    .parse((res, callback) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => callback(null, text));
    })
    .expect(200);
  const rows = parse<Record<string, string>>(exported.body as string, { columns: true, bom: true });
  const exportedMeta = META.replace('; --', "; '--");
  expect(rows.map((row) => row.name)).toEqual([exportedMeta, exportedMeta, exportedMeta]);
  expect(rows.map((row) => row.email)).toEqual([EMAIL, '', '']);

  // Nothing dropped or added; every other count still right.
  expect(await tables()).toEqual(tablesBefore);
  const [total] = await queryRows<{ n: number }>(
    t.platform.db,
    sql`SELECT count(*)::int AS n FROM signatures`,
  );
  expect(total!.n).toBe(3);
});

it('takes SQL meta-characters in addresses and query strings as plain values', async () => {
  const app = request(t.app);
  const injection = encodeURIComponent(`' OR '1'='1'; DROP TABLE signatures; --`);
  await app.get(`/campaigns/${injection}`).expect(404);
  await app.get(`/campaigns/${encodeURIComponent('%')}`).expect(404);
  await app.get(`/campaigns/${encodeURIComponent('_')}`).expect(404);
  expect((await app.get(`/api/v1/campaigns/${injection}/stats`).expect(404)).body.error).toBe(
    'not_found',
  );
  await app.get(`/letters/${injection}`).expect(404);
  await app.get(`/letters/${'%25'.repeat(32)}`).expect(404);
  await app.get(`/api/v1/letters/${'_'.repeat(32)}`).expect(404);
  expect(
    (await app.get(`/api/v1/representatives?zip=${injection}`).expect(400)).body.errors.zip,
  ).toBeDefined();
  await app
    .get(`/api/v1/representatives?zip=80010&campaign=${injection}`)
    .expect((answer) => expect([200, 404]).toContain(answer.status));
  await organizer.agent.get(`/staff/campaigns/${injection}/edit`).expect(404);
  await organizer.agent.get(`/staff/campaigns/${encodeURIComponent('%')}`).expect(404);
  await organizer.agent.get(`/staff/campaigns/${SLUG}/templates?level=${injection}`).expect(404);
  await organizer.agent
    .get(`/staff/campaigns/${SLUG}/templates?level=local&zip=${injection}`)
    .expect(200);
  await organizer.agent.get(`/staff/exports/${injection}/download`).expect(404);
  const [total] = await queryRows<{ n: number }>(
    t.platform.db,
    sql`SELECT count(*)::int AS n FROM signatures`,
  );
  expect(total!.n).toBe(3);
});
