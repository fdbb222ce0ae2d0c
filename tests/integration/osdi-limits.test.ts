import request from 'supertest';
import { createApiToken } from '../../src/osdi/tokens';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/** The OSDI API's per-token rate limit, and what its requests leave in the logs. */
let t: TestPlatform;
let campaignId: number;

beforeAll(async () => {
  t = await createTestPlatform({ OSDI_RATE_LIMIT: '3' });
  campaignId = (await t.platform.campaigns.bySlug('ban-facial-recognition'))!.id;
});
afterAll(() => t.close());

const token = async (name: string) =>
  (
    await createApiToken(
      t.platform.db,
      { name, scopes: ['read', 'sign'], campaignId, partnerId: null },
      'command line',
    )
  ).token;

it('limits each token on its own, with Retry-After and an OSDI error', async () => {
  const busy = await token('busy');
  const quiet = await token('quiet');
  for (let i = 0; i < 3; i++)
    await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', busy).expect(200);
  const limited = await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', busy).expect(429);
  expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  expect(limited.body['osdi:error']).toMatchObject({
    response_code: 429,
    resource_status: [{ error_descriptions: [{ error_code: 'RATE_LIMITED' }] }],
  });
  await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', quiet).expect(200);
});

it("logs no token, no supporter's name or address", async () => {
  const secret = await token('logged');
  await request(t.app)
    .post('/api/osdi/v1/petitions/ban-facial-recognition/signatures')
    .set('OSDI-API-Token', secret)
    .send({
      person: {
        given_name: 'Logan',
        family_name: 'Quiet',
        email_addresses: [{ address: 'logan.quiet@example.org' }],
        postal_addresses: [{ postal_code: '10001', address_lines: ['12 Hidden Lane'] }],
      },
    })
    .expect(200);
  await request(t.app)
    .get('/api/osdi/v1/petitions/ban-facial-recognition/signatures')
    .set('OSDI-API-Token', secret)
    .expect(200);
  const logs = t.logs();
  expect(logs).toContain('/api/osdi/v1/petitions/ban-facial-recognition/signatures');
  for (const hidden of [secret, secret.slice(5, 20), 'logan.quiet', 'Logan', 'Hidden Lane'])
    expect(logs).not.toContain(hidden);
});
