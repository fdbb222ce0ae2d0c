import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import { ipRateLimit } from '../http/rate-limit';
import { letterBudget, letterScreen, noteHoneypot, withCaptchaPrompt } from '../abuse/screens';
import { honeypotFilled } from '../petitions/signature-input';
import type { LetterStatus } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { reportSelfSent, selfSendOffer, statusWords, supporterLetters } from './letter-status';
import { letterInput, writeLetters, type WriteResult } from './write-letters';

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
    const found = await supporterLetters(ctx, String(req.params.token));
    if (!found) {
      res.status(404).json({ error: 'not_found', message: 'No letters at this address.' });
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
          deliveredAs: letter.status === 'delivered' || letter.status === 'rehearsed' ? (letter.deliveredAs ?? 'office') : null,
          statusText: statusWords(letter).text,
          subject: letter.subject,
          deliveredAt: letter.deliveredAt,
          ...(offer ? { selfSend: { contactForm: offer.contactForm, email: offer.email } } : {}),
        };
      }),
    });
  });
  return router;
}

const statusLabel = (status: LetterStatus) => statusWords({ status, deliveredAs: null, deliveredAt: null, channel: 'email', cancelledByStaff: false }).label;

const SELF_SENT_NOTICE: Record<string, string> = {
  reported: 'Thank you: we count this letter as sent by you.',
  already: 'You had already told us you sent this letter: nothing has changed.',
};

/**
 * The supporter's private status page (its address is the capability: keep it out of logs,
 * caches and referrers), and its one form: "I sent it", for a letter the supporter sent themselves.
 */
export function letterStatusPage(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  const render = async (req: Request, res: Response, notice?: { text: string; problem?: boolean }, status = 200) => {
    const found = await supporterLetters(ctx, String(req.params.token));
    if (!found) return false;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const csrfToken = csrf.token(req, res);
    res.status(status).render('letter-status', {
      title: 'Your letters',
      campaign: found.campaign,
      notice,
      formAction: `/letters/${String(req.params.token)}/self-sent`,
      letters: found.letters.map((letter, index) => ({
        ...letter,
        anchor: `letter-${index + 1}`,
        words: statusWords(letter),
        selfSend: selfSendOffer(letter),
        csrfToken,
      })),
    });
    return true;
  };

  router.get('/letters/:token', async (req, res, next) => {
    const reported = typeof req.query.reported === 'string' ? SELF_SENT_NOTICE[req.query.reported] : undefined;
    if (!(await render(req, res, reported ? { text: reported } : undefined))) next();
  });

  router.post('/letters/:token/self-sent', async (req, res, next) => {
    const token = String(req.params.token);
    const target = (req.body as Record<string, unknown> | undefined)?.target;
    const result = typeof target === 'string' ? await reportSelfSent(ctx, token, target) : ({ outcome: 'not-found' } as const);
    if (result.outcome === 'reported' || result.outcome === 'already') {
      const found = await supporterLetters(ctx, token);
      const index = found?.letters.findIndex((letter) => letter.targetKey === target) ?? -1;
      return res.redirect(303, `/letters/${token}?reported=${result.outcome}${index >= 0 ? `#letter-${index + 1}` : ''}`);
    }
    const notice =
      result.outcome === 'not-allowed'
        ? {
            text: `Nothing has changed: only a letter we could not deliver electronically can be reported as sent by you, and this one is “${statusLabel(result.status)}”.`,
            problem: true,
          }
        : { text: 'Nothing has changed: there is no such letter on this page.', problem: true };
    if (!(await render(req, res, notice, result.outcome === 'not-allowed' ? 409 : 400))) next();
  });

  return router;
}
