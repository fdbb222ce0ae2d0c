import { eq, sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, signatures } from '../../src/db/schema';
import { verifySignature } from '../../src/privacy/erasure';
import { sealLink } from '../../src/privacy/links';
import { rebuildTallies, tallyCampaign } from '../../src/petitions/tallies';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { openedSignatures, signatureValues } from '../helpers/sealed';
import { signInAs } from '../helpers/staff';

/** Double opt-in: the verification email, its page and button, expiry, resending, and counts of verified and all signatures. */
let t: TestPlatform;
let sink: SmtpSink;
let verifiedId: number;
const DEMO = 'ban-facial-recognition';
const VERIFIED = 'verified-petition';

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition <hello@coalition.example>',
    LOG_LEVEL: 'trace',
  });
  const [campaign] = await t.platform.db
    .insert(campaigns)
    .values({
      slug: VERIFIED,
      title: 'A petition that checks its signers',
      summary: 'Confirmed signatures only.',
      petitionText: 'Ban it.',
      goal: 1000,
      requireVerification: true,
    })
    .returning();
  verifiedId = campaign!.id;
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

const sign = (slug: string, person: Record<string, unknown>) =>
  request(t.app).post(`/api/v1/campaigns/${slug}/signatures`).send(person);
const recipient = (mail: ParsedMail) =>
  mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
const mailsTo = (email: string) => sink.messages.filter((mail) => recipient(mail) === email);
const pathOf = (mail: ParsedMail, kind: 'verify' | 'not-me' | 'u') => {
  const url = new RegExp(`https?://[^\\s]+/${kind}/[A-Za-z0-9_-]+`).exec(mail.text ?? '')?.[0];
  if (!url) throw new Error(`no /${kind}/ link in the email`);
  return new URL(url).pathname;
};
/** A header as sent (unfolded), not as mailparser interprets it. */
const header = (mail: ParsedMail, key: string) =>
  mail.headerLines
    .find((line) => line.key === key)
    ?.line.replace(/^[^:]+:\s*/, '')
    .replace(/\r?\n[ \t]+/g, ' ');
const unsubscribePath = (mail: ParsedMail) =>
  new URL(/<(https?:[^>]+)>/.exec(header(mail, 'list-unsubscribe') ?? '')![1]!).pathname;
const stats = async (slug: string) =>
  (await request(t.app).get(`/api/v1/campaigns/${slug}/stats`).expect(200)).body;
/** The keyed hash the platform finds a (normalised) email address by: signatures hold no plain address. */
const hashOf = (email: string) => t.platform.encryption.emailHash(email);
const signatureOf = async (email: string) =>
  (
    await queryRows<{ id: number; verified_at: Date | null; notice_pending: boolean }>(
      t.platform.db,
      sql`SELECT id, verified_at, notice_pending FROM signatures WHERE email_hash = ${hashOf(email)}::bytea`,
    )
  )[0];
/** Opens a page like a browser: the agent keeps the CSRF cookie, the token is the form's. */
const openPage = async (path: string, status = 200) => {
  const agent = request.agent(t.app);
  const page = await agent.get(path).expect(status);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  return { agent, page, csrf };
};
/** Waits until the supporters queue has nothing left to do: every email it was going to send is sent. */
const supportersIdle = async () => {
  // (Not `delayed`: the hourly retention purge always waits there.)
  const counts = await t.platform.queues
    .get('supporters')
    .getJobCounts('active', 'waiting', 'prioritized');
  const pending = await queryRows<{ n: number }>(
    t.platform.db,
    sql`SELECT count(*)::int AS n FROM signatures WHERE notice_pending`,
  );
  return Object.values(counts).every((n) => n === 0) && pending[0]!.n === 0;
};

