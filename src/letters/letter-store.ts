import { sql, type SQL } from 'drizzle-orm';
import { campaignsWith } from '../campaigns/directory';
import { queryRows, type Database } from '../db/client';
import {
  compareAsShown,
  countThenPage,
  rowsWithIds,
  type DateCondition,
  type Listing,
} from '../db/record-pages';
import { letterActions, type LetterStatus } from '../db/schema';
import { idList, partnerConsentOf } from '../petitions/signature-store';

/**
 * The letters' store: the SQL that moves a letter's status and keeps `letter_counts` in step with
 * it. Delivery, hand delivery, held letters, erasure and writing all move letters through here;
 * "your data" reads a person's letter actions and letters here, and erasure deletes them here.
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

// ---------------------------------------------------------------------------------------------
// Reads for other features: letter actions and their letters as the partner API and its webhooks
// tell of them (osdi/, webhooks/), where a partner's reader sees only writers whose signature
// carries its consent.

/** A letter action's row, as the schema declares it. */
export type LetterActionRow = typeof letterActions.$inferSelect;

/** A campaign's letter actions, for the partner API's `total_outreaches`. */
export async function countLetterActions(
  db: Pick<Database, 'execute'>,
  campaignId: number,
): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(
    db,
    sql`SELECT count(*) AS n FROM letter_actions WHERE campaign_id = ${campaignId}::int`,
  );
  return Number(row?.n ?? 0);
}

/**
 * Which of a campaign's letter actions a reader of the partner API may be shown, and what of them:
 * osdi/records.ts says so from the reader (a partner, or the coalition) and the campaign.
 */
export interface OutreachesShown {
  campaignId: number;
  /** Only those whose writer's signature carries this partner's consent (not withdrawn); null: all. */
  consentedTo: number | null;
  /** Whose email address may be shown: everyone's, or only that of writers on the campaign's own list. */
  emailShownOf: 'all' | 'opted-in';
  /** The email address shows only once the writer confirmed it (their signature's confirmation). */
  emailOnceConfirmed: boolean;
}

/** A letter action as the partner API reads it (sealed fields still sealed), with its writer's signature's source. */
export type ShownOutreachRow = Pick<LetterActionRow, 'id' | 'name' | 'email' | 'zip' | 'state'> & {
  source: string | null;
  created_at: Date | string;
  modified_at: Date | string;
  email_visible: boolean;
};

/** The writer's signature (writing signs the petition too), for their consents and confirmation. */
const outreachFrom = sql`letter_actions a
  LEFT JOIN signatures s ON s.campaign_id = a.campaign_id AND s.email_hash = a.email_hash
  LEFT JOIN LATERAL (SELECT max(l.updated_at) AS updated FROM letters l WHERE l.action_id = a.id) lm ON true`;

function outreachFilter(campaignId: number, conditions: DateCondition[]): SQL[] {
  return conditions.map((condition) => {
    if (condition.field === 'created_date')
      return compareAsShown(sql.raw('a.created_at'), condition);
    // Later than a date: written since, or a letter of it changed since (both by index).
    if (condition.op === 'gt' || condition.op === 'ge') {
      return sql`(${compareAsShown(sql.raw('a.created_at'), condition)} OR a.id IN (
        SELECT l.action_id FROM letters l WHERE l.campaign_id = ${campaignId}::int AND ${compareAsShown(sql.raw('l.updated_at'), condition)}))`;
    }
    return compareAsShown(sql`greatest(a.created_at, lm.updated)`, condition);
  });
}

function outreachesShownListing(shown: OutreachesShown, conditions: DateCondition[] = []): Listing {
  const consented = shown.emailShownOf === 'all' ? sql`true` : sql`coalesce(s.opt_in, false)`;
  const confirmed = shown.emailOnceConfirmed ? sql`s.verified_at IS NOT NULL` : sql`true`;
  return {
    columns: sql`a.id, a.name, a.email, a.zip, a.state, s.source, a.created_at,
      greatest(a.created_at, lm.updated) AS modified_at, (${consented} AND ${confirmed}) AS email_visible`,
    from: outreachFrom,
    where: sql.join(
      [
        sql`a.campaign_id = ${shown.campaignId}::int`,
        ...(shown.consentedTo !== null
          ? [partnerConsentOf('s', sql`${shown.consentedTo}::int`)]
          : []),
        ...outreachFilter(shown.campaignId, conditions),
      ],
      sql` AND `,
    ),
    id: sql`a.id`,
    order: sql`a.id`,
  };
}

/** A page of the letter actions shown that meet the date conditions, oldest first, and how many there are in all. */
export function pageOfOutreachesShown(
  db: Pick<Database, 'execute'>,
  shown: OutreachesShown,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; rows: ShownOutreachRow[] }> {
  return countThenPage<ShownOutreachRow>(db, outreachesShownListing(shown, page.conditions), page);
}

/** The letter actions of `ids` that are shown. */
export function outreachesShownWithIds(
  db: Pick<Database, 'execute'>,
  shown: OutreachesShown,
  ids: number[],
): Promise<ShownOutreachRow[]> {
  return rowsWithIds<ShownOutreachRow>(db, outreachesShownListing(shown), ids);
}

/** A letter as the partner API tells of it with its action (its subject still sealed). */
export interface ActionLetterRow {
  action_id: number;
  target_name: string;
  target_title: string;
  office: string;
  target_state: string | null;
  status: LetterStatus;
  delivered_at: Date | string | null;
  subject: Uint8Array;
}

