import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import {
  createApiToken,
  listApiTokens,
  revokeApiToken,
  tokenName,
  tokenScopes,
} from '../osdi/tokens';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { listPartners } from '../campaigns/editor';
import { campaignOf, loadStaffCampaign } from '../staff/campaign-param';
import { formErrors } from '../staff/forms';
import { currentStaff, flash, requirePermission, type StaffUser } from '../staff/session';
import { attemptRows, consoleTime, subscriptionRow, subscriptionTitle } from './console-view';
import {
  actionNetworkForm,
  addWebhook,
  changeSubscription,
  eventList,
  findSubscription,
  listSubscriptions,
  recentAttempts,
  receiverUrl,
  saveActionNetworkPush,
} from './subscriptions';

/**
 * The campaign's integrations, for admins (they send supporters' data out of the platform): OSDI
 * API tokens (created with the token shown once, revoked), webhooks (added with their secret shown
 * once, turned off and on, removed, each with its attempt log) and partners' Action Network pushes.
 */

const partnerChoice = z.preprocess(
  (value) => (value === '' || value === undefined ? undefined : value),
  z.coerce.number({ error: 'Choose a partner.' }).int().positive().optional(),
);

const tokenForm = z.object({ name: tokenName, partner: partnerChoice, scopes: tokenScopes });
const webhookForm = (allowPrivate: boolean) =>
  z.object({ url: receiverUrl(allowPrivate), partner: partnerChoice, events: eventList });
const pushForm = actionNetworkForm.extend({
  partner: z.coerce
    .number({ error: 'Choose the partner whose Action Network this is.' })
    .int()
    .positive('Choose the partner whose Action Network this is.'),
});
const subscriptionChange = z.object({
  action: z.enum(['enable', 'disable', 'delete'], { error: 'Choose what to change.' }),
});

