import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { AppContext } from '../context';
import { csrfFailed, type createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { campaignTitle } from '../campaigns/texts';
import type { CampaignTranslations } from '../db/schema';
import type { Translate } from '../i18n/translations';
import { ipRateLimit } from '../http/rate-limit';
import { sourceFromQuery } from '../petitions/signature-input';
import { fieldErrors } from '../kernel/field-errors';
import { activeConsents, consentChoices, withdrawConsents } from './consent';
import { dataRequestInput, personalData } from './data-rights';
import { requestDataLink } from './jobs/send-data-link';
import { erasePerson, removeSignature, verifySignature } from './erasure';
import { openLink, parseUnsubscribeSubject, type LinkPurpose, type OpenedLink } from './links';
import { resendVerification } from './notices';
import { noCampaign } from '../petitions/routes';
import { linkedSignature } from '../petitions/signature-store';

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
  verify: 'privacy:titles.verify',
  'not-me': 'privacy:titles.notMe',
  unsubscribe: 'privacy:titles.unsubscribe',
  'my-data': 'privacy:titles.myData',
  'data-request': 'privacy:titles.myData',
};

type Page = {
  heading: string;
  paragraphs: string[];
  items?: string[];
  action?: { url: string; label: string; csrfToken?: string };
  back?: { href: string; label: string };
};

function page(res: Response, status: number, purpose: LinkPurpose, content: Page): void {
  res
    .status(status)
    .render('supporter-action', { title: translatorOf(res).t(PAGE_TITLES[purpose]), ...content });
}

/** The page for a link that cannot be used: 400 when it is not one of ours (or altered), 410 when it has expired. */
function refuse(
  res: Response,
  purpose: LinkPurpose,
  opened: Exclude<OpenedLink, { ok: true }>,
  extra: Partial<Page> = {},
): void {
  const { t } = translatorOf(res);
  if (opened.reason === 'invalid') {
    page(res, 400, purpose, {
      heading: t('privacy:link.invalidHeading'),
      paragraphs: [t('privacy:link.invalidText')],
    });
  } else {
    page(res, 410, purpose, {
      heading: t('privacy:link.expiredHeading'),
      paragraphs: [t('privacy:link.expiredText')],
      ...extra,
    });
  }
}

const tokenOf = (req: Request) => String(req.params.token);
const signatureIdOf = (subject: string) => (/^\d{1,18}$/.test(subject) ? Number(subject) : null);

async function signatureFor(ctx: AppContext, subject: string) {
  const id = signatureIdOf(subject);
  if (id === null) return undefined;
  return linkedSignature(ctx.db, id);
}

/** A signature's campaign title in the page's language. */
const titleOf = (
  res: Response,
  signature: { title: string; translations: CampaignTranslations | null },
) =>
  campaignTitle(
    { title: signature.title, translations: signature.translations ?? {} },
    translatorOf(res).language,
  );

const campaignLink = (t: Translate, slug: string) => ({
  href: `/campaigns/${encodeURIComponent(slug)}`,
  label: t('privacy:goToPetition'),
});
const noLongerHeld = (purpose: LinkPurpose, res: Response) => {
  const { t } = translatorOf(res);
  page(res, 410, purpose, {
    heading: t('privacy:noSignature.heading'),
    paragraphs: [t('privacy:noSignature.text')],
  });
};
const expiredNotMe = (t: Translate): Partial<Page> => ({
  paragraphs: [t('privacy:notMe.expired')],
  back: { href: '/privacy/my-data', label: t('privacy:titles.myData') },
});

