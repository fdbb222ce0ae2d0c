import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { actionsAwaitingConfirmation } from '../../delivery/deliver';
import { deliveryQueueLock } from '../../delivery/jobs/deliver-letter';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { sendConfirmation } from '../confirmation';

/**
 * `confirm-action`: sends a supporter whom their letters went to, and the private link to their
 * status page. It shares the delivery queue's worker (and so its lock) with `deliver-letter`.
 */
export const confirmActionJob = defineJob({
  queue: 'delivery',
  name: 'confirm-action',
  payload: z.object({ actionId: z.number().int().positive() }),
  options: { attempts: 5, backoff: { type: 'exponential', delay: 5000 } },
  concurrency: 16,
  lock: deliveryQueueLock,
  async perform(ctx: WorkerContext, { actionId }) {
    await sendConfirmation(ctx, ctx.mailer, actionId, ctx.abuse.emailLimits.sign);
  },
});

/** Queues a supporter's confirmation email (once: a confirmation already waiting is not queued again). */
export async function requestConfirmation(
  queues: Pick<Queues, 'add'>,
  actionId: number,
): Promise<void> {
  await queues.add(
    confirmActionJob,
    { actionId },
    { deduplication: { id: `confirm:${actionId}` } },
  );
}

/** Queues again the confirmations not sent after ten minutes (their job lost, or every attempt failed). */
export const confirmationSweep = defineSweep<Pick<AppContext, 'db' | 'queues'>>({
  name: 'confirmations not sent',
  async run(ctx) {
    for (const actionId of await actionsAwaitingConfirmation(ctx.db, 10 * 60_000))
      await requestConfirmation(ctx.queues, actionId);
  },
});
