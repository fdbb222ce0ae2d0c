import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import type { LetterStatus } from '../db/schema';

export interface LetterCounts {
  /** Per target (`us-house:<bioguide>`, …) and status. */
  byTarget: Record<string, Partial<Record<LetterStatus, number>>>;
  /** Per writer's congressional district (GEOID) and status. */
  byDistrict: Record<string, Partial<Record<LetterStatus, number>>>;
}

/** A campaign's letters by target and by district, from the counts the workers keep (never a scan of the letters). */
export async function letterCounts(db: Database, campaignId: number): Promise<LetterCounts> {
  const rows = await queryRows<{
    dimension: string;
    key: string;
    status: LetterStatus;
    count: number;
  }>(
    db,
    sql`SELECT dimension, key, status, count FROM letter_counts WHERE campaign_id = ${campaignId}::int AND count > 0`,
  );
  const counts: LetterCounts = { byTarget: {}, byDistrict: {} };
  for (const row of rows) {
    const table = row.dimension === 'target' ? counts.byTarget : counts.byDistrict;
    (table[row.key] ??= {})[row.status] = Number(row.count);
  }
  return counts;
}