/** POST /u/:token: one-click unsubscribe (RFC 8058) and the unsubscribe page's button. The token is the authority: no CSRF token can exist here. */
export function oneClickUnsubscribe(ctx: AppContext): Router {
  const router = Router();
  router.post('/u/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'unsubscribe', tokenOf(req));
    const target = opened.ok ? parseUnsubscribeSubject(opened.subject) : null;
    if (!opened.ok || !target)
      return refuse(res, 'unsubscribe', opened.ok ? { ok: false, reason: 'invalid' } : opened);
    await withdrawConsents(ctx, target.email, target.campaignId);
    const { t } = translatorOf(res);
    page(res, 200, 'unsubscribe', {
      heading: t('privacy:unsubscribe.doneHeading'),
      paragraphs: [t('privacy:unsubscribe.doneText')],
    });
  });
  return router;
}

/** The public pages behind the supporters' links, and "Your data". */
export function supporterPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  // --- Confirming a signature ---------------------------------------------------------------

  const resendOffer = (req: Request, res: Response): Partial<Page> => {
    const { t } = translatorOf(res);
    return {
      paragraphs: [t('privacy:verify.expired')],
      action: {
        url: `/verify/${tokenOf(req)}/resend`,
        label: t('privacy:verify.resendButton'),
        csrfToken: csrf.token(req, res),
      },
    };
  };

  router.get('/verify/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    if (!opened.ok) return refuse(res, 'verify', opened, resendOffer(req, res));
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature) return noLongerHeld('verify', res);
    const { t } = translatorOf(res);
    const title = titleOf(res, signature);
    if (signature.verified) {
      return page(res, 200, 'verify', {
        heading: t('privacy:verify.alreadyHeading'),
        paragraphs: [t('privacy:verify.alreadyText', { title })],
        back: campaignLink(t, signature.slug),
      });
    }
    page(res, 200, 'verify', {
      heading: t('privacy:titles.verify'),
      paragraphs: [t('privacy:verify.askText', { title })],
      action: {
        url: `/verify/${tokenOf(req)}`,
        label: t('privacy:verify.button'),
        csrfToken: csrf.token(req, res),
      },
    });
  });

  router.post('/verify/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    if (!opened.ok) return refuse(res, 'verify', opened, resendOffer(req, res));
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature || (await verifySignature(ctx, Number(signature.id))) === 'gone')
      return noLongerHeld('verify', res);
    const { t } = translatorOf(res);
    page(res, 200, 'verify', {
      heading: t('privacy:verify.doneHeading'),
      paragraphs: [t('privacy:verify.doneText', { title: titleOf(res, signature) })],
      back: campaignLink(t, signature.slug),
    });
  });

  router.post('/verify/:token/resend', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'verify', tokenOf(req));
    // An expired link is the reason to ask for a new one; it is still ours, and names its signature.
    if (!opened.ok && opened.reason === 'invalid') return refuse(res, 'verify', opened);
    const id = signatureIdOf(opened.ok ? opened.subject : (opened as { subject: string }).subject);
    if (id !== null) await resendVerification(ctx, id);
    const { t } = translatorOf(res);
    page(res, 200, 'verify', {
      heading: t('petition:thanks.checkEmailHeading'),
      paragraphs: [t('privacy:verify.resentText')],
    });
  });

  // --- "This wasn't me" ---------------------------------------------------------------------

  router.get('/not-me/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'not-me', tokenOf(req));
    if (!opened.ok) return refuse(res, 'not-me', opened, expiredNotMe(translatorOf(res).t));
    const signature = await signatureFor(ctx, opened.subject);
    if (!signature) return noLongerHeld('not-me', res);
    const { t } = translatorOf(res);
    page(res, 200, 'not-me', {
      heading: t('privacy:notMe.heading'),
      paragraphs: [t('privacy:notMe.text', { title: titleOf(res, signature) })],
      action: {
        url: `/not-me/${tokenOf(req)}`,
        label: t('privacy:notMe.button'),
        csrfToken: csrf.token(req, res),
      },
    });
  });

  router.post('/not-me/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'not-me', tokenOf(req));
    if (!opened.ok) return refuse(res, 'not-me', opened, expiredNotMe(translatorOf(res).t));
    const id = signatureIdOf(opened.subject);
    const removed = id === null ? null : await removeSignature(ctx, id);
    if (removed === null) return noLongerHeld('not-me', res);
    const { t } = translatorOf(res);
    page(res, 200, 'not-me', {
      heading: t('privacy:notMe.doneHeading'),
      paragraphs: [t('privacy:notMe.doneText')],
    });
  });

  // --- Unsubscribe (the page; its button posts to the one-click address) -------------------------

  router.get('/u/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'unsubscribe', tokenOf(req));
    const target = opened.ok ? parseUnsubscribeSubject(opened.subject) : null;
    if (!opened.ok || !target)
      return refuse(res, 'unsubscribe', opened.ok ? { ok: false, reason: 'invalid' } : opened);
    const consents = await activeConsents(ctx, target.email, target.campaignId);
    const { t } = translatorOf(res);
    if (consents.length === 0) {
      return page(res, 200, 'unsubscribe', {
        heading: t('privacy:unsubscribe.noneHeading'),
        paragraphs: [t('privacy:unsubscribe.noneText')],
      });
    }
    page(res, 200, 'unsubscribe', {
      heading: t('privacy:titles.unsubscribe'),
      paragraphs: [t('privacy:unsubscribe.agreed')],
      items: consents.map((consent) =>
        t('privacy:unsubscribe.item', {
          from:
            consent.scope === 'campaign'
              ? consent.campaign
              : (consent.partner ?? t('privacy:unsubscribe.formerPartner')),
          wording: consent.wording,
        }),
      ),
      action: { url: `/u/${tokenOf(req)}`, label: t('privacy:unsubscribe.button') },
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
    onLimited: (req, res, retryAfter) => {
      const { t } = translatorOf(res);
      // The address typed comes back with the message, to send again after the wait.
      const given = (req.body as Record<string, unknown> | undefined)?.email;
      requestPage(
        req,
        res,
        {
          email: typeof given === 'string' ? given.slice(0, 254) : '',
          errors: { form: t('common:rateLimited.wait', { count: retryAfter }) },
        },
        429,
      );
    },
  });

  const requestPage = (
    req: Request,
    res: Response,
    values: Record<string, unknown>,
    status = 200,
  ) => {
    const { t } = translatorOf(res);
    const errors = (values.errors ?? {}) as Record<string, string>;
    return res.status(status).render('my-data-request', {
      title: t('privacy:titles.myData'),
      pageTitlePrefix:
        Object.keys(errors).length > 0
          ? t('common:errorTitlePrefix')
          : values.confirm
            ? t('common:confirmTitlePrefix')
            : undefined,
      errorList: Object.entries(errors).map(([field, message]) => ({
        field,
        message,
        anchor: field === 'form' ? undefined : `field-${field}`,
      })),
      csrfToken: csrf.token(req, res),
      ipHashDays: ctx.config.ipHashRetentionDays,
      retentionDays: ctx.config.retentionDaysAfterClose,
      ...values,
    });
  };

  router.get('/privacy/my-data', (req, res) => requestPage(req, res, {}));

  router.post('/privacy/my-data', limited, async (req, res) => {
    const { t, language } = translatorOf(res);
    const given = (req.body as Record<string, unknown> | undefined)?.email;
    const typed = typeof given === 'string' ? given.slice(0, 254) : '';
    // The form's CSRF check failed (its cookie gone, a page open for days): nothing is sent until its sender confirms.
    if (csrfFailed(res)) return requestPage(req, res, { email: typed, confirm: true }, 403);
    const parsed = dataRequestInput.safeParse(req.body ?? {});
    if (!parsed.success)
      return requestPage(req, res, { email: typed, errors: fieldErrors(parsed.error, t) }, 400);
    try {
      await requestDataLink(ctx, parsed.data.email, language);
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not queue a data link');
      return requestPage(
        req,
        res,
        { email: typed, errors: { form: t('privacy:dataRequest.unavailable') } },
        503,
      );
    }
    requestPage(req, res, { sent: true, email: parsed.data.email });
  });

  const expiredDataLink = (t: Translate): Partial<Page> => ({
    paragraphs: [t('privacy:dataLink.expired')],
    back: { href: '/privacy/my-data', label: t('privacy:dataLink.askAgain') },
  });

  router.get('/privacy/my-data/:token', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink(translatorOf(res).t));
    const data = await personalData(ctx, opened.subject);
    const tr = translatorOf(res);
    const day = (iso: string | null) => (iso ? tr.date(iso) : '');
    res.render('my-data', {
      title: tr.t('privacy:titles.myData'),
      email: data.email,
      token: tokenOf(req),
      empty: data.signatures.length === 0 && data.letters.length === 0,
      signatures: data.signatures.map((signature) => ({
        ...signature,
        signedOn: day(signature.signedAt),
      })),
      letters: data.letters.map((action) => ({ ...action, writtenOn: day(action.writtenAt) })),
    });
  });

  router.get('/privacy/my-data/:token/download', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink(translatorOf(res).t));
    const data = await personalData(ctx, opened.subject);
    res.setHeader('Content-Disposition', 'attachment; filename="my-data.json"');
    res.type('application/json').send(JSON.stringify(data, null, 2));
  });

  /** Deleting is asked twice: this page says what goes, and the box must be ticked before anything is deleted. */
  const deletePage = (req: Request, res: Response, status = 200, error?: string) => {
    const { t } = translatorOf(res);
    res.status(status).render('my-data-delete', {
      title: t('privacy:delete.title'),
      pageTitlePrefix: error ? t('common:errorTitlePrefix') : undefined,
      token: tokenOf(req),
      csrfToken: csrf.token(req, res),
      errors: error ? { confirm: error } : {},
      errorList: error ? [{ field: 'confirm', message: error, anchor: 'field-confirm' }] : [],
    });
  };

  router.get('/privacy/my-data/:token/delete', privateLinkHeaders, (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink(translatorOf(res).t));
    deletePage(req, res);
  });

  router.post('/privacy/my-data/:token/delete', privateLinkHeaders, async (req, res) => {
    const opened = openLink(ctx.config.secret, 'my-data', tokenOf(req));
    if (!opened.ok) return refuse(res, 'my-data', opened, expiredDataLink(translatorOf(res).t));
    const { t } = translatorOf(res);
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes')
      return deletePage(req, res, 400, t('privacy:delete.confirmRequired'));
    const erased = await erasePerson(
      { ...ctx, districtsOf: (zip) => ctx.representatives.districtsOfZip(zip) },
      opened.subject,
    );
    ctx.logger.info(
      { signatures: erased.signatures, letterActions: erased.letterActions },
      "personal data erased at its owner's request",
    );
    page(res, 200, 'my-data', {
      heading: t('privacy:delete.doneHeading'),
      paragraphs: [t('privacy:delete.doneText'), t('privacy:delete.doneMail')],
    });
  });

  return router;
}

/** GET /api/v1/campaigns/:slug/consent?source=<code>: the consent wording a partner's form must show, recorded with each consent. */
export function consentApi(ctx: AppContext): Router {
  const router = Router();
  router.get('/campaigns/:slug/consent', async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return noCampaign(res);
    const partner = await ctx.partnerSources.bySource(
      campaign.id,
      sourceFromQuery(req.query.source),
    );
    // In the asker's language (`?lng=`, else Accept-Language): the embed shows these words, and the signature records them.
    const choices = consentChoices(partner, translatorOf(res).t);
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json({
      optIn: choices.campaign,
      partnerOptIn:
        choices.partner && partner
          ? { partner: partner.name, source: partner.sourceCode, wording: choices.partner.wording }
          : null,
    });
  });
  return router;
}
