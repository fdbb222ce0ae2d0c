import { DelayedError, Worker, type Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows } from '../src/db/client';
import { Batcher } from '../src/delivery/batcher';
import {
  actionsAwaitingConfirmation,
  letterDelivery,
  lettersAwaitingDelivery,
  type DeliveryContext,
} from '../src/delivery/deliver';
import path from 'node:path';
import { CwcChannel, cwcDeliveryId, splitName } from '../src/delivery/cwc';
import { Mailer } from '../src/delivery/mailer';
import { sendConfirmation } from '../src/letters/confirmation';
import { streetOf } from '../src/representatives/lookup';
import { abuseControls } from '../src/abuse/controls';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection } from '../src/queue/jobs';

const letterJob = z.object({
  letterId: z.number().int().positive(),
  to: z.string().nullish(),
  minute: z.number().int().optional(),
});
const confirmJob = z.object({ actionId: z.number().int().positive() });

/**
 * A per-recipient throttle shared by every worker through Redis: each letter to an address takes
 * the next free slot, `limit` slots a minute, and waits for its minute once (a backlog of letters
 * to one office is spread over the minutes ahead, not woken every minute). One call reserves a
 * slot per key given, in order (a key given twice takes two slots), and returns the slots.
 */
const RESERVE_SLOTS = `
local first = tonumber(ARGV[1]) * tonumber(ARGV[2])
local slots = {}
for i, key in ipairs(KEYS) do
  local slot = tonumber(redis.call('GET', key) or '0')
  if slot < first then slot = first end
  redis.call('SET', key, slot + 1, 'EX', 86400 * 7)
  slots[i] = slot
end
return slots`;

/**
 * The minute each letter may go in, per recipient address, in one round trip for all of them.
 * Fails open when Redis does not answer (the queue itself needs Redis anyway).
 */
async function reserveMinutes(
  platform: Platform,
  addresses: string[],
  limit: number,
): Promise<number[]> {
  const now = Math.floor(Date.now() / 60_000);
  try {
    const keys = addresses.map(
      (address) => `${platform.config.redisKeyPrefix}:throttle:${address.toLowerCase()}`,
    );
    const slots = (await platform.redis.eval(
      RESERVE_SLOTS,
      keys.length,
      ...keys,
      String(now),
      String(limit),
    )) as number[];
    return slots.map((slot) => Math.floor(Number(slot) / limit));
  } catch {
    return addresses.map(() => now);
  }
}

/**
 * Sends a letter as a CWC document to its chamber's CWC (House offices' codes start with H, Senate
 * offices' with S), when that chamber's CWC is configured.
 */
function cwcSender(settings: Platform['config']['delivery']['cwc']): DeliveryContext['cwc'] {
  if (!settings) return undefined;
  return (letter, options) => {
    const chamber = letter.channelAddress?.startsWith('S') ? settings.senate : settings.house;
    if (!chamber)
      return Promise.resolve({
        outcome: 'failed',
        error: `CWC for the ${letter.channelAddress?.startsWith('S') ? 'Senate' : 'House'} is no longer configured`,
      });
    const channel = new CwcChannel({
      url: chamber.url,
      apiKey: chamber.apiKey,
      organization: settings.organization,
      campaignId: letter.campaignSlug,
      deliveryAgent: {
        name: settings.organization,
        email: settings.contactEmail,
        phone: settings.contactPhone,
        ackEmail: settings.contactEmail,
      },
    });
    const { firstName, lastName } = splitName(letter.supporter.name);
    return channel.send(
      {
        deliveryId: cwcDeliveryId(letter.idempotencyKey),
        date: new Date(),
        office: letter.channelAddress ?? '',
        constituent: {
          prefix: letter.supporter.prefix ?? undefined,
          firstName,
          lastName,
          // The street line alone: the city, state and ZIP have elements of their own.
          address1: letter.supporter.address ? streetOf(letter.supporter.address) : '',
          city: letter.supporter.city ?? '',
          state: letter.supporter.state ?? '',
          zip: letter.supporter.zip,
          email: letter.supporter.email,
        },
        subject: letter.subject,
        message: letter.body,
      },
      options,
    );
  };
}

export interface RunningDelivery {
  worker: Worker;
  mailer: Mailer;
  /** Queues again the letters whose jobs were lost, e.g. with a Redis that lost its data. */
  sweep(): Promise<void>;
}

