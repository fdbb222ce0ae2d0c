import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import {
  webhookAttempts,
  webhookSubscriptions,
  type WebhookEvent,
  type WebhookSubscription,
} from '../db/schema';
import { partnersWith } from '../partners/partner-accounts';
import { recordAudit, type Actor } from '../staff/audit';
import { CONTROL_IN_LINE } from '../text-safety/characters';
import { checkReceiverUrl } from './outbound-http';
import { newWebhookSecret } from './signing';

/**
 * Webhook subscriptions and Action Network pushes: adding, turning off and on, removing, and
 * reading them with their delivery state and attempt log. A subscription belongs to a campaign,
 * and a partner's to the partner too (it then hears only of that partner's consenting supporters).
 * The webhook's secret and the Action Network key are sealed with the platform's keys; a new
 * webhook's secret is returned once, for its receiver. Every change is audited.
 */

export const webhookEvents: readonly WebhookEvent[] = ['signature', 'outreach', 'person.erased'];

export const eventList = z
  .union([z.string(), z.array(z.string())], {
    error: 'Choose signature, outreach or person.erased.',
  })
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(',')).map((event) => event.trim()).filter(Boolean),
  )
  .pipe(
    z
      .array(
        z.enum(webhookEvents as [WebhookEvent, ...WebhookEvent[]], {
          error: 'Events are signature, outreach and person.erased.',
        }),
      )
      .min(1, 'Choose at least one event.'),
  )
  .transform((events) => webhookEvents.filter((event) => events.includes(event)));

export const receiverUrl = (allowPrivate: boolean) =>
  z
    .string({ error: "Enter the receiver's URL." })
    .trim()
    .min(1, "Enter the receiver's URL.")
    .max(2000, 'Use a URL of at most 2,000 characters.')
    .superRefine((url, issues) => {
      const problem = checkReceiverUrl(url, allowPrivate);
      if (problem) issues.addIssue({ code: 'custom', message: `The URL ${problem}.` });
    });

/** Action Network's ids are UUIDs; its API keys are 32 hexadecimal characters (accepted a little wider). */
export const actionNetworkForm = z.object({
  apiKey: z
    .string({ error: 'Enter the Action Network API key.' })
    .trim()
    .regex(
      /^[A-Za-z0-9_-]{16,128}$/,
      'Enter the API key as Action Network shows it (letters and digits).',
    ),
  petition: z
    .string({ error: "Enter the petition's id." })
    .trim()
    .transform((value) => /\/petitions\/([A-Za-z0-9-]+)/.exec(value)?.[1] ?? value)
    .pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9-]{8,64}$/,
          "Enter the petition's id (a UUID, from its API link), or its API address.",
        ),
    ),
  tags: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z
            .string()
            .max(100, 'Keep each tag under 100 characters.')
            .refine((tag) => !CONTROL_IN_LINE.test(tag), 'Write tags as plain text.'),
        )
        .max(20, 'Use at most 20 tags.'),
    ),
});

export interface SubscriptionView extends WebhookSubscription {
  partnerName: string | null;
  waiting: number;
}

/** A campaign's subscriptions (or one partner's), with how many events each has waiting. */
export async function listSubscriptions(
  db: Database,
  scope: { campaignId: number; partnerId?: number },
): Promise<SubscriptionView[]> {
  const rows = await db
    .select()
    .from(webhookSubscriptions)
    .where(
      and(
        eq(webhookSubscriptions.campaignId, scope.campaignId),
        scope.partnerId === undefined
          ? undefined
          : eq(webhookSubscriptions.partnerId, scope.partnerId),
      ),
    )
    .orderBy(webhookSubscriptions.id);
  if (rows.length === 0) return [];
  const extra = await queryRows<{ id: number; partner: string | null; waiting: number }>(
    db,
    sql`SELECT w.id, p.name AS partner, (SELECT count(*)::int FROM webhook_items i WHERE i.subscription_id = w.id) AS waiting
        FROM webhook_subscriptions w LEFT JOIN ${partnersWith('name')} p ON p.id = w.partner_id
        WHERE w.campaign_id = ${scope.campaignId}::int`,
  );
  const byId = new Map(extra.map((row) => [Number(row.id), row]));
  return rows.map((row) => ({
    ...row,
    partnerName: byId.get(row.id)?.partner ?? null,
    waiting: Number(byId.get(row.id)?.waiting ?? 0),
  }));
}

/** Subscription `id`, if it is the campaign's (and the partner's, for a partner's own). */
const inScope = (id: number, scope: { campaignId: number; partnerId?: number }) =>
  and(
    eq(webhookSubscriptions.id, id),
    eq(webhookSubscriptions.campaignId, scope.campaignId),
    scope.partnerId === undefined ? undefined : eq(webhookSubscriptions.partnerId, scope.partnerId),
  );

export async function findSubscription(
  db: Database,
  id: number,
  scope: { campaignId: number; partnerId?: number },
): Promise<WebhookSubscription | undefined> {
  const [row] = await db.select().from(webhookSubscriptions).where(inScope(id, scope));
  return row;
}

