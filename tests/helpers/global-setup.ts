import { connect } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import {
  startThrowawayPostgres,
  startThrowawayRedis,
  type ThrowawayPostgres,
  type ThrowawayRedis,
} from './throwaway-services';
import { testDatabaseUrl, testRedisUrl } from './services';

/**
 * The PostgreSQL and Redis the tests use: those at TEST_DATABASE_URL and TEST_REDIS_URL (or their
 * defaults, 127.0.0.1:5432 and :6379) when they answer. When nothing answers at a default, a
 * throwaway server of the tests' own is started from the installed binaries (as the fault tests
 * start theirs) and removed by the global teardown, so `npm test` works on a fresh machine with
 * the packages installed but no service running. A server named in TEST_…_URL that does not
 * answer is an error: the tests were asked to use that one.
 */

export async function postgresProblem(url: string): Promise<Error | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether anything listens there at all (a refused connection is known at once, without a Redis client's retry timers). */
function listening(url: string): Promise<Error | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname || '127.0.0.1');
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(new Error('no answer within 3 s'));
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => resolve(error));
  });
}

export async function redisProblem(url: string): Promise<Error | undefined> {
  const closed = await listening(url);
  if (closed) return closed;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    redis.disconnect();
  }
}

export interface TestServices {
  databaseUrl: string;
  redisUrl: string;
  /** What was started here (nothing when both answered). */
  started: { postgres?: ThrowawayPostgres; redis?: ThrowawayRedis };
  close(): Promise<void>;
}

/**
 * The servers at these addresses when they answer; else, for an address that is only a default
 * (`named` false), a throwaway server started here.
 */
export async function useOrStartServices(options: {
  databaseUrl: string;
  redisUrl: string;
  named: { database: boolean; redis: boolean };
  log?: (line: string) => void;
}): Promise<TestServices> {
  const started: TestServices['started'] = {};
  const close = async () => {
    await started.redis?.close();
    await started.postgres?.close();
  };
  let { databaseUrl, redisUrl } = options;
  const database = await postgresProblem(databaseUrl);
  if (database) {
    if (options.named.database) {
      throw new Error(
        `The tests need PostgreSQL at TEST_DATABASE_URL=${databaseUrl} (${database.message}). Start it, or unset TEST_DATABASE_URL to let the tests start one of their own.`,
      );
    }
    // Room for two test files at once, each with platforms of 20 connections and their workers.
    started.postgres = await startThrowawayPostgres({ maxConnections: 300 });
    options.log?.(
      `No PostgreSQL at ${databaseUrl}: the tests use one of their own, at ${started.postgres.url}.`,
    );
    databaseUrl = started.postgres.url;
  }
  const redis = await redisProblem(redisUrl);
  if (redis) {
    if (options.named.redis) {
      await close();
      throw new Error(
        `The tests need Redis at TEST_REDIS_URL=${redisUrl} (${redis.message}). Start it, or unset TEST_REDIS_URL to let the tests start one of their own.`,
      );
    }
    try {
      started.redis = await startThrowawayRedis();
    } catch (error) {
      await close();
      throw new Error(
        `No Redis at ${redisUrl}, and none could be started (${(error as Error).message}). Install redis-server: ` +
          'sudo apt-get install -y redis-server (Debian, Ubuntu), or brew install redis (macOS).',
        { cause: error },
      );
    }
    options.log?.(
      `No Redis at ${redisUrl}: the tests use one of their own, at ${started.redis.url}.`,
    );
    redisUrl = started.redis.url;
  }
  return { databaseUrl, redisUrl, started, close };
}

/** Jest runs the setup and the teardown in one process, each module loaded apart: what to stop is kept here. */
const KEY = '__frbTestServices';

export default async function globalSetup(): Promise<void> {
  const services = await useOrStartServices({
    databaseUrl: testDatabaseUrl,
    redisUrl: testRedisUrl,
    named: {
      database: process.env.TEST_DATABASE_URL !== undefined,
      redis: process.env.TEST_REDIS_URL !== undefined,
    },
    log: (line) => process.stderr.write(`\n${line}\n`),
  });
  // The test workers start after this, with this environment.
  process.env.TEST_DATABASE_URL = services.databaseUrl;
  process.env.TEST_REDIS_URL = services.redisUrl;
  (globalThis as Record<string, unknown>)[KEY] = services;
}

export async function stopStartedServices(): Promise<void> {
  await ((globalThis as Record<string, unknown>)[KEY] as TestServices | undefined)?.close();
}
