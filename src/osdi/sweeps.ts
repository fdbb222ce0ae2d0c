import type { AppContext } from '../context';
import { defineSweep } from '../queue/job';
import { summariseTokenUse } from './tokens';

/** Yesterday's (and any earlier unsummarised day's) API token use, written to the audit log once. */
export const tokenUseSummary = defineSweep<Pick<AppContext, 'db' | 'logger'>>({
  name: 'API token use summary',
  async run(ctx) {
    const summarised = await summariseTokenUse(ctx.db);
    if (summarised > 0)
      ctx.logger.info({ days: summarised }, 'API token use summarised in the audit log');
  },
});
