import pg from 'pg';
import { Redis } from 'ioredis';
import { testDatabaseUrl, testRedisUrl } from './services';

/** Fails fast, with the fix, when the services the integration tests need are not running. */
export default async function globalSetup(): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `The tests need PostgreSQL at ${testDatabaseUrl} (${(error as Error).message}). ` +
        'Run `bash .ci/run`, which installs and starts it, or set TEST_DATABASE_URL.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `The tests need Redis at ${testRedisUrl} (${(error as Error).message}). ` +
        'Run `bash .ci/run`, which installs and starts it, or set TEST_REDIS_URL.',
    );
  } finally {
    redis.disconnect();
  }
}
