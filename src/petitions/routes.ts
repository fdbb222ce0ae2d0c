import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import { campaignTitle } from '../campaigns/texts';
import { embedTexts } from '../i18n/translations';
import { csrfFailed, type createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { ipRateLimit } from '../http/rate-limit';
import { renderCampaignPage } from '../campaigns/page';
import { captchaWidget } from '../abuse/controls';
import { noteHoneypot, signingScreen, withCaptchaPrompt } from '../abuse/screens';
import { signPetition } from './sign-petition';
import { sourceFromQuery } from './signature-input';
import type { FieldErrors } from '../kernel/field-errors';
import { publicSignatureCount } from './stats';

function signingRateLimit(
  ctx: AppContext,
  onLimited: (req: Request, res: Response, retryAfter: number) => void,
) {
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
  /** Shows the form again with what was typed, and a message or a "please confirm" (nothing was kept). */
  const again = async (
    req: Request,
    res: Response,
    campaign: Campaign,
    extra: { errors?: FieldErrors; confirm?: 'csrf' | 'too-fast' },
    status: number,
  ) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    await renderCampaignPage(
      ctx,
      res,
      campaign,
      {
        values: body,
        errors: extra.errors ?? {},
        confirm: extra.confirm,
        csrfToken: csrf.token(req, res),
        source: sourceFromQuery(body.source),
      },
      status,
    );
  };
  // Over the network's limit: the form comes back with what was typed and when to send it again.
  const limited = signingRateLimit(ctx, (req, res, retryAfter) => {
    void (async () => {
      const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
      const { t } = translatorOf(res);
      if (!campaign)
        return res.status(429).render('error', {
          title: t('common:rateLimited.title'),
          message: t('common:rateLimited.wait', { count: retryAfter }),
        });
      await again(
        req,
        res,
        campaign,
        { errors: { form: t('common:rateLimited.signatures', { count: retryAfter }) } },
        429,
      );
    })().catch((error: unknown) => {
      ctx.logger.warn({ err: error }, 'could not show the signing form again');
      if (!res.headersSent) res.status(429).end();
    });
  });

  router.post('/campaigns/:slug/sign', limited, async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const { t, language } = translatorOf(res);
    // The form's CSRF check failed (its cookie is gone, as in a restored tab): nothing is kept until its sender confirms.
    if (csrfFailed(res)) return again(req, res, campaign, { confirm: 'csrf' }, 403);
    const body = (req.body ?? {}) as Record<string, unknown>;
    noteHoneypot(ctx, campaign, 'sign-form', body);
    const screen = signingScreen(ctx, campaign, 'sign-form', body, req.ip, t);
    const result = await signPetition(ctx, campaign, body, {
      ip: req.ip,
      channel: 'form',
      screen,
      language,
    });
    if (result.outcome === 'signed') {
      res.redirect(303, `/campaigns/${encodeURIComponent(campaign.slug)}/thanks`);
      return;
    }
    if (result.outcome === 'confirm')
      return again(req, res, campaign, { confirm: 'too-fast' }, 200);
    const errors =
      result.outcome === 'closed'
        ? { form: t('petition:sign.closedError') }
        : withCaptchaPrompt(ctx, 'sign-form', body, result.errors, t);
    await again(req, res, campaign, { errors }, result.outcome === 'closed' ? 409 : 400);
  });

  return router;
}

/** The JSON door's rate limit (also put in front of the benchmark's baseline route). */
export function signingApiRateLimit(ctx: AppContext) {
  return signingRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).json({
      error: 'rate_limited',
      message: translatorOf(res).t('common:rateLimited.signaturesApi', { count: retryAfter }),
    });
  });
}

/** The JSON API's "no such campaign". */
export const noCampaign = (res: Response) =>
  res
    .status(404)
    .json({ error: 'not_found', message: translatorOf(res).t('common:api.noCampaign') });

/** The JSON door, for embeds on partner sites: no cookies, CORS for partner origins. */
export function signingApi(ctx: AppContext): Router {
  const router = Router();
  const limited = signingApiRateLimit(ctx);

  router.post('/campaigns/:slug/signatures', limited, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return void noCampaign(res);
    const { t, language } = translatorOf(res);
    const body = req.body as unknown;
    const input =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? { source: req.query.source, ...(body as Record<string, unknown>) }
        : body;
    const fields =
      typeof input === 'object' && input !== null && !Array.isArray(input)
        ? (input as Record<string, unknown>)
        : {};
    noteHoneypot(ctx, campaign, 'sign-api', fields);
    const screen = signingScreen(ctx, campaign, 'sign-api', fields, req.ip, t);
    const result = await signPetition(ctx, campaign, input, {
      ip: req.ip,
      channel: 'api',
      screen,
      language,
    });
    // The same answer for every signature; `checkEmail` (the same for all of a campaign's) asks the embed to say so.
    if (result.outcome === 'signed' || result.outcome === 'confirm')
      res
        .status(202)
        .json(campaign.requireVerification ? { ok: true, checkEmail: true } : { ok: true });
    else if (result.outcome === 'closed')
      res.status(409).json({ error: 'closed', message: t('petition:sign.closedError') });
    else
      res
        .status(400)
        .json({ errors: withCaptchaPrompt(ctx, 'sign-api', fields, result.errors, t) });
  });

  /** The partner embed's words (public/js/embed.js), in the asker's language, English where a text is not translated. */
  router.get('/embed/texts', (_req, res) => {
    const tr = translatorOf(res);
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.json({ language: tr.language, locale: tr.locale, texts: embedTexts(tr.language) });
  });

  router.get('/campaigns/:slug/stats', async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return void noCampaign(res);
    const { language } = translatorOf(res);
    const counts = await ctx.stats.get(campaign.id);
    res.setHeader('Cache-Control', 'public, max-age=5');
    res.json({
      // The title in the asker's language (`?lng=`, else Accept-Language), English where not given in it.
      title: campaignTitle(campaign, language),
      language,
      url: `${ctx.config.publicUrl}/campaigns/${encodeURIComponent(campaign.slug)}${language === 'en' ? '' : `?lng=${language}`}`,
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
