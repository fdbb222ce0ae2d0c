import type { Request, Response } from 'express';
import { doubleCsrf } from 'csrf-csrf';

/**
 * CSRF protection for cookie-carrying forms: a signed double-submit token (cookie + hidden field).
 * Public pages have no session, so their token is bound to the platform secret alone; staff pages
 * bind it to the staff session too (`sessionOf`), under a cookie of their own. The cookie is
 * `__Host-` prefixed over HTTPS so no sibling domain can plant one.
 */
export function createCsrf(options: { secret: string; https: boolean; cookie?: string; sessionOf?: (req: Request) => string }) {
  const cookie = options.cookie ?? 'csrf';
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => options.secret,
    getSessionIdentifier: options.sessionOf ?? (() => ''),
    cookieName: options.https ? `__Host-${cookie}` : cookie,
    cookieOptions: { sameSite: 'lax', secure: options.https, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: (req: Request) => (req.body as Record<string, unknown> | undefined)?._csrf as string,
  });
  return {
    protect: doubleCsrfProtection,
    token: (req: Request, res: Response) => generateCsrfToken(req, res),
  };
}
