import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { campaignById } from '../../campaigns/directory';
import type { AppContext } from '../../context';
import { queryRows } from '../../db/client';
import type { WebhookEvent, WebhookKind } from '../../db/schema';
import type { Mailer } from '../../delivery/mailer';
import { personResource } from '../../osdi/resources';
import { signaturesById } from '../../osdi/records';
import { defineJob, defineSweep } from '../../queue/job';
import { adminAndPartnerEmails } from '../../staff/account-reads';
import { recordPlatformAudit } from '../../staff/audit';
import { controlsToSpaces } from '../../text-safety/characters';
import type { Queues } from '../../queue/jobs';
import { describeFailure, sendOutbound, type OutboundResponse } from '../outbound-http';
import { batchPayload, openErased, type BatchItem } from '../payloads';
import { newMessageId, signedHeaders } from '../signing';

/**
 * The `deliver-webhooks` job: sends one subscription's waiting events, oldest first. Its payload
 * schema, options and `perform` are here; src/queue/workers.ts runs it.
 *
 * Batching: a batch holds up to BATCH_SIZE events and goes as soon as it is full, or once its
 * oldest event has waited BATCH_WINDOW_MS. Each batch gets a `webhook-id` that its retries keep.
 * A receiver that answers anything but 2xx, or not within 5 s, is tried again after a back-off
 * (RETRY_DELAYS_MS); once every attempt has failed for GIVE_UP_AFTER_MS (24 h) the subscription is
 * disabled, its waiting events dropped, and the admins and the partner's accounts are told by
 * email. Every attempt is logged (`webhook_attempts`) and shown in the console.
 *
 * Action Network pushes go one signature at a time (its record signature helper takes one), at
 * most 4 a second (its limit), with the same retries; a signature it refuses as invalid (400) is
 * logged and skipped, not retried. An erasure is forwarded by deleting the signatures it recorded.
 *
 * Only one worker sends for a subscription at a time: it holds a lease (`sending_until`), which
 * lapses if the worker dies; the next job, or the sweep, takes over and sends the same batch again
 * under the same `webhook-id`.
 */

const payload = z.object({ subscriptionId: z.number().int().positive() });
export type DeliverWebhooksPayload = z.infer<typeof payload>;

export const deliverWebhooksJob = defineJob({
  queue: 'webhooks',
  name: 'deliver-webhooks',
  payload,
  // BullMQ's retries are only for a job that failed on our side (the database, say): a receiver's
  // failures are retried by the job itself (RETRY_DELAYS_MS). After BullMQ gives up, the sweep asks again.
  options: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: true,
    removeOnFail: { count: 1000 },
  },
  // Subscriptions one worker process sends to at once: each waits on a receiver (up to 5 s).
  concurrency: 8,
  perform: (ctx: DeliverContext, subscription) => performDelivery(ctx, subscription),
});

export const BATCH_SIZE = 100;
export const BATCH_WINDOW_MS = 2000;
export const GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;
/** The wait after the 1st, 2nd, … failed attempt of a batch; the last repeats until the 24 hours are up. */
export const RETRY_DELAYS_MS = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000,
];
/** Action Network allows 4 requests a second per key. */
const ACTION_NETWORK_SPACING_MS = 260;
/** Batches (or Action Network requests) one job sends before it hands over to a new job, so other subscriptions get their turn. */
const ROUNDS_PER_JOB = 50;
/** A sending worker's lease, renewed at each batch: longer than one attempt can take. */
const LEASE_SECONDS = 60;

export type DeliverContext = Pick<
  AppContext,
  'db' | 'encryption' | 'config' | 'logger' | 'queues'
> & { mailer: Mailer };

/**
 * Asks for a subscription's waiting events to be sent: one job per subscription waiting or
 * delayed, and while one runs, one more kept to run after it (so an event committed meanwhile is
 * never left behind). A wake-up brings a delayed job forward; the job then decides whether to send
 * or wait.
 */