/** The delivery queue's worker: sends letters through their channels, and supporters their confirmations. */
export function startDeliveryWorker(
  platform: Platform,
  options: { concurrency?: number } = {},
): RunningDelivery {
  const { logger, config } = platform;
  const mailer = Mailer.fromConfig(config);
  if (mailer.kind === 'files' && config.env === 'production') {
    logger.warn(
      'SMTP_URL is not set: letters and confirmations are written to files under DATA_DIR/mail and reach nobody',
    );
  }
  const rehearsalFiles =
    mailer.kind === 'files'
      ? mailer
      : new Mailer({ smtpUrl: undefined, mailDir: path.join(config.dataDir, 'mail') });
  const ctx: DeliveryContext = {
    db: platform.db,
    encryption: platform.encryption,
    mailer,
    rehearsalFiles,
    config,
    cwc: cwcSender(config.delivery.cwc),
  };
  const deliverLetter = letterDelivery(ctx);
  // The jobs running at the same time reserve their slots together.
  const throttle = new Batcher((addresses: string[]) =>
    reserveMinutes(platform, addresses, config.delivery.perRecipientPerMinute),
  );

  const process = async (job: Job, token?: string) => {
    if (job.name === 'confirm-action') {
      const data = confirmJob.safeParse(job.data);
      if (data.success)
        await sendConfirmation(
          platform,
          mailer,
          data.data.actionId,
          abuseControls(platform).emailLimits.sign,
        );
      return;
    }
    const data = letterJob.safeParse(job.data);
    if (job.name !== 'deliver-letter' || !data.success) {
      logger.warn({ job: job.name, id: job.id }, 'dropping a delivery job it cannot read');
      return;
    }
    const { letterId, minute } = data.data;
    if (minute === undefined) {
      // Where the letter goes, from the job when its producer knew it (no query), else from the letter.
      let to = data.data.to;
      if (to === undefined) {
        const [target] = await queryRows<{
          channel: string;
          channel_address: string | null;
          status: string;
        }>(
          platform.db,
          sql`SELECT channel, channel_address, status FROM letters WHERE id = ${letterId}::bigint`,
        );
        to =
          target?.channel === 'email' &&
          (target.status === 'queued' || target.status === 'retrying')
            ? target.channel_address
            : null;
      }
      const recipient = to ? (config.delivery.redirectTo ?? to) : config.delivery.redirectTo;
      if (recipient) {
        const reserved = await throttle.submit(recipient);
        if (reserved > Math.floor(Date.now() / 60_000)) {
          await job.updateData({ letterId, to, minute: reserved });
          await job.moveToDelayed(reserved * 60_000 + Math.floor(Math.random() * 10_000), token);
          throw new DelayedError();
        }
      }
    }
    const result = await deliverLetter(letterId);
    logger.debug({ letterId, result }, 'letter delivery');
    // A failure that may pass: BullMQ retries the job with exponential back-off.
    if (result === 'retrying') throw new Error('delivery will be retried');
  };

  const worker = new Worker('delivery', process, {
    connection: bullConnection(platform.redisConnection),
    prefix: platform.queues.prefix,
    // Jobs at a time: their claims and records share statements, so more of them cost the
    // database less per letter, not more.
    concurrency: options.concurrency ?? 16,
    lockDuration: config.delivery.lockSeconds * 1000,
    stalledInterval: config.delivery.lockSeconds * 1000,
  });
  worker.on('failed', (job, error) => {
    if (error instanceof DelayedError) return;
    logger.warn(
      { job: job?.name, attempts: job?.attemptsMade, reason: error.message },
      'delivery job failed',
    );
  });
  logConnectionErrors(worker, logger, 'worker:delivery');

  return {
    worker,
    mailer,
    async sweep() {
      const olderThanMs = 4 * config.delivery.lockSeconds * 1000;
      for (let after = 0; ;) {
        const page = await lettersAwaitingDelivery(platform.db, olderThanMs, after);
        if (page.length === 0) break;
        await Promise.all(page.map((letterId) => platform.queues.requestDelivery(letterId)));
        after = page[page.length - 1]!;
      }
      for (const actionId of await actionsAwaitingConfirmation(platform.db, 10 * 60_000)) {
        await platform.queues.requestConfirmation(actionId);
      }
    },
  };
}
