import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { holdLettersToDeparted } from '../src/letters/held-letters';
import { assignMissingDistricts } from '../src/petitions/tallies';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';
import {
  importRepresentativeData,
  withImportLock,
  type ImportOptions,
} from '../src/representatives/import';
import { refreshRepresentativeData } from '../src/representatives/refresh';
import { DataError } from '../src/representatives/sources';
import { IMPORT_LOCK } from '../src/representatives/store';
import { withTimeout } from '../src/time-limit';

const importJob = z.object({ dir: z.string().min(1), force: z.boolean().optional() });
const refreshJob = z.object({ trigger: z.enum(['schedule', 'staff']) });

/** REP_DATA_REFRESH as the refresh schedule's period. */
const REFRESH_EVERY_MS = { daily: 86_400_000, weekly: 7 * 86_400_000, off: null } as const;

/**
 * An import's job lock. Long, because some steps of an import read a large file in one go, during
 * which the lock cannot be renewed; a crashed import is not left waiting for it to lapse (see
 * `resumeInterruptedImports`).
 */
const IMPORT_LOCK_MS = 120_000;

/**
 * An active import job older than this, while no process holds the import lock, is one whose
 * worker died. (A job just taken holds the lock within moments; this leaves it those moments.)
 */
const ORPHANED_AFTER_MS = 30_000;

/** How long a queue operation of the maintenance may wait for Redis. */
const REDIS_WAIT_MS = 3000;

/** Letters still waiting for officials who left are held in the import's own transaction. */
const holdingLetters: ImportOptions['onDeparted'] = (tx, departed) =>
  holdLettersToDeparted(tx, departed);

export interface RunningRepresentatives {
  worker: Worker;
  /**
   * The maintenance's part: sets the refresh schedule (REP_DATA_REFRESH) until that has worked
   * once, and resumes imports whose worker died.
   */
  maintain(): Promise<void>;
}

/**
 * The representative-data queue's worker: imports a data directory as the new active snapshot
 * (`import-data`), and refreshes the officials from their publishers (`refresh-data`). Imports run
 * one at a time across all processes (IMPORT_LOCK). Before it takes any job, an import left
 * active by a worker that died (a crash during the first-start import, say) is put back in the
 * queue, to run at once rather than when its lock lapses.
 */
export async function startRepresentativesWorker(
  platform: Platform,
): Promise<RunningRepresentatives> {
  const { logger } = platform;
  const worker = new Worker(
    'representatives',
    async (job) => {
      if (job.name === 'import-data') {
        const data = importJob.safeParse(job.data);
        if (data.success) return importDirectory(platform, data.data);
      } else if (job.name === 'refresh-data') {
        const data = refreshJob.safeParse(job.data);
        if (data.success) return refreshData(platform);
      }
      logger.warn({ job: job.name, id: job.id }, 'dropping a representatives job it cannot read');
    },
    {
      connection: bullConnection(platform.redisConnection),
      prefix: platform.queues.prefix,
      concurrency: 1,
      lockDuration: IMPORT_LOCK_MS,
      autorun: false,
    },
  );
  worker.on('failed', (job, error) =>
    logger.error({ err: error, job: job?.name }, 'representative data import failed'),
  );
  logConnectionErrors(worker, logger, 'worker:representatives');

  await resumeInterruptedImports(platform, 0).catch((error: unknown) =>
    logger.warn(
      { err: error },
      'could not look for interrupted imports; BullMQ will find them when their lock lapses',
    ),
  );
  worker
    .run()
    .catch((error: unknown) => logger.error({ err: error }, 'the representatives worker stopped'));

  let scheduled = false;
  return {
    worker,
    async maintain() {
      if (platform.redis.status !== 'ready') return;
      if (!scheduled) {
        try {
          await withTimeout(
            platform.queues.scheduleDataRefresh(REFRESH_EVERY_MS[platform.config.repDataRefresh]),
            REDIS_WAIT_MS,
          );
          scheduled = true;
        } catch (error) {
          logger.warn(
            { err: error },
            'could not set the representative data refresh schedule yet; the next maintenance will',
          );
        }
      }
      await resumeInterruptedImports(platform, ORPHANED_AFTER_MS).catch((error: unknown) =>
        logger.warn(
          { err: error },
          'could not look for interrupted imports; the next maintenance will',
        ),
      );
    },
  };
}

