import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import { ipRateLimit } from '../http/rate-limit';
import { letterBudget, formScreen, noteHoneypot, withCaptchaPrompt } from '../abuse/screens';
import { honeypotFilled } from '../petitions/signature-input';
import type { LetterStatus } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { noCampaign } from '../petitions/routes';
import { campaignTitle } from '../campaigns/texts';
import { describeOffice } from '../representatives/labels';
import type { Translator } from '../i18n/translations';
import { reportSelfSent, selfSendOffer, statusWords, supporterLetters } from './letter-status';
import { letterInput, writeLetters, type WriteResult } from './write-letters';

export function letterRateLimit(
  ctx: AppContext,
  onLimited: (req: Request, res: Response, retryAfter: number) => void,
) {
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
  const { t } = translatorOf(res);
  if (result.outcome === 'sent') {
    // Each letter and how it travels: a supporter is told honestly which ones the campaign delivers by hand.
    res.status(202).json({
      actionId: result.actionId,
      statusUrl: `${ctx.config.publicUrl}${statusPath(result.statusToken)}`,
      letters: result.letters,
    });
  } else if (result.outcome === 'invalid') {
    res.status(400).json({
      errors: result.errors,
      ...(result.candidates ? { candidates: result.candidates } : {}),
    });
  } else if (result.outcome === 'closed') {
    res.status(409).json({ error: 'closed', message: t('letters:closedError') });
  } else if (result.outcome === 'limited') {
    res.setHeader('Retry-After', String(result.retryAfterSeconds));
    res.status(429).json({
      error: 'rate_limited',
      message: t('letters:tooMany.fromEmailSeconds', { count: result.retryAfterSeconds }),
    });
  } else {
    res.status(503).json({ error: 'unavailable', message: result.message });
  }
}

/** The JSON door for embeds, and each supporter's private status, as JSON. */
export function lettersApi(ctx: AppContext): Router {
  const router = Router();
  const limited = letterRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).json({
      error: 'rate_limited',
      message: translatorOf(res).t('letters:tooMany.fromNetwork', { count: retryAfter }),
    });
  });

  router.post('/campaigns/:slug/letters', limited, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return void noCampaign(res);
    const { t, language } = translatorOf(res);
    const body = req.body as unknown;
    const fields =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)
        : {};
    noteHoneypot(ctx, campaign, 'letters-api', fields);
    // The abuse checks see only a valid submission that would be written (a bot's honeypot is answered by writeLetters).
    const parsed = letterInput.safeParse(body);
    if (parsed.success && campaign.status === 'open' && !honeypotFilled(body)) {
      const screened = await formScreen(ctx, campaign, 'letters-api', fields, req.ip, t);
      if (screened.outcome === 'invalid')
        return void res.status(400).json({ errors: screened.errors });
    }
    const result = await writeLetters(ctx, campaign, body, {
      ip: req.ip,
      reserve: letterBudget(ctx, campaign, 'letters-api', req.ip),
      language,
    });
    answer(
      ctx,
      res,
      result.outcome === 'invalid'
        ? { ...result, errors: withCaptchaPrompt(ctx, 'letters-api', fields, result.errors, t) }
        : result,
    );
  });

  router.get('/letters/:token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const found = await supporterLetters(ctx, String(req.params.token));
    const tr = translatorOf(res);
    if (!found) {
      res.status(404).json({ error: 'not_found', message: tr.t('letters:statusPage.notFound') });
      return;
    }
    res.json({
      campaign: found.campaign.slug,
      sentAt: found.writtenAt,
      letters: found.letters.map((letter) => {
        const offer = selfSendOffer(letter);
        return {
          to: letter.targetName,
          title: letter.targetTitle,
          office: letter.office,
          channel: letter.channel,
          status: letter.status,
          // How a delivered letter was delivered: `office`, `rehearsal` and `file` (neither reached the office), or `hand`.
          deliveredAs:
            letter.status === 'delivered' || letter.status === 'rehearsed'
              ? (letter.deliveredAs ?? 'office')
              : null,
          statusText: statusWords(letter, tr).text,
          subject: letter.subject,
          deliveredAt: letter.deliveredAt,
          ...(offer ? { selfSend: { contactForm: offer.contactForm, email: offer.email } } : {}),
        };
      }),
    });
  });
  return router;
}

