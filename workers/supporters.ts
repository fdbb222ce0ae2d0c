import { Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows } from '../src/db/client';
import { Mailer } from '../src/delivery/mailer';
import { serializeError } from '../src/logger';
import type { Platform } from '../src/platform';
import { sendDataLink } from '../src/privacy/data-rights';
import { purgeExpiredCampaigns } from '../src/privacy/erasure';
import { sendPendingNotices } from '../src/privacy/notices';
import { abuseControls } from '../src/abuse/controls';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';
import { withTimeout } from '../src/time-limit';

/** How often the retention purge runs. */
export const RETENTION_EVERY_MS = 3600_000;

const noticesJob = z.object({ campaignId: z.number().int().positive() });
const dataLinkJob = z.object({
  request: z.string().min(1).max(1000),
  language: z.string().max(10).optional(),
});

export interface RunningSupporters {
  worker: Worker;
  mailer: Mailer;
  /** Asks again for the notices whose jobs were lost (with a Redis that lost its data, say). */
  sweep(): Promise<void>;
  /** Sets the retention purge's hourly schedule in Redis, until that has worked once; never waits on a Redis that is away. */
  scheduleRetention(): Promise<void>;
}

/** How long a queue operation of the maintenance may wait for Redis. */
const REDIS_WAIT_MS = 3000;

/** Erases the personal data of campaigns closed RETENTION_DAYS_AFTER_CLOSE days ago or more. */
export async function runRetentionPurge(platform: Platform): Promise<void> {
  const purged = await purgeExpiredCampaigns(
    {
      db: platform.db,
      stats: platform.stats,
      districtsOf: (zip) => platform.representatives.districtsOfZip(zip),
    },
    platform.config.retentionDaysAfterClose,
  );
  for (const campaign of purged) {
    platform.logger.info(
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
 * The supporters queue's worker: the emails signers are owed (confirmation or verification link),
 * "your data" links, and the retention purge, which BullMQ repeats every hour (the schedule is set
 * again at each start, so a Redis that lost it gets it back).
 */
export function startSupportersWorker(platform: Platform): RunningSupporters {
  const { logger, config } = platform;
  const mailer = Mailer.fromConfig(config);

  const perform = async (name: string, payload: unknown, id: string | undefined) => {
    if (name === 'send-notices') {
      const data = noticesJob.safeParse(payload);
      if (!data.success) return;
      const sent = await sendPendingNotices(
        platform,
        mailer,
        data.data.campaignId,
        abuseControls(platform).emailLimits.sign,
      );
      logger.debug({ campaignId: data.data.campaignId, sent }, 'signer emails sent');
    } else if (name === 'send-data-link') {
      const data = dataLinkJob.safeParse(payload);
      if (data.success) await sendDataLink(platform, mailer, data.data.request, data.data.language);
    } else if (name === 'purge-expired') {
      await runRetentionPurge(platform);
    } else {
      logger.warn({ job: name, id }, 'dropping a supporters job it cannot read');
    }
  };

  const worker = new Worker(
    'supporters',
    async (job) => {
      try {
        await perform(job.name, job.data, job.id);
      } catch (error) {
        // BullMQ keeps a failed job's message in Redis: without the query parameters a database error carries.
        throw Object.assign(new Error(String(serializeError(error).message)), { cause: error });
      }
    },
    {
      connection: bullConnection(platform.redisConnection),
      prefix: platform.queues.prefix,
      concurrency: 4,
    },
  );
  // `err` goes through the logger's serializer, which cuts query parameters (addresses) out of database errors.
  worker.on('failed', (job, error) =>
    logger.warn(
      { err: error, job: job?.name, attempts: job?.attemptsMade },
      'supporters job failed',
    ),
  );
  logConnectionErrors(worker, logger, 'worker:supporters');

  let scheduled = false;
  return {
    worker,
    mailer,
    async sweep() {
      // With Redis away the emails stay owed in the database; a sweep after it is back asks for them.
      if (platform.redis.status !== 'ready') return;
      const campaigns = await queryRows<{ campaign_id: number }>(
        platform.db,
        sql`SELECT DISTINCT campaign_id FROM signatures WHERE notice_pending`,
      );
      try {
        for (const { campaign_id } of campaigns)
          await withTimeout(platform.queues.requestNotices(Number(campaign_id)), REDIS_WAIT_MS);
      } catch (error) {
        // Redis is away: the emails stay owed in the database, and the next sweep asks again.
        logger.warn({ err: error }, 'could not ask for owed signer emails; the next sweep will');
      }
    },
    async scheduleRetention() {
      if (scheduled || platform.redis.status !== 'ready') return;
      try {
        await withTimeout(platform.queues.scheduleRetention(RETENTION_EVERY_MS), REDIS_WAIT_MS);
        scheduled = true;
      } catch (error) {
        logger.warn(
          { err: error },
          'could not schedule the retention purge yet; the next maintenance will',
        );
      }
    },
  };
}
