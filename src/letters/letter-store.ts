import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import type { LetterStatus } from '../db/schema';

/**
 * The letters' store: the SQL that moves a letter's status and keeps `letter_counts` in step with
 * it. Delivery, hand delivery, held letters, erasure and writing all move letters through here.
 */

type Tx = Pick<Database, 'execute'>;

/**
 * The counts' side of status changes, as a statement over `moved(id, previous, next)` rows of
 * counted statuses (`previous` null for a new letter), one upsert per count row however many
 * letters move. A letter is not counted as `sending`: it stays counted as it was, so a claim moves
 * no counts and a result moves them once. The rows are upserted in key order, so that two
 * statements moving several of the same rows lock them in the same order and cannot deadlock.
 */
export const countMoves = (moved: string) =>
  sql.raw(`
  INSERT INTO letter_counts AS c (campaign_id, dimension, key, status, count)
  SELECT l.campaign_id, d.dimension, d.key, s.status, sum(s.delta)
  FROM ${moved} m JOIN letters l ON l.id = m.id JOIN letter_actions a ON a.id = l.action_id
  CROSS JOIN LATERAL (VALUES ('target', l.target_key), ('congressional', a.congressional_district)) AS d(dimension, key)
  CROSS JOIN LATERAL (VALUES (m.next, 1), (m.previous, -1)) AS s(status, delta)
  WHERE d.key IS NOT NULL AND s.status IS NOT NULL AND m.previous IS DISTINCT FROM m.next
  GROUP BY 1, 2, 3, 4
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (campaign_id, dimension, key, status) DO UPDATE SET count = c.count + EXCLUDED.count`);

/**
 * Moves a letter from one status to another, and its counts with it, in one statement. Only from
 * the status given: when the letter has moved on meanwhile (another worker took it over), nothing
 * changes and it says so.
 */
export async function changeLetterStatus(
  tx: Tx,
  letterId: number,
  from: LetterStatus,
  to: LetterStatus,
  extra = sql``,
): Promise<boolean> {
  const moved = await queryRows<{ id: number }>(
    tx,
    sql`
      WITH moved AS (
        UPDATE letters l SET status = ${to}, counted_status = CASE WHEN ${to} = 'sending' THEN old.counted_status ELSE ${to} END,
                             updated_at = now() ${extra}
        FROM letters old WHERE l.id = ${letterId}::bigint AND old.id = l.id AND l.status = ${from}
        RETURNING l.id, old.counted_status AS previous, l.counted_status AS next
      ), counted AS (${countMoves('moved')})
      SELECT id FROM moved`,
  );
  return moved.length > 0;
}
