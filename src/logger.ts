import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Personal data (email, name, address, IP) is never passed to the logger; as a
 * second line of defence these keys are censored wherever they appear.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['email', 'name', 'address', 'ip', '*.email', '*.name', '*.address', '*.ip'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
