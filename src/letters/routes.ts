import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import { ipRateLimit } from '../http/rate-limit';
import { letterBudget, letterScreen, noteHoneypot, withCaptchaPrompt } from '../abuse/screens';
import { honeypotFilled } from '../petitions/signature-input';
import { letterInput, letterStatus, writeLetters, type WriteResult } from './write-letters';

export function letterRateLimit(ctx: AppContext, onLimited: (req: Request, res: Response, retryAfter: number) => void) {
  return ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:letters`,
    secret: ctx.config.secret,
    limit: ctx.config.signRateLimit.limit,
    windowSeconds: ctx.config.signRateLimit.windowSeconds,
    logger: ctx.logger,
    onLimited,
  });
}

const statusPath = (token: string) => `/letters/${token}`;

function answer(ctx: AppContext, res: Response, result: WriteResult): void {
  if (result.outcome === 'sent') {
    // Each letter and how it travels: a supporter is told honestly which ones the campaign delivers by hand.
    res.status(202).json({ actionId: result.actionId, statusUrl: `${ctx.config.publicUrl}${statusPath(result.statusToken)}`, letters: result.letters });
  } else if (result.outcome === 'invalid') {
    res.status(400).json({ errors: result.errors, ...(result.candidates ? { candidates: result.candidates } : {}) });
  } else if (result.outcome === 'closed') {
    res.status(409).json({ error: 'closed', message: 'This campaign is closed.' });
  } else if (result.outcome === 'limited') {
    res.setHeader('Retry-After', String(result.retryAfterSeconds));
    res.status(429).json({ error: 'rate_limited', message: `Too many letters from this email address. Try again in ${result.retryAfterSeconds} seconds.` });
  } else {
    res.status(503).json({ error: 'unavailable', message: result.message });
  }
}

/** The JSON door for embeds, and each supporter's private status, as JSON. */
export function lettersApi(ctx: AppContext): Router {
  const router = Router();
  const limited = letterRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).json({ error: 'rate_limited', message: `Too many letters from your network. Try again in ${retryAfter} seconds.` });
  });

  router.post('/campaigns/:slug/letters', limited, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) {
      res.status(404).json({ error: 'not_found', message: 'No campaign with this name.' });
      return;
    }
    const body = req.body as unknown;
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    noteHoneypot(ctx, campaign, 'letters-api', fields);
    // The abuse checks see only a valid submission that would be written (a bot's honeypot is answered by writeLetters).
    const parsed = letterInput.safeParse(body);
    if (parsed.success && campaign.status === 'open' && !honeypotFilled(body)) {
      const screened = await letterScreen(ctx, campaign, 'letters-api', fields, req.ip);
      if (screened.outcome === 'invalid') return void res.status(400).json({ errors: screened.errors });
    }
    const result = await writeLetters(ctx, campaign, body, { ip: req.ip, reserve: letterBudget(ctx, campaign, 'letters-api', req.ip) });
    answer(ctx, res, result.outcome === 'invalid' ? { ...result, errors: withCaptchaPrompt(ctx, 'letters-api', fields, result.errors) } : result);
  });

  router.get('/letters/:token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const rows = await letterStatus(ctx, String(req.params.token));
    if (!rows) {
      res.status(404).json({ error: 'not_found', message: 'No letters at this address.' });
      return;
    }
    res.json({
      campaign: rows[0]!.campaign_slug,
      sentAt: rows[0]!.created_at,
      letters: rows.map((row) => ({
        to: row.target_name,
        title: row.target_title,
        office: row.office,
        channel: row.channel,
        status: row.status,
        subject: row.subject,
        deliveredAt: row.delivered_at,
      })),
    });
  });
  return router;
}

const STATUS_WORDS: Record<string, string> = {
  queued: 'Waiting to be sent',
  sending: 'Being sent',
  retrying: 'Not through yet: we keep trying',
  delivered: 'Delivered',
  failed: 'Could not be delivered',
  'hand-delivery': 'The campaign will deliver it by hand',
};

/** The supporter's private status page (its address is the capability: keep it out of logs and caches). */
export function letterStatusPage(ctx: AppContext): Router {
  const router = Router();
  router.get('/letters/:token', async (req, res, next) => {
    const rows = await letterStatus(ctx, String(req.params.token));
    if (!rows) return next();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.render('letter-status', {
      title: 'Your letters',
      campaign: { title: rows[0]!.campaign_title, slug: rows[0]!.campaign_slug },
      letters: rows.map((row) => ({ ...row, statusText: STATUS_WORDS[row.status] ?? row.status, delivered: row.status === 'delivered' })),
    });
  });
  return router;
}
