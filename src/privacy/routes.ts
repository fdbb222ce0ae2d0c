import { Router, type Request, type RequestHandler, type Response } from 'express';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import type { createCsrf } from '../http/csrf';
import { ipRateLimit } from '../http/rate-limit';
import { fieldErrors, sourceFromQuery } from '../petitions/signature-input';
import { activeConsents, consentChoices, partnerBySource, withdrawConsents } from './consent';
import { dataRequestInput, personalData, requestDataLink } from './data-rights';
import { erasePerson, removeSignature, verifySignature } from './erasure';
import { openLink, parseUnsubscribeSubject, type LinkPurpose, type OpenedLink } from './links';
import { resendVerification } from './notices';

/**
 * The supporters' links: confirm a signature (`/verify/<token>`), "this wasn't me"
 * (`/not-me/<token>`), unsubscribe (`/u/<token>`), and "Your data" (`/privacy/my-data`, then
 * `/privacy/my-data/<token>`). A GET only shows a page; what changes anything is a POST from that
 * page's button, so a mail scanner that follows links changes nothing. The token in the address
 * is the authority: these pages are never cached, send no referrer, and their paths are logged
 * without the token.
 */

const privateLinkHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

const PAGE_TITLES: Record<LinkPurpose, string> = {
  verify: 'Confirm your signature',
  'not-me': 'Remove a signature',
  unsubscribe: 'Unsubscribe',
  'my-data': 'Your data',
  'data-request': 'Your data',
};

type Page = {
  heading: string;
  paragraphs: string[];
  items?: string[];
  action?: { url: string; label: string; csrfToken?: string };
  back?: { href: string; label: string };
};

function page(res: Response, status: number, purpose: LinkPurpose, content: Page): void {
  res.status(status).render('supporter-action', { title: PAGE_TITLES[purpose], ...content });
}

/** The page for a link that cannot be used: 400 when it is not one of ours (or altered), 410 when it has expired. */
function refuse(res: Response, purpose: LinkPurpose, opened: Exclude<OpenedLink, { ok: true }>, extra: Partial<Page> = {}): void {
  if (opened.reason === 'invalid') {
    page(res, 400, purpose, {
      heading: 'This link does not work',
      paragraphs: ['The link is incomplete or has been changed. Please open it again from the email, or copy the whole address.'],
    });
  } else {
    page(res, 410, purpose, { heading: 'This link has expired', paragraphs: ['For your safety, the links we email only work for a while.'], ...extra });
  }
}

const tokenOf = (req: Request) => String(req.params.token);
const signatureIdOf = (subject: string) => (/^\d{1,18}$/.test(subject) ? Number(subject) : null);

async function signatureFor(ctx: AppContext, subject: string) {
  const id = signatureIdOf(subject);
  if (id === null) return undefined;
  const [row] = await queryRows<{ id: number; verified: boolean; title: string; slug: string; require_verification: boolean }>(
    ctx.db,
    sql`SELECT s.id, s.verified_at IS NOT NULL AS verified, c.title, c.slug, c.require_verification
        FROM signatures s JOIN campaigns c ON c.id = s.campaign_id WHERE s.id = ${id}::bigint`,
  );
  return row;
}

const campaignLink = (slug: string) => ({ href: `/campaigns/${encodeURIComponent(slug)}`, label: 'Go to the petition' });
const noLongerHeld = (purpose: LinkPurpose, res: Response) =>
  page(res, 410, purpose, {
    heading: 'There is no such signature',
    paragraphs: ['We no longer hold this signature: it was removed, or deleted with its signer\'s data.'],
  });

/** POST /u/:token: one-click unsubscribe (RFC 8058) and the unsubscribe page's button. The token is the authority: no CSRF token can exist here. */
export function oneClickUnsubscribe(ctx: AppContext): Router {
  const router = Router();
  router.post('/u/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'unsubscribe', tokenOf(req));
    const target = opened.ok ? parseUnsubscribeSubject(opened.subject) : null;
    if (!opened.ok || !target) return refuse(res, 'unsubscribe', opened.ok ? { ok: false, reason: 'invalid' } : opened);
    await withdrawConsents(ctx, target.email, target.campaignId);
    page(res, 200, 'unsubscribe', {
      heading: 'You are unsubscribed',
      paragraphs: ['You will receive no more updates from us or our partners through this address. Your signature still counts.'],
    });
  });
  return router;
}

