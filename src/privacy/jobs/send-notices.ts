import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { withTimeout } from '../../time-limit';
import { campaignsOwedNotices } from '../../petitions/signature-store';
import { sendPendingNotices } from '../notices';

/** How long the sweep may wait for Redis to take one request. */
const REDIS_WAIT_MS = 3000;

/** `send-notices`: sends the signers of one campaign the emails they are owed (confirmation or verification link). */
export const sendNoticesJob = defineJob({
  queue: 'supporters',
  name: 'send-notices',
  payload: z.object({ campaignId: z.number().int().positive() }),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 5000 } },
  concurrency: 4,
  async perform(ctx: WorkerContext, { campaignId }) {
    const sent = await sendPendingNotices(ctx, ctx.mailer, campaignId, ctx.abuse.emailLimits.sign);
    ctx.logger.debug({ campaignId, sent }, 'signer emails sent');
  },
});

/** Asks for a campaign's owed signer emails to be sent; coalesces like tally requests. */
export async function requestNoticeJob(
  queues: Pick<Queues, 'add'>,
  campaignId: number,
): Promise<void> {
  await queues.add(
    sendNoticesJob,
    { campaignId },
    { deduplication: { id: `send-notices:${campaignId}`, keepLastIfActive: true } },
  );
}

/** Asks again for the signer emails whose jobs were lost (with a Redis that lost its data, say). */
export const noticeSweep = defineSweep<Pick<AppContext, 'db' | 'queues' | 'redis' | 'logger'>>({
  name: 'signer emails owed',
  async run(ctx) {
    // With Redis away the emails stay owed in the database; a sweep after it is back asks for them.
    if (ctx.redis.status !== 'ready') return;
    const campaigns = await campaignsOwedNotices(ctx.db);
    try {
      for (const campaignId of campaigns)
        await withTimeout(requestNoticeJob(ctx.queues, campaignId), REDIS_WAIT_MS);
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not ask for owed signer emails; the next sweep will');
    }
  },
});
