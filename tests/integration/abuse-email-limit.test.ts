import { sql } from 'drizzle-orm';
import request from 'supertest';
import { hashEmail } from '../../src/abuse/email-limit';
import { queryRows } from '../../src/db/client';
import { campaigns } from '../../src/db/schema';
import { letterPreview, loadRepresentatives, postLetters, SLUG } from '../helpers/abuse';
import { validSignature } from '../helpers/forms';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { requestNoticeJob } from '../../src/privacy/jobs/send-notices';

/**
 * Per-email limits, as the outside review asked: they count only what was written, and each asker
 * (IP address) has a budget of their own for each address, so that probing with someone's address
 * neither tells how many letters they wrote nor uses up what they may write. Signing has no
 * per-email limit: a signature is always kept, and what an address receives is limited instead
 * (2 emails per address per hour here; more wait for the next window).
 */
const SIGN_API = `/api/v1/campaigns/${SLUG}/signatures`;
const LETTERS_API = `/api/v1/campaigns/${SLUG}/letters`;
const VICTIM_IP = '198.51.100.7';
const PROBER_IP = '203.0.113.5';
let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    SIGN_EMAIL_RATE_LIMIT: '2',
    LETTER_EMAIL_RATE_LIMIT: '2',
    EMAIL_RATE_WINDOW_SECONDS: '3600',
  });
  await loadRepresentatives(t);
  await goLive(t.platform);
  await t.startWorkers();
  await t.platform.db.insert(campaigns).values([
    { slug: 'second', title: 'Second campaign', summary: 's', petitionText: 'p', goal: 10 },
    { slug: 'third', title: 'Third campaign', summary: 's', petitionText: 'p', goal: 10 },
  ]);
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

const hashOf = (email: string) => t.platform.encryption.emailHash(email);
const signaturesOf = (email: string) =>
  queryRows<{ campaign_id: number; notice_pending: boolean }>(
    t.platform.db,
    sql`SELECT campaign_id, notice_pending FROM signatures WHERE email_hash = ${hashOf(email)}::bytea ORDER BY id`,
  );
