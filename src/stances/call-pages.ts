import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { CALL_OUTCOMES, type Campaign, type Channel } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { ipRateLimit } from '../http/rate-limit';
import { campaignTexts, campaignTitle } from '../campaigns/texts';
import type { Translator } from '../i18n/translations';
import { levelOf } from '../letters/templates';
import { writableTargets } from '../letters/write-letters';
import { protectForm } from '../abuse/controls';
import { formScreen, noteHoneypot } from '../abuse/screens';
import { honeypotFilled } from '../petitions/signature-input';
import {
  chosenGeoids,
  districtChoices,
  officeDescription,
  placeLabel,
  salutationTitle,
} from '../representatives/labels';
import {
  lookupQuerySchema,
  lookupRepresentatives,
  queryErrors,
  type LookupOutcome,
  type LookupResult,
} from '../representatives/lookup';
import { lookupRateLimit } from '../representatives/routes';
import { namedPerson, personKeyOf } from '../representatives/people';
import { loadProjectScripts, renderScript, scriptFor, type ProjectScripts } from './call-scripts';
import { stanceWords } from './stance-words';
import { publishedStances, recordCallReport, storedCallScripts } from './store';

/**
 * "Call your lawmakers" (`/campaigns/:slug/call`), as pages that work without JavaScript: the
 * same lookup as the letters (a ZIP code, or an address with a geocoder), then each office the
 * campaign targets with its phone numbers (`tel:` links), where it stands, and a script for its
 * level and stance; under each, one press reports how the call went. A report names the office
 * and the caller's districts, nothing of the caller. A report is checked against the same lookup,
 * posted again with it: an office the lookup does not offer is refused (400). Reports have the
 * letter form's abuse controls (abuse/screens.ts `formScreen`): the honeypot, the fill-time token
 * and, when it is on, the CAPTCHA on each report form. A link from the scorecard names one official
 * (`?official=<id>`): the page says so, and after the lookup puts that office first, or says it
 * does not represent the caller; calls still go only to the caller's own offices.
 */

const LOOKUP_FIELDS = ['zip', 'address', 'city', 'cd', 'sldu', 'sldl'] as const;

const reportInput = z.object({
  target: z.string().min(1).max(200),
  outcome: z.enum(CALL_OUTCOMES),
});

/** The digits (and a leading +) of a phone number as a `tel:` link takes them. */
const telHref = (number: string) => `tel:${number.replace(/[^\d+]/g, '')}`;

