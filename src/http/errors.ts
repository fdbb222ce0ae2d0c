import { DrizzleQueryError } from 'drizzle-orm';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { TimeoutError } from '../time-limit';
import type { OutageKind, OutageLog } from './outage-log';
import { translatorOf } from './i18n';

const wantsJson = (req: Request) => req.originalUrl.startsWith('/api/');

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  500: 'server_error',
  503: 'unavailable',
};

/** Seconds a client is asked to wait before trying again when a service we need is down. */
const RETRY_AFTER_SECONDS = 10;

/**
 * PostgreSQL errors that say the server cannot serve us now, not that the request is wrong:
 * class 08 (connection exception), the server shutting down, crashed or starting up (57P01,
 * 57P02, 57P03), an idle session ended (57P05), and too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);
/** Network failures reaching PostgreSQL or Redis. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
/**
 * What node-postgres, its pool and ioredis say, without a code, when the connection is gone, cannot
 * be made in time, or (Redis, with the offline queue off) is down.
 */
const UNAVAILABLE_MESSAGES: ReadonlyArray<[RegExp, OutageKind]> = [
  [/^Connection terminated/, 'database'],
  [/^timeout exceeded when trying to connect$/, 'database'],
  [/is not queryable$/, 'database'],
  [/^Cannot use a pool after calling end on the pool$/, 'database'],
  [/^Stream isn't writeable and enableOfflineQueue options is false$/, 'redis'],
  [/^Connection is closed\.?$/, 'redis'],
  [/^Reached the max retries per request limit/, 'redis'],
];

/**
 * Which service the request needs that is unreachable or refusing connections (the database,
 * Redis), if that is what an error means: answered 503, never 500. Looks through wrapped errors
 * (Drizzle wraps the driver's error as `cause`) and aggregated ones (a host with several addresses).
 */
export function unavailableService(error: unknown, depth = 0): OutageKind | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  if (error instanceof TimeoutError) return 'timeout';
  const e = error as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : '';
  if ((code.startsWith('08') && code.length === 5) || UNAVAILABLE_SQLSTATES.has(code))
    return 'database';
  if (NETWORK_CODES.has(code)) return 'network';
  if (e.name === 'MaxRetriesPerRequestError') return 'redis';
  const message = typeof e.message === 'string' ? e.message : '';
  const matched = UNAVAILABLE_MESSAGES.find(([pattern]) => pattern.test(message));
  if (matched) return matched[1];
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const kind = unavailableService(inner, depth + 1);
      if (kind) return kind;
    }
  }
  const cause = unavailableService(e.cause, depth + 1);
  // A network failure under a query is the database's.
  return cause === 'network' && error instanceof DrizzleQueryError ? 'database' : cause;
}

/** Whether an error means a service the request needs is unavailable (see `unavailableService`). */
export const isServiceUnavailable = (error: unknown): boolean =>
  unavailableService(error) !== undefined;

/**
 * SQLSTATEs of text PostgreSQL refuses to store: a NUL (22021, character_not_in_repertoire) or a
 * character the database's encoding lacks (22P05). The input schemas refuse such text with a field
 * message; a request that still brings some to a query is refused as bad input, not answered 500.
 */
const REFUSED_TEXT_SQLSTATES = new Set(['22021', '22P05']);

function sqlStateOf(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  return sqlStateOf((error as { cause?: unknown }).cause, depth + 1);
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  code?: string;
  expose?: boolean;
}

/** Answers for the errors a client can cause (the message's key in locales/<lng>/common.json); anything else is ours, logged and answered 500. */
function describe(error: HttpishError): {
  status: number;
  message: string;
  outage?: OutageKind;
  refusedText?: boolean;
} {
  const outage = unavailableService(error);
  if (outage) return { status: 503, message: 'common:errors.unavailable', outage };
  if (error.type === 'entity.parse.failed')
    return { status: 400, message: 'common:errors.badJson' };
  if (REFUSED_TEXT_SQLSTATES.has(sqlStateOf(error) ?? ''))
    return { status: 400, message: 'common:errors.refusedText', refusedText: true };
  if (error.type === 'entity.too.large') return { status: 413, message: 'common:errors.tooLarge' };
  if (error.code === 'EBADCSRFTOKEN') return { status: 403, message: 'common:errors.csrf' };
  const status = error.status ?? error.statusCode;
  if (status === 415) return { status, message: 'common:errors.json' };
  if (status && status >= 400 && status < 500)
    return { status, message: 'common:errors.badRequest' };
  return { status: 500, message: 'common:errors.ours' };
}

export function notFound(): RequestHandler {
  return (req, res) => {
    const { t } = translatorOf(res);
    if (wantsJson(req)) {
      res.status(404).json({ error: 'not_found', message: t('common:errors.notFound') });
    } else {
      res.status(404).render('error', {
        title: t('common:errors.notFoundTitle'),
        message: t('common:errors.notFound'),
      });
    }
  };
}

/**
 * The last handler: a status and a page (or JSON) for each error. An outage's 503s are counted in
 * `outages`, which logs one line per interval for each kind of outage, not one per request; the
 * request's own access line drops to debug (see `accessLogLevel`). Other 5xx are logged each.
 */
export function errorHandler(ctx: { logger: Logger; outages: OutageLog }): ErrorRequestHandler {
  const { logger, outages } = ctx;
  return (error: HttpishError & Error, req, res, _next) => {
    const described = describe(error);
    const { status, outage, refusedText } = described;
    const { t } = translatorOf(res);
    const message = t(described.message);
    if (outage) {
      outages.failed(outage, error);
      res.locals.outage = outage;
    } else if (refusedText) {
      // Not the client's fault alone: some schema let such text through. No stack, no input.
      logger.warn(
        { code: sqlStateOf(error), method: req.method, path: req.path },
        'text PostgreSQL refuses reached a query: an input schema lets control characters through',
      );
    } else if (status >= 500)
      logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    if (status === 503) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      res.setHeader('Cache-Control', 'no-store');
    }
    if (wantsJson(req)) {
      res.status(status).json({
        error: ERROR_CODES[status] ?? (status >= 500 ? 'server_error' : 'bad_request'),
        message,
      });
    } else {
      const title = t(
        status === 503
          ? 'common:errors.unavailableTitle'
          : status >= 500
            ? 'common:errors.oursTitle'
            : 'common:errors.refusedTitle',
      );
      res.status(status).render('error', { title, message });
    }
  };
}

/**
 * The level of a request's access line: error for a 5xx or an error, except a 503 that an outage
 * caused, which `OutageLog` has counted (debug, so an outage is one line per interval); info otherwise.
 */
export function accessLogLevel(
  res: { statusCode: number; locals?: Record<string, unknown> },
  error: unknown,
): 'debug' | 'info' | 'error' {
  if (res.statusCode === 503 && res.locals?.outage) return 'debug';
  return error || res.statusCode >= 500 ? 'error' : 'info';
}
