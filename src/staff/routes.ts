import cookieParser from 'cookie-parser';
import express, { Router, type Request } from 'express';
import type { AppContext } from '../context';
import { createCsrf } from '../http/csrf';
import { staffReadTimeouts } from './bounded-pages';
import { abuseRoutes } from './abuse-routes';
import { accountRoutes } from './account-routes';
import { authRoutes } from './auth-routes';
import { campaignRoutes } from '../campaigns/staff-routes';
import { dashboardRoutes } from './dashboard-routes';
import { deliveryRoutes } from './delivery-routes';
import { dataRoutes } from './data-routes';
import { exportRoutes } from './export-routes';
import { partnerPortal } from '../partners/portal-routes';
import { integrationRoutes } from '../webhooks/console-routes';
import { staffSession } from './session';
import { stanceConsole } from '../stances/staff-routes';

/**
 * The staff routes that take a multipart form (a file upload), as `POST` paths under /staff. Each
 * must check the CSRF token itself once it has read the body (see `receiveCsv` in
 * ./csv-upload.ts). Matched on the path Express routes by: a path these do not match, in any
 * spelling, gets the ordinary check and is refused.
 */
const MULTIPART_ROUTES: readonly RegExp[] = [
  /^\/campaigns\/[a-z0-9-]+\/targets$/,
  /^\/campaigns\/[a-z0-9-]+\/stances\/import$/,
];

const readsMultipart = (req: Request) =>
  req.method === 'POST' && MULTIPART_ROUTES.some((route) => route.test(req.path));

/**
 * The staff console under /staff: its own session cookie (data in Redis), CSRF tokens bound to the
 * session, no caching of its pages, then each part's routes. Every route checks its permission.
 * Every query of the console goes through `staffDb` (on PostgreSQL, connections of its own whose
 * statements time out); a page stopped for taking too long answers 503 (./bounded-pages.ts).
 */
export function staffConsole(platform: AppContext): Router {
  const ctx: AppContext = { ...platform, db: platform.database.staffDb };
  const https = ctx.config.publicUrl.startsWith('https:');
  const csrf = createCsrf({
    secret: ctx.config.secret,
    https,
    cookie: 'staff-csrf',
    sessionOf: (req) => (req.session?.staffId !== undefined ? req.sessionID : ''),
  });
  const router = Router();
  router.use(
    '/staff',
    (_req, res, next) => {
      res.setHeader('Cache-Control', 'no-store');
      next();
    },
    cookieParser(),
    // Large enough for a letter template; CSV uploads are read by their own route.
    express.urlencoded({ extended: false, limit: '256kb' }),
    ...staffSession(ctx),
    // A multipart form carries its token in a body only its own route reads, so the check waits for
    // that route, which makes it once the body is read. Only the routes listed in MULTIPART_ROUTES
    // read such a body; a multipart request to any other route is checked here, where its token
    // cannot be found: 403.
    (req, res, next) =>
      req.is('multipart/form-data') && readsMultipart(req) ? next() : csrf.protect(req, res, next),
    (req, res, next) => {
      res.locals.csrfToken = csrf.token(req, res);
      next();
    },
  );
  router.use(authRoutes(ctx, csrf));
  // Before the campaigns list: a partner's account lands on its own page.
  router.use(partnerPortal(ctx, csrf));
  router.use(accountRoutes(ctx, csrf));
  router.use(campaignRoutes(ctx, csrf));
  router.use(dashboardRoutes(ctx));
  router.use(exportRoutes(ctx, csrf));
  router.use(deliveryRoutes(ctx));
  router.use(abuseRoutes(ctx));
  router.use(dataRoutes(ctx, csrf));
  router.use(integrationRoutes(ctx, csrf));
  router.use(stanceConsole(ctx, csrf));
  // After every route of the console, whatever is added above.
  return Router().use(router).use('/staff', staffReadTimeouts(ctx));
}
