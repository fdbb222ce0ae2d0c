import express, {
  Router,
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import { ipRateLimit } from '../http/rate-limit';
import { countLetterActions } from '../letters/letter-store';
import { publicSignatureCount } from '../petitions/stats';
import { parseFilter, type ParsedFilter } from './filter';
import { pageOfOutreaches, pageOfSignatures, type Audience } from './records';
import { recordSignature, type OsdiFieldError } from './record-signature';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  OSDI_VERSION,
  advocacyCampaignResource,
  curies,
  osdiBase,
  outreachResource,
  petitionResource,
  signatureResource,
} from './resources';
import { findTokenHolder, type TokenHolder } from './tokens';

/**
 * The OSDI 1.1.1 API at /api/osdi/v1 (HAL+JSON), as Action Network speaks it: the entry point,
 * petitions with their signatures and the record signature helper, advocacy campaigns with their
 * outreaches. Every request needs an `OSDI-API-Token` (tokens.ts): none or an unknown or revoked
 * one is a 401, one outside its scope (another campaign, a scope it lacks) a 403. Errors are OSDI
 * error objects. Server to server only: no CORS, no cookies (a token must not live in a browser).
 * See docs/API.md.
 */

const HAL = 'application/hal+json; charset=utf-8';

function hal(res: Response, status: number, body: unknown): void {
  res.status(status).type(HAL).setHeader('Cache-Control', 'no-store');
  res.send(JSON.stringify(body));
}

/** An OSDI error object: one resource status with one description per problem. */
export function osdiError(
  res: Response,
  status: number,
  code: string,
  errors: Array<{ description: string; properties?: string[] }>,
  resource = 'osdi:signature',
): void {
  hal(res, status, {
    'osdi:error': {
      request_type: 'atomic',
      response_code: status,
      resource_status: [
        {
          resource,
          response_code: status,
          error_descriptions: errors.map((error) => ({
            error_code: code,
            description: error.description,
            ...(error.properties ? { properties: error.properties } : {}),
          })),
        },
      ],
    },
  });
}

const holderOf = (res: Response) => res.locals.osdiHolder as TokenHolder;

