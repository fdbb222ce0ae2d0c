import path from 'node:path';
import { DelayedError, type Job } from 'bullmq';
import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { Batcher } from '../batcher';
import { cwcSender } from '../cwc-sender';
import {
  emailRecipientOf,
  letterDelivery,
  lettersAwaitingDelivery,
  MAX_ATTEMPTS,
  type DeliveryContext,
} from '../deliver';
import { Mailer } from '../mailer';
import { reserveMinutes } from '../recipient-throttle';

/**
 * The delivery queue's lock: a job whose worker died is taken up again once it lapses, and a
 * letter's open attempt is judged interrupted by its age against it (deliver.ts).
 */
export const deliveryQueueLock = (ctx: Pick<AppContext, 'config'>) => ({
  durationMs: ctx.config.delivery.lockSeconds * 1000,
  stalledCheckMs: ctx.config.delivery.lockSeconds * 1000,
});

/** What the delivery worker keeps while it runs: the batched claims and records, and the throttle. */
function sender(ctx: WorkerContext) {
  return ctx.kept('deliver-letter', () => {
    const { config, logger, mailer } = ctx;
    if (mailer.kind === 'files' && config.env === 'production') {
      logger.warn(
        'SMTP_URL is not set: letters and confirmations are written to files under DATA_DIR/mail and reach nobody',
      );
    }
    const delivery: DeliveryContext = {
      db: ctx.db,
      encryption: ctx.encryption,
      mailer,
      rehearsalFiles:
        mailer.kind === 'files'
          ? mailer
          : new Mailer({ smtpUrl: undefined, mailDir: path.join(config.dataDir, 'mail') }),
      config,
      cwc: cwcSender(config.delivery.cwc),
    };
    return {
      deliver: letterDelivery(delivery),
      // The jobs running at the same time reserve their slots together.
      throttle: new Batcher((addresses: string[]) =>
        reserveMinutes(ctx, addresses, config.delivery.perRecipientPerMinute),
      ),
    };
  });
}

/**
 * Waits for the recipient's next free minute (the per-recipient throttle), once: a job whose slot
 * is ahead goes back to BullMQ's delayed set until then, with the slot in its data.
 */
async function waitForSlot(
  ctx: WorkerContext,
  job: Job,
  token: string | undefined,
  letterId: number,
  known: string | null | undefined,
): Promise<void> {
  const { config } = ctx;
  // Where the letter goes, from the job when its producer knew it (no query), else from the letter.
  const to = known === undefined ? await emailRecipientOf(ctx.db, letterId) : known;
  const recipient = to ? (config.delivery.redirectTo ?? to) : config.delivery.redirectTo;
  if (!recipient) return;
  const reserved = await sender(ctx).throttle.submit(recipient);
  if (reserved > Math.floor(Date.now() / 60_000)) {
    await job.updateData({ letterId, to, minute: reserved });
    await job.moveToDelayed(reserved * 60_000 + Math.floor(Math.random() * 10_000), token);
    throw new DelayedError();
  }
}

/**
 * `deliver-letter`: sends one letter (its outbox row) through its channel. A failure that may
 * pass is retried by BullMQ with exponential back-off, MAX_ATTEMPTS times in all.
 */
export const deliverLetterJob = defineJob({
  queue: 'delivery',
  name: 'deliver-letter',
  payload: z.object({
    letterId: z.number().int().positive(),
    /** The email address it goes to, when the producer knows it (the throttle needs it). */
    to: z.string().nullish(),
    /** Its reserved minute, once the throttle gave it one. */
    minute: z.number().int().optional(),
  }),
  options: { attempts: MAX_ATTEMPTS, backoff: { type: 'exponential', delay: 5000 } },
  // Jobs at a time: their claims and records share statements, so more of them cost the database
  // less per letter, not more.
  concurrency: 16,
  lock: deliveryQueueLock,
  async perform(ctx: WorkerContext, { letterId, to, minute }, job, token) {
    if (minute === undefined) await waitForSlot(ctx, job, token, letterId, to);
    const result = await sender(ctx).deliver(letterId);
    ctx.logger.debug({ letterId, result }, 'letter delivery');
    if (result === 'retrying') throw new Error('delivery will be retried');
  },
});

/** Queues a letter for delivery; a letter already waiting is not queued twice. */
export async function requestDelivery(
  queues: Pick<Queues, 'add'>,
  letterId: number,
  to?: string | null,
): Promise<void> {
  await queues.add(
    deliverLetterJob,
    { letterId, to },
    { deduplication: { id: `letter:${letterId}` } },
  );
}

/** Queues again the letters whose jobs were lost, e.g. with a Redis that lost its data. */
export const letterSweep = defineSweep<Pick<AppContext, 'db' | 'queues' | 'config'>>({
  name: 'letters awaiting delivery',
  async run(ctx) {
    const olderThanMs = 4 * ctx.config.delivery.lockSeconds * 1000;
    for (let after = 0; ;) {
      const page = await lettersAwaitingDelivery(ctx.db, olderThanMs, after);
      if (page.length === 0) break;
      await Promise.all(page.map((letterId) => requestDelivery(ctx.queues, letterId)));
      after = page[page.length - 1]!;
    }
  },
});