export function callRateLimit(
  ctx: AppContext,
  onLimited: (req: Request, res: Response, retryAfter: number) => void,
) {
  return ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:calls`,
    secret: ctx.config.secret,
    limit: ctx.config.signRateLimit.limit,
    windowSeconds: ctx.config.signRateLimit.windowSeconds,
    logger: ctx.logger,
    onLimited,
  });
}

export function callPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  let projectScripts: ProjectScripts | undefined;
  const tooMany = (_req: Request, res: Response, retryAfter: number) => {
    const { t } = translatorOf(res);
    res.setHeader('Cache-Control', 'no-store');
    res.status(429).render('error', {
      title: t('stances:call.tooMany'),
      message: t('common:rateLimited.wait', { count: retryAfter }),
    });
  };
  const lookupLimited = lookupRateLimit(ctx, tooMany);
  const reportLimited = callRateLimit(ctx, tooMany);
  const geocoder = ctx.geocoder !== undefined;

  const lookUp = async (
    campaign: Campaign,
    body: Record<string, unknown>,
    tr: Translator,
  ): Promise<LookupOutcome> => {
    const fields = Object.fromEntries(
      LOOKUP_FIELDS.flatMap((name) => {
        const value = body[name];
        return typeof value === 'string' && value.trim() !== '' ? [[name, value]] : [];
      }),
    );
    const parsed = lookupQuerySchema.safeParse(fields);
    if (!parsed.success) return { ok: false, status: 400, errors: queryErrors(parsed.error, tr.t) };
    return lookupRepresentatives(
      {
        data: ctx.representatives.current,
        geocoder: ctx.geocoder,
        onGeocoderError: (error) =>
          ctx.logger.warn({ reason: error.message }, 'geocoder unavailable; looking up by ZIP'),
        t: tr.t,
      },
      parsed.data,
      await ctx.representatives.customTargets(campaign.id),
    );
  };

  /** The official a link from the scorecard named (`official`, a publisher's id), if there is one. */
  const chosenOfficial = async (campaign: Campaign, value: unknown) => {
    const person = await namedPerson(ctx.db, campaign, value);
    return person ? { key: person.key, name: person.name } : undefined;
  };

  const render = (
    req: Request,
    res: Response,
    campaign: Campaign,
    view: Record<string, unknown>,
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const texts = campaignTexts(campaign, tr.language);
    const errors = (view.errors ?? {}) as Record<string, string>;
    const captchaAnchor = view.captchaAnchor as string | undefined;
    const errorList = Object.entries(errors).map(([field, message]) => ({
      field,
      message,
      anchor: ['zip', 'city', 'address'].includes(field)
        ? `field-${field}`
        : field === 'captcha' && captchaAnchor
          ? `field-captcha-${captchaAnchor}`
          : undefined,
    }));
    const result = view.result as { targets?: unknown[] } | undefined;
    // The page may echo an address back: keep it out of caches.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).render('call', {
      title: tr.t('stances:call.pageTitle', { title: texts.title }),
      pageTitlePrefix: errorList.length > 0 ? tr.t('common:errorTitlePrefix') : undefined,
      campaign,
      texts,
      geocoder,
      showAddress: geocoder,
      csrfToken: csrf.token(req, res),
      // As on the letter pages: the fill-time token, and the CAPTCHA (when it is on) on each report form.
      ...protectForm(
        ctx,
        res,
        'calls',
        (req.body as Record<string, unknown> | undefined)?.formToken,
        { captcha: (result?.targets?.length ?? 0) > 0 },
      ),
      dataMissing: !ctx.representatives.current,
      closed: campaign.status !== 'open',
      values: {},
      ...view,
      errors,
      errorList,
    });
  };

  /** Each office to call, with its numbers, stance, script and report form. */
  const cards = async (
    campaign: Campaign,
    result: LookupResult,
    tr: Translator,
    reported: { target: string; outcome: string } | undefined,
    city: string | undefined,
    captchaError: { target: string; message: string } | undefined,
    chosen: string | undefined,
  ) => {
    const [stances, stored] = await Promise.all([
      publishedStances(ctx.db, campaign.id),
      storedCallScripts(ctx.db, campaign.id),
    ]);
    projectScripts ??= loadProjectScripts();
    const scripts = projectScripts;
    const offered = writableTargets(campaign, result.officials);
    // The official a scorecard link named, first; the anchors follow the lookup's order.
    const first = offered.findIndex(({ official }) => personKeyOf(official) === chosen);
    const cardsOf = offered.map(({ key, official }, index) => {
      const person = personKeyOf(official);
      const stance = person ? stances.get(person) : undefined;
      const level = levelOf(official.office);
      const script = scriptFor(scripts, stored, level, stance?.stance, tr.language);
      return {
        key,
        anchor: `call-${index + 1}`,
        chosen: index === first,
        name: official.name ?? '',
        role: officeDescription(official, tr),
        stance: stanceWords(stance, tr),
        phones: phonesOf(official.channels),
        script: renderScript(script.body, {
          supporter: {
            name: '',
            city,
            state: result.districts.congressional?.state,
            zip: result.zip ?? '',
          },
          target: {
            title: salutationTitle(official, tr),
            name: official.name ?? '',
            office: officeDescription(official, tr),
            district: official.district ?? undefined,
          },
          campaign: { title: campaignTitle(campaign, tr.language) },
        }),
        reported:
          reported?.target === key
            ? tr.t('stances:call.reported', {
                name: official.name ?? '',
                outcome: tr.t(`stances:call.report.${reported.outcome}`),
              })
            : undefined,
        captchaError: captchaError?.target === key ? captchaError.message : undefined,
        outcomes: CALL_OUTCOMES.map((outcome) => ({
          value: outcome,
          label: tr.t(`stances:call.report.${outcome}`),
        })),
      };
    });
    return first > 0
      ? [cardsOf[first]!, ...cardsOf.filter((_, index) => index !== first)]
      : cardsOf;
  };

  const renderResult = async (
    req: Request,
    res: Response,
    campaign: Campaign,
    body: Record<string, unknown>,
    result: LookupResult,
    extra: {
      reported?: { target: string; outcome: string };
      confirm?: string;
      errors?: Record<string, string>;
      /** The CAPTCHA of this office's report form was missing or refused. */
      captchaOf?: string;
    } = {},
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const chosen = chosenGeoids(result.districts);
    const carried = Object.fromEntries(
      LOOKUP_FIELDS.flatMap((name) => {
        const value = body[name];
        return typeof value === 'string' && value.trim() !== '' ? [[name, value.trim()]] : [];
      }),
    );
    // The districts shown here travel with each report, so it is checked against the same offices.
    if (result.ambiguous) Object.assign(carried, chosen);
    const official = await chosenOfficial(campaign, body.official);
    if (official) carried.official = official.key;
    const city =
      typeof body.city === 'string' && body.city.trim()
        ? body.city.split(',')[0]!.trim()
        : undefined;
    const captcha = extra.errors?.captcha;
    const targets = await cards(
      campaign,
      result,
      tr,
      extra.reported,
      city,
      captcha && extra.captchaOf ? { target: extra.captchaOf, message: captcha } : undefined,
      official?.key,
    );
    render(
      req,
      res,
      campaign,
      {
        values: { address: body.address, zip: body.zip, city: body.city },
        errors: extra.errors ?? {},
        result: {
          place: placeLabel(result.districts, tr),
          zip: result.zip,
          ambiguous: result.ambiguous,
          choices: result.ambiguous ? districtChoices(result.candidates, chosen, tr) : [],
          targets,
          confirm: extra.confirm,
          // For a ZIP code that spans districts, only the districts shown are known not to be theirs.
          notRepresented:
            official && !targets.some((each) => each.chosen)
              ? tr.t(
                  result.ambiguous
                    ? 'stances:call.notRepresentedShown'
                    : 'stances:call.notRepresented',
                  { name: official.name },
                )
              : undefined,
        },
        official,
        hidden: Object.entries(carried).map(([name, value]) => ({ name, value })),
        captchaAnchor: targets.find((each) => each.captchaError)?.anchor,
      },
      status,
    );
  };

  router.get('/campaigns/:slug/call', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    render(req, res, campaign, { official: await chosenOfficial(campaign, req.query.official) });
  });

  router.post('/campaigns/:slug/call', lookupLimited, async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const tr = translatorOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (campaign.status !== 'open') return render(req, res, campaign, {}, 409);
    if (!ctx.representatives.current) return render(req, res, campaign, {}, 503);
    const outcome = await lookUp(campaign, body, tr);
    if (!outcome.ok) {
      const errors = outcome.status === 400 ? outcome.errors : { form: outcome.message };
      const values = { address: body.address, zip: body.zip, city: body.city };
      const official = await chosenOfficial(campaign, body.official);
      return render(req, res, campaign, { values, errors, official }, outcome.status);
    }
    await renderResult(req, res, campaign, body, outcome.result);
  });

  router.post('/campaigns/:slug/call/report', reportLimited, async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const tr = translatorOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (campaign.status !== 'open') return render(req, res, campaign, {}, 409);
    if (!ctx.representatives.current) return render(req, res, campaign, {}, 503);
    const outcome = await lookUp(campaign, body, tr);
    if (!outcome.ok) {
      const errors = outcome.status === 400 ? outcome.errors : { form: outcome.message };
      return render(req, res, campaign, { errors }, outcome.status);
    }
    const result = outcome.result;
    const parsed = reportInput.safeParse(body);
    const offered = writableTargets(campaign, result.officials);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0] === 'outcome' ? 'outcome' : 'target';
      const message =
        field === 'outcome'
          ? tr.t('stances:call.outcomeInvalid')
          : tr.t('stances:call.unknownTarget');
      return renderResult(req, res, campaign, body, result, { errors: { [field]: message } }, 400);
    }
    const target = offered.find((each) => each.key === parsed.data.target);
    if (!target)
      return renderResult(
        req,
        res,
        campaign,
        body,
        result,
        { errors: { target: tr.t('stances:call.unknownTarget') } },
        400,
      );
    const reported = { target: target.key, outcome: parsed.data.outcome };
    // A bot's report (the hidden field filled in) is answered like any other, noted for the abuse
    // report, and not counted.
    noteHoneypot(ctx, campaign, 'calls-form', body);
    if (honeypotFilled(body)) return renderResult(req, res, campaign, body, result, { reported });
    const screened = await formScreen(ctx, campaign, 'calls-form', body, req.ip, tr.t);
    // Sent faster than a person reads a script: counted once its sender presses again.
    if (screened.outcome === 'confirm')
      return renderResult(req, res, campaign, body, result, {
        confirm: tr.t('stances:call.confirm'),
      });
    if (screened.outcome === 'invalid')
      return renderResult(
        req,
        res,
        campaign,
        body,
        result,
        { errors: screened.errors, captchaOf: target.key },
        400,
      );
    const { official } = target;
    await recordCallReport(ctx.db, {
      campaignId: campaign.id,
      targetKey: target.key,
      office: official.office,
      targetName: official.name ?? '',
      targetState: official.state || null,
      targetDistrict: official.district,
      outcome: parsed.data.outcome,
      congressionalDistrict: result.districts.congressional?.geoid ?? null,
      stateUpperDistrict: result.districts.stateUpper?.geoid ?? null,
      stateLowerDistrict: result.districts.stateLower?.geoid ?? null,
    });
    await renderResult(req, res, campaign, body, result, { reported });
  });

  return router;
}

function phonesOf(channels: Channel[]) {
  return channels.flatMap((channel) =>
    channel.type === 'phone'
      ? [{ number: channel.number, label: channel.label, href: telHref(channel.number) }]
      : [],
  );
}
