import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { throttledWarning } from '../queue/connection-errors';
import { TimeoutError } from '../time-limit';

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
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
/**
 * What node-postgres, its pool and ioredis say, without a code, when the connection is gone, cannot
 * be made in time, or (Redis, with the offline queue off) is down.
 */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/,
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  /^Connection is closed\.?$/,
  /^Reached the max retries per request limit/,
];

/**
 * Whether an error means a service the request needs (the database, Redis) is unreachable or
 * refusing connections: answered 503, never 500. Looks through wrapped errors (Drizzle wraps the
 * driver's error as `cause`) and aggregated ones (a host with several addresses).
 */
export function isServiceUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  if (error instanceof TimeoutError) return true;
  const e = error as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.startsWith('08') && code.length === 5) return true;
  if (UNAVAILABLE_SQLSTATES.has(code) || NETWORK_CODES.has(code)) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isServiceUnavailable(inner, depth + 1))) return true;
  return isServiceUnavailable(e.cause, depth + 1);
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  code?: string;
  expose?: boolean;
}

/** Answers for the errors a client can cause; anything else is ours, logged and answered 500. */
function describe(error: HttpishError): { status: number; message: string } {
  if (isServiceUnavailable(error)) {
    return { status: 503, message: 'The site is briefly unavailable. Please try again in a minute.' };
  }
  if (error.type === 'entity.parse.failed') return { status: 400, message: 'The request body is not valid JSON.' };
  if (error.type === 'entity.too.large') return { status: 413, message: 'The request body is too large.' };
  if (error.code === 'EBADCSRFTOKEN') {
    return { status: 403, message: 'This form has expired or was sent from another site. Please reload the page and try again.' };
  }
  const status = error.status ?? error.statusCode;
  if (status === 415) return { status, message: 'Send the request body as JSON (content-type: application/json) in UTF-8.' };
  if (status && status >= 400 && status < 500) return { status, message: 'The request could not be understood.' };
  return { status: 500, message: 'Something went wrong on our side. Please try again in a moment.' };
}

export function notFound(): RequestHandler {
  return (req, res) => {
    if (wantsJson(req)) {
      res.status(404).json({ error: 'not_found', message: 'There is nothing at this address.' });
    } else {
      res.status(404).render('error', { title: 'Page not found', message: 'There is nothing at this address.' });
    }
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  // An outage fails every request: one line per interval says so, not one per request.
  const unavailable = throttledWarning(logger, 'http', 'requests failed: a service they need is unavailable', 10_000);
  return (error: HttpishError & Error, req, res, _next) => {
    const { status, message } = describe(error);
    if (status === 503) unavailable(error);
    else if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    if (status === 503) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      res.setHeader('Cache-Control', 'no-store');
    }
    if (wantsJson(req)) {
      res.status(status).json({ error: ERROR_CODES[status] ?? (status >= 500 ? 'server_error' : 'bad_request'), message });
    } else {
      const title = status === 503 ? 'Briefly unavailable' : status >= 500 ? 'Something went wrong' : 'We could not do that';
      res.status(status).render('error', { title, message });
    }
  };
}