const actionsOf = async (email: string) =>
  (
    await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM letter_actions WHERE email_hash = ${hashOf(email)}::bytea`,
    )
  )[0]!.n;
const mailTo = (email: string) =>
  sink.messages.filter(
    (mail) =>
      mail.to && 'text' in mail.to && mail.to.text === email && !mail.headers.get('x-letter-id'),
  );

describe('signing: every signature kept, the emails to one address limited', () => {
  it('keeps a signature whatever others sent with the address, and makes its email wait rather than drop it', async () => {
    const email = 'ada@example.org';
    // Someone else spends the address's emails: two signatures in two campaigns, two emails.
    const first = await request(t.app)
      .post(SIGN_API)
      .set('X-Forwarded-For', PROBER_IP)
      .send(validSignature({ email }))
      .expect(202);
    await request(t.app)
      .post('/api/v1/campaigns/second/signatures')
      .set('X-Forwarded-For', PROBER_IP)
      .send(validSignature({ email }))
      .expect(202);
    await eventually(async () => mailTo(email).length === 2);
    // The person herself signs the third campaign: answered alike, and kept.
    const hers = await request(t.app)
      .post('/api/v1/campaigns/third/signatures')
      .set('X-Forwarded-For', VICTIM_IP)
      .send(validSignature({ email }))
      .expect(202);
    expect(hers.body).toEqual(first.body);
    expect(hers.headers['retry-after']).toBeUndefined();
    expect((await signaturesOf(email)).map((row) => row.campaign_id)).toHaveLength(3);
    // Her email waits for the address's next window, still owed.
    await eventually(
      async () =>
        (await signaturesOf(email))[2]!.notice_pending === true && mailTo(email).length === 2,
    );
    const keys = await t.platform.redis.keys(`${t.platform.config.redisKeyPrefix}:rl:email:sign:*`);
    expect(keys.join(' ')).not.toMatch(/@|example/);
    // When the window turns, it goes.
    await t.platform.redis.del(...keys);
    await requestNoticeJob(t.platform.queues, (await t.platform.campaigns.bySlug('third'))!.id);
    await eventually(async () => mailTo(email).length === 3);
    expect((await signaturesOf(email)).every((row) => !row.notice_pending)).toBe(true);
  });
});

describe('letters: only what is written counts, each asker with a budget of their own', () => {
  const writer = { name: 'Lou Letters', zip: '80010', wantsCopy: false };

  it('does not count submissions that write nothing, so probes tell nothing and spend nothing', async () => {
    const email = 'probed@example.org';
    // Submissions that parse but write nothing: an unknown target, as many as a prober likes.
    for (let i = 0; i < 6; i++) {
      const probe = await request(t.app)
        .post(LETTERS_API)
        .set('X-Forwarded-For', VICTIM_IP)
        .send({ ...writer, email, targets: ['us-house:NOPE'] })
        .expect(400);
      expect(probe.body.errors.targets).toBeDefined();
    }
    // The writer's own two letters still go.
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email })
      .expect(202);
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email, note: 'Again.' })
      .expect(202);
    expect(await actionsOf(email)).toBe(2);
  });

  it("keeps each asker to their own budget for an address: a prober cannot spend the writer's, nor read it", async () => {
    const email = 'writer@example.org';
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email })
      .expect(202);
    // The prober writes with her address until refused: the refusal comes after the prober's own two, whatever she wrote.
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', PROBER_IP)
      .send({ ...writer, email })
      .expect(202);
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', PROBER_IP)
      .send({ ...writer, email })
      .expect(202);
    const refused = await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', PROBER_IP)
      .send({ ...writer, email })
      .expect(429);
    expect(refused.body.error).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // She still has her second letter.
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email, note: 'My second.' })
      .expect(202);
    const over = await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email: 'WRITER@example.org', note: 'Third.' })
      .expect(429);
    expect(over.body.message).toMatch(/this email address/);
    expect(await actionsOf(email)).toBe(4);
  });

  it('does not count a retried request (same requestId) twice', async () => {
    const email = 'retrier@example.org';
    const once = { ...writer, email, requestId: 'retried-request-0123456789' };
    for (let i = 0; i < 4; i++)
      await request(t.app)
        .post(LETTERS_API)
        .set('X-Forwarded-For', VICTIM_IP)
        .send(once)
        .expect(202);
    await request(t.app)
      .post(LETTERS_API)
      .set('X-Forwarded-For', VICTIM_IP)
      .send({ ...writer, email })
      .expect(202);
    expect(await actionsOf(email)).toBe(2);
  });

  it('answers the pages with a 429 page over the limit, and writes nothing', async () => {
    const email = 'page-writer@example.org';
    await request(t.app)
      .post(LETTERS_API)
      .send({ ...writer, email })
      .expect(202);
    await request(t.app)
      .post(LETTERS_API)
      .send({ ...writer, email, note: 'Once more.' })
      .expect(202);
    const actions = await actionsOf(email);
    const { agent, fields } = await letterPreview(t.app, { name: 'Page Writer', email });
    const over = await postLetters(agent, [...fields, ['step', 'send']]).expect(429);
    expect(over.text).toContain('Too many letters from this email address');
    expect(over.headers['retry-after']).toBeDefined();
    expect(await actionsOf(email)).toBe(actions);
  });

  it('sends an address no more emails than its share, whoever writes in its name from however many networks: the rest wait', async () => {
    const email = 'many-networks@example.org';
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      await request(t.app)
        .post(LETTERS_API)
        .set('X-Forwarded-For', ip)
        .send({ name: 'Lou Letters', zip: '80010', email })
        .expect(202);
    }
    await eventually(async () => mailTo(email).length === 2);
    const waiting = async () =>
      (
        await queryRows<{ n: number }>(
          t.platform.db,
          sql`SELECT count(*)::int AS n FROM letter_actions WHERE email_hash = ${hashOf(email)}::bytea AND confirmation_sent_at IS NULL`,
        )
      )[0]!.n;
    // The third was tried against the address's budget (every try counts), found it spent, and handed back.
    const budget = `${t.platform.config.redisKeyPrefix}:rl:email:sign:${hashEmail(t.platform.config.secret, email)}`;
    await eventually(async () => Number(await t.platform.redis.get(budget)) >= 3);
    await eventually(async () => (await waiting()) === 1);
    expect(mailTo(email)).toHaveLength(2);
  });

  it('counts under keyed hashes, never the address, with the window as their expiry', async () => {
    const keys = await t.platform.redis.keys(
      `${t.platform.config.redisKeyPrefix}:rl:email:letters:*`,
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toMatch(/@|example|198\.51|203\.0/);
    for (const key of keys) {
      const ttl = await t.platform.redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3600);
    }
  });
});

describe('with Redis unreachable', () => {
  it('lets signatures and letters through (fails open, like the per-IP limits)', async () => {
    const offline = await createTestPlatform({
      REDIS_URL: 'redis://127.0.0.1:1/0',
      SIGN_EMAIL_RATE_LIMIT: '1',
      LETTER_EMAIL_RATE_LIMIT: '1',
    });
    try {
      await loadRepresentatives(offline);
      await offline.platform.db.insert(campaigns).values({
        slug: 'second',
        title: 'Second campaign',
        summary: 's',
        petitionText: 'p',
        goal: 10,
      });
      await request(offline.app)
        .post(SIGN_API)
        .send(validSignature({ email: 'open@example.org' }))
        .expect(202);
      await request(offline.app)
        .post('/api/v1/campaigns/second/signatures')
        .send(validSignature({ email: 'open@example.org' }))
        .expect(202);
      for (let i = 0; i < 2; i++)
        await request(offline.app)
          .post(LETTERS_API)
          .send({ name: 'Open Writer', email: 'open@example.org', zip: '80010' })
          .expect(202);
      expect(await queryRows(offline.platform.db, sql`SELECT id FROM signatures`)).toHaveLength(2);
    } finally {
      await offline.close();
    }
  });
});
