import type { Logger } from '../logger';

interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * A warning logger for one source of Redis errors that writes at most one line per `intervalMs`,
 * with a count of those left out: an outage must not flood the log, nor reach stderr as raw dumps.
 */
export function throttledWarning(
  logger: Logger,
  source: string,
  message: string,
  intervalMs = 30_000,
) {
  let last = 0;
  let suppressed = 0;
  return (error: unknown) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn({ err: error, source, suppressed }, message);
    last = now;
    suppressed = 0;
  };
}

/** Sends a Redis connection's errors to the structured log, throttled. */
export function logConnectionErrors(emitter: ErrorEmitter, logger: Logger, source: string): void {
  emitter.on('error', throttledWarning(logger, source, 'redis connection error'));
}