const statusLabel = (status: LetterStatus, tr: Translator) =>
  statusWords(
    { status, deliveredAs: null, deliveredAt: null, channel: 'email', cancelledByStaff: false },
    tr,
  ).label;

/** How the supporter may send a letter themselves, in one sentence: now or rather than wait, by the office's form, email, or either. */
function selfSendText(
  letter: Parameters<typeof selfSendOffer>[0],
  tr: Translator,
): string | undefined {
  const offer = selfSendOffer(letter);
  if (!offer) return undefined;
  const way =
    offer.contactForm && offer.mailto ? 'formOrEmail' : offer.contactForm ? 'form' : 'email';
  return tr.t(
    `letters:selfSend.${letter.status === 'hand-delivery' ? 'ratherNotWait' : 'youCan'}.${way}`,
  );
}

const SELF_SENT_NOTICE: Record<string, string> = {
  reported: 'letters:statusPage.reported',
  already: 'letters:statusPage.already',
};

/**
 * The supporter's private status page (its address is the capability: keep it out of logs,
 * caches and referrers), and its one form: "I sent it", for a letter the supporter sent themselves.
 */
export function letterStatusPage(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  const render = async (
    req: Request,
    res: Response,
    notice?: { text: string; problem?: boolean },
    status = 200,
  ) => {
    const found = await supporterLetters(ctx, String(req.params.token));
    if (!found) return false;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const csrfToken = csrf.token(req, res);
    const tr = translatorOf(res);
    res.status(status).render('letter-status', {
      title: tr.t('letters:statusPage.title'),
      campaign: found.campaign,
      campaignTitle: campaignTitle(found.campaign, tr.language),
      notice,
      // Straight from sending: the news first, then where each letter is.
      justSent: req.method === 'GET' && req.query.sent === '1',
      count: found.letters.length,
      writtenOn: tr.date(found.writtenAt),
      formAction: `/letters/${String(req.params.token)}/self-sent`,
      letters: found.letters.map((letter, index) => ({
        ...letter,
        // The office in the supporter's language (the letter records it in English, for staff).
        targetTitle: describeOffice(letter, tr),
        anchor: `letter-${index + 1}`,
        words: statusWords(letter, tr),
        selfSend: selfSendOffer(letter),
        selfSendText: selfSendText(letter, tr),
        csrfToken,
      })),
    });
    return true;
  };

  router.get('/letters/:token', async (req, res, next) => {
    const reported =
      typeof req.query.reported === 'string' ? SELF_SENT_NOTICE[req.query.reported] : undefined;
    if (!(await render(req, res, reported ? { text: translatorOf(res).t(reported) } : undefined)))
      next();
  });

  router.post('/letters/:token/self-sent', async (req, res, next) => {
    const token = String(req.params.token);
    const target = (req.body as Record<string, unknown> | undefined)?.target;
    const result =
      typeof target === 'string'
        ? await reportSelfSent(ctx, token, target)
        : ({ outcome: 'not-found' } as const);
    if (result.outcome === 'reported' || result.outcome === 'already') {
      const found = await supporterLetters(ctx, token);
      const index = found?.letters.findIndex((letter) => letter.targetKey === target) ?? -1;
      return res.redirect(
        303,
        `/letters/${token}?reported=${result.outcome}${index >= 0 ? `#letter-${index + 1}` : ''}`,
      );
    }
    const tr = translatorOf(res);
    const notice =
      result.outcome === 'not-allowed'
        ? {
            text: tr.t('letters:statusPage.notAllowed', { status: statusLabel(result.status, tr) }),
            problem: true,
          }
        : { text: tr.t('letters:statusPage.noSuchLetter'), problem: true };
    if (!(await render(req, res, notice, result.outcome === 'not-allowed' ? 409 : 400))) next();
  });

  return router;
}
