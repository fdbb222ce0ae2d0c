import { sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import type { Campaign, LetterStatus } from '../db/schema';
import { signatureRef } from './identifiers';
import type { OutreachFields, OutreachTarget, SignatureFields } from './resources';

/**
 * Reading signatures and outreaches (letter actions) as a holder of the API or a webhook may see
 * them: the audience. A partner's sees only the supporters who agreed to hear from that partner
 * (a consent not withdrawn), with their email address; the coalition's own (no partner) sees
 * every signature, with the email address only of those who agreed to hear from the campaign. In
 * a campaign that asks signers to confirm their address, a signature shows once confirmed (an
 * unconfirmed one may carry someone else's address), and an outreach shows without its writer's
 * address until they confirm. Names, ZIP codes and states show; street addresses never do.
 */

export interface Audience {
  campaign: Campaign;
  /** A partner's token or subscription; null for the coalition's own. */
  partnerId: number | null;
}

export type ReadContext = Pick<AppContext, 'db' | 'encryption' | 'config'>;

/** A condition on a date field, from an OData filter (filter.ts). */
export interface DateCondition {
  field: 'created_date' | 'modified_date';
  op: 'gt' | 'ge' | 'lt' | 'le' | 'eq';
  value: Date;
}

/**
 * A date condition as the API shows dates: to the millisecond, while PostgreSQL keeps microseconds.
 * `gt` the last date a sync saw must not return that row again, so each comparison is made on the
 * date as shown, written so that an index on the column still serves it.
 */
function compare(column: SQL, condition: DateCondition): SQL {
  const at = sql`${condition.value.toISOString()}::timestamptz`;
  const after = sql`(${condition.value.toISOString()}::timestamptz + interval '1 millisecond')`;
  switch (condition.op) {
    case 'gt':
      return sql`${column} >= ${after}`;
    case 'ge':
      return sql`${column} >= ${at}`;
    case 'lt':
      return sql`${column} < ${at}`;
    case 'le':
      return sql`${column} < ${after}`;
    case 'eq':
      return sql`(${column} >= ${at} AND ${column} < ${after})`;
  }
}

const partnerConsent = (signature: string, partnerId: number) =>
  sql`EXISTS (SELECT 1 FROM consents k WHERE k.signature_id = ${sql.raw(signature)}.id AND k.scope = 'partner' AND k.partner_id = ${partnerId}::int AND k.withdrawn_at IS NULL)`;

// ---------------------------------------------------------------------------------------------
// Signatures

/** When a signature shows to the API: made, or in a campaign that asks signers to confirm, confirmed. */
const signatureModified = (campaign: Campaign) =>
  sql.raw(campaign.requireVerification ? 's.verified_at' : 's.created_at');

function signatureScope(audience: Audience): SQL {
  const { campaign, partnerId } = audience;
  return sql.join(
    [
      sql`s.campaign_id = ${campaign.id}::int`,
      ...(campaign.requireVerification ? [sql`s.verified_at IS NOT NULL`] : []),
      ...(partnerId !== null ? [partnerConsent('s', partnerId)] : []),
    ],
    sql` AND `,
  );
}

interface SignatureRow {
  id: number;
  name: Uint8Array;
  email: Uint8Array;
  zip: string;
  state: string | null;
  source: string | null;
  created_at: Date | string;
  modified_at: Date | string;
  email_visible: boolean;
}

const signatureColumns = (
  audience: Audience,
) => sql`s.id, s.name, s.email, s.zip, s.state, s.source, s.created_at,
  ${signatureModified(audience.campaign)} AS modified_at,
  ${audience.partnerId !== null ? sql`true` : sql`s.opt_in`} AS email_visible`;

function openSignature(
  ctx: ReadContext,
  audience: Audience,
  row: SignatureRow,
): SignatureFields & { id: number } {
  // Opened for the identifier even where the holder may not see it.
  const email = ctx.encryption.open('signatures.email', row.email);
  return {
    id: Number(row.id),
    ref: signatureRef(ctx.config.secret, audience.campaign.id, email),
    name: ctx.encryption.open('signatures.name', row.name),
    email: row.email_visible ? email : null,
    zip: row.zip,
    state: row.state,
    source: row.source,
    createdAt: new Date(row.created_at),
    modifiedAt: new Date(row.modified_at),
    campaignSlug: audience.campaign.slug,
  };
}

const signatureFilter = (audience: Audience, conditions: DateCondition[]) =>
  conditions.map((condition) =>
    compare(
      condition.field === 'created_date'
        ? sql.raw('s.created_at')
        : signatureModified(audience.campaign),
      condition,
    ),
  );

/** A page of the signatures the audience may see, in the order they showed, and how many there are in all. */
export async function pageOfSignatures(
  ctx: ReadContext,
  audience: Audience,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; signatures: SignatureFields[] }> {
  const where = sql.join(
    [signatureScope(audience), ...signatureFilter(audience, page.conditions)],
    sql` AND `,
  );
  const [counted] = await queryRows<{ n: number | string }>(
    ctx.db,
    sql`SELECT count(*) AS n FROM signatures s WHERE ${where}`,
  );
  const total = Number(counted?.n ?? 0);
  if (page.offset >= total) return { total, signatures: [] };
  const rows = await queryRows<SignatureRow>(
    ctx.db,
    sql`SELECT ${signatureColumns(audience)} FROM signatures s WHERE ${where}
        ORDER BY ${signatureModified(audience.campaign)}, s.id LIMIT ${page.limit}::int OFFSET ${page.offset}::int`,
  );
  return { total, signatures: rows.map((row) => openSignature(ctx, audience, row)) };
}

/** The signatures of `ids` the audience may see (now: a consent withdrawn since drops one), by id. */
export async function signaturesById(
  ctx: ReadContext,
  audience: Audience,
  ids: number[],
): Promise<Map<number, SignatureFields>> {
  if (ids.length === 0) return new Map();
  const rows = await queryRows<SignatureRow>(
    ctx.db,
    sql`SELECT ${signatureColumns(audience)} FROM signatures s
        WHERE ${signatureScope(audience)} AND s.id IN (SELECT unnest(${`{${ids.join(',')}}`}::bigint[]))`,
  );
  return new Map(rows.map((row) => [Number(row.id), openSignature(ctx, audience, row)]));
}

// ---------------------------------------------------------------------------------------------
// Outreaches: a supporter's letters to their targets

interface OutreachRow {
  id: number;
  name: Uint8Array;
  email: Uint8Array;
  zip: string;
  state: string | null;
  source: string | null;
  created_at: Date | string;
  modified_at: Date | string;
  email_visible: boolean;
}

function outreachScope(audience: Audience): SQL {
  const { campaign, partnerId } = audience;
  return sql.join(
    [
      sql`a.campaign_id = ${campaign.id}::int`,
      ...(partnerId !== null ? [partnerConsent('s', partnerId)] : []),
    ],
    sql` AND `,
  );
}

/** The writer's signature (writing signs the petition too), for their consents and confirmation. */
const outreachFrom = sql`letter_actions a
  LEFT JOIN signatures s ON s.campaign_id = a.campaign_id AND s.email_hash = a.email_hash
  LEFT JOIN LATERAL (SELECT max(l.updated_at) AS updated FROM letters l WHERE l.action_id = a.id) lm ON true`;

const outreachColumns = (audience: Audience) => {
  const consented = audience.partnerId !== null ? sql`true` : sql`coalesce(s.opt_in, false)`;
  const confirmed = audience.campaign.requireVerification
    ? sql`s.verified_at IS NOT NULL`
    : sql`true`;
  return sql`a.id, a.name, a.email, a.zip, a.state, s.source, a.created_at,
    greatest(a.created_at, lm.updated) AS modified_at, (${consented} AND ${confirmed}) AS email_visible`;
};

function outreachFilter(audience: Audience, conditions: DateCondition[]): SQL[] {
  return conditions.map((condition) => {
    if (condition.field === 'created_date') return compare(sql.raw('a.created_at'), condition);
    // Later than a date: written since, or a letter of it changed since (both by index).
    if (condition.op === 'gt' || condition.op === 'ge') {
      return sql`(${compare(sql.raw('a.created_at'), condition)} OR a.id IN (
        SELECT l.action_id FROM letters l WHERE l.campaign_id = ${audience.campaign.id}::int AND ${compare(sql.raw('l.updated_at'), condition)}))`;
    }
    return compare(sql`greatest(a.created_at, lm.updated)`, condition);
  });
}

async function withTargets(
  ctx: ReadContext,
  audience: Audience,
  rows: OutreachRow[],
): Promise<Array<OutreachFields & { id: number }>> {
  if (rows.length === 0) return [];
  const letters = await queryRows<{
    action_id: number;
    target_name: string;
    target_title: string;
    office: string;
    target_state: string | null;
    status: LetterStatus;
    delivered_at: Date | string | null;
    subject: Uint8Array;
  }>(
    ctx.db,
    sql`SELECT action_id, target_name, target_title, office, target_state, status, delivered_at, subject FROM letters
        WHERE action_id IN (SELECT unnest(${`{${rows.map((row) => Number(row.id)).join(',')}}`}::bigint[])) ORDER BY action_id, id`,
  );
  const byAction = new Map<number, { targets: OutreachTarget[]; subject: Uint8Array | null }>();
  for (const letter of letters) {
    const entry = byAction.get(Number(letter.action_id)) ?? {
      targets: [],
      subject: letter.subject,
    };
    entry.targets.push({
      name: letter.target_name,
      title: letter.target_title,
      office: letter.office,
      state: letter.target_state,
      status: letter.status,
      deliveredAt: letter.delivered_at === null ? null : new Date(letter.delivered_at),
    });
    byAction.set(Number(letter.action_id), entry);
  }
  return rows.map((row) => {
    const entry = byAction.get(Number(row.id));
    return {
      id: Number(row.id),
      name: ctx.encryption.open('letter_actions.name', row.name),
      email: row.email_visible ? ctx.encryption.open('letter_actions.email', row.email) : null,
      zip: row.zip,
      state: row.state,
      source: row.source,
      subject: entry?.subject ? ctx.encryption.open('letters.subject', entry.subject) : null,
      createdAt: new Date(row.created_at),
      modifiedAt: new Date(row.modified_at),
      campaignSlug: audience.campaign.slug,
      targets: entry?.targets ?? [],
    };
  });
}

/** A page of the outreaches the audience may see, oldest first, and how many there are in all. */
export async function pageOfOutreaches(
  ctx: ReadContext,
  audience: Audience,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; outreaches: OutreachFields[] }> {
  const where = sql.join(
    [outreachScope(audience), ...outreachFilter(audience, page.conditions)],
    sql` AND `,
  );
  const [counted] = await queryRows<{ n: number | string }>(
    ctx.db,
    sql`SELECT count(*) AS n FROM ${outreachFrom} WHERE ${where}`,
  );
  const total = Number(counted?.n ?? 0);
  if (page.offset >= total) return { total, outreaches: [] };
  const rows = await queryRows<OutreachRow>(
    ctx.db,
    sql`SELECT ${outreachColumns(audience)} FROM ${outreachFrom} WHERE ${where} ORDER BY a.id LIMIT ${page.limit}::int OFFSET ${page.offset}::int`,
  );
  return { total, outreaches: await withTargets(ctx, audience, rows) };
}

/** The outreaches of `ids` the audience may see, by id. */
export async function outreachesById(
  ctx: ReadContext,
  audience: Audience,
  ids: number[],
): Promise<Map<number, OutreachFields>> {
  if (ids.length === 0) return new Map();
  const rows = await queryRows<OutreachRow>(
    ctx.db,
    sql`SELECT ${outreachColumns(audience)} FROM ${outreachFrom}
        WHERE ${outreachScope(audience)} AND a.id IN (SELECT unnest(${`{${ids.join(',')}}`}::bigint[]))`,
  );
  return new Map(
    (await withTargets(ctx, audience, rows)).map((outreach) => [outreach.id, outreach]),
  );
}

/** Letter actions of a campaign, for `total_outreaches`. */
export async function countOutreaches(db: Database, campaignId: number): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(
    db,
    sql`SELECT count(*) AS n FROM letter_actions WHERE campaign_id = ${campaignId}::int`,
  );
  return Number(row?.n ?? 0);
}
