import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from '../logger';

const wantsJson = (req: Request) => req.originalUrl.startsWith('/api/');

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  500: 'server_error',
};

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  code?: string;
  expose?: boolean;
}

/** Answers for the errors a client can cause; anything else is ours, logged and answered 500. */
function describe(error: HttpishError): { status: number; message: string } {
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
  return (error: HttpishError & Error, req, res, _next) => {
    const { status, message } = describe(error);
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    if (wantsJson(req)) {
      res.status(status).json({ error: ERROR_CODES[status] ?? (status >= 500 ? 'server_error' : 'bad_request'), message });
    } else {
      res.status(status).render('error', { title: status >= 500 ? 'Something went wrong' : 'We could not do that', message });
    }
  };
}