describe('a campaign without verification', () => {
  it('sends a signing confirmation from the workers, with "this wasn\'t me" and one-click unsubscribe, and counts at once', async () => {
    const res = await sign(DEMO, {
      name: 'Ada Plain',
      email: 'ada.plain@example.org',
      zip: '10001',
      optIn: true,
    }).expect(202);
    expect(res.body).toEqual({ ok: true });
    await eventually(async () => mailsTo('ada.plain@example.org').length === 1);
    const [mail] = mailsTo('ada.plain@example.org');
    expect(mail!.subject).toBe('Thank you for signing: Ban police use of facial recognition');
    expect(mail!.text).toContain('/not-me/');
    expect(mail!.text).not.toContain('/verify/');
    expect(mail!.text).toContain(
      'Email me updates about this campaign. I can unsubscribe at any time.',
    );
    expect(header(mail!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(header(mail!, 'list-unsubscribe')).toMatch(
      /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9_-]+>, <mailto:hello@coalition\.example\?subject=unsubscribe>$/,
    );
    await eventually(async () => (await stats(DEMO)).signatures === 1);
    expect(await stats(DEMO)).toMatchObject({
      signatures: 1,
      total: 1,
      verified: 0,
      verificationRequired: false,
    });
  });

  it('one-click unsubscribe: the POST from the mail provider withdraws consent, with no cookie and no form token', async () => {
    const [mail] = mailsTo('ada.plain@example.org');
    const path = unsubscribePath(mail!);
    // The page shows a button and changes nothing.
    const page = await request(t.app).get(path).expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).toContain('Unsubscribe from all of them');
    const before = await queryRows<{ withdrawn_at: Date | null }>(
      t.platform.db,
      sql`SELECT withdrawn_at FROM consents`,
    );
    expect(before).toEqual([{ withdrawn_at: null }]);

    await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const [consent] = await queryRows<{ withdrawn_at: Date | null; wording: string }>(
      t.platform.db,
      sql`SELECT withdrawn_at, wording FROM consents`,
    );
    expect(consent!.withdrawn_at).not.toBeNull();
    expect(consent!.wording).toBe(
      'Email me updates about this campaign. I can unsubscribe at any time.',
    );
    const [signature] = await queryRows<{ opt_in: boolean }>(
      t.platform.db,
      sql`SELECT opt_in FROM signatures WHERE email_hash = ${hashOf('ada.plain@example.org')}::bytea`,
    );
    expect(signature!.opt_in).toBe(false);
    // Again: the same answer, nothing more to change.
    await request(t.app).post(path).expect(200);
    await request(t.app)
      .post(`${path.slice(0, -3)}xyz`)
      .expect(400);
  });
});

