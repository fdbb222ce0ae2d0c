import type { Database } from '../db/client';
import { eraseIpHashesBatch } from './signature-store';

/**
 * Erases IP hashes older than `days` from signatures. They only serve to spot abuse while it
 * happens; after that they are personal data with no purpose. Returns how many were erased.
 */
export async function eraseExpiredIpHashes(
  db: Database,
  days: number,
  batchSize = 10_000,
): Promise<number> {
  let erased = 0;
  for (;;) {
    const count = await eraseIpHashesBatch(db, days, batchSize);
    erased += count;
    if (count < batchSize) return erased;
  }
}
