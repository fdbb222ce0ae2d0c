import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { auditLog, partners, webhookAttempts, webhookSubscriptions } from '../../src/db/schema';
import { withdrawConsents } from '../../src/privacy/consent';
import { erasePerson } from '../../src/privacy/erasure';
import { importRepresentativeData } from '../../src/representatives/import';
import { createAccount } from '../../src/staff/accounts';
import { addWebhook } from '../../src/webhooks/subscriptions';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/receivers';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/**
 * Webhooks end to end: signatures, letters and erasures raise events, the worker delivers them in
 * batches, signed with the Standard Webhooks scheme, to in-process receivers that check the
 * signatures themselves; receivers that hang or fail are retried, logged, and after 24 hours of
 * failure turned off, with staff told.
 */
const SLUG = 'ban-facial-recognition';
const SIGN = `/api/v1/campaigns/${SLUG}/signatures`;
let t: TestPlatform;
let sink: SmtpSink;
let campaignId: number;
let partnerId: number;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ WEBHOOK_ALLOW_PRIVATE: 'true', SMTP_URL: sink.url });
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
  await createAccount(
    t.platform.db,
    { email: 'admin@coalition.example', role: 'admin', password: 'a long admin password' },
    'command line',
  );
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  for (const receiver of receivers) await receiver.close();
  await sink.close();
});

async function subscribe(
  options: { partnerId?: number; events?: Array<'signature' | 'outreach' | 'person.erased'> } = {},
) {
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const { subscription, secret } = await addWebhook(
    t.platform,
    {
      campaignId,
      partnerId: options.partnerId ?? null,
      url: receiver.url,
      events: options.events ?? ['signature', 'outreach', 'person.erased'],
    },
    'command line',
  );
  receiver.setSecret(secret);
  return { receiver, subscription, secret };
}

const sign = (email: string, extra: Record<string, unknown> = {}) =>
  request(t.app)
    .post(SIGN)
    .send({ name: 'Ada Lovelace', email, zip: '10001', ...extra })
    .expect(202);

const items = (receiver: WebhookReceiver) =>
  receiver.deliveries.flatMap((delivery) => delivery.items);
const signatureItems = (receiver: WebhookReceiver) =>
  items(receiver).filter((item) => 'osdi:signature' in item);
const emailsOf = (list: Array<Record<string, unknown>>) =>
  list.map(
    (item) =>
      (item['osdi:signature'] as { person: { email_addresses?: Array<{ address: string }> } })
        .person.email_addresses?.[0]?.address ?? null,
  );

async function stop(subscriptionId: number) {
  await t.platform.db
    .update(webhookSubscriptions)
    .set({ status: 'disabled' })
    .where(eq(webhookSubscriptions.id, subscriptionId));
}

