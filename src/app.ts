import cookieParser from 'cookie-parser';
import cors from 'cors';
import express, { type Express } from 'express';
import { engine } from 'express-handlebars';
import { pinoHttp } from 'pino-http';
import { campaignPages } from './campaigns/routes';
import { letterPages } from './letters/pages';
import { lettersApi, letterStatusPage } from './letters/routes';
import { representativesApi, representativesPages } from './representatives/routes';
import type { AppContext } from './context';
import { createCsrf } from './http/csrf';
import { accessLogLevel, errorHandler, notFound } from './http/errors';
import { healthRoutes } from './http/health';
import { formLanguage, languages, setTranslator } from './http/i18n';
import { english } from './i18n/translations';
import { securityHeaders } from './http/security';
import { viewHelpers } from './http/view-helpers';
import { serializeError } from './logger';
import { publicDir, viewsDir } from './paths';
import { osdiApi } from './osdi/routes';
import { signingApi, signingForm } from './petitions/routes';
import { consentApi, oneClickUnsubscribe, supporterPages } from './privacy/routes';
import { staffConsole } from './staff/routes';

export interface AppOptions {
  /** Extra routes mounted behind the same middleware as the JSON API (the benchmark's baseline). */
  extendApi?: (router: express.Router) => void;
}

/** Builds the Express app from its dependencies; tests and `main` both call this. */
/** The path without its query, and without capability tokens (a supporter's private links). */
const loggedPath = (url: string) =>
  (url.split('?')[0] ?? '')
    .replace(/\/letters\/[^/]+/, '/letters/:token')
    .replace(/\/staff\/invitations\/[^/]+/, '/staff/invitations/:token')
    .replace(/\/staff\/setup\/[^/]+/, '/staff/setup/:token')
    .replace(/^\/(verify|not-me|u)\/[^/]+/, '/$1/:token')
    .replace(/^\/privacy\/my-data\/[^/]+/, '/privacy/my-data/:token');

/** The forms whose routes handle a failed CSRF check themselves (see `csrfFailed`). */
const CONFIRMABLE_FORMS = /^\/(campaigns\/[^/]+\/(sign|letters|representatives)|privacy\/my-data)$/;

export function buildApp(ctx: AppContext, options: AppOptions = {}): Express {
  const { config } = ctx;
  const https = config.publicUrl.startsWith('https:');
  const app = express();

  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.locals.siteName = 'Ban Face Surveillance';
  // The footer's promise that nothing comes from other servers holds only without a CAPTCHA provider.
  const captcha = config.abuse.captcha?.provider;
  app.locals.captchaProvider =
    captcha === undefined
      ? undefined
      : captcha === 'hcaptcha'
        ? 'hCaptcha'
        : 'Cloudflare Turnstile';
  // express-handlebars both calls back and returns a promise of the same result; Express uses the callback.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  app.engine('hbs', engine({ extname: '.hbs', defaultLayout: 'main', helpers: viewHelpers }));
  app.set('view engine', 'hbs');
  app.set('views', viewsDir);
  if (config.env !== 'development') app.enable('view cache');

  app.use(securityHeaders({ https }));
  app.use(
    pinoHttp({
      logger: ctx.logger,
      // req.log carries only the request id; the completion line has method, path and status.
      quietReqLogger: true,
      // Paths only: query strings and bodies may carry personal data.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: loggedPath(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
      autoLogging: {
        ignore: (req) =>
          req.url === '/healthz' ||
          req.url === '/readyz' ||
          req.url?.startsWith('/static/') === true,
      },
      // An outage's 503s are counted by `ctx.outages`, one line per interval, not one each.
      customLogLevel: (_req, res, error) =>
        accessLogLevel(
          res as unknown as { statusCode: number; locals?: Record<string, unknown> },
          error,
        ),
    }),
  );
  // Partner sites load the embed script from their own pages.
  app.get('/static/js/embed.js', (_req, res, next) => {
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    next();
  });
  app.use(
    '/static',
    express.static(publicDir, { index: false, maxAge: config.env === 'production' ? '1d' : 0 }),
  );
  app.use(healthRoutes(ctx));
  // Everything below answers in the asker's language (see http/i18n.ts).
  app.use(languages({ https }));

  const api = express.Router();
  api.use(
    cors({
      origin: (origin, allow) =>
        allow(null, origin !== undefined && ctx.partnerOrigins.allows(origin)),
      methods: ['GET', 'POST'],
      credentials: false,
      maxAge: 600,
    }),
  );
  api.use(express.json({ limit: '16kb', strict: false }));
  options.extendApi?.(api);
  api.use(signingApi(ctx));
  api.use(representativesApi(ctx));
  api.use(lettersApi(ctx));
  api.use(consentApi(ctx));
  app.use('/api/v1', api);
  // The OSDI API for partners' systems: tokens, no cookies, no CORS (src/osdi).
  app.use('/api/osdi/v1', osdiApi(ctx));

  // The staff console is in English; campaigns' texts for supporters are given in each language there.
  app.use('/staff', (_req, res, next) => {
    setTranslator(res, english());
    res.locals.languageLinks = [];
    next();
  });
  app.use(staffConsole(ctx));

  // One-click unsubscribe (RFC 8058): mail providers post without cookies; the link's token is the authority.
  app.use(oneClickUnsubscribe(ctx));

  const csrf = createCsrf({ secret: config.secret, https });
  const pages = express.Router();
  pages.use(cookieParser());
  pages.use(express.urlencoded({ extended: false, limit: '16kb' }));
  pages.use(formLanguage);
  // A form whose CSRF check fails is never a dead end: these forms come back with what was typed,
  // for their sender to confirm (lookups, which change nothing, are answered); any other is
  // offered again, its fields kept, by `resubmitPage`.
  pages.use(csrf.protectOrConfirm((req) => CONFIRMABLE_FORMS.test(req.path)));
  pages.use(campaignPages(ctx, csrf));
  pages.use(signingForm(ctx, csrf));
  pages.use(representativesPages(ctx, csrf));
  pages.use(letterPages(ctx, csrf));
  pages.use(letterStatusPage(ctx, csrf));
  pages.use(supporterPages(ctx, csrf));
  pages.use(csrf.resubmitPage());
  app.use(pages);

  app.use(notFound());
  app.use(errorHandler(ctx));
  return app;
}
