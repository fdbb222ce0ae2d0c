import request from 'supertest';
import { signatures } from '../../src/db/schema';
import { openSigningForm, validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({ SIGN_RATE_LIMIT: '3', SIGN_RATE_WINDOW_SECONDS: '120' });
});
afterAll(() => t.close());

describe('rate limit per IP, counted in Redis', () => {
  it('answers 429 with Retry-After once an address has used its allowance', async () => {
    const url = '/api/v1/campaigns/ban-facial-recognition/signatures';
    for (let i = 0; i < 3; i++) {
      await request(t.app)
        .post(url)
        .send(validSignature({ email: `p${i}@example.org` }))
        .expect(202);
    }
    const limited = await request(t.app)
      .post(url)
      .send(validSignature({ email: 'p9@example.org' }))
      .expect(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(limited.body.error).toBe('rate_limited');
    expect(await t.platform.db.select().from(signatures)).toHaveLength(3);

    // The counter lives in Redis under the IP's hash, never the IP itself.
    const keys = await t.platform.redis.keys(`${t.platform.config.redisKeyPrefix}:rl:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toMatch(/127\.0\.0\.1|::1/);
  });

  it('limits the HTML form too, with a page that says how long to wait', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const res = await agent
      .post('/campaigns/ban-facial-recognition/sign')
      .type('form')
      .send({ _csrf: token, ...validSignature({ email: 'form@example.org' }) })
      .expect(429);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.text).toMatch(/Please wait \d+ seconds/);
  });
});
