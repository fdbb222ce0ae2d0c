import { Redis } from 'ioredis';
import { commandArgs, runCli } from '../cli';
import { campaignForCommand, listCampaigns } from '../campaigns/directory';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { RepresentativeData } from '../representatives/districts';
import { loadActiveSnapshot } from '../representatives/store';
import { StatsCache } from './stats';
import { rebuildTallies } from './tallies';

/**
 * `npm run tallies:rebuild [-- --campaign <slug>]`: recomputes exact counts from the signatures.
 * With REDIS_URL set it also refreshes the public counters; in embedded mode the platform's next
 * start does that (stop it first: the embedded database belongs to one process).
 */
runCli('tallies:rebuild', async (logger) => {
  const slug = commandArgs(
    { campaign: { type: 'string' } },
    'Usage: npm run tallies:rebuild [-- --campaign <slug>]',
  ).campaign;
  const config = configFromProcess();
  const database = await openDatabase(config);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3 })
    : undefined;
  try {
    await database.migrate();
    const selected = slug
      ? [await campaignForCommand(database.db, slug)]
      : await listCampaigns(database.db);
    const cache = redis && new StatsCache(database.db, redis, config.redisKeyPrefix);
    // With representative data, signatures not yet counted get their districts as well.
    const snapshot = await loadActiveSnapshot(database.db);
    const data = snapshot && new RepresentativeData(snapshot);
    const districtsOf = data ? (zip: string) => data.primaryDistricts(zip) : undefined;
    for (const campaign of selected) {
      const total = await rebuildTallies(database.db, campaign.id, { districtsOf });
      await cache?.refresh(campaign.id);
      logger.info({ campaign: campaign.slug, signatures: total }, 'counts rebuilt');
    }
  } finally {
    await redis?.quit();
    await database.close();
  }
});