describe('delivery', () => {
  it("sends each signature once, in Action Network's shape, signed so the receiver can check it", async () => {
    const { receiver, subscription } = await subscribe();
    await sign('first@example.org', { optIn: true, source: 'friends' });
    await sign('second@example.org');
    await sign('FIRST@example.org', { name: 'Someone Else' });
    await eventually(async () => signatureItems(receiver).length >= 2);
    // A repeat is no new signature: nothing more arrives for it.
    await eventually(
      async () =>
        (
          await queryRows(
            t.platform.db,
            sql`SELECT 1 FROM webhook_items WHERE subscription_id = ${subscription.id}::int`,
          )
        ).length === 0,
    );
    expect(signatureItems(receiver)).toHaveLength(2);

    for (const delivery of receiver.deliveries) {
      expect(delivery.verified).toBe(true);
      expect(delivery.id).toMatch(/^msg_[\w-]{22}$/);
      expect(Math.abs(delivery.timestamp * 1000 - delivery.receivedAt)).toBeLessThan(60_000);
    }
    const [first, second] = signatureItems(receiver) as Array<{
      'osdi:signature': Record<string, any>;
      idempotency_key: string;
    }>;
    expect(first!['osdi:signature']).toMatchObject({
      identifiers: [expect.stringMatching(/^ban_face_surveillance:signature-[\w-]{22}$/)],
      referrer_data: { source: 'friends' },
      person: {
        given_name: 'Ada',
        family_name: 'Lovelace',
        postal_addresses: [{ postal_code: '10001', region: 'NY', country: 'US' }],
      },
      _links: {
        'osdi:petition': { href: `${t.platform.config.publicUrl}/api/osdi/v1/petitions/${SLUG}` },
      },
    });
    // The address only of the signer who agreed to hear from the campaign.
    expect(emailsOf([first!, second!])).toEqual(['first@example.org', null]);
    expect(first!.idempotency_key).not.toEqual(second!.idempotency_key);
    expect(JSON.stringify(receiver.deliveries)).not.toContain('street');

    const attempts = await t.platform.db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.subscriptionId, subscription.id));
    expect(
      attempts.every((attempt) => attempt.outcome === 'delivered' && attempt.status === 204),
    ).toBe(true);
    const [state] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, subscription.id));
    expect(state).toMatchObject({
      lastStatus: 204,
      lastError: null,
      messageId: null,
      failingSince: null,
    });
    await stop(subscription.id);
  });

  it("tells a partner's receiver only of the supporters who agreed to hear from that partner", async () => {
    const { receiver, subscription } = await subscribe({ partnerId });
    await sign('consents@example.org', { source: 'friends', partnerOptIn: true });
    await sign('no-consent@example.org', { source: 'friends' });
    await sign('other-partner@example.org', { source: 'other', partnerOptIn: true });
    await sign('also-consents@example.org', { source: 'friends', partnerOptIn: true });
    await eventually(async () => signatureItems(receiver).length >= 2);
    await eventually(
      async () =>
        (
          await queryRows(
            t.platform.db,
            sql`SELECT 1 FROM webhook_items WHERE subscription_id = ${subscription.id}::int`,
          )
        ).length === 0,
    );
    expect(emailsOf(signatureItems(receiver)).sort()).toEqual([
      'also-consents@example.org',
      'consents@example.org',
    ]);
    await stop(subscription.id);
  });

  it('drops an event whose supporter withdrew their consent before it could be sent', async () => {
    const { receiver, subscription } = await subscribe({ partnerId });
    receiver.plan(['fail'], 'ok');
    await sign('changes-mind@example.org', { source: 'friends', partnerOptIn: true });
    await eventually(
      async () =>
        (
          await t.platform.db
            .select()
            .from(webhookAttempts)
            .where(eq(webhookAttempts.subscriptionId, subscription.id))
        ).length === 1,
    );
    expect(await withdrawConsents(t.platform, 'changes-mind@example.org', campaignId)).toBe(1);
    await eventually(
      async () =>
        (
          await t.platform.db
            .select()
            .from(webhookAttempts)
            .where(eq(webhookAttempts.subscriptionId, subscription.id))
        ).length === 2,
      30_000,
    );
    const attempts = await t.platform.db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.subscriptionId, subscription.id))
      .orderBy(webhookAttempts.id);
    expect(attempts[1]).toMatchObject({
      outcome: 'delivered',
      status: null,
      error: expect.stringMatching(/withdrew their consent/),
    });
    expect(receiver.deliveries).toEqual([]);
    await stop(subscription.id);
  }, 60_000);

  it('batches a flood: at most 100 events a delivery, every signature once', async () => {
    const { receiver, subscription } = await subscribe();
    const emails = Array.from({ length: 230 }, (_, i) => `flood-${i}@example.org`);
    for (let i = 0; i < emails.length; i += 10)
      await Promise.all(emails.slice(i, i + 10).map((email) => sign(email, { optIn: true })));
    await eventually(async () => signatureItems(receiver).length >= emails.length, 60_000);
    expect(emailsOf(signatureItems(receiver)).sort()).toEqual([...emails].sort());
    expect(
      Math.max(...receiver.deliveries.map((delivery) => delivery.items.length)),
    ).toBeLessThanOrEqual(100);
    expect(new Set(items(receiver).map((item) => item.idempotency_key)).size).toBe(emails.length);
    await stop(subscription.id);
  }, 90_000);
});

