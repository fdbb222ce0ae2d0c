import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import { countMoves } from './letter-store';
import { recordAudit, type Actor } from '../staff/audit';
import { requestDelivery } from '../delivery/jobs/deliver-letter';

/**
 * The letters that wait for staff besides those for hand delivery: `held` ones (their office
 * changed hands after they were written), which staff release or cancel, and `failed` ones,
 * listed with their reason. The lists read the count table (a row per office) and a page of the
 * staff index (campaign, status, office, id) at a time, however many letters there are.
 */

export type AttentionStatus = 'held' | 'failed';

export interface AttentionOffice {
  targetKey: string;
  name: string;
  title: string;
  letters: number;
}

/** Offices with held (or failed) letters and how many, from the count table (a row per office), most first. */
export async function attentionOffices(
  db: Database,
  campaignId: number,
  status: AttentionStatus,
  limit = 100,
): Promise<AttentionOffice[]> {
  const rows = await queryRows<{
    key: string;
    count: string | number;
    target_name: string | null;
    target_title: string | null;
  }>(
    db,
    sql`SELECT c.key, c.count, named.target_name, named.target_title FROM letter_counts c
        LEFT JOIN LATERAL (
          SELECT l.target_name, l.target_title FROM letters l
          WHERE l.campaign_id = c.campaign_id AND l.status = ${status} AND l.target_key = c.key ORDER BY l.id DESC LIMIT 1
        ) named ON true
        WHERE c.campaign_id = ${campaignId}::int AND c.dimension = 'target' AND c.status = ${status} AND c.count > 0
        ORDER BY c.count DESC, c.key LIMIT ${limit}::int`,
  );
  return rows.map((row) => ({
    targetKey: row.key,
    name: row.target_name ?? row.key,
    title: row.target_title ?? '',
    letters: Number(row.count),
  }));
}

export interface AttentionLetter {
  id: number;
  targetKey: string;
  targetName: string;
  targetTitle: string;
  channel: string;
  writtenAt: Date;
  updatedAt: Date;
  /** Why it failed (for CWC, the lines of its `<Error>` answer), or why it is held. */
  reason: string | null;
}

/** Where a list of letters resumes: after this office and letter id (the staff index's order). */
export interface LetterCursor {
  targetKey: string;
  id: number;
}

export const ATTENTION_PAGE = 50;

/** Encodes a cursor for a link; `parseCursor` reads it back (anything else is no cursor). */
export const formatCursor = (cursor: LetterCursor) =>
  Buffer.from(JSON.stringify([cursor.targetKey, cursor.id])).toString('base64url');
export function parseCursor(value: unknown): LetterCursor | undefined {
  if (typeof value !== 'string' || value.length > 400) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || !Number.isSafeInteger(parsed[1]))
      return undefined;
    return { targetKey: parsed[0], id: parsed[1] as number };
  } catch {
    return undefined;
  }
}

/**
 * Held or failed letters of a campaign, by office then in the order they were written, a page of
 * ATTENTION_PAGE at a time after `after`: a range of the staff index, however many there are. No
 * letter text: who it was to, when, and why.
 */
export async function attentionLetters(
  db: Database,
  campaignId: number,
  status: AttentionStatus,
  after?: LetterCursor,
): Promise<{ letters: AttentionLetter[]; next: LetterCursor | null }> {
  const resume = after
    ? sql`AND (l.target_key, l.id) > (${after.targetKey}, ${after.id}::bigint)`
    : sql``;
  const rows = await queryRows<{
    id: string | number;
    target_key: string;
    target_name: string;
    target_title: string;
    channel: string;
    created_at: Date | string;
    updated_at: Date | string;
    last_error: string | null;
  }>(
    db,
    sql`SELECT l.id, l.target_key, l.target_name, l.target_title, l.channel, l.created_at, l.updated_at, l.last_error FROM letters l
        WHERE l.campaign_id = ${campaignId}::int AND l.status = ${status} ${resume}
        ORDER BY l.target_key, l.id LIMIT ${ATTENTION_PAGE + 1}::int`,
  );
  const letters = rows.slice(0, ATTENTION_PAGE).map((row) => ({
    id: Number(row.id),
    targetKey: row.target_key,
    targetName: row.target_name,
    targetTitle: row.target_title,
    channel: row.channel,
    writtenAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    reason: row.last_error,
  }));
  const last = letters[letters.length - 1];
  return {
    letters,
    next: rows.length > ATTENTION_PAGE && last ? { targetKey: last.targetKey, id: last.id } : null,
  };
}