export function integrationRoutes(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const admin = requirePermission('integrations.manage');
  const loadCampaign = loadStaffCampaign(ctx);
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;
  const page = (slug: string) => `/staff/campaigns/${slug}/integrations`;

  const render = async (
    req: Request,
    res: Response,
    extra: {
      errors?: FieldErrors;
      form?: 'token' | 'webhook' | 'push';
      values?: Record<string, unknown>;
      shown?: { label: string; value: string; note: string };
    } = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const partners = await listPartners(ctx.db, campaign.id);
    const tokens = (await listApiTokens(ctx.db, campaign.id)).map((token) => ({
      ...token,
      scopes: token.scopes.join(', '),
      partner: token.every_campaign
        ? 'every campaign, this one too'
        : (token.partner ?? 'the whole campaign'),
      createdAt: consoleTime(token.created_at),
      lastUsedAt: consoleTime(token.last_used_at) || 'never',
      revoked: token.revoked_at !== null,
      revokedAt: consoleTime(token.revoked_at),
    }));
    const subscriptions = (await listSubscriptions(ctx.db, { campaignId: campaign.id })).map(
      (subscription) =>
        subscriptionRow(subscription, `${page(campaign.slug)}/webhooks/${subscription.id}`),
    );
    const values = extra.values ?? {};
    const selected = (field: string) =>
      partners.map((partner) => ({
        id: partner.id,
        name: partner.name,
        sourceCode: partner.sourceCode,
        selected: values[field] === String(partner.id) || values[field] === partner.id,
      }));
    res.status(status).render('staff/integrations', {
      layout: 'staff',
      title: `Integrations · ${campaign.title}`,
      campaign,
      csrfToken: csrf.token(req, res),
      tokens,
      webhooks: subscriptions.filter((row) => !row.actionNetwork),
      pushes: subscriptions.filter((row) => row.actionNetwork),
      hasPartners: partners.length > 0,
      tokenPartners: selected('tokenPartner'),
      webhookPartners: selected('webhookPartner'),
      pushPartners: selected('pushPartner'),
      values,
      shown: extra.shown,
      apiBase: `${ctx.config.publicUrl}/api/osdi/v1`,
      actionNetworkUrl: ctx.config.webhooks.actionNetworkUrl,
      ...formErrors(extra.errors ?? {}),
    });
  };

  /** A partner id from a form, checked to be this campaign's. */
  const partnerOfCampaign = async (res: Response, id: number | undefined) => {
    if (id === undefined) return null;
    const partners = await listPartners(ctx.db, campaignOf(res).id);
    return partners.some((partner) => partner.id === id) ? id : undefined;
  };

  const prefixed = (errors: FieldErrors, prefix: string) =>
    Object.fromEntries(
      Object.entries(errors).map(([field, message]) => [
        `${prefix}${field[0]!.toUpperCase()}${field.slice(1)}`,
        message,
      ]),
    );

  router.get('/staff/campaigns/:slug/integrations', admin, loadCampaign, (req, res) =>
    render(req, res),
  );

  router.post(
    '/staff/campaigns/:slug/integrations/tokens',
    admin,
    loadCampaign,
    async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values = {
        tokenName: body.name,
        tokenPartner: body.partner,
        tokenScopes: ([] as unknown[]).concat(body.scopes ?? []),
      };
      const parsed = tokenForm.safeParse(body);
      if (!parsed.success)
        return render(
          req,
          res,
          { errors: prefixed(fieldErrors(parsed.error), 'token'), values },
          400,
        );
      const partnerId = await partnerOfCampaign(res, parsed.data.partner);
      if (partnerId === undefined)
        return render(
          req,
          res,
          { errors: { tokenPartner: "Choose one of this campaign's partners." }, values },
          400,
        );
      const { token } = await createApiToken(
        ctx.db,
        {
          name: parsed.data.name,
          scopes: parsed.data.scopes,
          campaignId: campaignOf(res).id,
          partnerId,
        },
        staffOf(res),
      );
      res.setHeader('Cache-Control', 'no-store');
      return render(req, res, {
        shown: {
          label: `The API token "${parsed.data.name}"`,
          value: token,
          note: 'Copy it now: it is shown once, and only its hash is kept. Send it as the OSDI-API-Token header.',
        },
      });
    },
  );

  router.post(
    '/staff/campaigns/:slug/integrations/tokens/:id/revoke',
    admin,
    loadCampaign,
    async (req, res) => {
      const id = Number(req.params.id);
      const revoked =
        Number.isSafeInteger(id) &&
        (await revokeApiToken(ctx.db, id, campaignOf(res).id, staffOf(res)));
      if (!revoked)
        return render(
          req,
          res,
          { errors: { form: 'That token was already revoked, or does not read this campaign.' } },
          400,
        );
      flash(req, 'The token is revoked: it is refused from now on.');
      res.redirect(303, page(campaignOf(res).slug));
    },
  );

  router.post(
    '/staff/campaigns/:slug/integrations/webhooks',
    admin,
    loadCampaign,
    async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values = {
        webhookUrl: body.url,
        webhookPartner: body.partner,
        webhookEvents: ([] as unknown[]).concat(body.events ?? []),
      };
      const parsed = webhookForm(ctx.config.webhooks.allowPrivate).safeParse(body);
      if (!parsed.success)
        return render(
          req,
          res,
          { errors: prefixed(fieldErrors(parsed.error), 'webhook'), values },
          400,
        );
      const partnerId = await partnerOfCampaign(res, parsed.data.partner);
      if (partnerId === undefined)
        return render(
          req,
          res,
          { errors: { webhookPartner: "Choose one of this campaign's partners." }, values },
          400,
        );
      const { secret } = await addWebhook(
        ctx,
        {
          campaignId: campaignOf(res).id,
          partnerId,
          url: parsed.data.url,
          events: parsed.data.events,
        },
        staffOf(res),
      );
      res.setHeader('Cache-Control', 'no-store');
      return render(req, res, {
        shown: {
          label: `The signing secret of the webhook to ${parsed.data.url}`,
          value: secret,
          note: "Give it to the receiver now: it is shown once. The receiver checks each delivery's webhook-signature with it (docs/API.md).",
        },
      });
    },
  );

  router.post(
    '/staff/campaigns/:slug/integrations/action-network',
    admin,
    loadCampaign,
    async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values = {
        pushPartner: body.partner,
        pushPetition: body.petition,
        pushTags: body.tags,
      };
      const parsed = pushForm.safeParse(body);
      if (!parsed.success)
        return render(
          req,
          res,
          { errors: prefixed(fieldErrors(parsed.error), 'push'), values },
          400,
        );
      const partnerId = await partnerOfCampaign(res, parsed.data.partner);
      if (!partnerId)
        return render(
          req,
          res,
          { errors: { pushPartner: "Choose one of this campaign's partners." }, values },
          400,
        );
      await saveActionNetworkPush(
        ctx,
        {
          campaignId: campaignOf(res).id,
          partnerId,
          apiKey: parsed.data.apiKey,
          petition: parsed.data.petition,
          tags: parsed.data.tags,
        },
        staffOf(res),
      );
      flash(
        req,
        'Saved: each signature that agrees to hear from this partner now goes to its Action Network petition.',
      );
      res.redirect(303, page(campaignOf(res).slug));
    },
  );

  router.post(
    '/staff/campaigns/:slug/integrations/webhooks/:id',
    admin,
    loadCampaign,
    async (req, res) => {
      const id = Number(req.params.id);
      const parsed = subscriptionChange.safeParse(req.body ?? {});
      if (!Number.isSafeInteger(id) || !parsed.success)
        return render(
          req,
          res,
          { errors: { form: 'Choose a subscription and what to change.' } },
          400,
        );
      const changed = await changeSubscription(
        ctx.db,
        id,
        { campaignId: campaignOf(res).id },
        parsed.data.action,
        staffOf(res),
      );
      if (!changed)
        return render(
          req,
          res,
          { errors: { form: 'There is no such subscription in this campaign.' } },
          400,
        );
      if (parsed.data.action === 'enable') ctx.webhookWakeups.wake([id]);
      flash(
        req,
        {
          enable: 'Turned on: it receives events from now.',
          disable: 'Turned off: its waiting events were dropped.',
          delete: 'Removed.',
        }[parsed.data.action],
      );
      res.redirect(303, page(campaignOf(res).slug));
    },
  );

  router.get(
    '/staff/campaigns/:slug/integrations/webhooks/:id',
    admin,
    loadCampaign,
    async (req, res) => {
      const campaign = campaignOf(res);
      const id = Number(req.params.id);
      const subscription = Number.isSafeInteger(id)
        ? await findSubscription(ctx.db, id, { campaignId: campaign.id })
        : undefined;
      if (!subscription)
        return res.status(404).render('error', {
          layout: 'staff',
          title: 'No such subscription',
          message: 'There is no such webhook in this campaign.',
        });
      const [row] = (await listSubscriptions(ctx.db, { campaignId: campaign.id }))
        .filter((entry) => entry.id === id)
        .map((entry) => subscriptionRow(entry, ''));
      res.render('staff/webhook-log', {
        layout: 'staff',
        title: `Delivery log · ${subscriptionTitle(subscription)}`,
        campaign,
        back: { href: page(campaign.slug), label: 'Integrations' },
        subscription: row,
        attempts: attemptRows(await recentAttempts(ctx.db, id)),
      });
    },
  );

  return router;
}
