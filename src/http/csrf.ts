import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import { translatorOf } from './i18n';

/**
 * CSRF protection for cookie-carrying forms: a signed double-submit token (cookie + hidden field).
 * Public pages have no session, so their token is bound to the platform secret alone; staff pages
 * bind it to the staff session too (`sessionOf`), under a cookie of their own. The cookie is
 * `__Host-` prefixed over HTTPS so no sibling domain can plant one.
 */
export function createCsrf(options: {
  secret: string;
  https: boolean;
  cookie?: string;
  sessionOf?: (req: Request) => string;
}) {
  const cookie = options.cookie ?? 'csrf';
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => options.secret,
    getSessionIdentifier: options.sessionOf ?? (() => ''),
    cookieName: options.https ? `__Host-${cookie}` : cookie,
    cookieOptions: { sameSite: 'lax', secure: options.https, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: (req: Request) =>
      (req.body as Record<string, unknown> | undefined)?._csrf as string,
  });
  return {
    protect: doubleCsrfProtection,
    token: (req: Request, res: Response) => generateCsrfToken(req, res),
    /**
     * The public pages' check. A form whose check fails (its cookie gone with a restored tab, a
     * page open for days) is never a dead end: on the forms `confirmable` names, the route is told
     * (`csrfFailed`), changes nothing, and shows the form again with its values for its sender to
     * confirm; any other form's answer is `resubmitPage`, which sends the same fields again at a press.
     */
    protectOrConfirm(confirmable: (req: Request) => boolean): RequestHandler {
      return (req, res, next) =>
        doubleCsrfProtection(req, res, (error?: unknown) => {
          // Only a form as a browser sends it (a multipart body is not read here, and so has nothing to show again).
          if (
            error &&
            (error as { code?: string }).code === 'EBADCSRFTOKEN' &&
            req.is('application/x-www-form-urlencoded') &&
            confirmable(req)
          ) {
            res.locals.csrfFailed = true;
            return next();
          }
          next(error as Error | undefined);
        });
    },
    /** After the routes: a failed check answered with the form's own fields, hidden, and one button to send them again. */
    resubmitPage(): ErrorRequestHandler {
      return (error: { code?: string }, req, res, next) => {
        if (error?.code !== 'EBADCSRFTOKEN' || req.method !== 'POST' || res.headersSent)
          return next(error);
        const { t } = translatorOf(res);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const fields = Object.entries(body).flatMap(([name, value]) =>
          name === '_csrf'
            ? []
            : (Array.isArray(value) ? value : [value])
                .filter((item) => typeof item === 'string')
                .map((item) => ({ name, value: item })),
        );
        res.setHeader('Cache-Control', 'no-store');
        res.status(403).render('confirm-again', {
          title: t('common:confirm.title'),
          pageTitlePrefix: t('common:confirmTitlePrefix'),
          action: req.originalUrl,
          fields,
          csrfToken: generateCsrfToken(req, res),
        });
      };
    },
  };
}

/** Whether this answer's form failed its CSRF check and is to be shown again for its sender to confirm. */
export const csrfFailed = (res: Response): boolean => res.locals.csrfFailed === true;
