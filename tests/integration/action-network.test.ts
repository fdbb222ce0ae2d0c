import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import {
  actionNetworkRecords,
  partners,
  webhookAttempts,
  webhookSubscriptions,
} from '../../src/db/schema';
import { erasePerson } from '../../src/privacy/erasure';
import { saveActionNetworkPush } from '../../src/webhooks/subscriptions';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startFakeActionNetwork, type FakeActionNetwork } from '../helpers/receivers';

/**
 * The push to a partner's Action Network petition, against a stand-in for Action Network's record
 * signature helper: each signature that agreed to hear from the partner is posted once, retried
 * when Action Network fails, and deleted there when its signer has their data erased.
 */
const SLUG = 'ban-facial-recognition';
const PETITION = '0b6c3a4e-8d2f-4f61-9a7e-3c1d2e5f6a7b';
let t: TestPlatform;
let an: FakeActionNetwork;
let campaignId: number;
let partnerId: number;
let subscriptionId: number;

beforeAll(async () => {
  an = await startFakeActionNetwork();
  t = await createTestPlatform({ WEBHOOK_ALLOW_PRIVATE: 'true', ACTION_NETWORK_URL: an.url });
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  partnerId = (
    await t.platform.db
      .insert(partners)
      .values({ campaignId, name: 'Friends of Privacy', sourceCode: 'friends' })
      .returning()
  )[0]!.id;
  await t.platform.db
    .insert(partners)
    .values({ campaignId, name: 'Other Group', sourceCode: 'other' });
  subscriptionId = (
    await saveActionNetworkPush(
      t.platform,
      {
        campaignId,
        partnerId,
        apiKey: an.apiKey,
        petition: PETITION,
        tags: ['ban-face-surveillance'],
      },
      'command line',
    )
  ).id;
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await an.close();
});

const sign = (email: string, extra: Record<string, unknown> = {}) =>
  request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({ name: 'Bayard Rustin', email, zip: '10001', ...extra })
    .expect(202);
const attempts = () =>
  t.platform.db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.subscriptionId, subscriptionId))
    .orderBy(webhookAttempts.id);
const waiting = async () =>
  (
    await queryRows(
      t.platform.db,
      sql`SELECT 1 FROM webhook_items WHERE subscription_id = ${subscriptionId}::int`,
    )
  ).length;

it("keeps the API key sealed, and posts to the partner's petition on the configured Action Network", async () => {
  const [subscription] = await t.platform.db
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, subscriptionId));
  expect(subscription!.url).toBe(`${an.url}/api/v2/petitions/${PETITION}/signatures`);
  expect(Buffer.from(subscription!.secret).toString('latin1')).not.toContain(an.apiKey);
  expect(t.platform.encryption.open('webhook_subscriptions.secret', subscription!.secret)).toBe(
    an.apiKey,
  );
});

it('posts each signature that agreed to hear from the partner, once, with its tags', async () => {
  await sign('rustin@example.org', { source: 'friends', partnerOptIn: true });
  await sign('no-consent@example.org', { source: 'friends' });
  await sign('other@example.org', { source: 'other', partnerOptIn: true });
  await sign('RUSTIN@example.org', { source: 'friends', partnerOptIn: true });
  await sign('second@example.org', { source: 'friends', partnerOptIn: true, optIn: true });
  await eventually(async () => an.signatures.length === 2 && (await waiting()) === 0);
  expect(an.posts).toBe(2);
  expect(an.signatures.map((signature) => signature.petition)).toEqual([PETITION, PETITION]);
  expect(an.signatures.map((signature) => signature.body)).toEqual([
    {
      person: {
        given_name: 'Bayard',
        family_name: 'Rustin',
        email_addresses: [{ primary: true, address: 'rustin@example.org', status: 'subscribed' }],
        postal_addresses: [{ primary: true, postal_code: '10001', region: 'NY', country: 'US' }],
      },
      add_tags: ['ban-face-surveillance'],
    },
    expect.objectContaining({
      person: expect.objectContaining({
        email_addresses: [expect.objectContaining({ address: 'second@example.org' })],
      }),
    }),
  ]);
  const records = await t.platform.db.select().from(actionNetworkRecords);
  expect(records.map((record) => record.remoteUrl).sort()).toEqual(
    an.signatures
      .map((signature) => `${an.url}/api/v2/petitions/${PETITION}/signatures/${signature.id}`)
      .sort(),
  );
});

it('tries again when Action Network fails, and logs each attempt', async () => {
  an.failNext(1);
  const before = (await attempts()).length;
  await sign('retry@example.org', { source: 'friends', partnerOptIn: true });
  await eventually(
    async () =>
      an.signatures.some((signature) =>
        JSON.stringify(signature.body).includes('retry@example.org'),
      ),
    30_000,
  );
  // Action Network has it a moment before the attempt is logged.
  await eventually(async () => (await attempts()).length === before + 2);
  const log = (await attempts()).slice(before);
  expect(log.map((attempt) => [attempt.outcome, attempt.status])).toEqual([
    ['failed', 500],
    ['delivered', 200],
  ]);
  expect(log[0]!.error).toMatch(/^HTTP 500/);
}, 60_000);

it('forwards an erasure: the signatures it recorded are deleted from Action Network', async () => {
  const recorded = an.signatures.find((signature) =>
    JSON.stringify(signature.body).includes('rustin@example.org'),
  )!;
  await erasePerson({ ...t.platform }, 'rustin@example.org');
  await eventually(async () => an.deleted.includes(recorded.id));
  await eventually(async () => (await waiting()) === 0);
  expect(an.signatures.some((signature) => signature.id === recorded.id)).toBe(false);
  expect(await t.platform.db.select().from(actionNetworkRecords)).toHaveLength(2);
});

it('logs a wrong key as a failed attempt, and sends nothing more until it is fixed', async () => {
  // A run already sending keeps the key it started with: change it between runs.
  await eventually(
    async () =>
      (
        await t.platform.db
          .select()
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.id, subscriptionId))
      )[0]!.sendingUntil === null,
  );
  await saveActionNetworkPush(
    t.platform,
    {
      campaignId,
      partnerId,
      apiKey: 'wrong0000000000000000000000000000',
      petition: PETITION,
      tags: [],
    },
    'command line',
  );
  const before = (await attempts()).length;
  await sign('wrong-key@example.org', { source: 'friends', partnerOptIn: true });
  await eventually(async () => (await attempts()).length > before);
  const [failed] = (await attempts()).slice(before);
  expect(failed).toMatchObject({ outcome: 'failed', status: 401 });
  expect(an.unauthorized).toBeGreaterThan(0);
  const [state] = await t.platform.db
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, subscriptionId));
  expect(state).toMatchObject({ lastStatus: 401, attempts: 1 });
  // The right key again: the waiting signature goes at the next attempt.
  await saveActionNetworkPush(
    t.platform,
    { campaignId, partnerId, apiKey: an.apiKey, petition: PETITION, tags: [] },
    'command line',
  );
  t.platform.webhookWakeups.wake([subscriptionId]);
  await eventually(
    async () =>
      an.signatures.some((signature) =>
        JSON.stringify(signature.body).includes('wrong-key@example.org'),
      ),
    30_000,
  );
}, 60_000);
