/**
 * Where the tests find real PostgreSQL and Redis. `.ci/run` starts them (or finds them running);
 * override with TEST_DATABASE_URL (a database the tests may create databases from) and TEST_REDIS_URL.
 */
export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