describe('receivers that fail', () => {
  it('gives up on a receiver that hangs after 5 s, and sends the same batch again', async () => {
    const { receiver, subscription } = await subscribe();
    receiver.plan(['hang'], 'ok');
    await sign('patient@example.org', { optIn: true });
    await eventually(async () => signatureItems(receiver).length === 1, 40_000);
    expect(receiver.requests).toBe(2);
    const attemptsOf = () =>
      t.platform.db
        .select()
        .from(webhookAttempts)
        .where(eq(webhookAttempts.subscriptionId, subscription.id))
        .orderBy(webhookAttempts.id);
    // The second attempt is recorded a moment after the receiver has the batch.
    await eventually(async () => (await attemptsOf()).length === 2);
    const attempts = await attemptsOf();
    expect(attempts.map((attempt) => [attempt.outcome, attempt.status])).toEqual([
      ['failed', null],
      ['delivered', 204],
    ]);
    expect(attempts[0]!.error).toBe('no answer within 5 s');
    expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(4900);
    // The retry is the same message: a receiver that had seen it could drop it.
    expect(attempts[1]!.messageId).toBe(attempts[0]!.messageId);
    expect(receiver.deliveries[0]!.id).toBe(attempts[0]!.messageId);
    await stop(subscription.id);
  }, 60_000);

  it('retries a failing receiver with back-off, logging each attempt and when the next is due', async () => {
    const { receiver, subscription } = await subscribe();
    receiver.plan(['fail'], 'ok');
    await sign('retried@example.org');
    await eventually(
      async () =>
        (
          await t.platform.db
            .select()
            .from(webhookAttempts)
            .where(eq(webhookAttempts.subscriptionId, subscription.id))
        ).length === 1,
    );
    const [waiting] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, subscription.id));
    expect(waiting).toMatchObject({
      lastStatus: 503,
      lastError: 'HTTP 503: receiver is down for maintenance',
      attempts: 1,
      failingSince: expect.any(Date),
    });
    expect(waiting!.nextAttemptAt!.getTime()).toBeGreaterThan(waiting!.lastAttemptAt!.getTime());
    await eventually(async () => signatureItems(receiver).length === 1, 30_000);
    // The receiver has the batch a moment before the worker records its answer.
    const recorded = async () =>
      (
        await t.platform.db
          .select()
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.id, subscription.id))
      )[0];
    await eventually(async () => (await recorded())?.lastStatus === 204);
    const recovered = await recorded();
    expect(recovered).toMatchObject({
      lastStatus: 204,
      failingSince: null,
      nextAttemptAt: null,
      attempts: 0,
    });
    await stop(subscription.id);
  }, 60_000);

  it('turns a subscription off after 24 hours of failures, drops what it had waiting, and tells the admins', async () => {
    const { receiver, subscription } = await subscribe();
    receiver.plan([], 'fail');
    await sign('never-told@example.org');
    await eventually(
      async () =>
        (
          await t.platform.db
            .select()
            .from(webhookAttempts)
            .where(eq(webhookAttempts.subscriptionId, subscription.id))
        ).length >= 1,
    );
    // A day of failures, as the clock would have it: the first failure 25 hours ago, the next attempt due now.
    await t.platform.db
      .update(webhookSubscriptions)
      .set({ failingSince: new Date(Date.now() - 25 * 3600_000), nextAttemptAt: new Date() })
      .where(eq(webhookSubscriptions.id, subscription.id));
    t.platform.webhookWakeups.wake([subscription.id]);
    await eventually(
      async () =>
        (
          await t.platform.db
            .select()
            .from(webhookSubscriptions)
            .where(eq(webhookSubscriptions.id, subscription.id))
        )[0]!.status === 'disabled',
    );
    const [off] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, subscription.id));
    expect(off!.disabledReason).toMatch(/^Every attempt failed for 24 hours; the last: HTTP 503/);
    expect(
      await queryRows(
        t.platform.db,
        sql`SELECT 1 FROM webhook_items WHERE subscription_id = ${subscription.id}::int`,
      ),
    ).toEqual([]);
    const [entry] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'webhook.disabled'));
    expect(entry).toMatchObject({
      actor: 'platform',
      details: { subscriptionId: subscription.id, droppedEvents: 1 },
    });
    await eventually(async () =>
      sink.messages.some((mail) => mail.subject?.startsWith('Turned off after 24 hours')),
    );
    const mail = sink.messages.find((message) =>
      message.subject?.startsWith('Turned off after 24 hours'),
    )!;
    expect(mail.to).toMatchObject({ value: [{ address: 'admin@coalition.example' }] });
    expect(mail.text).toContain(receiver.url);
    // A subscription that is off is told of nothing more.
    await sign('after-off@example.org');
    await eventually(
      async () =>
        (await queryRows(t.platform.db, sql`SELECT 1 FROM signatures WHERE NOT tallied`)).length ===
        0,
    );
    expect(
      await queryRows(
        t.platform.db,
        sql`SELECT 1 FROM webhook_items WHERE subscription_id = ${subscription.id}::int`,
      ),
    ).toEqual([]);
  }, 60_000);
});

