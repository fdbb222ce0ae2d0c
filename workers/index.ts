import { eraseExpiredIpHashes } from '../src/petitions/ip-hash-retention';
import type { Platform } from '../src/platform';
import { startTallyWorker, sweepTallies } from './tally';

export interface RunningWorkers {
  close(): Promise<void>;
}

const MAINTENANCE_EVERY_MS = 60_000;

/**
 * Starts every queue worker, and the maintenance each worker process runs on its own clock (not
 * from Redis, so it survives a Redis that lost its data): the tally sweep and IP-hash expiry.
 */
export async function startWorkers(platform: Platform): Promise<RunningWorkers> {
  const { logger } = platform;
  const workers = [startTallyWorker(platform)];

  // Counts may have been rebuilt, or signatures left untallied, while no worker ran.
  await sweepTallies(platform);
  for (const campaign of await platform.campaigns.list()) await platform.stats.refresh(campaign.id);

  let maintenance: Promise<void> | undefined;
  const maintain = () => {
    maintenance ??= (async () => {
      await sweepTallies(platform);
      const erased = await eraseExpiredIpHashes(platform.db, platform.config.ipHashRetentionDays);
      if (erased > 0) logger.info({ erased }, 'expired IP hashes erased');
    })()
      .catch((error: unknown) => logger.error({ err: error }, 'maintenance failed'))
      .finally(() => {
        maintenance = undefined;
      });
  };
  maintain();
  const timer = setInterval(maintain, MAINTENANCE_EVERY_MS).unref();

  return {
    async close() {
      clearInterval(timer);
      // Waits for the jobs and the maintenance in progress to finish.
      await Promise.all([...workers.map((worker) => worker.close()), maintenance]);
    },
  };
}
