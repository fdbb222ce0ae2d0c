import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorkers, type RunningWorkers } from '../workers';
import { buildApp } from './app';
import { configFromProcess, ConfigError, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { openPlatform, type Platform, type PlatformOptions } from './platform';
import { LockedError } from './process-lock';
import { RedisServerMissingError } from './queue/redis-server';
import { offerFirstAccountSetup } from './staff/first-account';

export type Role = 'all' | 'web' | 'worker';

export interface RunningPlatform {
  platform: Platform;
  server: Server | undefined;
  url: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the platform in one role. `all` (what `npm start` runs) serves pages and runs the workers
 * in one process, which embedded mode requires: PGlite is a single in-process connection.
 */
export async function startPlatform(
  config: Config,
  role: Role,
  logger: Logger = createLogger(config.logLevel),
  options: PlatformOptions = {},
): Promise<RunningPlatform> {
  if (role !== 'all' && !config.databaseUrl) {
    throw new ConfigError([
      `DATABASE_URL: required to run the ${role} role alone (the embedded database lives inside one process; use \`npm start\`)`,
    ]);
  }
  const platform = await openPlatform(config, logger, options);
  let workers: RunningWorkers | undefined;
  let server: Server | undefined;
  try {
    if (role !== 'worker') {
      server = buildApp(platform).listen(config.port, config.host);
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error as Error)),
      ]);
    }
    if (role !== 'web') workers = await startWorkers(platform);
  } catch (error) {
    server?.close();
    await workers?.close();
    await platform.close();
    throw error;
  }

  const port = server ? (server.address() as AddressInfo).port : undefined;
  const url = port === undefined ? undefined : `http://localhost:${port}`;
  logger.info({ role, port }, 'platform started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (server) {
        // Stop accepting, let requests in flight finish, then drop idle keep-alive connections.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const forceAfter = setTimeout(() => server.closeAllConnections(), 10_000).unref();
        await closed;
        clearTimeout(forceAfter);
      }
      logger.debug('web server closed');
      await workers?.close();
      logger.debug('workers closed');
      await platform.close();
      logger.info('platform stopped');
    })());
  return { platform, server, url, stop };
}

function parseRole(arg: string | undefined): Role {
  if (arg === undefined || arg === 'all' || arg === 'web' || arg === 'worker') return arg ?? 'all';
  process.stderr.write(`Unknown role "${arg}": use all, web or worker.\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const role = parseRole(process.argv[2]);
  let config: Config;
  try {
    config = configFromProcess();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  let running: RunningPlatform | undefined;
  let exitCode = 0;
  const shutdown = (reason: string) => {
    logger.info({ reason }, 'shutting down');
    if (!running) process.exit(exitCode || 1);
    // Each step has its own time limit; this is the last resort should one of them still hang.
    setTimeout(() => {
      logger.error('shutdown took longer than 45 s; exiting');
      process.exit(exitCode || 1);
    }, 45_000).unref();
    running.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onFatal = (error: Error) => {
    logger.fatal({ err: error }, 'stopping: a part the platform needs has failed');
    exitCode = 1;
    shutdown('fatal');
  };
  try {
    running = await startPlatform(config, role, logger, { onFatal });
  } catch (error) {
    if (
      error instanceof RedisServerMissingError ||
      error instanceof ConfigError ||
      error instanceof LockedError
    ) {
      process.stderr.write(`${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `Port ${config.port} is already in use: stop what uses it, or set PORT to another port.\n`,
      );
      process.exit(1);
    }
    logger.fatal({ err: error }, 'platform failed to start');
    process.exit(1);
  }
  if (running.url) {
    const address =
      config.publicUrl === `http://localhost:${config.port}` ? running.url : config.publicUrl;
    process.stdout.write(`\nThe platform is running: ${address}\n`);
    // No staff account yet: a one-time link (an hour, once) to make the first admin in the browser.
    const setup = await offerFirstAccountSetup(running.platform).catch((error: unknown) => {
      logger.warn(
        { err: error },
        'could not make the first account setup link; npm run staff:create still works',
      );
      return undefined;
    });
    const setupLink = setup?.replace(config.publicUrl, address);
    process.stdout.write(
      setupLink
        ? `Staff console: no staff account yet. Make the first admin account here (the link works once, for an hour):\n  ${setupLink}\n\n`
        : `Staff console: ${address}/staff\n\n`,
    );
    // Without representative data the lookups, letters and calls cannot work: say where it comes from.
    if (!running.platform.representatives.current && !config.repDataDir)
      process.stdout.write(
        'Representative data: none imported, and none to import (REP_DATA_DIR is not set and there is no ../shared/data).\n' +
          '  Set REP_DATA_DIR to the data bundle and start again (README, "Representative data").\n\n',
      );
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) void main();