export async function requestWebhookDelivery(
  queues: Pick<Queues, 'add'>,
  subscriptionId: number,
  delayMs = 0,
): Promise<void> {
  await queues.add(
    deliverWebhooksJob,
    { subscriptionId },
    {
      delay: Math.max(0, Math.round(delayMs)),
      deduplication: { id: `webhooks:${subscriptionId}`, keepLastIfActive: true, reschedule: true },
    },
  );
}

interface LeasedSubscription {
  id: number;
  campaign_id: number;
  partner_id: number | null;
  kind: WebhookKind;
  url: string;
  events: WebhookEvent[];
  secret: Uint8Array;
  tags: string[];
  message_id: string | null;
  batch_items: Array<number | string> | null;
  attempts: number;
  failing_since: Date | string | null;
  next_attempt_at: Date | string | null;
}

type Outcome =
  | { delivered: true; status: number | null; skipped?: string }
  | { delivered: false; status: number | null; error: string };

const time = (value: Date | string | null) => (value === null ? null : new Date(value).getTime());
const idArray = (ids: number[]) => `{${ids.join(',')}}`;
const LEASE = sql`now() + make_interval(secs => ${LEASE_SECONDS}::int)`;

/** Sends what the subscription has waiting (see above). */
export async function performDelivery(
  ctx: DeliverContext,
  payload: DeliverWebhooksPayload,
): Promise<void> {
  const { db } = ctx;
  const id = payload.subscriptionId;
  const [leased] = await queryRows<LeasedSubscription>(
    db,
    sql`UPDATE webhook_subscriptions SET sending_until = ${LEASE}
        WHERE id = ${id}::int AND status = 'active' AND (sending_until IS NULL OR sending_until < now())
        RETURNING id, campaign_id, partner_id, kind, url, events, secret, tags, message_id, batch_items, attempts, failing_since, next_attempt_at`,
  );
  if (!leased) {
    // Disabled or removed: nothing to do. Held by another worker: look again shortly, in case it is finishing.
    const [active] = await queryRows<{ id: number }>(
      db,
      sql`SELECT id FROM webhook_subscriptions WHERE id = ${id}::int AND status = 'active'`,
    );
    if (active) await requestWebhookDelivery(ctx.queues, id, 1000);
    return;
  }
  const subscription = {
    ...leased,
    partner_id: leased.partner_id === null ? null : Number(leased.partner_id),
  };
  let next: number | null = null;
  try {
    const campaign = await campaignById(ctx.db, Number(leased.campaign_id));
    if (!campaign) return;
    // A secret that does not open (a key missing from ENCRYPTION_KEYS) fails the job: BullMQ retries it, the sweep after that.
    const secret = ctx.encryption.open('webhook_subscriptions.secret', subscription.secret);
    const audience = { campaign, partnerId: subscription.partner_id };
    const size = subscription.kind === 'webhook' ? BATCH_SIZE : 1;
    for (let round = 0; round < ROUNDS_PER_JOB; round++) {
      const due = time(subscription.next_attempt_at);
      if (due !== null && due > Date.now()) {
        next = due - Date.now();
        return;
      }
      // The batch in flight (being retried), or a new one when one is due.
      let ids = (
        subscription.message_id && subscription.batch_items ? subscription.batch_items : []
      ).map(Number);
      let batch: BatchItem[];
      if (ids.length > 0) {
        batch = await batchItems(ctx, id, ids);
      } else {
        const taken = await takeBatch(
          ctx,
          id,
          size,
          subscription.kind === 'webhook' ? BATCH_WINDOW_MS : 0,
        );
        if (taken.waiting === 0) return;
        if (!taken.batch) {
          next = BATCH_WINDOW_MS - taken.ageMs;
          return;
        }
        batch = taken.batch.items;
        ids = batch.map((item) => item.id);
        Object.assign(subscription, {
          message_id: taken.batch.messageId,
          batch_items: ids,
          attempts: 0,
        });
      }
      const messageId = subscription.message_id!;
      const started = Date.now();
      const outcome =
        batch.length === 0
          ? ({ delivered: true, status: null, skipped: 'nothing left to send' } as const)
          : subscription.kind === 'webhook'
            ? await sendWebhookBatch(ctx, audience, subscription.url, secret, messageId, batch)
            : await pushToActionNetwork(ctx, audience, subscription, secret, batch[0]!);
      const attempt = sql`INSERT INTO webhook_attempts (subscription_id, message_id, items, started_at, duration_ms, status, outcome, error)
        VALUES (${id}::int, ${messageId}, ${ids.length}::int, ${new Date(started).toISOString()}::timestamptz, ${Date.now() - started}::int,
                ${outcome.status}::int, ${outcome.delivered ? 'delivered' : 'failed'}, ${outcome.delivered ? (outcome.skipped ?? null) : outcome.error})`;
      if (outcome.delivered) {
        // The batch's events go, the attempt is logged and the subscription is told, in one statement.
        await db.execute(sql`
          WITH done AS (DELETE FROM webhook_items WHERE subscription_id = ${id}::int AND id = ANY(${idArray(ids)}::bigint[])),
               logged AS (${attempt})
          UPDATE webhook_subscriptions SET message_id = NULL, batch_items = NULL, attempts = 0, failing_since = NULL, next_attempt_at = NULL,
            last_attempt_at = now(), last_status = ${outcome.status}::int, last_error = ${outcome.skipped ?? null}, last_success_at = now(),
            sending_until = ${LEASE}
          WHERE id = ${id}::int`);
        Object.assign(subscription, {
          message_id: null,
          batch_items: null,
          attempts: 0,
          failing_since: null,
          next_attempt_at: null,
        });
        if (subscription.kind === 'action-network')
          await new Promise((resolve) => setTimeout(resolve, ACTION_NETWORK_SPACING_MS));
        continue;
      }
      const failingSince = time(subscription.failing_since) ?? started;
      if (Date.now() - failingSince >= GIVE_UP_AFTER_MS) {
        await db.execute(attempt);
        await disable(ctx, subscription, audience.campaign.title, outcome.error);
        return;
      }
      const delay = RETRY_DELAYS_MS[Math.min(subscription.attempts, RETRY_DELAYS_MS.length - 1)]!;
      await db.execute(sql`
        WITH logged AS (${attempt})
        UPDATE webhook_subscriptions SET attempts = attempts + 1, failing_since = coalesce(failing_since, ${new Date(failingSince).toISOString()}::timestamptz),
          next_attempt_at = now() + make_interval(secs => ${delay / 1000}::float8),
          last_attempt_at = now(), last_status = ${outcome.status}::int, last_error = ${outcome.error}
        WHERE id = ${id}::int`);
      next = delay;
      return;
    }
    // More is waiting: a new job goes on with it, after other subscriptions' jobs have had their turn.
    next = 0;
  } finally {
    await db.execute(
      sql`UPDATE webhook_subscriptions SET sending_until = NULL WHERE id = ${id}::int`,
    );
    if (next !== null) await requestWebhookDelivery(ctx.queues, id, next);
  }
}

