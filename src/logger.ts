import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

interface ErrorLike {
  name?: string;
  message?: string;
  stack?: string;
  code?: unknown;
  cause?: unknown;
}

/** Query parameters (Drizzle appends them to its messages) are signers' names and emails. */
const scrub = (text: string | undefined) =>
  text?.replace(/\nparams:[\s\S]*?(?=\n\s+at |$)/, '\nparams: [redacted]');

/**
 * Errors as logs may hold them: type, message, code, stack and cause, with query parameters cut
 * out, and without the fields where PostgreSQL echoes row values (`detail`, `where`, `params`).
 */
export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { type: typeof error };
  const e = error as ErrorLike;
  return {
    type: e.constructor?.name ?? e.name,
    message: scrub(e.message),
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    stack: scrub(e.stack),
    cause: e.cause !== undefined && depth < 3 ? serializeError(e.cause, depth + 1) : undefined,
  };
}

/**
 * Structured logs. Personal data (email, name, address, IP) is never passed to the logger; as a
 * second line of defence these keys are censored wherever they appear, and errors are scrubbed.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      serializers: { err: serializeError },
      redact: {
        paths: ['email', 'name', 'address', 'ip', '*.email', '*.name', '*.address', '*.ip'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