describe('a campaign that asks signers to confirm', () => {
  let verifyPath: string;

  it('stores the signature unconfirmed, answers like any signature, and emails the verification link', async () => {
    const res = await sign(VERIFIED, {
      name: 'Bea Careful',
      email: 'bea@example.org',
      zip: '60614',
    }).expect(202);
    expect(res.body).toEqual({ ok: true, checkEmail: true });
    await eventually(async () => mailsTo('bea@example.org').length === 1);
    const [mail] = mailsTo('bea@example.org');
    expect(mail!.subject).toBe('Please confirm your signature: A petition that checks its signers');
    expect(header(mail!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(header(mail!, 'list-unsubscribe')).toMatch(
      /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9_-]+>, <mailto:/,
    );
    expect(mail!.text).toContain('7 days');
    verifyPath = pathOf(mail!, 'verify');
    expect((await signatureOf('bea@example.org'))!.verified_at).toBeNull();
    // Counted in the total, not in the public count, until confirmed.
    await eventually(async () => (await stats(VERIFIED)).total === 1);
    expect(await stats(VERIFIED)).toMatchObject({
      signatures: 0,
      total: 1,
      verified: 0,
      verificationRequired: true,
    });
    // The thank-you page asks everyone to check their inbox.
    const thanks = await request(t.app).get(`/campaigns/${VERIFIED}/thanks`).expect(200);
    expect(thanks.text).toContain('Check your inbox');
  });

  it("the link's page (a GET, as a mail scanner would) confirms nothing; its button (a POST) does, once", async () => {
    const { agent, page, csrf } = await openPage(verifyPath);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('Yes, I signed: confirm it');
    await request(t.app).get(verifyPath).expect(200);
    expect((await signatureOf('bea@example.org'))!.verified_at).toBeNull();

    // Without the page's form token: refused, nothing changed.
    await request(t.app).post(verifyPath).type('form').send({}).expect(403);
    expect((await signatureOf('bea@example.org'))!.verified_at).toBeNull();

    const done = await agent.post(verifyPath).type('form').send({ _csrf: csrf }).expect(200);
    expect(done.text).toContain('your signature is confirmed');
    expect((await signatureOf('bea@example.org'))!.verified_at).not.toBeNull();
    await eventually(async () => (await stats(VERIFIED)).signatures === 1);
    // A second press changes nothing: counted once.
    await agent.post(verifyPath).type('form').send({ _csrf: csrf }).expect(200);
    expect(await stats(VERIFIED)).toMatchObject({ signatures: 1, total: 1, verified: 1 });
    const campaignPage = await request(t.app).get(`/campaigns/${VERIFIED}`).expect(200);
    expect(campaignPage.text).toMatch(
      /<strong data-live="count">1<\/strong> <span data-live="noun">signature</,
    );
  });

  it('refuses an altered link (400) and an expired one (410), and changes nothing', async () => {
    await sign(VERIFIED, { name: 'Cy Late', email: 'cy@example.org', zip: '94110' }).expect(202);
    await eventually(async () => mailsTo('cy@example.org').length === 1);
    const path = pathOf(mailsTo('cy@example.org')[0]!, 'verify');
    const token = path.split('/').pop()!;
    const altered = `/verify/${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    const { agent, csrf } = await openPage(path);
    expect((await request(t.app).get(altered).expect(400)).text).toContain(
      'This link does not work',
    );
    await agent.post(altered).type('form').send({ _csrf: csrf }).expect(400);

    const { id } = (await signatureOf('cy@example.org'))!;
    const expired = `/verify/${sealLink(t.platform.config.secret, 'verify', String(id), Date.now() - 8 * 86_400_000)}`;
    const expiredPage = await request(t.app).get(expired).expect(410);
    expect(expiredPage.text).toContain('Send me a new link');
    await agent.post(expired).type('form').send({ _csrf: csrf }).expect(410);
    // A link of another kind for the same signature does not confirm it either.
    await agent
      .post(`/verify/${sealLink(t.platform.config.secret, 'not-me', String(id))}`)
      .type('form')
      .send({ _csrf: csrf })
      .expect(400);
    expect((await signatureOf('cy@example.org'))!.verified_at).toBeNull();
    expect((await stats(VERIFIED)).verified).toBe(1);

    // The expired link's page offers a new link, which works.
    const offer = await openPage(expired, 410);
    await offer.agent
      .post(`${expired}/resend`)
      .type('form')
      .send({ _csrf: offer.csrf })
      .expect(200);
    await eventually(async () => mailsTo('cy@example.org').length === 2);
    const fresh = pathOf(mailsTo('cy@example.org')[1]!, 'verify');
    const confirm = await openPage(fresh);
    await confirm.agent.post(fresh).type('form').send({ _csrf: confirm.csrf }).expect(200);
    await eventually(async () => (await stats(VERIFIED)).verified === 2);
  });

  it('a repeat signature is answered the same and sends the link again, at most once per ten minutes', async () => {
    const person = { name: 'Dee Again', email: 'dee@example.org', zip: '02139' };
    const first = await sign(VERIFIED, person).expect(202);
    await eventually(async () => mailsTo('dee@example.org').length === 1);
    const repeat = await sign(VERIFIED, { ...person, email: ' DEE@example.org ' }).expect(202);
    expect(repeat.body).toEqual(first.body);
    await eventually(async () => mailsTo('dee@example.org').length === 2);
    await sign(VERIFIED, person).expect(202);
    // Another signer's email goes out after it; when everything queued is sent, Dee still has two.
    await sign(VERIFIED, { name: 'Eve Marker', email: 'eve@example.org', zip: '10001' }).expect(
      202,
    );
    await eventually(
      async () => mailsTo('eve@example.org').length === 1 && (await supportersIdle()),
    );
    expect(mailsTo('dee@example.org')).toHaveLength(2);
    // A confirmed signer is not sent the link again.
    const path = pathOf(mailsTo('eve@example.org')[0]!, 'verify');
    const page = await openPage(path);
    await page.agent.post(path).type('form').send({ _csrf: page.csrf }).expect(200);
    await t.platform.redis.del(
      `${t.platform.config.redisKeyPrefix}:privacy:resend:${(await signatureOf('eve@example.org'))!.id}`,
    );
    await sign(VERIFIED, { name: 'Eve Marker', email: 'eve@example.org', zip: '10001' }).expect(
      202,
    );
    expect((await signatureOf('eve@example.org'))!.notice_pending).toBe(false);
  });
});

describe('verified and total counts', () => {
  it('are exact while signatures are tallied and confirmed at the same time, and after a rebuild', async () => {
    await t.platform.db.insert(signatures).values(
      Array.from({ length: 60 }, (_, i) =>
        signatureValues(t.platform.encryption, {
          campaignId: verifiedId,
          email: `bulk${i}@example.org`,
          name: `Bulk ${i}`,
          zip: '10001',
          state: 'NY',
        }),
      ),
    );
    const bulk = (await openedSignatures(t.platform, eq(signatures.campaignId, verifiedId))).filter(
      (row) => row.email.startsWith('bulk'),
    );
    expect(bulk).toHaveLength(60);
    // Confirm every other one while tallies run alongside.
    await Promise.all([
      ...bulk
        .filter((_, i) => i % 2 === 0)
        .map((row) => verifySignature(t.platform, Number(row.id))),
      tallyCampaign(t.platform.db, verifiedId, { batchSize: 7 }),
      tallyCampaign(t.platform.db, verifiedId, { batchSize: 5 }),
    ]);
    await tallyCampaign(t.platform.db, verifiedId);
    const truth = async () =>
      (
        await queryRows<{ total: number; verified: number }>(
          t.platform.db,
          sql`SELECT count(*)::int AS total, count(verified_at)::int AS verified FROM signatures WHERE campaign_id = ${verifiedId}`,
        )
      )[0]!;
    const exact = await truth();
    expect(exact.verified).toBe(33);
    const counted = await t.platform.stats.refresh(verifiedId);
    expect({ total: counted.signatures, verified: counted.verified }).toEqual(exact);
    await rebuildTallies(t.platform.db, verifiedId);
    const rebuilt = await t.platform.stats.refresh(verifiedId);
    expect({ total: rebuilt.signatures, verified: rebuilt.verified }).toEqual(exact);
    expect(await stats(VERIFIED)).toMatchObject({
      signatures: exact.verified,
      total: exact.total,
      verified: exact.verified,
    });
  });

  it('the staff dashboard shows verified next to total', async () => {
    const staff = await signInAs(t.app, t.platform.db, 'viewer');
    const json = (await staff.agent.get(`/staff/campaigns/${VERIFIED}/dashboard.json`).expect(200))
      .body;
    expect(json.signatures).toMatchObject({ total: 64, verified: 33, verificationRequired: true });
    const page = await staff.agent.get(`/staff/campaigns/${VERIFIED}`).expect(200);
    expect(page.text).toContain('33 verified (the public count)');
  });
});

describe('logs', () => {
  it('carry no signer address, name or link token', () => {
    const logs = t.logs();
    expect(logs).toContain('"path":"/verify/:token"');
    for (const secret of [
      'ada.plain',
      'bea@example.org',
      'Bea Careful',
      'dee@example.org',
      verifyPath(),
    ])
      expect(logs).not.toContain(secret);
    function verifyPath() {
      return pathOf(mailsTo('bea@example.org')[0]!, 'verify').split('/').pop()!;
    }
  });
});
