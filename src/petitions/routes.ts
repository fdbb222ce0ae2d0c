import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import { ipRateLimit } from '../http/rate-limit';
import { renderCampaignPage } from '../campaigns/page';
import { captchaWidget } from '../abuse/controls';
import { noteHoneypot, signingScreen, withCaptchaPrompt } from '../abuse/screens';
import { signPetition } from './sign-petition';
import { sourceFromQuery } from './signature-input';
import { publicSignatureCount } from './stats';

function signingRateLimit(ctx: AppContext, onLimited: (req: Request, res: Response, retryAfter: number) => void) {
  return ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:sign`,
    secret: ctx.config.secret,
    limit: ctx.config.signRateLimit.limit,
    windowSeconds: ctx.config.signRateLimit.windowSeconds,
    logger: ctx.logger,
    onLimited,
  });
}

/** The HTML door: the campaign page's form. */
export function signingForm(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const limited = signingRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).render('error', {
      title: 'Too many signatures from your network',
      message: `Please wait ${retryAfter} seconds and try again.`,
    });
  });

  router.post('/campaigns/:slug/sign', limited, async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const body = (req.body ?? {}) as Record<string, unknown>;
    noteHoneypot(ctx, campaign, 'sign-form', body);
    const screen = signingScreen(ctx, campaign, 'sign-form', body, req.ip);
    const result = await signPetition(ctx, campaign, body, { ip: req.ip, channel: 'form', screen });
    if (result.outcome === 'signed') {
      res.redirect(303, `/campaigns/${encodeURIComponent(campaign.slug)}/thanks`);
      return;
    }
    const errors = result.outcome === 'closed' ? { form: 'This petition is closed.' } : withCaptchaPrompt(ctx, 'sign-form', body, result.errors);
    await renderCampaignPage(
      ctx,
      res,
      campaign,
      { values: body, errors, csrfToken: csrf.token(req, res), source: sourceFromQuery(body.source) },
      result.outcome === 'closed' ? 409 : 400,
    );
  });

  return router;
}

/** The JSON door's rate limit (also put in front of the benchmark's baseline route). */
export function signingApiRateLimit(ctx: AppContext) {
  return signingRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).json({ error: 'rate_limited', message: `Too many signatures from your network. Try again in ${retryAfter} seconds.` });
  });
}

/** The JSON door, for embeds on partner sites: no cookies, CORS for partner origins. */
export function signingApi(ctx: AppContext): Router {
  const router = Router();
  const limited = signingApiRateLimit(ctx);

  router.post('/campaigns/:slug/signatures', limited, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) {
      res.status(404).json({ error: 'not_found', message: 'No campaign with this name.' });
      return;
    }
    const body = req.body as unknown;
    const input =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? { source: req.query.source, ...(body as Record<string, unknown>) }
        : body;
    const fields = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    noteHoneypot(ctx, campaign, 'sign-api', fields);
    const screen = signingScreen(ctx, campaign, 'sign-api', fields, req.ip);
    const result = await signPetition(ctx, campaign, input, { ip: req.ip, channel: 'api', screen });
    // The same answer for every signature; `checkEmail` (the same for all of a campaign's) asks the embed to say so.
    if (result.outcome === 'signed') res.status(202).json(campaign.requireVerification ? { ok: true, checkEmail: true } : { ok: true });
    else if (result.outcome === 'closed') res.status(409).json({ error: 'closed', message: 'This petition is closed.' });
    else res.status(400).json({ errors: withCaptchaPrompt(ctx, 'sign-api', fields, result.errors) });
  });

  router.get('/campaigns/:slug/stats', async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) {
      res.status(404).json({ error: 'not_found', message: 'No campaign with this name.' });
      return;
    }
    const counts = await ctx.stats.get(campaign.id);
    res.setHeader('Cache-Control', 'public, max-age=5');
    res.json({
      title: campaign.title,
      url: `${ctx.config.publicUrl}/campaigns/${encodeURIComponent(campaign.slug)}`,
      open: campaign.status === 'open',
      // What the counter shows: confirmed signatures only when the campaign asks signers to confirm.
      signatures: publicSignatureCount(campaign, counts),
      total: counts.signatures,
      verified: counts.verified,
      verificationRequired: campaign.requireVerification,
      goal: campaign.goal,
      byState: counts.byState,
      byDistrict: counts.byDistrict,
      bySource: counts.bySource,
      updatedAt: counts.updatedAt ?? campaign.createdAt.toISOString(),
      // When the CAPTCHA is on, the embed draws its widget and sends its token as `captchaToken`.
      ...(captchaWidget(ctx) ? { captcha: captchaWidget(ctx) } : {}),
    });
  });

  return router;
}