/** The public pages behind the supporters' links, and "Your data". */
export function supporterPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  // --- Confirming a signature ---------------------------------------------------------------

  const resendOffer = (req: Request, res: Response): Partial<Page> => ({
    paragraphs: ['For your safety, the links we email only work for a while. We can send you a new one.'],
    action: { url: `/verify/${tokenOf(req)}/resend`, label: 'Send me a new link', csrfToken: csrf.token(req, res) },
  });

  router.get('/verify/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    if (!opened.ok) return refuse(res, 'verify', opened, resendOffer(req, res));
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature) return noLongerHeld('verify', res);
    if (signature.verified) {
      return page(res, 200, 'verify', { heading: 'Your signature is confirmed', paragraphs: [`Your signature on “${signature.title}” counts. Thank you.`], back: campaignLink(signature.slug) });
    }
    page(res, 200, 'verify', {
      heading: 'Confirm your signature',
      paragraphs: [`Press the button to confirm that you signed “${signature.title}”. Your signature then counts publicly.`],
      action: { url: `/verify/${tokenOf(req)}`, label: 'Yes, I signed: confirm it', csrfToken: csrf.token(req, res) },
    });
  });

  router.post('/verify/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    if (!opened.ok) return refuse(res, 'verify', opened, resendOffer(req, res));
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature || (await verifySignature(ctx, Number(signature.id))) === 'gone') return noLongerHeld('verify', res);
    page(res, 200, 'verify', {
      heading: 'Thank you: your signature is confirmed',
      paragraphs: [`Your signature on “${signature.title}” now counts. One more step multiplies it: ask a friend to sign too.`],
      back: campaignLink(signature.slug),
    });
  });

  router.post('/verify/:token/resend', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    // An expired link is the reason to ask for a new one; it is still ours, and names its signature.
    if (!opened.ok && opened.reason === 'invalid') return refuse(res, 'verify', opened);
    const id = signatureIdOf(opened.ok ? opened.subject : (opened as { subject: string }).subject);
    if (id !== null) await resendVerification(ctx, id);
    page(res, 200, 'verify', {
      heading: 'Check your inbox',
      paragraphs: ['If your signature still needs confirming, a new link is on its way. We send at most one every ten minutes.'],
    });
  });

  // --- "This wasn't me" ---------------------------------------------------------------------

  router.get('/not-me/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'not-me', tokenOf(req));
    if (!opened.ok) return refuse(res, 'not-me', opened, { paragraphs: ['This link has expired. To remove your address from everything we hold, use “Your data”.'], back: { href: '/privacy/my-data', label: 'Your data' } });
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature) return noLongerHeld('not-me', res);
    page(res, 200, 'not-me', {
      heading: 'Did someone sign with your address?',
      paragraphs: [
        `Someone signed “${signature.title}” with your email address. If it was not you, remove the signature: it will no longer count, and we keep nothing of it.`,
      ],
      action: { url: `/not-me/${tokenOf(req)}`, label: 'It was not me: remove the signature', csrfToken: csrf.token(req, res) },
    });
  });

  router.post('/not-me/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'not-me', tokenOf(req));
    if (!opened.ok) return refuse(res, 'not-me', opened, { paragraphs: ['This link has expired. To remove your address from everything we hold, use “Your data”.'], back: { href: '/privacy/my-data', label: 'Your data' } });
    const id = signatureIdOf(opened.subject);
    const removed = id === null ? null : await removeSignature(ctx, id);
    if (removed === null) return noLongerHeld('not-me', res);
    page(res, 200, 'not-me', {
      heading: 'The signature is removed',
      paragraphs: ['It no longer counts, and we hold nothing of it. Sorry for the trouble.'],
    });
  });

  // --- Unsubscribe (the page; its button posts to the one-click address) -------------------------

  router.get('/u/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'unsubscribe', tokenOf(req));
    const target = opened.ok ? parseUnsubscribeSubject(opened.subject) : null;
    if (!opened.ok || !target) return refuse(res, 'unsubscribe', opened.ok ? { ok: false, reason: 'invalid' } : opened);
    const consents = await activeConsents(ctx, target.email, target.campaignId);
    if (consents.length === 0) {
      return page(res, 200, 'unsubscribe', { heading: 'You receive no updates', paragraphs: ['This address is not on any of our update lists, nor our partners\'.'] });
    }
    page(res, 200, 'unsubscribe', {
      heading: 'Unsubscribe',
      paragraphs: ['You agreed to receive updates from:'],
      items: consents.map((consent) => `${consent.scope === 'campaign' ? consent.campaign : (consent.partner ?? 'a former partner organisation')}: “${consent.wording}”`),
      action: { url: `/u/${tokenOf(req)}`, label: 'Unsubscribe from all of them' },
    });
  });

  // --- Your data ----------------------------------------------------------------------------

  const limited = ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:privacy`,
    secret: ctx.config.secret,
    limit: ctx.config.signRateLimit.limit,
    windowSeconds: ctx.config.signRateLimit.windowSeconds,
    logger: ctx.logger,
    onLimited: (_req, res, retryAfter) =>
      res.status(429).render('error', { title: 'Too many requests from your network', message: `Please wait ${retryAfter} seconds and try again.` }),
  });

  const requestPage = (req: Request, res: Response, values: Record<string, unknown>, status = 200) =>
    res.status(status).render('my-data-request', {
      title: 'Your data',
      csrfToken: csrf.token(req, res),
      ipHashDays: ctx.config.ipHashRetentionDays,
      retentionDays: ctx.config.retentionDaysAfterClose,
      ...values,
    });

  router.get('/privacy/my-data', (req, res) => requestPage(req, res, {}));

  router.post('/privacy/my-data', limited, async (req, res) => {
    const parsed = dataRequestInput.safeParse(req.body ?? {});
    if (!parsed.success) {
      const given = (req.body as Record<string, unknown> | undefined)?.email;
      return requestPage(req, res, { email: typeof given === 'string' ? given.slice(0, 254) : '', errors: fieldErrors(parsed.error) }, 400);
    }
    try {
      await requestDataLink(ctx, parsed.data.email);
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not queue a data link');
      return res.status(503).render('error', { title: 'Please try again', message: 'We could not send the email just now. Please try again in a few minutes.' });
    }
    requestPage(req, res, { sent: true, email: parsed.data.email });
  });

  const expiredDataLink: Partial<Page> = {
    paragraphs: ['The link works for 24 hours. Ask for a new one: it takes a moment.'],
    back: { href: '/privacy/my-data', label: 'Ask for a new link' },
  };

  router.get('/privacy/my-data/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink);
    const data = await personalData(ctx, opened.subject);
    const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '');
    res.render('my-data', {
      title: 'Your data',
      email: data.email,
      token: tokenOf(req),
      csrfToken: csrf.token(req, res),
      empty: data.signatures.length === 0 && data.letters.length === 0,
      signatures: data.signatures.map((signature) => ({ ...signature, signedOn: day(signature.signedAt) })),
      letters: data.letters.map((action) => ({ ...action, writtenOn: day(action.writtenAt) })),
    });
  });

  router.get('/privacy/my-data/:token/download', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink);
    const data = await personalData(ctx, opened.subject);
    res.setHeader('Content-Disposition', 'attachment; filename="my-data.json"');
    res.type('application/json').send(JSON.stringify(data, null, 2));
  });

  router.post('/privacy/my-data/:token/delete', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink);
    const erased = await erasePerson({ ...ctx, districtsOf: (zip) => ctx.representatives.districtsOfZip(zip) }, opened.subject);
    ctx.logger.info({ signatures: erased.signatures, letterActions: erased.letterActions }, 'personal data erased at its owner\'s request');
    page(res, 200, 'my-data', {
      heading: 'Your data is deleted',
      paragraphs: [
        'We no longer hold your name, email address, addresses, letters or consents. Your signatures stay in the counts, as numbers that name nobody.',
        'Emails already on their way may still arrive in the next few minutes.',
      ],
    });
  });

  return router;
}

/** GET /api/v1/campaigns/:slug/consent?source=<code>: the consent wording a partner's form must show, recorded with each consent. */
export function consentApi(ctx: AppContext): Router {
  const router = Router();
  router.get('/campaigns/:slug/consent', async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return res.status(404).json({ error: 'not_found', message: 'No campaign with this name.' });
    const partner = await partnerBySource(ctx.db, campaign.id, sourceFromQuery(req.query.source));
    const choices = consentChoices(partner);
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json({
      optIn: choices.campaign,
      partnerOptIn: choices.partner && partner ? { partner: partner.name, source: partner.sourceCode, wording: choices.partner.wording } : null,
    });
  });
  return router;
}
