import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import { withTimeout } from '../../time-limit';
import { purgeExpiredCampaigns } from '../erasure';

/** How often the retention purge runs. */
export const RETENTION_EVERY_MS = 3600_000;

/** How long setting the schedule may wait for Redis. */
const REDIS_WAIT_MS = 3000;

/** Erases the personal data of campaigns closed RETENTION_DAYS_AFTER_CLOSE days ago or more. */
export async function runRetentionPurge(
  ctx: Pick<AppContext, 'db' | 'stats' | 'representatives' | 'config' | 'logger'>,
): Promise<void> {
  const purged = await purgeExpiredCampaigns(
    {
      db: ctx.db,
      stats: ctx.stats,
      districtsOf: (zip) => ctx.representatives.districtsOfZip(zip),
    },
    ctx.config.retentionDaysAfterClose,
  );
  for (const campaign of purged) {
    ctx.logger.info(
      {
        campaign: campaign.slug,
        signatures: campaign.signatures,
        letterActions: campaign.letterActions,
      },
      'retention: personal data erased',
    );
  }
}

/**
 * `purge-expired`: the retention purge, which BullMQ repeats every hour across all worker
 * processes (the schedule is set again at each start, so a Redis that lost it gets it back).
 */
export const purgeExpiredJob = defineJob({
  queue: 'supporters',
  name: 'purge-expired',
  payload: z.object({}),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 5000 } },
  concurrency: 4,
  async perform(ctx: WorkerContext) {
    await runRetentionPurge(ctx);
  },
});

/** The name of the retention purge's job scheduler in Redis. */
export const RETENTION_SCHEDULE = 'retention-purge';

/** Sets the retention purge's hourly schedule in Redis, once per process; never waits on a Redis that is away. */
export const retentionSchedule = defineSweep<Pick<AppContext, 'queues' | 'redis' | 'logger'>>({
  name: 'retention purge schedule',
  async run(ctx) {
    if (ctx.redis.status !== 'ready') return;
    try {
      await withTimeout(
        ctx.queues.schedule(purgeExpiredJob, RETENTION_SCHEDULE, { every: RETENTION_EVERY_MS }, {}),
        REDIS_WAIT_MS,
      );
      return 'done';
    } catch (error) {
      ctx.logger.warn(
        { err: error },
        'could not schedule the retention purge yet; the next maintenance will',
      );
    }
  },
});