/**
 * In one statement: how many events wait (up to `size`) and how long the oldest has, and when a
 * batch is due (full, or its oldest older than `windowMs`), the batch: a new `webhook-id` and the
 * events' ids, recorded on the subscription, and the events themselves.
 */
async function takeBatch(
  ctx: Pick<AppContext, 'db'>,
  subscriptionId: number,
  size: number,
  windowMs: number,
) {
  const messageId = newMessageId();
  const rows = await queryRows<{ waiting: number; age_ms: number | null } & Partial<ItemRow>>(
    ctx.db,
    sql`WITH pending AS (
          SELECT id, created_at FROM webhook_items WHERE subscription_id = ${subscriptionId}::int ORDER BY id LIMIT ${size}::int
        ), waiting AS (
          SELECT count(*)::int AS n, (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS age_ms FROM pending
        ), taken AS (
          UPDATE webhook_subscriptions SET message_id = ${messageId}, batch_items = (SELECT array_agg(id ORDER BY id) FROM pending), attempts = 0
          WHERE id = ${subscriptionId}::int AND (SELECT n FROM waiting) > 0
            AND ((SELECT n FROM waiting) >= ${size}::int OR (SELECT age_ms FROM waiting) >= ${windowMs}::float8)
          RETURNING id
        )
        SELECT w.n AS waiting, w.age_ms, i.id, i.event, i.signature_id, i.letter_action_id, i.payload
        FROM waiting w
        LEFT JOIN webhook_items i ON EXISTS (SELECT 1 FROM taken) AND i.id IN (SELECT id FROM pending)
        ORDER BY i.id`,
  );
  const [first] = rows;
  const items = rows
    .filter((row) => row.id !== null && row.id !== undefined)
    .map((row) => itemOf(row as ItemRow));
  return {
    waiting: Number(first?.waiting ?? 0),
    ageMs: Number(first?.age_ms ?? 0),
    batch: items.length > 0 ? { messageId, items } : null,
  };
}

