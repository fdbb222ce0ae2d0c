import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { DEFAULT_LANGUAGE, type Language } from '../../i18n/translations';
import { defineJob } from '../../queue/job';
import { DATA_LINK_EVERY_SECONDS, sendDataLink } from '../data-rights';
import { emailKey, sealLink } from '../links';

/**
 * `send-data-link`: mails a "your data" link, if we hold anything for the address sealed in
 * `request`. The job (a sealed address) is removed from Redis once done or given up.
 */
export const sendDataLinkJob = defineJob({
  queue: 'supporters',
  name: 'send-data-link',
  payload: z.object({
    request: z.string().min(1).max(1000),
    language: z.string().max(10).optional(),
  }),
  options: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 5000 },
    removeOnComplete: true,
    removeOnFail: true,
  },
  concurrency: 4,
  async perform(ctx: WorkerContext, { request, language }) {
    await sendDataLink(ctx, ctx.mailer, request, language);
  },
});

/**
 * Queues the "your data" email for an address, at most once per DATA_LINK_EVERY_SECONDS. The job
 * carries the address sealed (Redis never holds it in clear) and is removed once done.
 */
export async function requestDataLink(
  ctx: Pick<AppContext, 'redis' | 'config' | 'queues'>,
  email: string,
  language: Language = DEFAULT_LANGUAGE,
): Promise<void> {
  const allowed = await ctx.redis
    .set(
      `${ctx.config.redisKeyPrefix}:privacy:data-link:${emailKey(ctx.config.secret, email)}`,
      '1',
      'EX',
      DATA_LINK_EVERY_SECONDS,
      'NX',
    )
    .catch(() => 'OK');
  if (allowed !== 'OK') return;
  const request = sealLink(ctx.config.secret, 'data-request', email);
  await ctx.queues.add(sendDataLinkJob, { request, ...(language ? { language } : {}) });
}
