import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { CampaignDirectory } from './campaigns/directory';
import { ensureDemoCampaign } from './campaigns/demo';
import type { Config } from './config';
import type { AppContext } from './context';
import { openDatabase } from './db/client';
import type { Logger } from './logger';
import { StatsCache } from './petitions/stats';
import { TallyRequests } from './petitions/tally-requests';
import { redisOptionsFromUrl } from './queue/connection';
import { Queues } from './queue/jobs';
import { startEmbeddedRedis, type EmbeddedRedis } from './queue/redis-server';

export interface Platform extends AppContext {
  /** Connection options for BullMQ workers, which open their own blocking connections. */
  redisConnection: RedisOptions;
  close(): Promise<void>;
}

/**
 * Opens everything the platform runs on: the database (migrated, with the demo campaign), Redis
 * (the configured one, or a private redis-server in embedded mode) and the queues.
 */
export async function openPlatform(config: Config, logger: Logger): Promise<Platform> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
  };
  try {
    let embeddedRedis: EmbeddedRedis | undefined;
    if (!config.redisUrl) {
      embeddedRedis = await startEmbeddedRedis(path.join(config.dataDir, 'redis'), logger);
      closers.push(() => embeddedRedis!.stop());
    }
    const redisConnection: RedisOptions = {
      ...(embeddedRedis ? { path: embeddedRedis.socketPath } : redisOptionsFromUrl(config.redisUrl!)),
      maxRetriesPerRequest: null,
    };

    const database = await openDatabase(config);
    closers.push(() => database.close());
    await database.migrate();
    await ensureDemoCampaign(database.db);

    const redis = new Redis({ ...redisConnection, maxRetriesPerRequest: 3 });
    closers.push(() => redis.quit());
    redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
    const queues = new Queues(redisConnection, `${config.redisKeyPrefix}:bull`);
    closers.push(() => queues.close());
    const tallyRequests = new TallyRequests(queues, logger);
    closers.push(() => tallyRequests.flush());

    logger.info({ database: database.driver, redis: embeddedRedis ? 'embedded' : 'external' }, 'platform opened');
    return {
      config,
      logger,
      database,
      db: database.db,
      redis,
      redisConnection,
      queues,
      tallyRequests,
      campaigns: new CampaignDirectory(database.db),
      stats: new StatsCache(database.db, redis, config.redisKeyPrefix),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
