import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './config';
import { createLogger, type Logger } from './logger';
import { LockedError } from './process-lock';

/** Exit codes: 0 done, 1 failure, 2 bad input (configuration or arguments). */
export class UsageError extends Error {}

/** `--help` or `-h`: the usage line on standard output, and nothing done. */
class HelpAsked extends Error {}

/** Runs a command-line task: a clear error line and exit code instead of a stack trace. */
export function runCli(name: string, task: (logger: Logger) => Promise<void>): void {
  const logger = createLogger('info');
  task(logger).then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof HelpAsked) {
        process.stdout.write(`${error.message}\n`);
        process.exit(0);
      }
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

/**
 * A command's options (`--name value`, `--flag`), or a UsageError that names what was wrong and
 * shows the usage line: an unknown option, a value missing, a stray argument. `--help` (or `-h`)
 * anywhere prints the usage line and ends the command with exit code 0.
 */
export function commandArgs<const T extends NonNullable<ParseArgsConfig['options']>>(
  options: T,
  usage: string,
) {
  return commandLine(options, usage, false).values;
}

/** As `commandArgs`, for a command that also takes arguments after its options (files): both. */
export function commandLine<
  const T extends NonNullable<ParseArgsConfig['options']>,
  const P extends boolean,
>(options: T, usage: string, allowPositionals: P) {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h'))
    throw new HelpAsked(usage);
  try {
    return parseArgs({ options, allowPositionals });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${usage}`);
  }
}
