import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import { DISCARD_DAYS } from '../abuse/controls';
import {
  BURST_PAGE_ROWS,
  findBursts,
  MAX_BURSTS,
  MAX_HOURS,
  parseBurstQuery,
  type Burst,
} from '../abuse/bursts';
import { isReadTimeout } from '../db/bounded-reads';
import { tooLongMessage } from './bounded-pages';
import { formErrors } from './forms';
import { requirePermission } from './session';

/** How much of an IP hash the page shows: enough to tell bursts apart, too little to match elsewhere. */
const IP_HASH_SHOWN = 8;

const utc = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')}`;
const percent = (part: number, whole: number) =>
  whole > 0 ? `${Math.min(100, (part / whole) * 100).toFixed(part / whole < 0.001 ? 2 : 1)}%` : '–';

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
  'calls-form': 'Call report form',
};

/**
 * Whether the browser says this request was started by another site (a link or a form there, or
 * a script navigating the window): `Sec-Fetch-Site` of `cross-site` or `same-site` (a sibling
 * subdomain is another site too). The staff cookie is SameSite=Lax, so such a top-level GET
 * arrives signed in. Requests without the header (older browsers, scripts) cannot be told apart.
 */
const openedFromAnotherSite = (req: Request) =>
  ['cross-site', 'same-site'].includes(req.get('sec-fetch-site') ?? '');

/** Aborts when the browser goes away before the answer is sent, so a report nobody waits for stops. */
function abandonedSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * The abuse report (`/staff/campaigns/:slug/abuse`), for organizers and admins: bursts of signatures
 * from one IP hash or one email domain, and the submissions the abuse controls dropped. It names
 * no one: IP hashes are truncated, and emails are reduced to their domain.
 *
 * Its cost is bounded: it reads the period's signatures in pages (abuse/bursts.ts) and stops after
 * STAFF_STATEMENT_TIMEOUT_MS with a 503 and its form, to be narrowed. It stays a GET (a report
 * to bookmark and share among staff), so another site could open it in a signed-in organizer's
 * browser: such a request (by `Sec-Fetch-Site`) gets the form with its settings, not the report.
 */
export function abuseRoutes(ctx: AppContext): Router {
  const router = Router();

  router.get('/staff/campaigns/:slug/abuse', requirePermission('abuse.view'), async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign)
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'Campaign not found',
        message: 'There is no campaign at this address.',
      });
    const query = parseBurstQuery(req.query);
    const run = query.ok && !openedFromAnotherSite(req);
    const timeoutMs = ctx.config.staffStatementTimeoutMs;
    const signal = abandonedSignal(res);
    const report = async (): Promise<{ bursts: Burst[]; tooLong: boolean }> => {
      if (!run) return { bursts: [], tooLong: false };
      try {
        return {
          bursts: await findBursts(ctx, campaign.id, query.value, {
            timeoutMs,
            signal,
            pageRows: BURST_PAGE_ROWS[ctx.database.driver],
          }),
          tooLong: false,
        };
      } catch (error) {
        if (signal.aborted) return { bursts: [], tooLong: false };
        if (!isReadTimeout(error)) throw error;
        ctx.logger.warn(
          { campaign: campaign.slug, hours: query.value.hours, timeoutMs },
          'the abuse report took too long and was stopped',
        );
        return { bursts: [], tooLong: true };
      }
    };
    const [{ bursts, tooLong }, counts, recorded] = await Promise.all([
      report(),
      ctx.stats.get(campaign.id),
      ctx.abuse.recorded(campaign.id),
    ]);
    // The browser went away: nobody to answer.
    if (signal.aborted) return;
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
            return {
              day: day.day,
              door: DOORS[door] ?? door,
              reason: REASONS[reason] ?? reason,
              count,
            };
          }),
      );
    const errors = !query.ok
      ? query.errors
      : tooLong
        ? {
            hours: tooLongMessage(
              timeoutMs,
              'Choose fewer hours (a shorter period) and show it again.',
            ),
          }
        : {};
    if (tooLong) res.setHeader('Retry-After', '60');
    res.status(!query.ok ? 400 : tooLong ? 503 : 200).render('staff/abuse', {
      layout: 'staff',
      title: `Abuse · ${campaign.title}`,
      campaign,
      values: query.ok ? query.value : { ...query.value, ...req.query },
      ...formErrors(errors),
      checked: run && !tooLong,
      notRun: query.ok && !run,
      maxBursts: MAX_BURSTS,
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