async function importDirectory(platform: Platform, data: z.infer<typeof importJob>): Promise<void> {
  const { logger } = platform;
  try {
    const outcome = await withImportLock(platform.database, () =>
      importRepresentativeData(platform.db, data.dir, {
        force: data.force,
        progress: (step, done, total) =>
          logger.info({ step, done, total }, 'importing representative data'),
        onDeparted: holdingLetters,
      }),
    );
    logger.info(
      {
        snapshot: outcome.snapshotId,
        unchanged: outcome.unchanged,
        seconds: outcome.seconds,
        ...outcome.counts,
        held: outcome.held,
      },
      'representative data imported',
    );
    await platform.representatives.refresh();
  } catch (error) {
    // The same files would fail the same way: say why once, and do not retry.
    if (error instanceof DataError) throw new UnrecoverableError(error.message);
    throw error;
  }
}

async function refreshData(platform: Platform): Promise<void> {
  const result = await refreshRepresentativeData(platform, { onDeparted: holdingLetters });
  if (result.outcome === 'imported') await platform.representatives.refresh();
}

/**
 * Puts back in the queue the import jobs left active by a worker that died, so that they run now
 * rather than once their lock has lapsed (minutes, during which a first start has no data and
 * lookups answer 503). A job is known to be orphaned when no process holds IMPORT_LOCK, which
 * every import holds while it runs, on a database connection of its own: the database frees it
 * the moment its process dies. (Embedded, there is only this process.) Only jobs active for
 * `minAgeMs` or more are considered, leaving a job just taken the moment it needs to take the lock.
 */
export async function resumeInterruptedImports(
  platform: Platform,
  minAgeMs: number,
): Promise<number> {
  const queue = platform.queues.get('representatives');
  const active = (await withTimeout(queue.getActive(), REDIS_WAIT_MS)).filter(
    (job) => Date.now() - (job.processedOn ?? 0) >= minAgeMs,
  );
  if (active.length === 0) return 0;
  const lock = await platform.database.lock(IMPORT_LOCK, { wait: false });
  // An import is running in a live process: its job is not orphaned.
  if (!lock) return 0;
  try {
    for (const job of active) await requeue(platform, job);
  } finally {
    await lock.release();
  }
  return active.length;
}

async function requeue(platform: Platform, job: Job): Promise<void> {
  const queue = platform.queues.get('representatives');
  // With the dead worker's token its lock goes too; without one (it lapsed meanwhile), the job alone.
  const token = await platform.redis.get(`${queue.toKey(job.id!)}:lock`);
  await job.moveToWait(token ?? '0').catch(() => job.moveToWait('0'));
  platform.logger.warn(
    { job: job.name, id: job.id },
    'resuming a representative data import whose worker stopped',
  );
}

/** On a first start with data at hand (REP_DATA_DIR, or ../shared/data), imports it in the background. */
export async function importOnFirstStart(platform: Platform): Promise<void> {
  const dir = platform.config.repDataDir;
  if (platform.representatives.current || !dir) return;
  platform.logger.info({ dir }, 'no representative data yet: importing it in the background');
  await platform.queues.add(
    'representatives',
    'import-data',
    { dir },
    { attempts: 1, deduplication: { id: 'import-data' } },
  );
}

/**
 * Fills the districts of signatures that have none, for every campaign, and refreshes their
 * counters: run when a snapshot is loaded (after an import, and at start).
 */
export async function assignDistrictsToSignatures(platform: Platform): Promise<void> {
  if (!platform.representatives.current) return;
  const districtsOf = (zip: string) => platform.representatives.districtsOfZip(zip);
  for (const campaign of await platform.campaigns.list()) {
    const filled = await assignMissingDistricts(platform.db, campaign.id, districtsOf, (raised) =>
      platform.webhookWakeups.wake(raised),
    );
    if (filled > 0) {
      await platform.stats.refresh(campaign.id);
      platform.logger.info(
        { campaign: campaign.slug, filled },
        'districts filled in for earlier signatures',
      );
    }
  }
}
