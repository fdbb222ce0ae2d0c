import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { noCampaign } from '../petitions/routes';
import { campaignTexts } from '../campaigns/texts';
import type { Translator } from '../i18n/translations';
import { ipRateLimit } from '../http/rate-limit';
import type { Official } from './districts';
import { chosenGeoids, districtChoices, officeDescription, placeLabel } from './labels';
import {
  lookupQuerySchema,
  lookupRepresentatives,
  queryErrors,
  type LookupOutcome,
  type LookupQuery,
  type LookupResult,
} from './lookup';

export function lookupRateLimit(
  ctx: AppContext,
  onLimited: (req: Request, res: Response, retryAfter: number) => void,
) {
  return ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:lookup`,
    secret: ctx.config.secret,
    limit: ctx.config.lookupRateLimit,
    windowSeconds: 60,
    logger: ctx.logger,
    onLimited,
  });
}

/** Parses a query (from the URL or a form) and looks it up, with the campaign's own targets when one is given. */
async function lookUp(
  ctx: AppContext,
  raw: Record<string, unknown>,
  campaign: Campaign | undefined,
  tr: Translator,
): Promise<LookupOutcome> {
  const fields = Object.fromEntries(
    ['zip', 'address', 'city', 'lat', 'lng', 'cd', 'sldu', 'sldl'].flatMap((name) => {
      const value = raw[name];
      return typeof value === 'string' && value.trim() !== '' ? [[name, value]] : [];
    }),
  );
  const parsed = lookupQuerySchema.safeParse(fields);
  if (!parsed.success) return { ok: false, status: 400, errors: queryErrors(parsed.error, tr.t) };
  const query: LookupQuery = parsed.data;
  return lookupRepresentatives(
    {
      data: ctx.representatives.current,
      geocoder: ctx.geocoder,
      // The reason only: the request the error came from carries the address.
      onGeocoderError: (error) =>
        ctx.logger.warn({ reason: error.message }, 'geocoder unavailable; looking up by ZIP'),
      t: tr.t,
    },
    query,
    campaign ? await ctx.representatives.customTargets(campaign.id) : [],
  );
}

/**
 * `GET /api/v1/representatives?zip=…|lat=…&lng=…|address=…[&campaign=<slug>]`, and the same as a
 * JSON body to `POST`, which keeps an address out of URLs (and so out of proxies' logs and
 * browser history).
 */
export function representativesApi(ctx: AppContext): Router {
  const router = Router();
  const limited = lookupRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).json({
      error: 'rate_limited',
      message: translatorOf(res).t('representatives:tooMany', { count: retryAfter }),
    });
  });

  const answer = async (res: Response, input: Record<string, unknown>) => {
    res.setHeader('Cache-Control', 'no-store');
    const slug = typeof input.campaign === 'string' ? input.campaign : undefined;
    const campaign = slug ? await ctx.campaigns.bySlug(slug) : undefined;
    if (slug && !campaign) return void noCampaign(res);
    const outcome = await lookUp(ctx, input, campaign, translatorOf(res));
    if (outcome.ok) res.json(outcome.result);
    else if (outcome.status === 400) res.status(400).json({ errors: outcome.errors });
    else res.status(outcome.status).json({ error: outcome.error, message: outcome.message });
  };

  router.get('/representatives', limited, (req, res) =>
    answer(res, req.query as Record<string, unknown>),
  );
  router.post('/representatives', limited, async (req, res) => {
    const body = req.body as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      res.status(400).json({ errors: { body: translatorOf(res).t('representatives:jsonObject') } });
      return;
    }
    // Numbers are welcome in JSON; the query schema reads text, as from a URL.
    const input = Object.fromEntries(
      Object.entries(body).map(([key, value]) => [
        key,
        typeof value === 'number' ? String(value) : value,
      ]),
    );
    await answer(res, input);
  });
  return router;
}

/** The campaign's "Find your representatives" page. The form posts, so addresses stay out of URLs and history. */
export function representativesPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const limited = lookupRateLimit(ctx, (_req, res, retryAfter) => {
    const { t } = translatorOf(res);
    res.status(429).render('error', {
      title: t('representatives:tooManyTitle'),
      message: t('common:rateLimited.wait', { count: retryAfter }),
    });
  });

  const render = (
    req: Request,
    res: Response,
    campaign: Campaign,
    view: Record<string, unknown>,
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const texts = campaignTexts(campaign, tr.language);
    const data = ctx.representatives.current;
    const list = (view.errorList ?? []) as unknown[];
    // The page may echo an address back: keep it out of caches.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).render('representatives', {
      geocoder: ctx.geocoder !== undefined,
      // The address field: with a geocoder to place it, or when one was sent (its ZIP code places it), to show it with its error.
      showAddress:
        ctx.geocoder !== undefined ||
        (typeof (view.values as Record<string, unknown> | undefined)?.address === 'string' &&
          (view.values as Record<string, string>).address !== ''),
      title: tr.t('representatives:pageTitle', { title: texts.title }),
      pageTitlePrefix: list.length > 0 ? tr.t('common:errorTitlePrefix') : undefined,
      campaign,
      texts,
      csrfToken: csrf.token(req, res),
      dataMissing: !data,
      dataAsOf: data?.dataAsOf ? tr.date(data.dataAsOf) : undefined,
      values: {},
      errors: {},
      ...view,
    });
  };

  router.get('/campaigns/:slug/representatives', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    render(req, res, campaign, {});
  });

  router.post('/campaigns/:slug/representatives', limited, async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    // A lookup changes nothing: it is answered even when the form's CSRF cookie is gone (a restored tab).
    const tr = translatorOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { address: body.address, zip: body.zip, city: body.city };
    const outcome = await lookUp(ctx, body, campaign, tr);
    if (!outcome.ok) {
      const errors = outcome.status === 400 ? outcome.errors : { form: outcome.message };
      const errorList = Object.entries(errors).map(([field, message]) => ({
        field,
        message,
        anchor: lookupAnchor(field),
      }));
      render(req, res, campaign, { values, errors, errorList }, outcome.status);
      return;
    }
    const { result } = outcome;
    const chosen = chosenGeoids(result.districts);
    render(req, res, campaign, {
      values,
      result: {
        ...result,
        place: placeLabel(result.districts, tr),
        groups: officialGroups(result.officials, tr),
        noSenators: noSenatorsNote(result, tr),
        dataAge: tr.t('representatives:dataAge', {
          date: result.data.asOf ? tr.date(result.data.asOf) : tr.t('representatives:unknownDate'),
          context: result.precision === 'zip' ? 'zip' : undefined,
        }),
        choices: result.ambiguous ? districtChoices(result.candidates, chosen, tr) : [],
        // "Write to them" carries the districts shown here, so the letters go to the same people.
        chosen: result.ambiguous ? chosen : undefined,
      },
    });
  });

  return router;
}

/** Where an error's field is on the lookup form (the districts' radios, under the results, are not there then). */
function lookupAnchor(field: string): string | undefined {
  return field === 'zip' || field === 'city' || field === 'address' ? `field-${field}` : undefined;
}

/** States with no U.S. senators (DC and the territories): said in words, rather than an empty place where they would be. */
function noSenatorsNote(result: LookupResult, tr: Translator): string | undefined {
  const state = result.districts.congressional?.state;
  if (!state || !['DC', 'PR', 'GU', 'VI', 'AS', 'MP'].includes(state)) return undefined;
  if (result.officials.some((official) => official.office === 'us-senate')) return undefined;
  return tr.t(
    state === 'DC' ? 'representatives:noSenators.dc' : 'representatives:noSenators.territory',
    { state },
  );
}

function officialGroups(officials: Official[], tr: Translator) {
  const card = (official: Official) => ({
    ...official,
    role: officeDescription(official, tr),
    phones: official.channels.filter((channel) => channel.type === 'phone'),
    emails: official.channels.filter((channel) => channel.type === 'email'),
    links: official.channels.filter(
      (channel) => channel.type === 'contact-form' || channel.type === 'website',
    ),
    addresses: official.channels.filter((channel) => channel.type === 'postal'),
  });
  // The District of Columbia is no state: its mayor and council are "in the District".
  const dc = officials.some((official) => official.state === 'DC' && official.office !== 'custom');
  const groups = [
    { heading: tr.t('representatives:groups.congress'), offices: ['us-house', 'us-senate'] },
    {
      heading: tr.t(dc ? 'representatives:groups.district' : 'representatives:groups.state'),
      offices: ['governor', 'state-upper', 'state-lower'],
    },
    { heading: tr.t('representatives:groups.local'), offices: ['custom'] },
  ];
  return groups
    .map((group) => ({
      heading: group.heading,
      officials: officials.filter((official) => group.offices.includes(official.office)).map(card),
    }))
    .filter((group) => group.officials.length > 0);
}