interface ItemRow {
  id: number;
  event: WebhookEvent;
  signature_id: number | null;
  letter_action_id: number | null;
  payload: Uint8Array | null;
}

const itemOf = (row: ItemRow): BatchItem => ({
  id: Number(row.id),
  event: row.event,
  signatureId: row.signature_id === null ? null : Number(row.signature_id),
  letterActionId: row.letter_action_id === null ? null : Number(row.letter_action_id),
  payload: row.payload,
});

/** The events of the batch in flight, for its retry. */
async function batchItems(
  ctx: Pick<AppContext, 'db'>,
  subscriptionId: number,
  ids: number[],
): Promise<BatchItem[]> {
  const rows = await queryRows<ItemRow>(
    ctx.db,
    sql`SELECT id, event, signature_id, letter_action_id, payload FROM webhook_items
        WHERE subscription_id = ${subscriptionId}::int AND id = ANY(${idArray(ids)}::bigint[]) ORDER BY id`,
  );
  return rows.map(itemOf);
}

/** A receiver's answer as the attempt log shows it: the status, and a little of what it said. */
const answerError = (response: OutboundResponse) => {
  const said = controlsToSpaces(response.body).trim().slice(0, 200);
  return `HTTP ${response.status}${said ? `: ${said}` : ''}`;
};

async function sendWebhookBatch(
  ctx: DeliverContext,
  audience: Parameters<typeof batchPayload>[1],
  url: string,
  secret: string,
  messageId: string,
  batch: BatchItem[],
): Promise<Outcome> {
  // Events that can no longer be told are dropped with the batch once it is through.
  const { entries } = await batchPayload(ctx, audience, batch);
  if (entries.length === 0)
    return {
      delivered: true,
      status: null,
      skipped: 'nothing left to send: the supporters withdrew their consent or were erased',
    };
  const body = JSON.stringify(entries.map((entry) => entry.entry));
  try {
    const response = await sendOutbound(url, {
      method: 'POST',
      headers: {
        ...signedHeaders(secret, messageId, body),
        'user-agent': 'BanFaceSurveillance-Webhooks/1',
      },
      body,
      allowPrivate: ctx.config.webhooks.allowPrivate,
    });
    if (response.status >= 200 && response.status < 300)
      return { delivered: true, status: response.status };
    return { delivered: false, status: response.status, error: answerError(response) };
  } catch (error) {
    return { delivered: false, status: null, error: describeFailure(error) };
  }
}