/** The letters of these letter actions, by action, each action's in the order they were written. */
export function lettersOfActions(
  db: Pick<Database, 'execute'>,
  actionIds: number[],
): Promise<ActionLetterRow[]> {
  return queryRows<ActionLetterRow>(
    db,
    sql`SELECT action_id, target_name, target_title, office, target_state, status, delivered_at, subject FROM letters
        WHERE action_id IN (${idList(actionIds)}) ORDER BY action_id, id`,
  );
}

// --- A person's data: what we hold and erasing it

/** Which letter actions to erase: one email address's (by its keyed hash), or a whole campaign's. */
export type LetterActionsToErase = { emailHash: Uint8Array } | { campaignId: number };

const actionsMatching = (which: LetterActionsToErase) =>
  'emailHash' in which
    ? sql`a.email_hash = ${which.emailHash}::bytea`
    : sql`a.campaign_id = ${which.campaignId}::int`;

/**
 * Deletes up to `limit` letter actions (`which`), in the caller's transaction, with their letters
 * and (by cascade) their delivery attempts; letters not yet sent are withdrawn from the letter
 * counts (they will never go), while delivered, failed and hand-delivery letters stay counted.
 * Returns how many actions were erased.
 */
export async function eraseLetterActionBatch(
  tx: Tx,
  which: LetterActionsToErase,
  limit: number,
): Promise<number> {
  const actions = await queryRows<{ id: number }>(
    tx,
    sql`SELECT a.id FROM letter_actions a WHERE ${actionsMatching(which)} ORDER BY a.id LIMIT ${limit}::int FOR UPDATE`,
  );
  if (actions.length === 0) return 0;
  const ids = sql`(SELECT unnest(${`{${actions.map((action) => Number(action.id)).join(',')}}`}::bigint[]))`;
  // Hold the letters still to be sent, so that no delivery worker records a result for them meanwhile.
  await tx.execute(
    sql`SELECT id FROM letters WHERE action_id IN ${ids} AND status IN ('queued', 'sending', 'retrying') ORDER BY id FOR UPDATE`,
  );
  const [result] = await queryRows<{ erased: number }>(
    tx,
    sql`WITH moved AS (
          SELECT id, counted_status AS previous, NULL::text AS next FROM letters
          WHERE action_id IN ${ids} AND status IN ('queued', 'sending', 'retrying')
        ), withdrawn AS (${countMoves('moved')}
        ), gone AS (
          DELETE FROM letter_actions WHERE id IN ${ids} RETURNING id
        )
        SELECT count(*)::int AS erased FROM gone`,
  );
  return Number(result?.erased ?? 0);
}

/** A condition over a campaign's id (SQL): true when the campaign holds letter actions. */
export const campaignHoldsLetterActions = (campaignId: SQL) =>
  sql`EXISTS (SELECT 1 FROM letter_actions a WHERE a.campaign_id = ${campaignId})`;

/** Whether an email address (by its keyed hash) has written any letter, in any campaign. */
export async function holdsLetterActionsOf(db: Tx, emailHash: Uint8Array): Promise<boolean> {
  const [row] = await queryRows<{ held: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM letter_actions WHERE email_hash = ${emailHash}::bytea) AS held`,
  );
  return Boolean(row?.held);
}

/** A letter action as "your data" shows it: its campaign, and the writer's details (sealed). */
export interface PersonsLetterAction {
  id: number;
  slug: string;
  title: string;
  name: Uint8Array;
  email: Uint8Array;
  zip: string;
  city: Uint8Array | null;
  state: string | null;
  address: Uint8Array | null;
  note: Uint8Array | null;
  prefix: Uint8Array | null;
  congressional_district: string | null;
  state_upper_district: string | null;
  state_lower_district: string | null;
  wants_copy: boolean;
  confirmation_sent_at: string | null;
  created_at: string;
}

/** A letter of those actions, its text sealed. */
export interface PersonsLetter {
  id: number;
  action_id: number;
  target_name: string;
  target_title: string;
  office: string;
  channel: string;
  subject: Uint8Array;
  body: Uint8Array;
  status: string;
  attempts: number;
  delivered_at: string | null;
  created_at: string;
}

/** Every letter action of an email address (by its keyed hash), with its campaign, oldest first. */
export function letterActionsOf(db: Tx, emailHash: Uint8Array): Promise<PersonsLetterAction[]> {
  return queryRows<PersonsLetterAction>(
    db,
    sql`SELECT a.id, c.slug, c.title, a.name, a.email, a.zip, a.city, a.state, a.address, a.note, a.prefix, a.congressional_district,
               a.state_upper_district, a.state_lower_district, a.wants_copy, a.confirmation_sent_at, a.created_at
        FROM letter_actions a JOIN ${campaignsWith('slug', 'title')} c ON c.id = a.campaign_id
        WHERE a.email_hash = ${emailHash}::bytea ORDER BY a.created_at, a.id`,
  );
}

/** Every letter written by an email address (by its keyed hash), in id order. */
export function lettersOf(db: Tx, emailHash: Uint8Array): Promise<PersonsLetter[]> {
  return queryRows<PersonsLetter>(
    db,
    sql`SELECT l.id, l.action_id, l.target_name, l.target_title, l.office, l.channel, l.subject, l.body, l.status, l.attempts, l.delivered_at, l.created_at
        FROM letter_actions a JOIN letters l ON l.action_id = a.id
        WHERE a.email_hash = ${emailHash}::bytea ORDER BY l.id`,
  );
}

/** The letters of an email address (by its keyed hash), as a subquery of ids. */
export const lettersOfAddress = (emailHash: Uint8Array) =>
  sql`SELECT l.id FROM letter_actions a JOIN letters l ON l.action_id = a.id WHERE a.email_hash = ${emailHash}::bytea`;
