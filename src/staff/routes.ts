import cookieParser from 'cookie-parser';
import express, { Router } from 'express';
import type { AppContext } from '../context';
import { createCsrf } from '../http/csrf';
import { staffReadTimeouts } from './bounded-pages';
import { abuseRoutes } from './abuse-routes';
import { accountRoutes } from './account-routes';
import { authRoutes } from './auth-routes';
import { campaignRoutes } from './campaign-routes';
import { dashboardRoutes } from './dashboard-routes';
import { exportRoutes } from './export-routes';
import { staffSession } from './session';

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
    // A multipart form (a CSV upload) carries its token in the body its own route reads, and that
    // route checks it.
    (req, res, next) => (req.is('multipart/form-data') ? next() : csrf.protect(req, res, next)),
    (req, res, next) => {
      res.locals.csrfToken = csrf.token(req, res);
      next();
    },
  );
  router.use(authRoutes(ctx, csrf));
  router.use(accountRoutes(ctx, csrf));
  router.use(campaignRoutes(ctx, csrf));
  router.use(dashboardRoutes(ctx));
  router.use(exportRoutes(ctx, csrf));
  router.use(abuseRoutes(ctx));
  // After every route of the console, whatever is added above.
  return Router().use(router).use('/staff', staffReadTimeouts(ctx));
}
