import { DelayedError, Worker, type Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows } from '../src/db/client';
import { deliverLetter, lettersAwaitingDelivery, type DeliveryContext } from '../src/delivery/deliver';
import { CwcChannel, cwcDeliveryId } from '../src/delivery/cwc';
import { Mailer } from '../src/delivery/mailer';
import { sendConfirmation } from '../src/letters/confirmation';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';

const letterJob = z.object({ letterId: z.number().int().positive() });
const confirmJob = z.object({ actionId: z.number().int().positive() });

/**
 * A per-recipient throttle, shared by every worker through Redis: at most `limit` letters to one
 * address per minute. Fails open when Redis does not answer (the queue itself needs Redis anyway).
 */
async function withinRecipientLimit(platform: Platform, address: string, limit: number): Promise<boolean> {
  const minute = Math.floor(Date.now() / 60_000);
  const key = `${platform.config.redisKeyPrefix}:throttle:${address.toLowerCase()}:${minute}`;
  try {
    const [[, count]] = (await platform.redis.multi().incr(key).expire(key, 120).exec()) as [[Error | null, number]];
    return count <= limit;
  } catch {
    return true;
  }
}

/** Sends a letter as a CWC document, when CWC is configured. */
function cwcSender(settings: Platform['config']['delivery']['cwc']): DeliveryContext['cwc'] {
  if (!settings) return undefined;
  return (letter) => {
    const channel = new CwcChannel({
      url: settings.url,
      apiKey: settings.apiKey,
      organization: settings.organization,
      campaignId: letter.campaignSlug,
      deliveryAgent: { name: settings.organization, email: settings.contactEmail, phone: settings.contactPhone, ackEmail: settings.contactEmail },
    });
    const name = letter.supporter.name.trim();
    const split = name.lastIndexOf(' ');
    return channel.send({
      deliveryId: cwcDeliveryId(letter.idempotencyKey),
      date: new Date(),
      office: letter.channelAddress ?? '',
      constituent: {
        firstName: split > 0 ? name.slice(0, split) : name,
        lastName: split > 0 ? name.slice(split + 1) : name,
        address1: letter.supporter.address ?? '',
        city: letter.supporter.city ?? '',
        state: letter.supporter.state ?? '',
        zip: letter.supporter.zip,
        email: letter.supporter.email,
      },
      subject: letter.subject,
      message: letter.body,
    });
  };
}

export interface RunningDelivery {
  worker: Worker;
  mailer: Mailer;
  /** Queues again the letters whose jobs were lost, e.g. with a Redis that lost its data. */
  sweep(): Promise<void>;
}

/** The delivery queue's worker: sends letters through their channels, and supporters their confirmations. */
export function startDeliveryWorker(platform: Platform, options: { concurrency?: number } = {}): RunningDelivery {
  const { logger, config } = platform;
  const mailer = Mailer.fromConfig(config);
  const ctx: DeliveryContext = { db: platform.db, mailer, config, cwc: cwcSender(config.delivery.cwc) };

  const process = async (job: Job, token?: string) => {
    if (job.name === 'confirm-action') {
      const data = confirmJob.safeParse(job.data);
      if (data.success) await sendConfirmation(platform, mailer, data.data.actionId);
      return;
    }
    const data = letterJob.safeParse(job.data);
    if (job.name !== 'deliver-letter' || !data.success) {
      logger.warn({ job: job.name, id: job.id }, 'dropping a delivery job it cannot read');
      return;
    }
    const { letterId } = data.data;
    const [target] = await queryRows<{ channel: string; channel_address: string | null }>(
      platform.db,
      sql`SELECT channel, channel_address FROM letters WHERE id = ${letterId}::bigint`,
    );
    const recipient = config.delivery.redirectTo ?? target?.channel_address;
    if (target?.channel === 'email' && recipient && !(await withinRecipientLimit(platform, recipient, config.delivery.perRecipientPerMinute))) {
      await job.moveToDelayed(Math.ceil((Date.now() + 1) / 60_000) * 60_000 + Math.floor(Math.random() * 5000), token);
      throw new DelayedError();
    }
    const result = await deliverLetter(ctx, letterId);
    logger.debug({ letterId, result }, 'letter delivery');
    // A failure that may pass: BullMQ retries the job with exponential back-off.
    if (result === 'retrying') throw new Error('delivery will be retried');
  };

  const worker = new Worker('delivery', process, {
    connection: bullConnection(platform.redisConnection),
    prefix: platform.queues.prefix,
    concurrency: options.concurrency ?? 8,
    lockDuration: config.delivery.lockSeconds * 1000,
    stalledInterval: config.delivery.lockSeconds * 1000,
  });
  worker.on('failed', (job, error) => {
    if (error instanceof DelayedError) return;
    logger.warn({ job: job?.name, attempts: job?.attemptsMade, reason: error.message }, 'delivery job failed');
  });
  logConnectionErrors(worker, logger, 'worker:delivery');

  return {
    worker,
    mailer,
    async sweep() {
      for (const letterId of await lettersAwaitingDelivery(platform.db, 4 * config.delivery.lockSeconds * 1000)) {
        await platform.queues.requestDelivery(letterId);
      }
    },
  };
}