/** Action Network's address of the signature it recorded, from its answer. */
function recordedAt(petitionUrl: string, body: string): string | null {
  try {
    const answer = JSON.parse(body) as {
      _links?: { self?: { href?: unknown } };
      identifiers?: unknown;
    };
    if (typeof answer._links?.self?.href === 'string' && URL.canParse(answer._links.self.href))
      return answer._links.self.href;
    const id = Array.isArray(answer.identifiers)
      ? answer.identifiers.find(
          (value): value is string =>
            typeof value === 'string' && value.startsWith('action_network:'),
        )
      : undefined;
    return id
      ? `${petitionUrl.replace(/\/+$/, '')}/${encodeURIComponent(id.slice('action_network:'.length))}`
      : null;
  } catch {
    return null;
  }
}

async function pushToActionNetwork(
  ctx: DeliverContext,
  audience: Parameters<typeof batchPayload>[1],
  subscription: LeasedSubscription,
  apiKey: string,
  item: BatchItem,
): Promise<Outcome> {
  const headers = {
    'content-type': 'application/json',
    'OSDI-API-Token': apiKey,
    'user-agent': 'BanFaceSurveillance-Sync/1',
  };
  const allowPrivate = ctx.config.webhooks.allowPrivate;
  try {
    if (item.event === 'person.erased') {
      const person = openErased(ctx, item.payload);
      for (const remote of person?.remoteUrls ?? []) {
        const response = await sendOutbound(remote, { method: 'DELETE', headers, allowPrivate });
        if (response.status !== 404 && (response.status < 200 || response.status >= 300))
          return { delivered: false, status: response.status, error: answerError(response) };
      }
      const refs = (person?.identifiers ?? [])
        .map((identifier) => identifier.split(':signature-')[1])
        .filter((ref): ref is string => Boolean(ref));
      if (refs.length > 0) {
        await ctx.db.execute(
          sql`DELETE FROM action_network_records WHERE subscription_id = ${subscription.id}::int AND signature_ref IN (SELECT unnest(${`{${refs.join(',')}}`}::text[]))`,
        );
      }
      return { delivered: true, status: 204 };
    }
    const signature =
      item.signatureId !== null
        ? (await signaturesById(ctx, audience, [item.signatureId])).get(item.signatureId)
        : undefined;
    if (!signature || !signature.email)
      return {
        delivered: true,
        status: null,
        skipped: 'skipped a signature whose supporter withdrew their consent or was erased',
      };
    const body = JSON.stringify({ person: personResource(signature), add_tags: subscription.tags });
    const response = await sendOutbound(subscription.url, {
      method: 'POST',
      headers,
      body,
      allowPrivate,
    });
    if (response.status === 400 || response.status === 422) {
      // This one signature is refused as it is: retrying cannot help, and must not hold up the others.
      return {
        delivered: true,
        status: response.status,
        skipped: `Action Network refused one signature: ${answerError(response)}`,
      };
    }
    if (response.status < 200 || response.status >= 300)
      return { delivered: false, status: response.status, error: answerError(response) };
    const remote = recordedAt(subscription.url, response.body);
    if (!remote)
      return {
        delivered: false,
        status: response.status,
        error: 'Action Network gave no signature back: check the API key and the petition id',
      };
    await ctx.db.execute(sql`
      INSERT INTO action_network_records (subscription_id, signature_ref, remote_url) VALUES (${subscription.id}::int, ${signature.ref}, ${remote})
      ON CONFLICT (subscription_id, signature_ref) DO UPDATE SET remote_url = EXCLUDED.remote_url`);
    return { delivered: true, status: response.status };
  } catch (error) {
    return { delivered: false, status: null, error: describeFailure(error) };
  }
}

/**
 * Turns a subscription off after a day of failures: its waiting events are dropped (the receiver
 * can catch up from the API's `modified_date` filter once it is back), the audit log records it,
 * and the admins and the partner's own accounts are told by email.
 */
