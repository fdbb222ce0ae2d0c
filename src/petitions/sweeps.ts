import type { AppContext } from '../context';
import { defineSweep } from '../queue/job';
import { eraseExpiredIpHashes } from './ip-hash-retention';

/** Signatures' IP hashes older than IP_HASH_RETENTION_DAYS are erased (see ip-hash-retention.ts). */
export const ipHashExpiry = defineSweep<Pick<AppContext, 'db' | 'config' | 'logger'>>({
  name: 'IP hash expiry',
  async run(ctx) {
    const erased = await eraseExpiredIpHashes(ctx.db, ctx.config.ipHashRetentionDays);
    if (erased > 0) ctx.logger.info({ erased }, 'expired IP hashes erased');
  },
});
