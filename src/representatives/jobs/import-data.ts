import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { holdLettersToDeparted } from '../../letters/held-letters';
import { defineJob, defineSweep } from '../../queue/job';
import { withTimeout } from '../../time-limit';
import { importRepresentativeData, withImportLock, type ImportOptions } from '../import';
import { DataError } from '../sources';
import { IMPORT_LOCK } from '../store';

/**
 * The representative-data queue's job lock. Long, because some steps of an import read a large
 * file in one go, during which the lock cannot be renewed; a crashed import is not left waiting
 * for it to lapse (see `resumeInterruptedImports`).
 */
export const representativesQueueLock = () => ({ durationMs: 120_000 });

/**
 * An active import job older than this, while no process holds the import lock, is one whose
 * worker died. (A job just taken holds the lock within moments; this leaves it those moments.)
 */
const ORPHANED_AFTER_MS = 30_000;

/** How long a queue operation of the maintenance may wait for Redis. */
const REDIS_WAIT_MS = 3000;

/** Letters still waiting for officials who left are held in the import's own transaction. */
export const holdingLetters: ImportOptions['onDeparted'] = (tx, departed) =>
  holdLettersToDeparted(tx, departed);

/**
 * `import-data`: imports the representative data in `dir` as the new active snapshot. Imports run
 * one at a time across all processes (IMPORT_LOCK). Before the worker takes any job, an import
 * left active by a worker that died (a crash during the first-start import, say) is put back in
 * the queue, to run at once rather than when its lock lapses.
 */
export const importDataJob = defineJob({
  queue: 'representatives',
  name: 'import-data',
  payload: z.object({ dir: z.string().min(1), force: z.boolean().optional() }),
  options: { attempts: 1 },
  concurrency: 1,
  lock: representativesQueueLock,
  async perform(ctx: WorkerContext, { dir, force }) {
    const { logger } = ctx;
    try {
      const outcome = await withImportLock(ctx, () =>
        importRepresentativeData(ctx.db, dir, {
          force,
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
      await ctx.representatives.refresh();
    } catch (error) {
      // The same files would fail the same way: say why once, and do not retry.
      if (error instanceof DataError) throw new UnrecoverableError(error.message);
      throw error;
    }
  },
  async beforeStart(ctx: WorkerContext) {
    await resumeInterruptedImports(ctx, 0).catch((error: unknown) =>
      ctx.logger.warn(
        { err: error },
        'could not look for interrupted imports; BullMQ will find them when their lock lapses',
      ),
    );
  },
});

type ResumeContext = Pick<AppContext, 'queues' | 'database' | 'redis' | 'logger'>;

/**
 * Puts back in the queue the import jobs left active by a worker that died, so that they run now
 * rather than once their lock has lapsed (minutes, during which a first start has no data and
 * lookups answer 503). A job is known to be orphaned when no process holds IMPORT_LOCK, which
 * every import holds while it runs, on a database connection of its own: the database frees it
 * the moment its process dies. (Embedded, there is only this process.) Only jobs active for
 * `minAgeMs` or more are considered, leaving a job just taken the moment it needs to take the lock.
 */
export async function resumeInterruptedImports(
  ctx: ResumeContext,
  minAgeMs: number,
): Promise<number> {
  const queue = ctx.queues.get('representatives');
  const active = (await withTimeout(queue.getActive(), REDIS_WAIT_MS)).filter(
    (job) => Date.now() - (job.processedOn ?? 0) >= minAgeMs,
  );
  if (active.length === 0) return 0;
  const lock = await ctx.database.lock(IMPORT_LOCK, { wait: false });
  // An import is running in a live process: its job is not orphaned.
  if (!lock) return 0;
  try {
    for (const job of active) await requeue(ctx, job);
  } finally {
    await lock.release();
  }
  return active.length;
}

async function requeue(ctx: ResumeContext, job: Job): Promise<void> {
  const queue = ctx.queues.get('representatives');
  // With the dead worker's token its lock goes too; without one (it lapsed meanwhile), the job alone.
  const token = await ctx.redis.get(`${queue.toKey(job.id!)}:lock`);
  await job.moveToWait(token ?? '0').catch(() => job.moveToWait('0'));
  ctx.logger.warn(
    { job: job.name, id: job.id },
    'resuming a representative data import whose worker stopped',
  );
}

/** Imports whose worker died, put back in the queue (see `resumeInterruptedImports`). */
export const interruptedImports = defineSweep<ResumeContext>({
  name: 'interrupted imports',
  async run(ctx) {
    if (ctx.redis.status !== 'ready') return;
    await resumeInterruptedImports(ctx, ORPHANED_AFTER_MS).catch((error: unknown) =>
      ctx.logger.warn(
        { err: error },
        'could not look for interrupted imports; the next maintenance will',
      ),
    );
  },
});

/** On a first start with data at hand (REP_DATA_DIR, or ../shared/data), imports it in the background. */
export async function importOnFirstStart(
  ctx: Pick<AppContext, 'config' | 'representatives' | 'logger' | 'queues'>,
): Promise<void> {
  const dir = ctx.config.repDataDir;
  if (ctx.representatives.current || !dir) return;
  ctx.logger.info({ dir }, 'no representative data yet: importing it in the background');
  await ctx.queues.add(importDataJob, { dir }, { deduplication: { id: 'import-data' } });
}