async function disable(
  ctx: DeliverContext,
  subscription: LeasedSubscription,
  campaignTitle: string,
  lastError: string,
): Promise<void> {
  const reason = `Every attempt failed for 24 hours; the last: ${lastError}`;
  const [dropped] = await queryRows<{ n: number }>(
    ctx.db,
    sql`WITH dropped AS (DELETE FROM webhook_items WHERE subscription_id = ${subscription.id}::int RETURNING 1),
        off AS (
          UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = ${reason}, message_id = NULL, batch_items = NULL, attempts = 0,
            failing_since = NULL, next_attempt_at = NULL, last_attempt_at = now(), last_error = ${lastError}
          WHERE id = ${subscription.id}::int)
        SELECT count(*)::int AS n FROM dropped`,
  );
  await recordPlatformAudit(ctx.db, [
    {
      action: 'webhook.disabled',
      campaignId: Number(subscription.campaign_id),
      details: {
        subscriptionId: subscription.id,
        kind: subscription.kind,
        url: subscription.url,
        droppedEvents: Number(dropped?.n ?? 0),
        lastError,
      },
    },
  ]);
  ctx.logger.warn(
    { subscriptionId: subscription.id, kind: subscription.kind },
    'webhook subscription disabled after failing for 24 hours',
  );
  const recipients = await adminAndPartnerEmails(ctx.db, subscription.partner_id);
  const what =
    subscription.kind === 'webhook'
      ? `The webhook to ${subscription.url}`
      : 'The push of signatures to Action Network';
  const text = [
    `${what} for the campaign "${campaignTitle}" was turned off: every attempt to deliver to it failed for 24 hours.`,
    '',
    `The last attempt: ${lastError}`,
    `Events it had not yet received (${Number(dropped?.n ?? 0)}) were dropped. Once the receiver works again, turn the subscription back on in the staff console; it can catch up on what it missed from the OSDI API with filter=modified_date gt '<the time it stopped>'.`,
    '',
    `${ctx.config.publicUrl}/staff`,
  ].join('\n');
  for (const email of recipients) {
    const sent = await ctx.mailer.send({
      from: ctx.config.delivery.from,
      to: email,
      subject: `Turned off after 24 hours of failures: ${subscription.kind === 'webhook' ? 'a webhook' : 'the Action Network push'}`,
      text,
    });
    if (sent.outcome !== 'delivered')
      ctx.logger.warn(
        { subscriptionId: subscription.id, reason: sent.error },
        'could not tell staff that a webhook was turned off',
      );
  }
}

/** How long the attempt log is kept. */
const ATTEMPT_LOG_DAYS = 30;

/**
 * The workers' sweep: asks again for the delivery of every subscription with events waiting (a
 * wake-up lost with Redis, a worker that died holding a lease), and trims the attempt log.
 */
export async function sweepWebhooks(ctx: Pick<AppContext, 'db' | 'queues'>): Promise<number> {
  const due = await queryRows<{ id: number; wait_ms: number }>(
    ctx.db,
    sql`SELECT w.id, greatest(0, extract(epoch FROM coalesce(w.next_attempt_at, now()) - now()) * 1000)::float8 AS wait_ms
        FROM webhook_subscriptions w
        WHERE w.status = 'active' AND (w.sending_until IS NULL OR w.sending_until < now())
          AND EXISTS (SELECT 1 FROM webhook_items i WHERE i.subscription_id = w.id)`,
  );
  for (const row of due)
    await requestWebhookDelivery(ctx.queues, Number(row.id), Number(row.wait_ms));
  await ctx.db.execute(
    sql`DELETE FROM webhook_attempts WHERE started_at < now() - make_interval(days => ${ATTEMPT_LOG_DAYS}::int)`,
  );
  return due.length;
}

/** The sweep's part: run by every worker process each minute, and when Redis is back. */
export const webhookSweep = defineSweep<Pick<AppContext, 'db' | 'queues' | 'redis' | 'logger'>>({
  name: 'webhooks waiting',
  async run(ctx) {
    if (ctx.redis.status !== 'ready') return;
    await sweepWebhooks(ctx).catch((error: unknown) =>
      ctx.logger.warn({ err: error }, 'could not ask for waiting webhooks; the next sweep will'),
    );
  },
});
