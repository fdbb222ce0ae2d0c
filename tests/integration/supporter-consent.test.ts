import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { partners } from '../../src/db/schema';
import { rebuildTallies } from '../../src/petitions/tallies';
import { sealLink } from '../../src/privacy/links';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/** Consent per partner, recorded in the words shown; unsubscribing; and "this wasn't me". */
let t: TestPlatform;
let sink: SmtpSink;
let campaignId: number;
const SLUG = 'ban-facial-recognition';
const PARTNER = 'Friends of <Privacy> & Co';

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ SMTP_URL: sink.url });
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  await t.platform.db.insert(partners).values({ campaignId, name: PARTNER, sourceCode: 'friends' });
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

/** The keyed hash the platform finds a (normalised) email address by: signatures hold no plain address. */
const hashOf = (email: string) => t.platform.encryption.emailHash(email);
const recipient = (mail: ParsedMail) =>
  mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
const mailsTo = (email: string) => sink.messages.filter((mail) => recipient(mail) === email);
const consentsOf = (email: string) =>
  queryRows<{
    scope: string;
    partner_id: number | null;
    wording: string;
    channel: string;
    given_at: string;
    withdrawn_at: string | null;
  }>(
    t.platform.db,
    sql`SELECT k.scope, k.partner_id, k.wording, k.channel, k.given_at, k.withdrawn_at
        FROM consents k JOIN signatures s ON s.id = k.signature_id WHERE s.email_hash = ${hashOf(email)}::bytea ORDER BY k.id`,
  );
const unescape = (html: string) =>
  html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&#x3D;/g, '=')
    .replace(/&amp;/g, '&');
const labelOf = (html: string, field: string) =>
  unescape(new RegExp(`<label for="field-${field}">([^<]*)</label>`).exec(html)?.[1] ?? '');
const hiddenFields = (html: string) =>
  Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((match) => [
      match[1]!,
      unescape(match[2]!),
    ]),
  );

describe('consent on the signing form', () => {
  it('offers the partner that brought the signer, and records each consent in the words the form showed', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get(`/campaigns/${SLUG}?source=friends`).expect(200);
    const campaignWords = labelOf(page.text, 'optIn');
    const partnerWords = labelOf(page.text, 'partnerOptIn');
    expect(campaignWords).toBe(
      'Email me updates about this campaign. I can unsubscribe at any time.',
    );
    expect(partnerWords).toBe(
      `Email me news from ${PARTNER}, the partner organisation that shared this petition. I can unsubscribe at any time.`,
    );
    // Without a partner's code, no partner box.
    expect((await request(t.app).get(`/campaigns/${SLUG}`).expect(200)).text).not.toContain(
      'field-partnerOptIn',
    );

    await agent
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({
        ...hiddenFields(page.text),
        name: 'Fay Form',
        email: 'fay@example.org',
        zip: '10001',
        optIn: 'on',
        partnerOptIn: 'on',
      })
      .expect(303);
    const consents = await consentsOf('fay@example.org');
    expect(consents).toEqual([
      expect.objectContaining({
        scope: 'campaign',
        partner_id: null,
        wording: campaignWords,
        channel: 'form',
        withdrawn_at: null,
      }),
      expect.objectContaining({
        scope: 'partner',
        partner_id: expect.any(Number),
        wording: partnerWords,
        channel: 'form',
        withdrawn_at: null,
      }),
    ]);
    expect(consents[0]!.given_at).toBeTruthy();
    // The confirmation lists them, and unsubscribing from it withdraws both and keeps the record.
    await eventually(async () => mailsTo('fay@example.org').length === 1);
    const mail = mailsTo('fay@example.org')[0]!;
    expect(mail.text).toContain(partnerWords);
    const line = mail.headerLines.find((header) => header.key === 'list-unsubscribe')!.line;
    const unsubscribe = new URL(/<(https?:[^>]+)>/.exec(line)![1]!).pathname;
    const confirmPage = await request(t.app).get(unsubscribe).expect(200);
    expect(unescape(confirmPage.text)).toContain(partnerWords);
    await request(t.app).post(unsubscribe).expect(200);
    const after = await consentsOf('fay@example.org');
    expect(after).toHaveLength(2);
    for (const consent of after) expect(consent.withdrawn_at).not.toBeNull();
    expect((await request(t.app).get(unsubscribe).expect(200)).text).toContain(
      'You receive no updates',
    );
  });

  it('records nothing for unticked boxes, and a repeat signature changes no consent', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get(`/campaigns/${SLUG}?source=friends`).expect(200);
    await agent
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({
        ...hiddenFields(page.text),
        name: 'Gus None',
        email: 'gus@example.org',
        zip: '10001',
      })
      .expect(303);
    expect(await consentsOf('gus@example.org')).toEqual([]);
    const again = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({
        name: 'Gus None',
        email: 'gus@example.org',
        zip: '10001',
        source: 'friends',
        optIn: true,
        partnerOptIn: true,
      })
      .expect(202);
    expect(again.body).toEqual({ ok: true });
    expect(await consentsOf('gus@example.org')).toEqual([]);
  });
});

