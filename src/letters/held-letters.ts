import { sql } from 'drizzle-orm';
import { campaignsWith } from '../campaigns/directory';
import { queryRows, type Database } from '../db/client';
import { countMoves } from './letter-store';
import type { DepartedOfficial } from '../representatives/changes';

type Tx = Pick<Database, 'execute'>;

/** Why a letter was held, for staff: who left, when the data said so, and who holds the seat now. */
export function heldReason(departed: DepartedOfficial, day: string): string {
  const now = departed.successor
    ? `${departed.successor} holds the seat now`
    : 'the seat is vacant';
  return `Held: the representative data of ${day} no longer has ${departed.name} in this office (${now}). Release it to send it anyway, or cancel it.`;
}

/**
 * Holds the letters still waiting to go (`queued` or `retrying`, or by hand and not yet in a
 * packet) to officials who are no longer in that office, so that none is sent to a departed member; staff release or cancel them from the
 * campaign's Delivery page. Runs in the transaction that switches to the new representative data.
 *
 * A letter that a delivery worker is claiming at the same moment is moved once or not at all: the
 * letters are locked first (`FOR UPDATE`, which waits for a claim in progress and then sees the
 * letter as the claim left it, `sending`, and passes over it), and the counts move from the status
 * each letter had when it was locked. A letter being sent (`sending`) is not held: its send is
 * already on its way.
 */
export async function holdLettersToDeparted(
  tx: Tx,
  departed: DepartedOfficial[],
  now = new Date(),
): Promise<number> {
  if (departed.length === 0) return 0;
  const day = now.toISOString().slice(0, 10);
  const targets = departed.map((official) => ({
    key: official.targetKey,
    reason: heldReason(official, day),
  }));
  const moved = await queryRows<{ id: number }>(
    tx,
    sql`
      WITH departed AS (
        SELECT d.key, d.reason FROM jsonb_to_recordset(${JSON.stringify(targets)}::jsonb) AS d(key text, reason text)
      ), waiting AS (
        -- Letters waiting to be sent, and those waiting for hand delivery outside any packet (a
        -- packet already prepared is the staff's to hand over or not).
        SELECT l.id, l.counted_status, d.reason FROM letters l JOIN departed d ON d.key = l.target_key
        WHERE l.status IN ('queued', 'retrying') OR (l.status = 'hand-delivery' AND l.packet_id IS NULL)
        ORDER BY l.id FOR UPDATE OF l
      ), moved AS (
        UPDATE letters l SET status = 'held', counted_status = 'held', last_error = w.reason, updated_at = now()
        FROM waiting w WHERE l.id = w.id
        RETURNING l.id, w.counted_status AS previous, l.counted_status AS next
      ), counted AS (${countMoves('moved')})
      SELECT id FROM moved`,
  );
  return moved.length;
}

/** The campaigns with held letters, and how many each has (from the count table). */
export async function heldLetterCounts(
  db: Database,
): Promise<Array<{ campaignId: number; slug: string; title: string; held: number }>> {
  const rows = await queryRows<{ id: number; slug: string; title: string; held: number | string }>(
    db,
    sql`SELECT c.id, c.slug, c.title, sum(lc.count) AS held
        FROM letter_counts lc JOIN ${campaignsWith('slug', 'title')} c ON c.id = lc.campaign_id
        WHERE lc.dimension = 'target' AND lc.status = 'held'
        GROUP BY c.id, c.slug, c.title HAVING sum(lc.count) > 0
        ORDER BY c.title`,
  );
  return rows.map((row) => ({
    campaignId: Number(row.id),
    slug: row.slug,
    title: row.title,
    held: Number(row.held),
  }));
}