/** Why staff cancelled a held letter, as its status page and the failed list show it. */
export const CANCELLED_BY_STAFF = 'cancelled by staff';
/** At most this many held letters move per request for one office; the page says how many remain. */
export const HELD_BATCH = 1000;

export type HeldSelection = { letterId: number } | { targetKey: string };
export type HeldAction = 'release' | 'cancel';

export type HeldResult =
  { outcome: 'moved'; letters: number; remaining: number } | { outcome: 'none' };

/**
 * Releases held letters (back to `queued`, and their delivery queued; a letter that travels by
 * hand goes back to waiting for hand delivery) or cancels them (`failed`, "cancelled by staff"):
 * one letter, or up to HELD_BATCH of an office's, in one statement that moves their counts with
 * them (as `changeLetterStatus` does for one letter), once: a letter no longer held is left alone.
 * Audited, without any letter's content.
 */
export async function moveHeldLetters(
  ctx: Pick<AppContext, 'db' | 'queues' | 'logger'>,
  campaignId: number,
  selection: HeldSelection,
  action: HeldAction,
  staff: Actor,
): Promise<HeldResult> {
  const picked =
    'letterId' in selection
      ? sql`l.id = ${selection.letterId}::bigint AND l.campaign_id = ${campaignId}::int AND l.status = 'held'`
      : sql`l.campaign_id = ${campaignId}::int AND l.status = 'held' AND l.target_key = ${selection.targetKey}`;
  const cancel = action === 'cancel';
  const moved = await ctx.db.transaction(async (tx) => {
    const next = sql`CASE WHEN ${cancel}::boolean THEN 'failed' WHEN l.channel = 'hand' THEN 'hand-delivery' ELSE 'queued' END`;
    const letters = await queryRows<{ id: string | number; channel: string }>(
      tx,
      sql`WITH picked AS (
            SELECT l.id FROM letters l WHERE ${picked} ORDER BY l.id LIMIT ${HELD_BATCH}::int FOR UPDATE
          ), moved AS (
            UPDATE letters l SET status = ${next}, counted_status = ${next}, updated_at = now(),
                                 last_error = CASE WHEN ${cancel}::boolean THEN ${CANCELLED_BY_STAFF}::text END
            FROM picked p, letters old WHERE l.id = p.id AND old.id = l.id AND l.status = 'held'
            RETURNING l.id, l.channel, old.counted_status AS previous, l.counted_status AS next
          ), counted AS (${countMoves('moved')})
          SELECT id, channel FROM moved ORDER BY id`,
    );
    if (letters.length === 0) return null;
    const [left] = await queryRows<{ n: number }>(
      tx,
      'letterId' in selection
        ? sql`SELECT 0 AS n`
        : sql`SELECT count(*)::int AS n FROM letters l WHERE ${picked}`,
    );
    await recordAudit(tx, staff, {
      action: cancel ? 'letters.cancel' : 'letters.release',
      campaignId,
      details:
        'letterId' in selection
          ? { letterId: selection.letterId }
          : { target: selection.targetKey, letters: letters.length },
    });
    return {
      letters: letters.map((row) => ({ id: Number(row.id), channel: row.channel })),
      remaining: Number(left?.n ?? 0),
    };
  });
  if (!moved) return { outcome: 'none' };
  if (action === 'release') {
    // After the commit; a request lost here (Redis away) is made again by the delivery sweep.
    await Promise.all(
      moved.letters
        .filter((letter) => letter.channel !== 'hand')
        .map((letter) => requestDelivery(ctx.queues, letter.id)),
    ).catch((error: unknown) =>
      ctx.logger.warn({ err: error }, 'could not queue released letters now; the sweep will'),
    );
  }
  return { outcome: 'moved', letters: moved.letters.length, remaining: moved.remaining };
}
