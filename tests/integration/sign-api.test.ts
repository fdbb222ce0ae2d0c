import { eq } from 'drizzle-orm';
import request from 'supertest';
import { campaigns, signatures } from '../../src/db/schema';
import { validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';

const url = '/api/v1/campaigns/ban-facial-recognition/signatures';
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({ PARTNER_ORIGINS: 'https://partner.example' });
});
afterAll(() => t.close());
beforeEach(() => t.platform.db.delete(signatures));

/** The stored signatures, their sealed columns opened with the platform's keys. */
const rows = () => openedSignatures(t.platform);
/** The stored signatures as the database holds them. */
const rawRows = () => t.platform.db.select().from(signatures);

describe('POST /api/v1/campaigns/:slug/signatures', () => {
  it('commits a signature before answering 202 {"ok":true}, with the email normalised', async () => {
    const res = await request(t.app)
      .post(url)
      .send(
        validSignature({
          email: '  Grace@Example.ORG ',
          zip: '94110-1234',
          address: '1 Main St',
          optIn: true,
        }),
      )
      .expect(202);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['set-cookie']).toBeUndefined();

    const [row] = await rows();
    expect(row).toMatchObject({
      email: 'grace@example.org',
      name: 'Grace Hopper',
      zip: '94110',
      address: '1 Main St',
      state: 'CA',
      optIn: true,
      source: null,
      tallied: false,
    });
  });

  it("stores the email, name and address sealed, and finds a repeat by the email's hash", async () => {
    await request(t.app)
      .post(url)
      .send(validSignature({ email: 'Grace@Example.org', address: '1 Main St' }))
      .expect(202);
    const [raw] = await rawRows();
    const stored = Buffer.concat([raw!.email, raw!.name, raw!.address!])
      .toString('latin1')
      .toLowerCase();
    for (const plain of ['grace@example.org', 'example.org', 'grace hopper', 'hopper', '1 main st'])
      expect(stored).not.toContain(plain);
    expect(
      Buffer.from(raw!.emailHash).equals(t.platform.encryption.emailHash('grace@example.org')),
    ).toBe(true);

    await request(t.app)
      .post(url)
      .send(validSignature({ email: ' GRACE@example.ORG  ', name: 'Someone Else' }))
      .expect(202);
    expect((await rows()).map((row) => [row.email, row.name])).toEqual([
      ['grace@example.org', 'Grace Hopper'],
    ]);
  });

  it('keeps only a salted hash of the IP address', async () => {
    await request(t.app).post(url).send(validSignature()).expect(202);
    const [row] = await rows();
    expect(row!.ipHash).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(JSON.stringify(row)).not.toMatch(/127\.0\.0\.1|::1|::ffff/);
  });

  it('stores a source code from the body or from ?source=', async () => {
    await request(t.app)
      .post(url)
      .send(validSignature({ source: 'Partner-X' }))
      .expect(202);
    await request(t.app)
      .post(`${url}?source=newsletter`)
      .send(validSignature({ email: 'b@example.org' }))
      .expect(202);
    const sources = (await rows()).map((row) => row.source).sort();
    expect(sources).toEqual(['newsletter', 'partner-x']);
  });

  it('answers a repeat exactly like a first signature and stores it once', async () => {
    const first = await request(t.app).post(url).send(validSignature()).expect(202);
    const repeat = await request(t.app)
      .post(url)
      .send(validSignature({ email: 'GRACE@example.org', name: 'Someone Else' }))
      .expect(202);
    expect(repeat.body).toEqual(first.body);
    const stored = await rows();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.name).toBe('Grace Hopper');
  });

  it('answers a filled honeypot with success and stores nothing', async () => {
    const res = await request(t.app)
      .post(url)
      .send(validSignature({ website: 'http://spam.example' }))
      .expect(202);
    expect(res.body).toEqual({ ok: true });
    expect(await rows()).toHaveLength(0);
  });

  it.each([
    ['name', { name: '' }, /name/i],
    ['name', { name: 'x'.repeat(101) }, /100 characters/],
    ['name', { name: 'Evil\r\nBcc: x@example.org' }, /line breaks/],
    ['name', { name: undefined }, /name/i],
    ['email', { email: 'not-an-email' }, /valid email/],
    ['email', { email: undefined }, /email/i],
    ['email', { email: 42 }, /email/i],
    ['zip', { zip: '1234' }, /5-digit ZIP/],
    ['zip', { zip: 'ABCDE' }, /5-digit ZIP/],
    ['zip', { zip: undefined }, /ZIP/],
    ['address', { address: 'y'.repeat(201) }, /200 characters/],
    ['address', { address: 'Line 1\nLine 2' }, /one line/],
    ['source', { source: 'bad source!' }, /source code/],
    ['optIn', { optIn: 'yes please' }, /true or false/],
  ])(
    'rejects an invalid %s with 400 and a message for that field',
    async (field, overrides, message) => {
      const res = await request(t.app).post(url).send(validSignature(overrides)).expect(400);
      expect(Object.keys(res.body.errors)).toEqual([field]);
      expect(res.body.errors[field]).toMatch(message);
      expect(await rows()).toHaveLength(0);
    },
  );

  it('lists every invalid field at once', async () => {
    const res = await request(t.app).post(url).send({}).expect(400);
    expect(Object.keys(res.body.errors).sort()).toEqual(['email', 'name', 'zip']);
  });

  it('rejects malformed JSON, a non-object body and an oversized body without a 500', async () => {
    const malformed = await request(t.app)
      .post(url)
      .set('content-type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(malformed.body.message).toMatch(/not valid JSON/);
    const array = await request(t.app).post(url).send([1, 2]).expect(400);
    expect(array.body.errors).toHaveProperty('body');
    await request(t.app)
      .post(url)
      .send(validSignature({ name: 'z'.repeat(20_000) }))
      .expect(413);
    const charset = await request(t.app)
      .post(url)
      .set('content-type', 'application/json; charset=klingon')
      .send(JSON.stringify(validSignature()))
      .expect(415);
    expect(charset.body.error).toBe('unsupported_media_type');
    expect(await rows()).toHaveLength(0);
  });

  it('answers 404 for an unknown campaign and 409 for a closed one', async () => {
    await request(t.app)
      .post('/api/v1/campaigns/no-such-campaign/signatures')
      .send(validSignature())
      .expect(404);
    const slug = 'closed-campaign';
    await t.platform.db.insert(campaigns).values({
      slug,
      title: 'Closed',
      summary: 's',
      petitionText: 'p',
      goal: 10,
      status: 'closed',
    });
    const res = await request(t.app)
      .post(`/api/v1/campaigns/${slug}/signatures`)
      .send(validSignature())
      .expect(409);
    expect(res.body.error).toBe('closed');
    await t.platform.db.delete(campaigns).where(eq(campaigns.slug, slug));
  });

  it('allows CORS from configured partner origins only, without cookies', async () => {
    const preflight = await request(t.app)
      .options(url)
      .set('Origin', 'https://partner.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://partner.example');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const other = await request(t.app)
      .post(url)
      .set('Origin', 'https://evil.example')
      .send(validSignature());
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
