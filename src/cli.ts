import { ConfigError } from './config';
import { createLogger, type Logger } from './logger';
import { LockedError } from './process-lock';

/** Exit codes: 0 done, 1 failure, 2 bad input (configuration or arguments). */
export class UsageError extends Error {}

/** Runs a command-line task: a clear error line and exit code instead of a stack trace. */
export function runCli(name: string, task: (logger: Logger) => Promise<void>): void {
  const logger = createLogger('info');
  task(logger).then(
    () => process.exit(0),
    (error: unknown) => {
      if (
        error instanceof ConfigError ||
        error instanceof UsageError ||
        error instanceof LockedError
      ) {
        process.stderr.write(`${name}: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