describe('consent through the JSON API', () => {
  it('publishes the words a partner form must show, and records them with the channel', async () => {
    const words = (
      await request(t.app).get(`/api/v1/campaigns/${SLUG}/consent?source=friends`).expect(200)
    ).body;
    expect(words).toEqual({
      optIn: 'Email me updates about this campaign. I can unsubscribe at any time.',
      partnerOptIn: {
        partner: PARTNER,
        source: 'friends',
        wording: expect.stringContaining(PARTNER),
      },
    });
    expect(
      (await request(t.app).get(`/api/v1/campaigns/${SLUG}/consent`).expect(200)).body.partnerOptIn,
    ).toBeNull();
    await request(t.app).get('/api/v1/campaigns/nope/consent').expect(404);

    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures?source=friends`)
      .send({ name: 'Hal Api', email: 'hal@example.org', zip: '60614', partnerOptIn: true })
      .expect(202);
    expect(await consentsOf('hal@example.org')).toEqual([
      expect.objectContaining({
        scope: 'partner',
        wording: words.partnerOptIn.wording,
        channel: 'api',
        withdrawn_at: null,
      }),
    ]);
  });

  it('refuses a partner opt-in without a partner, field by field, and writes nothing', async () => {
    for (const source of [undefined, 'not-a-partner']) {
      const res = await request(t.app)
        .post(`/api/v1/campaigns/${SLUG}/signatures`)
        .send({
          name: 'Ivy Wrong',
          email: 'ivy@example.org',
          zip: '60614',
          source,
          partnerOptIn: true,
        })
        .expect(400);
      expect(res.body.errors).toEqual({ partnerOptIn: expect.stringContaining('partner') });
    }
    const res = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({ name: 'Ivy Wrong', email: 'ivy@example.org', zip: '60614', partnerOptIn: 'maybe' })
      .expect(400);
    expect(res.body.errors).toEqual({ partnerOptIn: 'partnerOptIn must be true or false.' });
    const [row] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures WHERE email_hash = ${hashOf('ivy@example.org')}::bytea`,
    );
    expect(row!.n).toBe(0);
  });
});

describe('"this wasn\'t me"', () => {
  const counts = async () => {
    const stats = await t.platform.stats.refresh(campaignId);
    return {
      total: stats.signatures,
      ny: stats.byState.NY ?? 0,
      friends: stats.bySource.friends ?? 0,
    };
  };

  it('the page changes nothing; its button removes the signature, its consents and its place in the counts', async () => {
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures?source=friends`)
      .send({
        name: 'Jo Notme',
        email: 'jo@example.org',
        zip: '10001',
        optIn: true,
        partnerOptIn: true,
      })
      .expect(202);
    await eventually(async () => mailsTo('jo@example.org').length === 1);
    // Counted first, so that removing it has something to take out of the counts.
    await eventually(
      async () =>
        (
          await queryRows<{ n: number }>(
            t.platform.db,
            sql`SELECT count(*)::int AS n FROM signatures WHERE NOT tallied`,
          )
        )[0]!.n === 0,
    );
    const before = await counts();
    const url = /https?:[^\s]+\/not-me\/[A-Za-z0-9_-]+/.exec(
      mailsTo('jo@example.org')[0]!.text ?? '',
    )![0];
    const path = new URL(url).pathname;

    const agent = request.agent(t.app);
    const page = await agent.get(path).expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('It was not me: remove the signature');
    expect(await consentsOf('jo@example.org')).toHaveLength(2);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    await agent.post(path).type('form').send({}).expect(403);
    // An altered or expired link removes nothing.
    await agent
      .post(`${path.slice(0, -4)}AAAA`)
      .type('form')
      .send({ _csrf: csrf })
      .expect(400);
    const [jo] = await queryRows<{ id: number }>(
      t.platform.db,
      sql`SELECT id FROM signatures WHERE email_hash = ${hashOf('jo@example.org')}::bytea`,
    );
    await agent
      .post(
        `/not-me/${sealLink(t.platform.config.secret, 'not-me', String(jo!.id), Date.now() - 31 * 86_400_000)}`,
      )
      .type('form')
      .send({ _csrf: csrf })
      .expect(410);
    expect(await counts()).toEqual(before);

    await agent.post(path).type('form').send({ _csrf: csrf }).expect(200);
    const [left] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures WHERE email_hash = ${hashOf('jo@example.org')}::bytea`,
    );
    expect(left!.n).toBe(0);
    const [consentsLeft] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM consents WHERE signature_id = ${jo!.id}`,
    );
    expect(consentsLeft!.n).toBe(0);
    const after = await counts();
    expect(after).toEqual({
      total: before.total - 1,
      ny: before.ny - 1,
      friends: before.friends - 1,
    });
    // The public counter follows, and a rebuild agrees.
    expect(
      (await request(t.app).get(`/api/v1/campaigns/${SLUG}/stats`).expect(200)).body.signatures,
    ).toBe(after.total);
    await rebuildTallies(t.platform.db, campaignId);
    expect(await counts()).toEqual(after);
    // The link has nothing left to remove.
    await agent.post(path).type('form').send({ _csrf: csrf }).expect(410);
    expect(await counts()).toEqual(after);
  });
});
