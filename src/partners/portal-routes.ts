import { pipeline } from 'node:stream/promises';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { barChart, bucketLabel, formatNumber, timeSeriesChart } from '../graphics/charts';
import { embedSnippet } from '../campaigns/staff-routes';
import { formErrors } from '../staff/forms';
import { currentStaff, flash, requirePermission, type StaffUser } from '../staff/session';
import { attemptRows, subscriptionRow, subscriptionTitle } from '../webhooks/console-view';
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
} from '../webhooks/subscriptions';
import { partnerOfAccount, type PartnerScope } from './partner-accounts';
import { partnerNumbers } from './partner-stats';
import { startPartnerExport } from './partner-export';

/**
 * A partner organisation's own pages, for its `partner` accounts: its numbers (the signatures it
 * brought, over time and by state and district), its embed code, its webhooks and Action Network
 * push with their delivery logs, and an export of the supporters who agreed to hear from it.
 * Nothing else of the campaign: every query is bound to the account's partner.
 */

const webhookForm = (allowPrivate: boolean) =>
  z.object({ url: receiverUrl(allowPrivate), events: eventList });
const subscriptionChange = z.object({
  action: z.enum(['enable', 'disable', 'delete'], { error: 'Choose what to change.' }),
});

export function partnerPortal(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const partnerOnly = requirePermission('partner.portal');
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;
  const scopeOf = (res: Response) => res.locals.partnerScope as PartnerScope;

  // A partner's account lands on its own page: the campaigns list is not for it.
  router.use((req, res, next) => {
    if (req.method === 'GET' && req.path === '/staff' && currentStaff(res)?.role === 'partner')
      return res.redirect(303, '/staff/partner');
    next();
  });

  /** The account's partner, or a page saying there is none (the partner was removed). */
  const loadPartner = async (_req: Request, res: Response, next: NextFunction) => {
    const scope = await partnerOfAccount(ctx.db, staffOf(res).id);
    if (!scope) {
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No partner organisation',
        message:
          "This account no longer belongs to a partner organisation. Ask the coalition's admins.",
      });
    }
    res.locals.partnerScope = scope;
    next();
  };

  router.get('/staff/partner', partnerOnly, loadPartner, async (req, res) => {
    const scope = scopeOf(res);
    const numbers = await partnerNumbers(ctx.db, scope);
    const campaign = await ctx.campaigns.bySlug(scope.campaignSlug);
    res.render('staff/partner-home', {
      layout: 'staff',
      title: `${scope.partnerName} · ${scope.campaignTitle}`,
      styles: ['/static/css/staff-dashboard.css'],
      csrfToken: csrf.token(req, res),
      scope,
      brought: formatNumber(numbers.brought),
      consenting: formatNumber(numbers.consenting),
      timeChart: timeSeriesChart(numbers.series, {
        id: 'chart-partner',
        title: `Signatures ${scope.partnerName} brought, over time`,
        width: 960,
        height: 320,
      }),
      timeChartNarrow: timeSeriesChart(numbers.series, {
        id: 'chart-partner-narrow',
        title: `Signatures ${scope.partnerName} brought, over time`,
        width: 360,
        height: 260,
      }),
      seriesRows: [...numbers.series.points].reverse().map((point) => ({
        label: bucketLabel(point, numbers.series.bucket),
        count: point.count,
        cumulative: point.cumulative,
      })),
      stateChart: barChart(
        numbers.byState.map((row) => ({ label: row.name, value: row.signatures })),
        { id: 'chart-partner-states', title: 'States with the most signatures' },
      ),
      stateRows: numbers.byState,
      districtRows: numbers.byDistrict,
      link: `${ctx.config.publicUrl}/campaigns/${scope.campaignSlug}?source=${encodeURIComponent(scope.sourceCode)}`,
      snippet: campaign ? embedSnippet(ctx.config.publicUrl, campaign, scope.sourceCode) : '',
    });
  });

  router.post('/staff/partner/export', partnerOnly, loadPartner, async (_req, res) => {
    const scope = scopeOf(res);
    const { stream } = await startPartnerExport(ctx, scope, staffOf(res));
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${scope.campaignSlug}-${scope.sourceCode}-supporters-${new Date().toISOString().slice(0, 10)}.csv"`,
    );
    await pipeline(stream, res);
  });

  const renderWebhooks = async (
    req: Request,
    res: Response,
    extra: {
      errors?: FieldErrors;
      values?: Record<string, unknown>;
      shown?: { label: string; value: string; note: string };
    } = {},
    status = 200,
  ) => {
    const scope = scopeOf(res);
    const rows = (
      await listSubscriptions(ctx.db, { campaignId: scope.campaignId, partnerId: scope.partnerId })
    ).map((subscription) =>
      subscriptionRow(subscription, `/staff/partner/webhooks/${subscription.id}`),
    );
    res.status(status).render('staff/partner-webhooks', {
      layout: 'staff',
      title: `Webhooks · ${scope.partnerName}`,
      csrfToken: csrf.token(req, res),
      scope,
      webhooks: rows.filter((row) => !row.actionNetwork),
      pushes: rows.filter((row) => row.actionNetwork),
      values: extra.values ?? {},
      shown: extra.shown,
      apiBase: `${ctx.config.publicUrl}/api/osdi/v1`,
      ...formErrors(extra.errors ?? {}),
    });
  };

  const prefixed = (errors: FieldErrors, prefix: string) =>
    Object.fromEntries(
      Object.entries(errors).map(([field, message]) => [
        `${prefix}${field[0]!.toUpperCase()}${field.slice(1)}`,
        message,
      ]),
    );

  router.get('/staff/partner/webhooks', partnerOnly, loadPartner, (req, res) =>
    renderWebhooks(req, res),
  );

  router.post('/staff/partner/webhooks', partnerOnly, loadPartner, async (req, res) => {
    const scope = scopeOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = {
      webhookUrl: body.url,
      webhookEvents: ([] as unknown[]).concat(body.events ?? []),
    };
    const parsed = webhookForm(ctx.config.webhooks.allowPrivate).safeParse(body);
    if (!parsed.success)
      return renderWebhooks(
        req,
        res,
        { errors: prefixed(fieldErrors(parsed.error), 'webhook'), values },
        400,
      );
    const { secret } = await addWebhook(
      ctx,
      {
        campaignId: scope.campaignId,
        partnerId: scope.partnerId,
        url: parsed.data.url,
        events: parsed.data.events,
      },
      staffOf(res),
    );
    res.setHeader('Cache-Control', 'no-store');
    return renderWebhooks(req, res, {
      shown: {
        label: `The signing secret of the webhook to ${parsed.data.url}`,
        value: secret,
        note: "Give it to your receiver now: it is shown once. Your receiver checks each delivery's webhook-signature with it.",
      },
    });
  });

  router.post('/staff/partner/action-network', partnerOnly, loadPartner, async (req, res) => {
    const scope = scopeOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { pushPetition: body.petition, pushTags: body.tags };
    const parsed = actionNetworkForm.safeParse(body);
    if (!parsed.success)
      return renderWebhooks(
        req,
        res,
        { errors: prefixed(fieldErrors(parsed.error), 'push'), values },
        400,
      );
    await saveActionNetworkPush(
      ctx,
      { campaignId: scope.campaignId, partnerId: scope.partnerId, ...parsed.data },
      staffOf(res),
    );
    flash(
      req,
      'Saved: each signature that agrees to hear from you now goes to your Action Network petition.',
    );
    res.redirect(303, '/staff/partner/webhooks');
  });

  router.post('/staff/partner/webhooks/:id', partnerOnly, loadPartner, async (req, res) => {
    const scope = scopeOf(res);
    const id = Number(req.params.id);
    const parsed = subscriptionChange.safeParse(req.body ?? {});
    if (!Number.isSafeInteger(id) || !parsed.success)
      return renderWebhooks(
        req,
        res,
        { errors: { form: 'Choose a webhook and what to change.' } },
        400,
      );
    const changed = await changeSubscription(
      ctx.db,
      id,
      { campaignId: scope.campaignId, partnerId: scope.partnerId },
      parsed.data.action,
      staffOf(res),
    );
    if (!changed)
      return renderWebhooks(
        req,
        res,
        { errors: { form: 'There is no such webhook of yours.' } },
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
    res.redirect(303, '/staff/partner/webhooks');
  });

  router.get('/staff/partner/webhooks/:id', partnerOnly, loadPartner, async (req, res) => {
    const scope = scopeOf(res);
    const id = Number(req.params.id);
    const subscription = Number.isSafeInteger(id)
      ? await findSubscription(ctx.db, id, {
          campaignId: scope.campaignId,
          partnerId: scope.partnerId,
        })
      : undefined;
    if (!subscription)
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No such webhook',
        message: 'There is no such webhook of yours.',
      });
    const [row] = (
      await listSubscriptions(ctx.db, { campaignId: scope.campaignId, partnerId: scope.partnerId })
    )
      .filter((entry) => entry.id === id)
      .map((entry) => subscriptionRow(entry, ''));
    res.render('staff/webhook-log', {
      layout: 'staff',
      title: `Delivery log · ${subscriptionTitle(subscription)}`,
      back: { href: '/staff/partner/webhooks', label: 'Webhooks' },
      subscription: row,
      attempts: attemptRows(await recentAttempts(ctx.db, id)),
    });
  });

  return router;
}
