import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { ipRateLimit } from '../http/rate-limit';
import type { DistrictSet, Official } from './districts';
import { chosenGeoids, districtChoices, officeDescription, placeLabel } from './labels';
import { lookupQuerySchema, lookupRepresentatives, queryErrors, type LookupOutcome, type LookupQuery } from './lookup';

export function lookupRateLimit(ctx: AppContext, onLimited: (req: Request, res: Response, retryAfter: number) => void) {
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
async function lookUp(ctx: AppContext, raw: Record<string, unknown>, campaign: Campaign | undefined): Promise<LookupOutcome> {
  const fields = Object.fromEntries(
    ['zip', 'address', 'city', 'lat', 'lng', 'cd', 'sldu', 'sldl'].flatMap((name) => {
      const value = raw[name];
      return typeof value === 'string' && value.trim() !== '' ? [[name, value]] : [];
    }),
  );
  const parsed = lookupQuerySchema.safeParse(fields);
  if (!parsed.success) return { ok: false, status: 400, errors: queryErrors(parsed.error) };
  const query: LookupQuery = parsed.data;
  return lookupRepresentatives(
    {
      data: ctx.representatives.current,
      geocoder: ctx.geocoder,
      // The reason only: the request the error came from carries the address.
      onGeocoderError: (error) => ctx.logger.warn({ reason: error.message }, 'geocoder unavailable; looking up by ZIP'),
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
    res.status(429).json({ error: 'rate_limited', message: `Too many lookups from your network. Try again in ${retryAfter} seconds.` });
  });

  const answer = async (res: Response, input: Record<string, unknown>) => {
    res.setHeader('Cache-Control', 'no-store');
    const slug = typeof input.campaign === 'string' ? input.campaign : undefined;
    const campaign = slug ? await ctx.campaigns.bySlug(slug) : undefined;
    if (slug && !campaign) {
      res.status(404).json({ error: 'not_found', message: 'No campaign with this name.' });
      return;
    }
    const outcome = await lookUp(ctx, input, campaign);
    if (outcome.ok) res.json(outcome.result);
    else if (outcome.status === 400) res.status(400).json({ errors: outcome.errors });
    else res.status(outcome.status).json({ error: outcome.error, message: outcome.message });
  };

  router.get('/representatives', limited, (req, res) => answer(res, req.query as Record<string, unknown>));
  router.post('/representatives', limited, async (req, res) => {
    const body = req.body as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      res.status(400).json({ errors: { body: 'Send a JSON object, e.g. {"address": "…"}.' } });
      return;
    }
    // Numbers are welcome in JSON; the query schema reads text, as from a URL.
    const input = Object.fromEntries(Object.entries(body).map(([key, value]) => [key, typeof value === 'number' ? String(value) : value]));
    await answer(res, input);
  });
  return router;
}

/** The campaign's "Find your representatives" page. The form posts, so addresses stay out of URLs and history. */
export function representativesPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const limited = lookupRateLimit(ctx, (_req, res, retryAfter) => {
    res.status(429).render('error', { title: 'Too many lookups from your network', message: `Please wait ${retryAfter} seconds and try again.` });
  });

  const render = (req: Request, res: Response, campaign: Campaign, view: Record<string, unknown>, status = 200) => {
    const data = ctx.representatives.current;
    // The page may echo an address back: keep it out of caches.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).render('representatives', {
      geocoder: ctx.geocoder !== undefined,
      title: `Find your representatives — ${campaign.title}`,
      campaign,
      csrfToken: csrf.token(req, res),
      dataMissing: !data,
      dataAsOf: data?.dataAsOf,
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
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { address: body.address, zip: body.zip, city: body.city };
    const outcome = await lookUp(ctx, body, campaign);
    if (!outcome.ok) {
      const errors = outcome.status === 400 ? outcome.errors : { form: outcome.message };
      const errorList = Object.entries(errors).map(([field, message]) => ({ field, message }));
      render(req, res, campaign, { values, errors, errorList }, outcome.status);
      return;
    }
    const { result } = outcome;
    render(req, res, campaign, {
      values,
      result: {
        ...result,
        place: placeLabel(result.districts),
        groups: officialGroups(result.officials),
        choices: result.ambiguous ? districtChoices(result.candidates, chosenGeoids(result.districts)) : [],
      },
    });
  });

  return router;
}

function officialGroups(officials: Official[]) {
  const card = (official: Official) => ({
    ...official,
    role: officeDescription(official),
    phones: official.channels.filter((channel) => channel.type === 'phone'),
    emails: official.channels.filter((channel) => channel.type === 'email'),
    links: official.channels.filter((channel) => channel.type === 'contact-form' || channel.type === 'website'),
    addresses: official.channels.filter((channel) => channel.type === 'postal'),
  });
  const groups = [
    { heading: 'In Congress', offices: ['us-house', 'us-senate'] },
    { heading: 'In your state', offices: ['governor', 'state-upper', 'state-lower'] },
    { heading: 'Local officials', offices: ['custom'] },
  ];
  return groups
    .map((group) => ({ heading: group.heading, officials: officials.filter((official) => group.offices.includes(official.office)).map(card) }))
    .filter((group) => group.officials.length > 0);
}
