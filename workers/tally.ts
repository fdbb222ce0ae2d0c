import { Worker } from 'bullmq';
import { z } from 'zod';
import { campaignsWithUntallied, tallyCampaign } from '../src/petitions/tallies';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';

/** Adds a campaign's untallied signatures to its counts, then refreshes its public counter. */
async function tally(platform: Platform, campaignId: number): Promise<number> {
  const added = await tallyCampaign(platform.db, campaignId, {
    districtsOf: (zip) => platform.representatives.districtsOfZip(zip),
    // Signatures counted now raise their webhook events: their delivery is woken once committed.
    onRaised: (raised) => platform.webhookWakeups.wake(raised),
  });
  if (added > 0) await platform.stats.refresh(campaignId);
  return added;
}

/** Tallies every campaign that has untallied signatures, e.g. after tally requests were lost with Redis. */
export async function sweepTallies(platform: Platform): Promise<void> {
  for (const campaignId of await campaignsWithUntallied(platform.db))
    await tally(platform, campaignId);
}

const tallyJob = z.object({ campaignId: z.number().int().positive() });

/** The tally queue's worker: applies signatures to the counts in batches. */
export function startTallyWorker(platform: Platform): Worker {
  const worker = new Worker(
    'tallies',
    async (job) => {
      const data = tallyJob.safeParse(job.data);
      if (job.name !== 'tally-campaign' || !data.success) {
        // A job this version does not know (left by another version, say): retrying cannot help.
        platform.logger.warn({ job: job.name, id: job.id }, 'dropping a tally job it cannot read');
        return;
      }
      const { campaignId } = data.data;
      const added = await tally(platform, campaignId);
      platform.logger.debug({ campaignId, added }, 'tally applied');
    },
    {
      connection: bullConnection(platform.redisConnection),
      prefix: platform.queues.prefix,
      concurrency: 4,
    },
  );
  worker.on('failed', (job, error) =>
    platform.logger.error(
      { err: error, job: job?.name, attempts: job?.attemptsMade },
      'tally job failed',
    ),
  );
  logConnectionErrors(worker, platform.logger, 'worker:tallies');
  return worker;
}