export const ATTEMPT_LOG_LENGTH = 50;

/** The newest attempts of a subscription. */
export const recentAttempts = (db: Database, subscriptionId: number) =>
  db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.subscriptionId, subscriptionId))
    .orderBy(desc(webhookAttempts.id))
    .limit(ATTEMPT_LOG_LENGTH);

type SubscriptionContext = Pick<AppContext, 'db' | 'encryption'>;

/** Adds a webhook; returns it with its secret, shown once. */
export async function addWebhook(
  ctx: SubscriptionContext,
  input: { campaignId: number; partnerId: number | null; url: string; events: WebhookEvent[] },
  actor: Actor,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const secret = newWebhookSecret();
  return ctx.db.transaction(async (tx) => {
    const [subscription] = await tx
      .insert(webhookSubscriptions)
      .values({
        campaignId: input.campaignId,
        partnerId: input.partnerId,
        kind: 'webhook',
        url: input.url,
        events: input.events,
        secret: ctx.encryption.seal('webhook_subscriptions.secret', secret),
        createdBy: actor === 'command line' ? null : actor.id,
      })
      .returning();
    await recordAudit(tx, actor, {
      action: 'webhook.create',
      campaignId: input.campaignId,
      details: {
        subscriptionId: subscription!.id,
        url: input.url,
        events: input.events,
        ...(input.partnerId !== null ? { partnerId: input.partnerId } : {}),
      },
    });
    return { subscription: subscription!, secret };
  });
}

/**
 * Sets a partner's Action Network push (one per partner and campaign): replaced when it exists, its
 * waiting events kept. The push sends every signature that agreed to hear from the partner, from now.
 */
export async function saveActionNetworkPush(
  ctx: SubscriptionContext & Pick<AppContext, 'config'>,
  input: {
    campaignId: number;
    partnerId: number;
    apiKey: string;
    petition: string;
    tags: string[];
  },
  actor: Actor,
): Promise<WebhookSubscription> {
  const url = `${ctx.config.webhooks.actionNetworkUrl}/api/v2/petitions/${encodeURIComponent(input.petition)}/signatures`;
  const values = {
    url,
    tags: input.tags,
    secret: ctx.encryption.seal('webhook_subscriptions.secret', input.apiKey),
    status: 'active' as const,
    disabledReason: null,
  };
  return ctx.db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: webhookSubscriptions.id })
      .from(webhookSubscriptions)
      .where(
        and(
          eq(webhookSubscriptions.campaignId, input.campaignId),
          eq(webhookSubscriptions.partnerId, input.partnerId),
          eq(webhookSubscriptions.kind, 'action-network'),
        ),
      )
      .for('update');
    const [saved] = existing
      ? await tx
          .update(webhookSubscriptions)
          .set({ ...values, failingSince: null, nextAttemptAt: null, attempts: 0 })
          .where(eq(webhookSubscriptions.id, existing.id))
          .returning()
      : await tx
          .insert(webhookSubscriptions)
          .values({
            ...values,
            campaignId: input.campaignId,
            partnerId: input.partnerId,
            kind: 'action-network',
            events: ['signature', 'person.erased'],
            createdBy: actor === 'command line' ? null : actor.id,
          })
          .returning();
    // The key is a secret: the audit log names the petition, never the key.
    await recordAudit(tx, actor, {
      action: existing ? 'action-network.update' : 'action-network.create',
      campaignId: input.campaignId,
      details: {
        subscriptionId: saved!.id,
        partnerId: input.partnerId,
        petition: input.petition,
        tags: input.tags,
      },
    });
    return saved!;
  });
}

export type SubscriptionChange = 'enable' | 'disable' | 'delete';

/**
 * Turns a subscription off (its waiting events are dropped), back on (from now: what it missed can
 * be read from the API), or removes it. Returns false when there is no such subscription in scope.
 */
export async function changeSubscription(
  db: Database,
  id: number,
  scope: { campaignId: number; partnerId?: number },
  change: SubscriptionChange,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [subscription] = await tx
      .select()
      .from(webhookSubscriptions)
      .where(inScope(id, scope))
      .for('update');
    if (!subscription) return false;
    if (change === 'delete') {
      await tx.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
    } else if (change === 'disable') {
      await tx.execute(sql`DELETE FROM webhook_items WHERE subscription_id = ${id}::int`);
      await tx
        .update(webhookSubscriptions)
        .set({
          status: 'disabled',
          disabledReason: 'Turned off by staff.',
          messageId: null,
          batchItems: null,
          attempts: 0,
          failingSince: null,
          nextAttemptAt: null,
        })
        .where(eq(webhookSubscriptions.id, id));
    } else {
      await tx
        .update(webhookSubscriptions)
        .set({
          status: 'active',
          disabledReason: null,
          failingSince: null,
          nextAttemptAt: null,
          attempts: 0,
        })
        .where(eq(webhookSubscriptions.id, id));
    }
    await recordAudit(tx, actor, {
      action: `webhook.${change}`,
      campaignId: scope.campaignId,
      details: { subscriptionId: id, kind: subscription.kind },
    });
    return true;
  });
}
