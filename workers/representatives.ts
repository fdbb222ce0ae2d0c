import { UnrecoverableError, Worker } from 'bullmq';
import { z } from 'zod';
import { assignMissingDistricts } from '../src/petitions/tallies';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';
import { importRepresentativeData } from '../src/representatives/import';
import { DataError } from '../src/representatives/sources';

const importJob = z.object({ dir: z.string().min(1), force: z.boolean().optional() });

/** The representative-data queue's worker: imports a data directory as the new active snapshot. */
export function startRepresentativesWorker(platform: Platform): Worker {
  const { logger } = platform;
  const worker = new Worker(
    'representatives',
    async (job) => {
      const data = importJob.safeParse(job.data);
      if (job.name !== 'import-data' || !data.success) {
        logger.warn({ job: job.name, id: job.id }, 'dropping a representatives job it cannot read');
        return;
      }
      try {
        const outcome = await importRepresentativeData(platform.db, data.data.dir, {
          force: data.data.force,
          progress: (step, done, total) => logger.info({ step, done, total }, 'importing representative data'),
        });
        logger.info({ snapshot: outcome.snapshotId, unchanged: outcome.unchanged, seconds: outcome.seconds, ...outcome.counts }, 'representative data imported');
        await platform.representatives.refresh();
      } catch (error) {
        // The same files would fail the same way: say why once, and do not retry.
        if (error instanceof DataError) throw new UnrecoverableError(error.message);
        throw error;
      }
    },
    { connection: bullConnection(platform.redisConnection), prefix: platform.queues.prefix, concurrency: 1, lockDuration: 120_000 },
  );
  worker.on('failed', (job, error) => logger.error({ err: error, job: job?.name }, 'representative data import failed'));
  logConnectionErrors(worker, logger, 'worker:representatives');
  return worker;
}

/** On a first start with data at hand (REP_DATA_DIR, or ../shared/data), imports it in the background. */
export async function importOnFirstStart(platform: Platform): Promise<void> {
  const dir = platform.config.repDataDir;
  if (platform.representatives.current || !dir) return;
  platform.logger.info({ dir }, 'no representative data yet: importing it in the background');
  await platform.queues.add('representatives', 'import-data', { dir }, { attempts: 1, deduplication: { id: 'import-data' } });
}

/**
 * Fills the districts of signatures that have none, for every campaign, and refreshes their
 * counters: run when a snapshot is loaded (after an import, and at start).
 */
export async function assignDistrictsToSignatures(platform: Platform): Promise<void> {
  if (!platform.representatives.current) return;
  const districtsOf = (zip: string) => platform.representatives.districtsOfZip(zip);
  for (const campaign of await platform.campaigns.list()) {
    const filled = await assignMissingDistricts(platform.db, campaign.id, districtsOf);
    if (filled > 0) {
      await platform.stats.refresh(campaign.id);
      platform.logger.info({ campaign: campaign.slug, filled }, 'districts filled in for earlier signatures');
    }
  }
}
