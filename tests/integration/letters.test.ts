import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { letters as lettersTable, letterTemplates } from '../../src/db/schema';
import { letterCounts } from '../../src/letters/counts';
import { CAMPAIGN_CONSENT_WORDING } from '../../src/privacy/consent';
import { packetSource } from '../../src/letters/hand-packets';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, goLive, eventually, type TestPlatform } from '../helpers/platform';
import { openedLetters } from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

const SLUG = 'ban-facial-recognition';
const API = `/api/v1/campaigns/${SLUG}/letters`;
let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition Letters <letters@coalition.example>',
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

const supporter = {
  name: 'Rosa Writer',
  email: 'rosa@example.org',
  zip: '80010',
  note: 'I live two blocks from the precinct.',
};
/** The keyed hash an email address is found by (the column itself is sealed). */
const emailHash = (email: string) => t.platform.encryption.emailHash(email);
const statusOf = async (statusUrl: string) =>
  (
    await request(t.app)
      .get(`/api/v1${new URL(statusUrl).pathname}`)
      .expect(200)
  ).body;

describe('POST /api/v1/campaigns/:slug/letters', () => {
  it('writes to every target with an electronic channel, delivers each letter once, confirms, and signs', async () => {
    const res = await request(t.app).post(API).send(supporter).expect(202);
    expect(res.body).toMatchObject({
      actionId: expect.any(String),
      statusUrl: expect.stringMatching(/\/letters\/[\w-]{32}$/),
    });
    expect(res.body.letters).toEqual([
      {
        target: expect.stringMatching(/^state-upper:ocd-person\//),
        to: 'Hana Senate',
        channel: 'email',
      },
      {
        target: expect.stringMatching(/^governor:ocd-person\//),
        to: 'Nia Governor',
        channel: 'email',
      },
    ]);

    await eventually(async () =>
      (await statusOf(res.body.statusUrl)).letters.every(
        (l: { status: string }) => l.status === 'delivered',
      ),
    );
    const status = await statusOf(res.body.statusUrl);
    // Ivan Lower, the state representative, has no email address: by default only those who do are written to.
    expect(
      status.letters.map((l: { to: string; channel: string }) => `${l.channel} ${l.to}`).sort(),
    ).toEqual(['email Hana Senate', 'email Nia Governor']);

    await eventually(
      async () =>
        sink.messages.filter((m) => m.headers.get('x-letter-id')).length === 2 &&
        sink.messages.length === 3,
    );
    const letters = sink.messages.filter((m) => m.headers.get('x-letter-id'));
    for (const mail of letters) {
      expect(mail.from?.value).toEqual([
        { name: 'Coalition Letters', address: 'letters@coalition.example' },
      ]);
      expect(mail.replyTo?.value).toEqual([{ name: 'Rosa Writer', address: 'rosa@example.org' }]);
      expect(mail.text).toContain('I live two blocks from the precinct.');
      expect(mail.text).toContain('Rosa Writer');
      expect(mail.messageId).toMatch(/^<[0-9a-f]{32}@coalition\.example>$/);
    }
    expect(new Set(letters.map((m) => m.messageId)).size).toBe(2);
    const confirmation = sink.messages.find((m) => !m.headers.get('x-letter-id'))!;
    expect(confirmation.to && 'text' in confirmation.to ? confirmation.to.text : '').toBe(
      'rosa@example.org',
    );
    expect(confirmation.text).toContain(res.body.statusUrl);

    // Writing also signed the petition, once.
    await eventually(async () => (await t.platform.stats.get(1)).signatures === 1);
    // Knowing someone's email and ZIP does not open their letters: a request like theirs is a new one.
    const lookalike = await request(t.app).post(API).send(supporter).expect(202);
    expect(lookalike.body.statusUrl).not.toBe(res.body.statusUrl);
    await request(t.app)
      .post(API)
      .send({ ...supporter, targets: [res.body.letters[0].target] })
      .expect(202);
    const [signed] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures WHERE email_hash = ${emailHash('rosa@example.org')}::bytea`,
    );
    expect(signed?.n).toBe(1);
  });

  it('a retried request with the same requestId writes and sends once, and answers with the same status link', async () => {
    const once = { ...supporter, email: 'retry@example.org', requestId: 'a-retry-id-0123456789' };
    const [first, second] = await Promise.all([
      request(t.app).post(API).send(once).expect(202),
      request(t.app).post(API).send(once).expect(202),
    ]);
    expect(second.body.statusUrl).toBe(first.body.statusUrl);
    expect((await request(t.app).post(API).send(once).expect(202)).body.statusUrl).toBe(
      first.body.statusUrl,
    );
    const [written] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM letter_actions WHERE email_hash = ${emailHash('retry@example.org')}::bytea`,
    );
    expect(written?.n).toBe(1);
    await eventually(async () =>
      (await statusOf(first.body.statusUrl)).letters.every(
        (l: { status: string }) => l.status === 'delivered',
      ),
    );
    const bad = await request(t.app)
      .post(API)
      .send({ ...once, requestId: 'short' })
      .expect(400);
    expect(bad.body.errors.requestId).toMatch(/16 to 100/);
  });

  it("a requestId is bound to the address that first used it: with another address it never answers with that writer's status link", async () => {
    const first = await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'bound@example.org', requestId: 'bound-request-id-0123456789' })
      .expect(202);
    // Someone who learned the requestId, with any other name and address.
    const other = await request(t.app)
      .post(API)
      .send({
        ...supporter,
        name: 'Someone Else',
        email: 'someone-else@example.org',
        requestId: 'bound-request-id-0123456789',
      })
      .expect(202);
    expect(other.body.statusUrl).not.toBe(first.body.statusUrl);
    expect(other.body.actionId).not.toBe(first.body.actionId);
    // Sent again with the first address, it is still a repeat of the first.
    const again = await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'bound@example.org', requestId: 'bound-request-id-0123456789' })
      .expect(202);
    expect(again.body.statusUrl).toBe(first.body.statusUrl);
  });

  it("sends the supporter's own text to each office under that office's own greeting", async () => {
    const body = 'Please ban it.\n\nThank you,\nRosa';
    const res = await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'own-words@example.org', wantsCopy: false, body })
      .expect(202);
    await eventually(async () =>
      (await statusOf(res.body.statusUrl)).letters.every(
        (l: { status: string }) => l.status === 'delivered',
      ),
    );
    const mine = sink.messages.filter(
      (m) => m.replyTo?.value[0]?.address === 'own-words@example.org',
    );
    expect(
      mine
        .map((m) =>
          m.text
            ?.trim()
            .split('\n')
            .find((line) => line.startsWith('Dear')),
        )
        .sort(),
    ).toEqual(['Dear Governor Nia Governor,', 'Dear Senator Hana Senate,']);
    expect(mine.every((m) => m.text?.trim().endsWith(body))).toBe(true);
  });

  it("writes from the campaign's own template where it has one, and from the shipped one where a stored one is broken", async () => {
    await t.platform.db.insert(letterTemplates).values([
      {
        campaignId: 1,
        level: 'state',
        subject: 'A constituent in {{supporter.zip}} asks for a ban',
        body: 'Dear {{target.title}} {{target.name}},\n\nCampaign words.\n\n{{supporter.name}}',
      },
      { campaignId: 1, level: 'federal', subject: 'Broken {{supporter.nmae}}', body: 'x' },
    ]);
    try {
      t.platform.letterTemplates.invalidate(1);
      const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
      const senator = lookup.body.officials.find(
        (o: { office: string }) => o.office === 'state-upper',
      );
      const house = lookup.body.officials.find((o: { office: string }) => o.office === 'us-house');
      const targets = [`state-upper:${senator.ids.openstates}`, `us-house:${house.ids.bioguide}`];
      await request(t.app)
        .post(API)
        .send({ ...supporter, email: 'template@example.org', wantsCopy: false, targets })
        .expect(202);
      const written = (
        await openedLetters(
          t.platform,
          sql`${lettersTable.actionId} IN (SELECT a.id FROM letter_actions a WHERE a.email_hash = ${emailHash('template@example.org')}::bytea)`,
        )
      ).sort((a, b) => a.office.localeCompare(b.office));
      expect(written.find((l) => l.office === 'state-upper')).toMatchObject({
        subject: 'A constituent in 80010 asks for a ban',
        body: 'Dear Senator Hana Senate,\n\nCampaign words.\n\nRosa Writer',
      });
      const federal = written.find((l) => l.office === 'us-house')!;
      expect(federal.subject).not.toContain('Broken');
      expect(federal.body).toContain('federal ban');
      expect(t.logs()).toContain('a stored letter template is invalid; using the default one');
    } finally {
      await t.platform.db.delete(letterTemplates);
      t.platform.letterTemplates.invalidate(1);
    }
  });

  it('keeps letters to offices without an electronic channel for hand delivery, when chosen', async () => {
    const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
    const house = lookup.body.officials.find((o: { office: string }) => o.office === 'us-house');
    const res = await request(t.app)
      .post(API)
      .send({
        ...supporter,
        email: 'hand@example.org',
        targets: [`us-house:${house.ids.bioguide}`],
      })
      .expect(202);
    const status = await statusOf(res.body.statusUrl);
    expect(status.letters).toEqual([
      expect.objectContaining({ channel: 'hand', status: 'hand-delivery' }),
    ]);
    const waiting = await packetSource(t.platform, {
      campaignId: 1,
      targetKey: `us-house:${house.ids.bioguide}`,
    });
    expect(waiting.cover).toMatchObject({
      targetName: house.name,
      targetTitle: `U.S. Representative, CO-1`,
    });
    expect(waiting.cover.letters).toBeGreaterThanOrEqual(1);
    expect((await waiting.letters(0, 100)).map((letter) => letter.body).join('\n')).toContain(
      'I live two blocks from the precinct.',
    );
  });

  it('refuses bad input with field errors and writes nothing', async () => {
    const before = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM letters`,
    );
    const ambiguous = await request(t.app)
      .post(API)
      .send({ ...supporter, zip: '80020' })
      .expect(400);
    expect(Object.keys(ambiguous.body.errors)).toEqual(['zip']);
    expect(ambiguous.body.candidates.length).toBeGreaterThan(1);
    const header = await request(t.app)
      .post(API)
      .send({ ...supporter, name: 'Rosa\r\nBcc: victim@example.org' })
      .expect(400);
    expect(Object.keys(header.body.errors)).toEqual(['name']);
    const subject = await request(t.app)
      .post(API)
      .send({ ...supporter, subject: 'Hi\nBcc: x@example.org' })
      .expect(400);
    expect(Object.keys(subject.body.errors)).toEqual(['subject']);
    const unknown = await request(t.app)
      .post(API)
      .send({ ...supporter, targets: ['us-house:Z999999'] })
      .expect(400);
    expect(Object.keys(unknown.body.errors)).toEqual(['targets']);
    await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'nope' })
      .expect(400);
    const after = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM letters`,
    );
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('keeps counts by target and district that agree with the letters themselves', async () => {
    await eventually(async () => {
      const [pending] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM letters WHERE status IN ('queued', 'sending', 'retrying')`,
      );
      return pending?.n === 0;
    });
    const counts = await letterCounts(t.platform.db, 1);
    const truth = await queryRows<{ target_key: string; cd: string; status: string; n: number }>(
      t.platform.db,
      sql`SELECT l.target_key, a.congressional_district AS cd, l.status, count(*)::int AS n
          FROM letters l JOIN letter_actions a ON a.id = l.action_id GROUP BY 1, 2, 3`,
    );
    const byTarget: Record<string, Record<string, number>> = {};
    const byDistrict: Record<string, Record<string, number>> = {};
    for (const row of truth) {
      (byTarget[row.target_key] ??= {})[row.status] =
        (byTarget[row.target_key]![row.status] ?? 0) + row.n;
      (byDistrict[row.cd] ??= {})[row.status] = (byDistrict[row.cd]![row.status] ?? 0) + row.n;
    }
    expect(counts).toEqual({ byTarget, byDistrict });
    expect(counts.byDistrict['0801']?.delivered).toBeGreaterThan(0);
  });

  it('stops retrying a letter the server refuses for good, and records the attempt', async () => {
    sink.failNext(10, 550);
    const res = await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'refused@example.org', wantsCopy: false, targets: undefined })
      .expect(202);
    await eventually(async () =>
      (await statusOf(res.body.statusUrl)).letters.every(
        (l: { status: string }) => l.status === 'failed',
      ),
    );
    sink.failNext(0, 550);
    const attempts = await queryRows<{ outcome: string; error: string }>(
      t.platform.db,
      sql`SELECT d.outcome, d.error FROM delivery_attempts d JOIN letters l ON l.id = d.letter_id JOIN letter_actions a ON a.id = l.action_id
          WHERE a.email_hash = ${emailHash('refused@example.org')}::bytea`,
    );
    expect(attempts).toHaveLength(2);
    expect(attempts.every((a) => a.outcome === 'failed' && a.error === 'SMTP 550')).toBe(true);
  });
});

describe('the signature that comes with the letters', () => {
  it('records the consent given, in the words the page showed', async () => {
    await request(t.app)
      .post(API)
      .send({ ...supporter, email: 'consenting@example.org', optIn: true })
      .expect(202);
    const rows = await queryRows<{ scope: string; wording: string; channel: string }>(
      t.platform.db,
      sql`SELECT k.scope, k.wording, k.channel FROM consents k JOIN signatures s ON s.id = k.signature_id WHERE s.email_hash = ${emailHash('consenting@example.org')}::bytea`,
    );
    expect(rows).toEqual([
      { scope: 'campaign', wording: CAMPAIGN_CONSENT_WORDING, channel: 'api' },
    ]);
  });
});

describe('in a campaign that asks signers to confirm', () => {
  it('asks the letter writer to confirm the signature that comes with the letters', async () => {
    await t.platform.db.execute(sql`UPDATE campaigns SET require_verification = true WHERE id = 1`);
    t.platform.campaigns.forget('ban-facial-recognition');
    try {
      await request(t.app)
        .post(API)
        .send({ ...supporter, email: 'confirm-me@example.org' })
        .expect(202);
      await eventually(async () =>
        sink.messages.some(
          (m) =>
            m.to &&
            'text' in m.to &&
            m.to.text === 'confirm-me@example.org' &&
            /\/verify\//.test(m.text ?? ''),
        ),
      );
    } finally {
      await t.platform.db.execute(
        sql`UPDATE campaigns SET require_verification = false WHERE id = 1`,
      );
      t.platform.campaigns.forget('ban-facial-recognition');
    }
  });
});
