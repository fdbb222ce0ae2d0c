import type { ErrorRequestHandler, Request } from 'express';
import type { AppContext } from '../context';
import { isReadTimeout } from '../db/bounded-reads';

/**
 * What a staff page says when its reading was stopped for taking longer than
 * STAFF_STATEMENT_TIMEOUT_MS: a statement PostgreSQL cancelled, or a report read in pages past its
 * deadline. It is not the site failing (no 500, no stack in the log) but a report asked too much
 * of it: the answer is 503 with what to do.
 */
export function tooLongMessage(
  timeoutMs: number,
  advice = 'Narrow it (a shorter period) and try again, or try again in a minute.',
): string {
  const seconds = Math.max(1, Math.round(timeoutMs / 1000));
  return `This report took too long (more than ${seconds} ${seconds === 1 ? 'second' : 'seconds'}) and was stopped. ${advice}`;
}

/** The staff JSON endpoints (`dashboard.json`, an export page's `progress`), and any request that asks for JSON first. */
const wantsJson = (req: Request) =>
  req.path.endsWith('.json') ||
  req.path.endsWith('/progress') ||
  req.accepts(['html', 'json']) === 'json';

/** The staff console's last error handler: read timeouts become a 503 page (or JSON); anything else goes on. */
export function staffReadTimeouts(ctx: Pick<AppContext, 'config' | 'logger'>): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (!isReadTimeout(error)) return next(error);
    // The route's pattern, not its path: an export's download address is not for the log.
    ctx.logger.warn(
      {
        method: req.method,
        route: `${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? ''}`,
        timeoutMs: ctx.config.staffStatementTimeoutMs,
      },
      'a staff page took too long and was stopped',
    );
    if (res.headersSent) return;
    const message = tooLongMessage(ctx.config.staffStatementTimeoutMs);
    res.setHeader('Cache-Control', 'no-store');
    res.status(503);
    if (wantsJson(req)) res.json({ error: 'too_long', message });
    else res.render('error', { layout: 'staff', title: 'This report took too long', message });
  };
}
