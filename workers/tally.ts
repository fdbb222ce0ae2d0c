import { Worker } from 'bullmq';
import { campaignsWithUntallied, tallyCampaign } from '../src/petitions/tallies';
import type { Platform } from '../src/platform';
import { bullConnection } from '../src/queue/jobs';

/** Applies signatures to the counts in batches, then refreshes the public counter's cache. */
export function startTallyWorker(platform: Platform): Worker {
  const { db, stats, logger } = platform;
  const tally = async (campaignId: number) => {
    const added = await tallyCampaign(db, campaignId);
    if (added > 0) await stats.refresh(campaignId);
    return added;
  };
  const worker = new Worker(
    'tallies',
    async (job) => {
      if (job.name === 'tally-sweep') {
        for (const campaignId of await campaignsWithUntallied(db)) await tally(campaignId);
        return;
      }
      const { campaignId } = job.data as { campaignId: number };
      const added = await tally(campaignId);
      logger.debug({ campaignId, added }, 'tally applied');
    },
    { connection: bullConnection(platform.redisConnection), prefix: platform.queues.prefix, concurrency: 4 },
  );
  worker.on('failed', (job, error) => logger.error({ err: error, job: job?.name, attempts: job?.attemptsMade }, 'tally job failed'));
  return worker;
}
