import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { customTargets } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { formFields, hiddenFields } from '../helpers/html';
import { createTestPlatform, goLive, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * Line breaks in what becomes a mail header (a supporter's name, a letter's subject, a campaign's
 * sender, what staff type) cannot add headers or recipients: the request is refused with a field
 * message and writes nothing, or the text reaches the mail on one line; and nothing arrives at the
 * SMTP server with a header or a recipient that was not the platform's.
 */
const SLUG = 'ban-facial-recognition';
const VICTIM = 'victim@attacker.example';
/** Every way to break a line: CRLF, LF, CR, NEL, the Unicode line and paragraph separators. */
const BREAKS = ['\r\n', '\n', '\r', '\u0085', '\u2028', '\u2029'];
const injections = BREAKS.map(
  (lineBreak) => `Rosa${lineBreak}Bcc: ${VICTIM}${lineBreak}X-Injected: yes`,
);

let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    LOOKUP_RATE_LIMIT: '100000',
    DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

const count = async (table: 'letters' | 'letter_actions' | 'signatures') =>
  (
    await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM ${sql.raw(table)}`,
    )
  )[0]!.n;

const recipients = (mail: ParsedMail) =>
  (['to', 'cc', 'bcc'] as const).flatMap((field) => {
    const value = mail[field];
    return (Array.isArray(value) ? value : value ? [value] : []).flatMap((group) =>
      group.value.map((address) => address.address ?? ''),
    );
  });

describe('a supporter’s name and subject', () => {
  it.each(injections)('are refused with a line break by the JSON API (%j)', async (hostile) => {
    const before = { letters: await count('letters'), signatures: await count('signatures') };
    const byName = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: hostile, email: 'rosa@example.org', zip: '80010' })
      .expect(400);
    expect(byName.body.errors.name).toMatch(/line break|one line|special characters|control/i);
    const bySubject = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: 'Rosa Parks', email: 'rosa@example.org', zip: '80010', subject: hostile })
      .expect(400);
    expect(bySubject.body.errors.subject).toMatch(/line break|control/i);
    const signed = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({ name: hostile, email: 'rosa@example.org', zip: '80010' })
      .expect(400);
    expect(signed.body.errors.name).toBeDefined();
    expect({ letters: await count('letters'), signatures: await count('signatures') }).toEqual(
      before,
    );
  });

  it('are refused with a line break by the pages, at the step that asks for them', async () => {
    const before = await count('letters');
    const agent = request.agent(t.app);
    const url = `/campaigns/${SLUG}/letters`;
    const start = await agent.get(url).expect(200);
    const hidden = Object.entries(hiddenFields(start.text));
    const post = (fields: Array<[string, string]>) =>
      agent.post(url).type('form').send(new URLSearchParams(fields).toString());

    const byName = await post([
      ...hidden,
      ['step', 'lookup'],
      ['name', injections[0]!],
      ['email', 'rosa@example.org'],
      ['zip', '80010'],
    ]).expect(400);
    expect(byName.text).toMatch(/id="error-name"/);

    const targets = await post([
      ...hidden,
      ['step', 'lookup'],
      ['name', 'Rosa Parks'],
      ['email', 'rosa@example.org'],
      ['zip', '80010'],
    ]).expect(200);
    const preview = await post([...formFields(targets.text), ['step', 'preview']]).expect(200);
    for (const hostile of injections) {
      const fields = formFields(preview.text).filter(([name]) => name !== 'subject');
      const bySubject = await post([...fields, ['subject', hostile], ['step', 'send']]).expect(400);
      expect(bySubject.text).toContain('Please remove line breaks from the subject.');
    }

    const page = await agent.get(`/campaigns/${SLUG}`).expect(200);
    const signed = await agent
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({
        ...hiddenFields(page.text),
        name: injections[0],
        email: 'rosa@example.org',
        zip: '80010',
      })
      .expect(400);
    expect(signed.text).toMatch(/id="error-name"/);
    expect(await count('letters')).toBe(before);
  });
});

describe('what staff type', () => {
  let organizer: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    organizer = await signInAs(t.app, t.platform.db, 'organizer');
  });

  it('refuses a line break in a campaign title, a sender address and a partner name', async () => {
    const campaign = (overrides: Record<string, string>) => ({
      _csrf: organizer.token,
      title: 'Headers',
      slug: 'headers',
      summary: 'Summary.',
      petitionText: 'Text.',
      goal: '100',
      status: 'open',
      subjectMax: '150',
      bodyMax: '5000',
      targetOffices: 'state-upper',
      ...overrides,
    });
    for (const lineBreak of BREAKS) {
      await organizer.agent
        .post('/staff/campaigns')
        .type('form')
        .send(campaign({ title: `Headers${lineBreak}Bcc: ${VICTIM}` }))
        .expect(400);
      await organizer.agent
        .post('/staff/campaigns')
        .type('form')
        .send(campaign({ letterFrom: `letters@coalition.example${lineBreak}Bcc: ${VICTIM}` }))
        .expect(400);
      await organizer.agent
        .post(`/staff/campaigns/${SLUG}/partners`)
        .type('form')
        .send({
          _csrf: organizer.token,
          name: `Partner${lineBreak}Bcc: ${VICTIM}`,
          sourceCode: 'partner-x',
          origins: '',
        })
        .expect(400);
    }
    const [row] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT (SELECT count(*) FROM campaigns WHERE slug = 'headers') + (SELECT count(*) FROM partners) AS n`,
    );
    expect(Number(row!.n)).toBe(0);
  });

  it('keeps a subject template and a custom target’s name on one line in the mail', async () => {
    // A template whose subject spans lines (a slip of the keyboard, or worse), and a target whose name does.
    const templates = await organizer.agent
      .get(`/staff/campaigns/${SLUG}/templates?level=local`)
      .expect(200);
    const saved = await organizer.agent
      .post(`/staff/campaigns/${SLUG}/templates/local`)
      .type('form')
      .send({
        _csrf: csrfTokenOf(templates.text),
        action: 'save',
        subject: `Ban it\r\nBcc: ${VICTIM}\r\nX-Injected: yes {{target.name}}`,
        body: 'Dear {{target.name}},\n\nBan it.\n\n{{supporter.name}}',
        zip: '80010',
      });
    expect([303, 400]).toContain(saved.status);
    const targets = await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200);
    const csv = `name,title,email,represents\n"Ada\r\nBcc: ${VICTIM}",Council Member,council@headers.example,everyone\n`;
    const upload = (list: string) =>
      organizer.agent
        .post(`/staff/campaigns/${SLUG}/targets`)
        .field('_csrf', csrfTokenOf(targets.text))
        .field('list', list)
        .attach('file', Buffer.from(csv), 'council.csv');
    // A list name with a line break is refused (typed in a form, it is shown to the person who typed it);
    // cells of the file are stored on one line (line breaks become spaces).
    const refused = await upload(`Council\r\nBcc: ${VICTIM}`).expect(400);
    expect(refused.text).toContain(
      '<a href="#field-list">Write the list name on one line, without invisible control characters.</a>',
    );
    await upload('Council').expect(303);
    const stored = await t.platform.db
      .select({ list: customTargets.list, name: customTargets.name })
      .from(customTargets);
    expect(stored).toEqual([{ list: 'Council', name: `Ada Bcc: ${VICTIM}` }]);
    const editor = await organizer.agent.get(`/staff/campaigns/${SLUG}/edit`).expect(200);
    const offices = ['us-senate', 'governor', 'state-upper', 'custom'];
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/edit`)
      .type('form')
      .send({
        _csrf: csrfTokenOf(editor.text),
        title: 'Ban facial recognition',
        slug: SLUG,
        summary: 'Summary.',
        petitionText: 'Text.',
        goal: '100000',
        status: 'open',
        subjectMax: '150',
        bodyMax: '5000',
        targetOffices: offices,
      })
      .expect(303);
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: 'Rosa Parks', email: 'rosa.parks@example.org', zip: '80010' })
      .expect(202);
  });
});

describe('at the SMTP server', () => {
  it('nothing arrives with a header or a recipient the platform did not set', async () => {
    // A letter to flush the pipeline: once it and everything queued before it is delivered, the sink has all there will be.
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: 'Last Writer', email: 'last@example.org', zip: '80010', wantsCopy: false })
      .expect(202);
    await eventually(async () => {
      const [pending] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM letters WHERE status IN ('queued', 'sending', 'retrying')`,
      );
      return (
        pending!.n === 0 &&
        sink.messages.some((mail) => mail.replyTo?.value[0]?.address === 'last@example.org')
      );
    }, 60_000);

    expect(sink.messages.length).toBeGreaterThan(0);
    for (const mail of sink.messages) {
      expect(recipients(mail).filter((address) => address.includes('attacker'))).toEqual([]);
      expect(
        [...mail.headers.keys()].filter((key) => ['bcc', 'cc', 'x-injected'].includes(key)),
      ).toEqual([]);
      expect(mail.subject ?? '').not.toMatch(/[\r\n\u0085\u2028\u2029]/);
      const replyTo = mail.replyTo?.value ?? [];
      expect(replyTo.length).toBeLessThanOrEqual(1);
      expect(replyTo.every((address) => !/[\r\n]/.test(address.name ?? ''))).toBe(true);
    }
    // The custom target with a line break in its name got its letter, addressed to it alone.
    const toCouncil = sink.messages.filter((mail) =>
      recipients(mail).includes('council@headers.example'),
    );
    expect(toCouncil.length).toBeGreaterThan(0);
    for (const mail of toCouncil) expect(recipients(mail)).toEqual(['council@headers.example']);
  });
});