describe('other events', () => {
  it('tells of an erasure with the identifiers it sent before, and the address only to a receiver that had it', async () => {
    const campaignReceiver = await subscribe();
    const partnerReceiver = await subscribe({ partnerId });
    await sign('erase-me@example.org', { source: 'friends', partnerOptIn: true });
    await eventually(async () =>
      emailsOf(signatureItems(partnerReceiver.receiver)).includes('erase-me@example.org'),
    );
    await eventually(async () => signatureItems(campaignReceiver.receiver).length === 1);
    const sent = (
      signatureItems(partnerReceiver.receiver)[0]!['osdi:signature'] as { identifiers: string[] }
    ).identifiers;

    await erasePerson({ ...t.platform }, 'erase-me@example.org');
    const erasedOf = (receiver: WebhookReceiver) =>
      items(receiver).filter((item) => 'ban_face_surveillance:person_erased' in item);
    await eventually(
      async () =>
        erasedOf(partnerReceiver.receiver).length === 1 &&
        erasedOf(campaignReceiver.receiver).length === 1,
    );
    expect(
      erasedOf(partnerReceiver.receiver)[0]!['ban_face_surveillance:person_erased'],
    ).toMatchObject({
      identifiers: sent,
      email_addresses: [{ address: 'erase-me@example.org' }],
      erased_date: expect.stringMatching(/Z$/),
    });
    // The campaign's own receiver never had the address (no consent to the campaign's updates): it gets the identifier only.
    const toCampaign = erasedOf(campaignReceiver.receiver)[0]![
      'ban_face_surveillance:person_erased'
    ] as Record<string, unknown>;
    expect(toCampaign.identifiers).toEqual(sent);
    expect(toCampaign.email_addresses).toBeUndefined();
    // Nothing of the person is left waiting to be sent (the sent batch's items go once its answer is recorded).
    await eventually(
      async () => (await queryRows(t.platform.db, sql`SELECT 1 FROM webhook_items`)).length === 0,
    );
    await stop(campaignReceiver.subscription.id);
    await stop(partnerReceiver.subscription.id);
  });

  it('sends an outreach when letters are written, with their targets and statuses', async () => {
    await importRepresentativeData(
      t.platform.db,
      path.join(__dirname, '..', 'fixtures', 'representatives'),
    );
    await t.platform.representatives.refresh();
    await goLive(t.platform);
    const { receiver, subscription } = await subscribe({ events: ['outreach'] });
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: 'Rosa Writer', email: 'rosa@example.org', zip: '80010', optIn: true })
      .expect(202);
    await eventually(async () => items(receiver).length === 1);
    const outreach = items(receiver)[0]!['osdi:outreach'] as Record<string, any>;
    expect(outreach).toMatchObject({
      identifiers: [expect.stringMatching(/^ban_face_surveillance:outreach-\d+$/)],
      type: 'email',
      person: {
        given_name: 'Rosa',
        family_name: 'Writer',
        email_addresses: [{ address: 'rosa@example.org' }],
      },
      _links: {
        'osdi:advocacy_campaign': { href: expect.stringContaining(`/advocacy_campaigns/${SLUG}`) },
      },
    });
    expect(
      outreach.targets.map((target: Record<string, string>) => target.family_name).sort(),
    ).toEqual(['Governor', 'Senate']);
    expect(outreach.targets[0]['ban_face_surveillance:status']).toMatch(
      /^(queued|sending|delivered)$/,
    );
    expect(typeof outreach.subject).toBe('string');
    // Only the outreach event was asked for: the signature that came with the letters is not sent here.
    expect(signatureItems(receiver)).toEqual([]);
    await stop(subscription.id);
  });
});
