import { postgresProblem, redisProblem, useOrStartServices } from '../helpers/global-setup';
import { freePort } from '../helpers/throwaway-services';

/**
 * `npm test` on a fresh machine: where nothing answers at the default addresses, the tests start a
 * PostgreSQL and a Redis of their own from the installed binaries, and remove them afterwards; an
 * address given in TEST_DATABASE_URL or TEST_REDIS_URL is used as given, or is an error.
 */
describe('the services the tests run on', () => {
  it('starts throwaway PostgreSQL and Redis where nothing answers at the defaults, and removes them after', async () => {
    const nowhere = {
      databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      redisUrl: `redis://127.0.0.1:${await freePort()}/0`,
    };
    const lines: string[] = [];
    const services = await useOrStartServices({
      ...nowhere,
      named: { database: false, redis: false },
      log: (line) => lines.push(line),
    });
    try {
      expect(services.databaseUrl).not.toBe(nowhere.databaseUrl);
      expect(services.redisUrl).not.toBe(nowhere.redisUrl);
      expect(await postgresProblem(services.databaseUrl)).toBeUndefined();
      expect(await redisProblem(services.redisUrl)).toBeUndefined();
      expect(lines).toEqual([
        expect.stringMatching(/^No PostgreSQL at .*: the tests use one of their own/),
        expect.stringMatching(/^No Redis at .*: the tests use one of their own/),
      ]);
    } finally {
      await services.close();
    }
    expect((await postgresProblem(services.databaseUrl))?.message).toEqual(expect.any(String));
    expect((await redisProblem(services.redisUrl))?.message).toEqual(expect.any(String));
  }, 60_000);

  it('uses the servers that answer, and starts nothing', async () => {
    const running = {
      databaseUrl: process.env.TEST_DATABASE_URL!,
      redisUrl: process.env.TEST_REDIS_URL!,
    };
    const services = await useOrStartServices({
      ...running,
      named: { database: false, redis: false },
    });
    expect(services).toMatchObject({ ...running, started: {} });
  });

  it('refuses an address given in TEST_DATABASE_URL that does not answer, rather than use another', async () => {
    const databaseUrl = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
    await expect(
      useOrStartServices({
        databaseUrl,
        redisUrl: process.env.TEST_REDIS_URL!,
        named: { database: true, redis: false },
      }),
    ).rejects.toThrow(`The tests need PostgreSQL at TEST_DATABASE_URL=${databaseUrl}`);
  });
});
