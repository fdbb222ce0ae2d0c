import { sql } from 'drizzle-orm';
import request from 'supertest';
import { hashEmail } from '../../src/abuse/email-limit';
import { queryRows } from '../../src/db/client';
import { campaigns, signatures } from '../../src/db/schema';
import { letterPreview, loadRepresentatives, postLetters, SLUG } from '../helpers/abuse';
import { openSigningForm, validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * Per-email limits (2 signatures and 2 letter submissions per address per hour here). Signing over
 * the limit is answered exactly like a signature, so that nobody learns whether an address signed;
 * letters over the limit get a 429. Counters are keyed by a hash of the address, never the address.
 */
const SIGN_API = `/api/v1/campaigns/${SLUG}/signatures`;
const LETTERS_API = `/api/v1/campaigns/${SLUG}/letters`;
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({ SIGN_EMAIL_RATE_LIMIT: '2', LETTER_EMAIL_RATE_LIMIT: '2', EMAIL_RATE_WINDOW_SECONDS: '3600' });
  await loadRepresentatives(t);
  // A second campaign: the signing limit counts an address across campaigns.
  await t.platform.db.insert(campaigns).values({ slug: 'second', title: 'Second campaign', summary: 's', petitionText: 'p', goal: 10 });
});
afterAll(() => t.close());

/** The keyed hash the platform finds a (normalised) email address by: signatures and letter actions hold no plain address. */
const hashOf = (email: string) => t.platform.encryption.emailHash(email);
const signaturesOf = (email: string) =>
  queryRows<{ campaign_id: number }>(t.platform.db, sql`SELECT campaign_id FROM signatures WHERE email_hash = ${hashOf(email)}::bytea`);
const actionsOf = async (email: string) =>
  (await queryRows<{ n: number }>(t.platform.db, sql`SELECT count(*)::int AS n FROM letter_actions WHERE email_hash = ${hashOf(email)}::bytea`))[0]!.n;

describe('signing, per email address', () => {
  it('answers the API exactly alike under and over the limit, and keeps nothing over it', async () => {
    const email = 'ada@example.org';
    const first = await request(t.app).post(SIGN_API).send(validSignature({ email })).expect(202);
    const repeat = await request(t.app).post(SIGN_API).send(validSignature({ email: ' ADA@example.org ' })).expect(202);
    // The third use of the address, on another campaign: over the limit, answered the same, not stored.
    const over = await request(t.app).post('/api/v1/campaigns/second/signatures').send(validSignature({ email })).expect(202);
    for (const answer of [repeat, over]) {
      expect(answer.body).toEqual(first.body);
      expect(answer.headers['content-type']).toBe(first.headers['content-type']);
      expect(answer.headers['retry-after']).toBeUndefined();
    }
    expect(await signaturesOf(email)).toHaveLength(1);

    // Another address is not affected.
    await request(t.app).post('/api/v1/campaigns/second/signatures').send(validSignature({ email: 'grace2@example.org' })).expect(202);
    expect(await signaturesOf('grace2@example.org')).toHaveLength(1);
  });

  it('answers the form over the limit with the same redirect, and keeps nothing', async () => {
    const email = 'form-limit@example.org';
    const { agent, token } = await openSigningForm(t.app, '/campaigns/second');
    await request(t.app).post(SIGN_API).send(validSignature({ email })).expect(202);
    await request(t.app).post(SIGN_API).send(validSignature({ email })).expect(202);
    const over = await agent.post('/campaigns/second/sign').type('form').send({ _csrf: token, ...validSignature({ email }) }).expect(303);
    expect(over.headers.location).toBe('/campaigns/second/thanks');
    expect((await signaturesOf(email)).map((row) => row.campaign_id)).toHaveLength(1);
  });

  it('still answers invalid input with its errors over the limit (the answer depends on the input only)', async () => {
    const email = 'ada@example.org';
    const res = await request(t.app).post(SIGN_API).send(validSignature({ email, zip: 'nope' })).expect(400);
    expect(res.body.errors.zip).toBeDefined();
  });

  it('counts under a keyed hash of the address, with the window as its expiry', async () => {
    const prefix = t.platform.config.redisKeyPrefix;
    const keys = await t.platform.redis.keys(`${prefix}:rl:email:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toMatch(/@|example/);
    const key = `${prefix}:rl:email:sign:${hashEmail(t.platform.config.secret, 'ada@example.org')}`;
    expect(Number(await t.platform.redis.get(key))).toBeGreaterThanOrEqual(3);
    const ttl = await t.platform.redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
  });
});

describe('letters, per email address', () => {
  const writer = { name: 'Lou Letters', email: 'lou@example.org', zip: '80010', wantsCopy: false };

  it('answers the API with 429 and Retry-After over the limit, and writes and sends nothing', async () => {
    await request(t.app).post(LETTERS_API).send(writer).expect(202);
    await request(t.app).post(LETTERS_API).send({ ...writer, targets: undefined, note: 'Again, other words.' }).expect(202);
    const actions = await actionsOf('lou@example.org');
    expect(actions).toBe(2);
    const queued = await t.platform.queues.get('delivery').count();
    const over = await request(t.app).post(LETTERS_API).send({ ...writer, email: 'LOU@example.org' }).expect(429);
    expect(over.body.error).toBe('rate_limited');
    expect(over.body.message).toMatch(/this email address/);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(3600);
    expect(await actionsOf('lou@example.org')).toBe(actions);
    expect(await t.platform.queues.get('delivery').count()).toBe(queued);
  });

  it('answers the pages with a 429 page over the limit, and writes nothing', async () => {
    const email = 'page-writer@example.org';
    await request(t.app).post(LETTERS_API).send({ ...writer, email }).expect(202);
    await request(t.app).post(LETTERS_API).send({ ...writer, email, note: 'Once more.' }).expect(202);
    const actions = await actionsOf(email);
    const { agent, fields } = await letterPreview(t.app, { name: 'Page Writer', email });
    const over = await postLetters(agent, [...fields, ['step', 'send']]).expect(429);
    expect(over.text).toContain('Too many letters from this email address');
    expect(over.headers['retry-after']).toBeDefined();
    expect(await actionsOf(email)).toBe(actions);
  });

  it('keeps a separate count from signing, so signing never makes letters answer differently', async () => {
    const email = 'signed-first@example.org';
    for (let i = 0; i < 3; i++) await request(t.app).post(SIGN_API).send(validSignature({ email })).expect(202);
    await request(t.app).post(LETTERS_API).send({ ...writer, email }).expect(202);
  });
});

describe('with Redis unreachable', () => {
  it('lets signatures through (fails open, like the per-IP limits)', async () => {
    const offline = await createTestPlatform({ REDIS_URL: 'redis://127.0.0.1:1/0', SIGN_EMAIL_RATE_LIMIT: '1' });
    try {
      await offline.platform.db.insert(campaigns).values({ slug: 'second', title: 'Second campaign', summary: 's', petitionText: 'p', goal: 10 });
      await request(offline.app).post(SIGN_API).send(validSignature({ email: 'open@example.org' })).expect(202);
      await request(offline.app).post('/api/v1/campaigns/second/signatures').send(validSignature({ email: 'open@example.org' })).expect(202);
      expect(await offline.platform.db.select().from(signatures)).toHaveLength(2);
    } finally {
      await offline.close();
    }
  });
});
