import { Worker } from 'bullmq';
import { Mailer } from '../src/delivery/mailer';
import { serializeError } from '../src/logger';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';
import { summariseTokenUse } from '../src/osdi/tokens';
import {
  DELIVER_WEBHOOKS,
  deliverWebhooksPayload,
  onDeliveryFailed,
  performDelivery,
  sweepWebhooks,
} from '../src/webhooks/deliver-job';

export interface RunningWebhooks {
  worker: Worker;
  mailer: Mailer;
  /** Wakes the delivery of subscriptions with events waiting, trims the attempt log, and summarises yesterday's API token use. */
  sweep(): Promise<void>;
}

/** How many subscriptions one worker process sends to at once: each waits on a receiver (up to 5 s). */
const CONCURRENCY = 8;

/** The webhooks queue's worker: wires the delivery job (src/webhooks/deliver-job.ts) to BullMQ. */
export function startWebhooksWorker(platform: Platform): RunningWebhooks {
  const { logger } = platform;
  const mailer = Mailer.fromConfig(platform.config);
  const ctx = { ...platform, mailer };
  const worker = new Worker(
    'webhooks',
    async (job) => {
      const data = deliverWebhooksPayload.safeParse(job.data);
      if (job.name !== DELIVER_WEBHOOKS || !data.success) {
        logger.warn({ job: job.name, id: job.id }, 'dropping a webhooks job it cannot read');
        return;
      }
      try {
        await performDelivery(ctx, data.data);
      } catch (error) {
        // BullMQ keeps a failed job's message in Redis: without the query parameters a database error carries.
        throw Object.assign(new Error(String(serializeError(error).message)), { cause: error });
      }
    },
    {
      connection: bullConnection(platform.redisConnection),
      prefix: platform.queues.prefix,
      concurrency: CONCURRENCY,
    },
  );
  worker.on('failed', (job, error) => onDeliveryFailed(platform, job, error));
  logConnectionErrors(worker, logger, 'worker:webhooks');
  return {
    worker,
    mailer,
    async sweep() {
      const summarised = await summariseTokenUse(platform.db);
      if (summarised > 0)
        logger.info({ days: summarised }, 'API token use summarised in the audit log');
      if (platform.redis.status !== 'ready') return;
      await sweepWebhooks(platform).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not ask for waiting webhooks; the next sweep will'),
      );
    },
  };
}
