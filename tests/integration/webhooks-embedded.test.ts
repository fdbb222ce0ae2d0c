import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { queryRows } from '../../src/db/client';
import { partners, webhookAttempts } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { startPlatform, type RunningPlatform } from '../../src/main';
import { createApiToken } from '../../src/osdi/tokens';
import { erasePerson } from '../../src/privacy/erasure';
import { addWebhook } from '../../src/webhooks/subscriptions';
import { eventually } from '../helpers/platform';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/receivers';

/**
 * The data flows in embedded mode, started as `npm start` does (PGlite, PostgreSQL 18, and the
 * platform's own redis-server): the OSDI API reads and signs, webhooks are delivered by the
 * workers in the same process, an erasure is told, and the delivery log is kept.
 */
const SLUG = 'ban-facial-recognition';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-webhooks-embedded-'));
let running: RunningPlatform;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    REP_DATA_DIR: 'none',
    REP_DATA_REFRESH: 'off',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    FORM_MIN_FILL_SECONDS: '0',
  });
  running = await startPlatform(config, 'all', createLogger('silent'));
}, 60_000);
afterAll(async () => {
  await running?.stop();
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('serves the OSDI API and delivers signed webhooks on PGlite', async () => {
  const { platform, url } = running;
  expect(platform.database.driver).toBe('pglite');
  const campaign = (await platform.campaigns.bySlug(SLUG))!;
  const [partner] = await platform.db
    .insert(partners)
    .values({ campaignId: campaign.id, name: 'Friends of Privacy', sourceCode: 'friends' })
    .returning();
  const { subscription, secret } = await addWebhook(
    platform,
    {
      campaignId: campaign.id,
      partnerId: partner!.id,
      url: receiver.url,
      events: ['signature', 'person.erased'],
    },
    'command line',
  );
  receiver.setSecret(secret);
  const { token } = await createApiToken(
    platform.db,
    { name: 'friends', scopes: ['read', 'sign'], campaignId: campaign.id, partnerId: partner!.id },
    'command line',
  );

  await request(url!)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({
      name: 'Pat Embedded',
      email: 'pat@example.org',
      zip: '98101',
      source: 'friends',
      partnerOptIn: true,
    })
    .expect(202);
  const signed = await request(url!)
    .post(`/api/osdi/v1/petitions/${SLUG}/signatures`)
    .set('OSDI-API-Token', token)
    .send({
      person: {
        given_name: 'Osdi',
        family_name: 'Embedded',
        email_addresses: [{ address: 'osdi@example.org', status: 'subscribed' }],
        postal_addresses: [{ postal_code: '10001' }],
      },
    })
    .expect(200);
  expect(signed.body.identifiers[0]).toMatch(/^ban_face_surveillance:signature-/);

  await eventually(
    async () => receiver.deliveries.flatMap((delivery) => delivery.items).length === 2,
    30_000,
  );
  expect(receiver.deliveries.every((delivery) => delivery.verified)).toBe(true);
  const listed = await request(url!)
    .get(
      `/api/osdi/v1/petitions/${SLUG}/signatures?filter=${encodeURIComponent("modified_date gt '2020-01-01T00:00:00Z'")}`,
    )
    .set('OSDI-API-Token', token)
    .expect(200);
  expect(listed.body.total_records).toBe(2);
  expect(
    listed.body._embedded['osdi:signatures']
      .map((s: any) => s.person.email_addresses[0].address)
      .sort(),
  ).toEqual(['osdi@example.org', 'pat@example.org']);

  await erasePerson({ ...platform }, 'pat@example.org');
  await eventually(
    async () =>
      receiver.deliveries
        .flatMap((delivery) => delivery.items)
        .some((item) => 'ban_face_surveillance:person_erased' in item),
    30_000,
  );
  await eventually(
    async () => (await queryRows(platform.db, sql`SELECT 1 FROM webhook_items`)).length === 0,
  );
  const attempts = await platform.db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.subscriptionId, subscription.id));
  expect(attempts.length).toBeGreaterThanOrEqual(2);
  expect(attempts.every((attempt) => attempt.outcome === 'delivered')).toBe(true);
}, 90_000);