const pageQuery = z.object({
  page: z.coerce
    .number({ error: 'page must be a whole number from 1' })
    .int('page must be a whole number from 1')
    .min(1, 'page must be a whole number from 1')
    .max(1_000_000, 'page must be at most 1000000')
    .default(1),
  per_page: z.coerce
    .number({ error: `per_page must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
    .int(`per_page must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .min(1, `per_page must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .max(MAX_PAGE_SIZE, `per_page must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
});

/** The paging and filter of a collection request, or a 400 already sent. */
function collectionQuery(req: Request, res: Response, resource: string, filtered: boolean) {
  const single = (value: unknown) =>
    Array.isArray(value) ? '\u0000' : value === '' ? undefined : value;
  const paging = pageQuery.safeParse({
    page: single(req.query.page),
    per_page: single(req.query.per_page),
  });
  if (!paging.success) {
    osdiError(
      res,
      400,
      'INVALID_PAGING',
      paging.error.issues.map((issue) => ({
        description: issue.message,
        properties: [String(issue.path[0])],
      })),
      resource,
    );
    return undefined;
  }
  const filter: ParsedFilter = filtered
    ? parseFilter(single(req.query.filter))
    : req.query.filter === undefined
      ? { ok: true, conditions: [] }
      : { ok: false, message: 'This collection takes no filter.' };
  if (!filter.ok) {
    osdiError(
      res,
      400,
      'INVALID_FILTER',
      [{ description: filter.message, properties: ['filter'] }],
      resource,
    );
    return undefined;
  }
  return {
    ...paging.data,
    conditions: filter.conditions,
    filter: filtered && typeof req.query.filter === 'string' ? req.query.filter : undefined,
  };
}

/** A collection's HAL page: counts, navigation links (keeping the filter), the items embedded and linked. */
function collection(
  self: string,
  rel: string,
  query: { page: number; per_page: number; filter?: string },
  total: number,
  items: Array<{ _links?: object }>,
) {
  const totalPages = Math.ceil(total / query.per_page);
  const itemLinks = items.flatMap((item) => {
    const self = (item._links as { self?: { href: string } } | undefined)?.self;
    return self ? [{ href: self.href }] : [];
  });
  const link = (page: number) => {
    const params = new URLSearchParams({
      page: String(page),
      per_page: String(query.per_page),
      ...(query.filter ? { filter: query.filter } : {}),
    });
    return { href: `${self}?${params.toString()}` };
  };
  return {
    total_pages: totalPages,
    per_page: query.per_page,
    page: query.page,
    total_records: total,
    _links: {
      curies,
      self: link(query.page),
      ...(query.page < totalPages ? { next: link(query.page + 1) } : {}),
      ...(query.page > 1
        ? { previous: link(Math.min(query.page - 1, Math.max(totalPages, 1))) }
        : {}),
      // Links to the items that have an address of their own (signatures and outreaches have none).
      ...(itemLinks.length > 0 ? { [rel]: itemLinks } : {}),
    },
    _embedded: { [rel]: items },
  };
}

export function osdiApi(ctx: AppContext): Router {
  const router = Router();
  const base = osdiBase(ctx.config.publicUrl);

  // As small as the public JSON API's: a signature with its person is well under 4 KB.
  router.use(
    express.json({
      limit: '16kb',
      type: ['application/json', 'application/hal+json', 'application/*+json'],
    }),
  );

  // The token: looked up on every request, so a revoked one is refused from the next request on.
  router.use(async (req, res, next) => {
    const header = req.get('OSDI-API-Token');
    if (!header)
      return osdiError(
        res,
        401,
        'UNAUTHORIZED',
        [{ description: 'Send your API token in the OSDI-API-Token header.' }],
        'osdi:aep',
      );
    const holder = await findTokenHolder(ctx.db, header.trim());
    if (!holder)
      return osdiError(
        res,
        401,
        'UNAUTHORIZED',
        [{ description: 'This API token is not valid, or has been revoked.' }],
        'osdi:aep',
      );
    res.locals.osdiHolder = holder;
    ctx.apiTokenUsage.record(holder.id, 'request');
    next();
  });

  router.use(
    ipRateLimit({
      redis: ctx.redis,
      prefix: `${ctx.config.redisKeyPrefix}:rl:osdi`,
      secret: ctx.config.secret,
      limit: ctx.config.osdiRateLimit,
      windowSeconds: 60,
      logger: ctx.logger,
      keyOf: (_req, res) => `token-${holderOf(res).id}`,
      onLimited: (_req, res, retryAfter) =>
        osdiError(
          res,
          429,
          'RATE_LIMITED',
          [
            {
              description: `This token has made too many requests. Try again in ${retryAfter} seconds.`,
            },
          ],
          'osdi:aep',
        ),
    }),
  );

  /** The campaign named in the path, if the token may reach it with `scope`; otherwise the answer is sent. */
  const campaignFor = async (
    req: Request,
    res: Response,
    scope: 'read' | 'sign',
    resource: string,
  ): Promise<Campaign | undefined> => {
    const holder = holderOf(res);
    const campaign = await ctx.campaigns.bySlug(String(req.params.id));
    if (!campaign) {
      osdiError(res, 404, 'NOT_FOUND', [{ description: 'There is no such campaign.' }], resource);
      return undefined;
    }
    if (holder.campaignId !== null && holder.campaignId !== campaign.id) {
      osdiError(
        res,
        403,
        'OUT_OF_SCOPE',
        [{ description: 'This token is for another campaign.' }],
        resource,
      );
      return undefined;
    }
    if (!holder.scopes.includes(scope)) {
      osdiError(
        res,
        403,
        'OUT_OF_SCOPE',
        [{ description: `This token does not have the ${scope} scope.` }],
        resource,
      );
      return undefined;
    }
    return campaign;
  };

  const requireRead = (resource: string) => (_req: Request, res: Response, next: NextFunction) =>
    holderOf(res).scopes.includes('read')
      ? next()
      : osdiError(
          res,
          403,
          'OUT_OF_SCOPE',
          [{ description: 'This token does not have the read scope.' }],
          resource,
        );

  /** The campaigns a token sees: its own, or every one. */
  const visibleCampaigns = async (holder: TokenHolder) =>
    (await ctx.campaigns.list()).filter(
      (campaign) => holder.campaignId === null || campaign.id === holder.campaignId,
    );

  const audienceOf = (campaign: Campaign, holder: TokenHolder): Audience => ({
    campaign,
    partnerId: holder.partner?.id ?? null,
  });

  router.get('/', (_req, res) => {
    const holder = holderOf(res);
    hal(res, 200, {
      motd: 'The Ban Face Surveillance coalition platform: petitions, signatures, letter campaigns and their outreaches.',
      vendor_name: 'Ban Face Surveillance coalition',
      product_name: 'Ban Face Surveillance petition and letter platform',
      osdi_version: OSDI_VERSION,
      // OSDI's table spells it `max_pagesize`; clients written against Action Network read `max_page_size`.
      max_page_size: MAX_PAGE_SIZE,
      max_pagesize: MAX_PAGE_SIZE,
      namespace: 'ban_face_surveillance',
      _links: {
        curies,
        self: { href: `${base}/`, title: 'This API entry point' },
        ...(holder.scopes.includes('read')
          ? {
              'osdi:petitions': {
                href: `${base}/petitions`,
                title: 'The petitions this token may read',
              },
              'osdi:advocacy_campaigns': {
                href: `${base}/advocacy_campaigns`,
                title: 'The letter campaigns this token may read',
              },
            }
          : {}),
      },
    });
  });

  router.get('/petitions', requireRead('osdi:petition'), async (req, res) => {
    const query = collectionQuery(req, res, 'osdi:petition', false);
    if (!query) return;
    const campaigns = await visibleCampaigns(holderOf(res));
    const page = campaigns.slice((query.page - 1) * query.per_page, query.page * query.per_page);
    const items = await Promise.all(
      page.map(async (campaign) =>
        petitionResource(
          base,
          ctx.config.publicUrl,
          campaign,
          publicSignatureCount(campaign, await ctx.stats.get(campaign.id)),
        ),
      ),
    );
    hal(
      res,
      200,
      collection(`${base}/petitions`, 'osdi:petitions', query, campaigns.length, items),
    );
  });

  router.get('/petitions/:id', async (req, res) => {
    const campaign = await campaignFor(req, res, 'read', 'osdi:petition');
    if (!campaign) return;
    const resource = petitionResource(
      base,
      ctx.config.publicUrl,
      campaign,
      publicSignatureCount(campaign, await ctx.stats.get(campaign.id)),
    );
    hal(res, 200, { ...resource, _links: { curies, ...resource._links } });
  });

  router.get('/petitions/:id/signatures', async (req, res) => {
    const campaign = await campaignFor(req, res, 'read', 'osdi:signature');
    if (!campaign) return;
    const query = collectionQuery(req, res, 'osdi:signature', true);
    if (!query) return;
    const { total, signatures } = await pageOfSignatures(ctx, audienceOf(campaign, holderOf(res)), {
      offset: (query.page - 1) * query.per_page,
      limit: query.per_page,
      conditions: query.conditions,
    });
    hal(
      res,
      200,
      collection(
        `${base}/petitions/${campaign.slug}/signatures`,
        'osdi:signatures',
        query,
        total,
        signatures.map((signature) => signatureResource(base, signature)),
      ),
    );
  });

  const record = async (req: Request, res: Response) => {
    const campaign = await campaignFor(req, res, 'sign', 'osdi:signature');
    if (!campaign) return;
    const holder = holderOf(res);
    const result = await recordSignature(ctx, campaign, req.body, holder, ctx.config.publicUrl);
    if (result.outcome === 'closed')
      return osdiError(res, 409, 'PETITION_CLOSED', [{ description: 'This petition is closed.' }]);
    if (result.outcome === 'invalid')
      return osdiError(
        res,
        400,
        'INVALID_FIELD',
        result.errors.map((error: OsdiFieldError) => ({
          description: error.message,
          properties: [error.property],
        })),
      );
    ctx.apiTokenUsage.record(holder.id, 'signature');
    hal(res, 200, result.body);
  };
  router.post('/petitions/:id/signatures', record);
  router.post('/petitions/:id/record_signature_helper', record);

  router.get('/advocacy_campaigns', requireRead('osdi:advocacy_campaign'), async (req, res) => {
    const query = collectionQuery(req, res, 'osdi:advocacy_campaign', false);
    if (!query) return;
    const campaigns = await visibleCampaigns(holderOf(res));
    const page = campaigns.slice((query.page - 1) * query.per_page, query.page * query.per_page);
    const items = await Promise.all(
      page.map(async (campaign) =>
        advocacyCampaignResource(
          base,
          ctx.config.publicUrl,
          campaign,
          await countLetterActions(ctx.db, campaign.id),
        ),
      ),
    );
    hal(
      res,
      200,
      collection(
        `${base}/advocacy_campaigns`,
        'osdi:advocacy_campaigns',
        query,
        campaigns.length,
        items,
      ),
    );
  });

  router.get('/advocacy_campaigns/:id', async (req, res) => {
    const campaign = await campaignFor(req, res, 'read', 'osdi:advocacy_campaign');
    if (!campaign) return;
    const resource = advocacyCampaignResource(
      base,
      ctx.config.publicUrl,
      campaign,
      await countLetterActions(ctx.db, campaign.id),
    );
    hal(res, 200, { ...resource, _links: { curies, ...resource._links } });
  });

  router.get('/advocacy_campaigns/:id/outreaches', async (req, res) => {
    const campaign = await campaignFor(req, res, 'read', 'osdi:outreach');
    if (!campaign) return;
    const query = collectionQuery(req, res, 'osdi:outreach', true);
    if (!query) return;
    const { total, outreaches } = await pageOfOutreaches(ctx, audienceOf(campaign, holderOf(res)), {
      offset: (query.page - 1) * query.per_page,
      limit: query.per_page,
      conditions: query.conditions,
    });
    hal(
      res,
      200,
      collection(
        `${base}/advocacy_campaigns/${campaign.slug}/outreaches`,
        'osdi:outreaches',
        query,
        total,
        outreaches.map((outreach) => outreachResource(base, outreach)),
      ),
    );
  });

  router.use((_req, res) =>
    osdiError(
      res,
      404,
      'NOT_FOUND',
      [
        {
          description:
            'There is nothing at this address. Start from the entry point, /api/osdi/v1/.',
        },
      ],
      'osdi:aep',
    ),
  );

  const bodyErrors: ErrorRequestHandler = (
    error: { type?: string; status?: number },
    _req,
    res,
    next,
  ) => {
    if (res.headersSent) return next(error);
    if (error.type === 'entity.parse.failed')
      return osdiError(res, 400, 'INVALID_JSON', [
        { description: 'The request body is not valid JSON.' },
      ]);
    if (error.type === 'entity.too.large')
      return osdiError(res, 413, 'TOO_LARGE', [
        { description: 'The request body is larger than 16 KB.' },
      ]);
    if (
      error.status === 415 ||
      error.type === 'charset.unsupported' ||
      error.type === 'encoding.unsupported'
    ) {
      return osdiError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', [
        { description: 'Send JSON (application/json or application/hal+json) in UTF-8.' },
      ]);
    }
    next(error);
  };
  router.use(bodyErrors);
  return router;
}
