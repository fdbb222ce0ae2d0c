import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';

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
    const [result] = await queryRows<{ erased: number }>(
      db,
      sql`WITH expired AS (
            UPDATE signatures SET ip_hash = NULL
            WHERE id IN (
              SELECT id FROM signatures
              WHERE ip_hash IS NOT NULL AND created_at < now() - make_interval(days => ${days}::int)
              LIMIT ${batchSize}::int
            )
            RETURNING 1
          )
          SELECT count(*)::int AS erased FROM expired`,
    );
    const count = Number(result?.erased ?? 0);
    erased += count;
    if (count < batchSize) return erased;
  }
}
