import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { withTimeout } from '../../time-limit';
import { refreshRepresentativeData } from '../refresh';
import { holdingLetters, representativesQueueLock } from './import-data';

/** The job scheduler of the representative data refresh (REP_DATA_REFRESH). */
export const DATA_REFRESH_SCHEDULE = 'rep-data-refresh';

/** REP_DATA_REFRESH as the refresh schedule's period. */
const REFRESH_EVERY_MS = { daily: 86_400_000, weekly: 7 * 86_400_000, off: null } as const;

/** How long setting the schedule may wait for Redis. */
const REDIS_WAIT_MS = 3000;

/**
 * `refresh-data`: fetches the officials' files again and imports them (REP_DATA_REFRESH's
 * schedule, or staff's "Refresh now"). Tried once: the next scheduled run is the retry.
 */
export const refreshDataJob = defineJob({
  queue: 'representatives',
  name: 'refresh-data',
  payload: z.object({ trigger: z.enum(['schedule', 'staff']) }),
  options: { attempts: 1 },
  concurrency: 1,
  lock: representativesQueueLock,
  async perform(ctx: WorkerContext) {
    const result = await refreshRepresentativeData(ctx, { onDeparted: holdingLetters });
    if (result.outcome === 'imported') await ctx.representatives.refresh();
  },
});

/** Asks for a refresh of the representative data now; while one is waiting, asking again adds none. */
export async function requestDataRefresh(queues: Pick<Queues, 'add'>): Promise<void> {
  await queues.add(
    refreshDataJob,
    { trigger: 'staff' },
    { deduplication: { id: 'refresh-data-now' } },
  );
}

/**
 * Schedules the representative data refresh every `everyMs` (kept in Redis), or removes the
 * schedule (null). The first run comes one period after the schedule is first set, not at once: a
 * new installation has just imported its data.
 */
export async function scheduleDataRefresh(
  queues: Pick<Queues, 'schedule' | 'unschedule'>,
  everyMs: number | null,
): Promise<void> {
  if (everyMs === null) {
    await queues.unschedule('representatives', DATA_REFRESH_SCHEDULE);
    return;
  }
  await queues.schedule(
    refreshDataJob,
    DATA_REFRESH_SCHEDULE,
    { every: everyMs, startDate: Date.now() + everyMs },
    { trigger: 'schedule' },
  );
}

/** Sets the refresh schedule (REP_DATA_REFRESH) at each worker start, until that has worked once. */
export const dataRefreshSchedule = defineSweep<
  Pick<AppContext, 'queues' | 'redis' | 'config' | 'logger'>
>({
  name: 'representative data refresh schedule',
  async run(ctx) {
    if (ctx.redis.status !== 'ready') return;
    try {
      await withTimeout(
        scheduleDataRefresh(ctx.queues, REFRESH_EVERY_MS[ctx.config.repDataRefresh]),
        REDIS_WAIT_MS,
      );
      return 'done';
    } catch (error) {
      ctx.logger.warn(
        { err: error },
        'could not set the representative data refresh schedule yet; the next maintenance will',
      );
    }
  },
});
