import { Router } from 'express';
import type { AppContext } from '../context';
import { abuseControls, DISCARD_DAYS } from '../abuse/controls';
import { findBursts, MAX_HOURS, parseBurstQuery, type Burst } from '../abuse/bursts';
import { formErrors } from './forms';
import { requirePermission } from './session';

/** How much of an IP hash the page shows: enough to tell bursts apart, too little to match elsewhere. */
const IP_HASH_SHOWN = 8;

const utc = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')}`;
const percent = (part: number, whole: number) => (whole > 0 ? `${Math.min(100, (part / whole) * 100).toFixed(part / whole < 0.001 ? 2 : 1)}%` : '–');

const REASONS: Record<string, string> = {
  honeypot: 'filled the hidden field',
  missing: 'no form token',
  forged: 'forged form token',
  expired: 'expired form token',
  'too-fast': 'sent too fast',
  'email-limit': 'over the per-email limit',
  captcha: 'CAPTCHA missing or refused',
};
const DOORS: Record<string, string> = {
  'sign-form': 'Signing form',
  'sign-api': 'Signing API',
  'letters-form': 'Letter form',
  'letters-api': 'Letter API',
};

/**
 * The abuse report (`/staff/campaigns/:slug/abuse`), for organizers and admins: bursts of signatures
 * from one IP hash or one email domain, and the submissions the abuse controls dropped. It names
 * no one: IP hashes are truncated, and emails are reduced to their domain.
 */
export function abuseRoutes(ctx: AppContext): Router {
  const router = Router();

  router.get('/staff/campaigns/:slug/abuse', requirePermission('abuse.view'), async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return res.status(404).render('error', { layout: 'staff', title: 'Campaign not found', message: 'There is no campaign at this address.' });
    const query = parseBurstQuery(req.query as Record<string, unknown>);
    const [bursts, counts, recorded] = await Promise.all([
      query.ok ? findBursts(ctx, campaign.id, query.value) : Promise.resolve([]),
      ctx.stats.get(campaign.id),
      abuseControls(ctx).recorded(campaign.id),
    ]);
    const total = counts.signatures;
    const row = (burst: Burst) => ({
      key: burst.kind === 'ip' ? `${burst.key.slice(0, IP_HASH_SHOWN)}…` : burst.key,
      signatures: burst.signatures,
      peak: burst.peak,
      firstAt: utc(burst.firstAt),
      lastAt: utc(burst.lastAt),
      shareOfCampaign: percent(burst.signatures, total),
      shareOfSpan: percent(burst.signatures, burst.allInSpan),
    });
    const dropped = recorded
      .filter((day) => Object.keys(day.counts).length > 0)
      .flatMap((day) =>
        Object.entries(day.counts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([field, count]) => {
            const [door = '', reason = ''] = field.split('.');
            return { day: day.day, door: DOORS[door] ?? door, reason: REASONS[reason] ?? reason, count };
          }),
      );
    res.status(query.ok ? 200 : 400).render('staff/abuse', {
      layout: 'staff',
      title: `Abuse · ${campaign.title}`,
      campaign,
      values: query.ok ? query.value : { ...query.value, ...req.query },
      ...formErrors(query.ok ? {} : query.errors),
      checked: query.ok,
      total,
      ipBursts: bursts.filter((burst) => burst.kind === 'ip').map(row),
      domainBursts: bursts.filter((burst) => burst.kind === 'domain').map(row),
      dropped,
      discardDays: DISCARD_DAYS,
      maxHours: MAX_HOURS,
      ipRetentionDays: ctx.config.ipHashRetentionDays,
      emailLimit: ctx.config.abuse.emailRateLimit,
      minFillSeconds: ctx.config.abuse.formMinFillSeconds,
      captcha: ctx.config.abuse.captcha?.provider,
    });
  });

  return router;
}
