import { asc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { UsageError } from '../cli';
import { queryRows, type Database } from '../db/client';
import { campaigns, type Campaign } from '../db/schema';

/** A campaign's web address name: lower-case letters, digits and inner dashes, up to 64. */
export const CAMPAIGN_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/**
 * Whether `value` can be a campaign's slug. An address that cannot be one is no campaign, and is
 * not looked up: a NUL in it would reach PostgreSQL, which refuses NUL in text.
 */
export const isCampaignSlug = (value: unknown): value is string =>
  typeof value === 'string' && CAMPAIGN_SLUG.test(value);

/**
 * Campaigns by slug, held for a few seconds: every page view and signature needs its campaign,
 * and campaigns change rarely. A closed or edited campaign shows within `ttlMs`.
 */
export class CampaignDirectory {
  private readonly cache = new Map<string, { campaign: Campaign | undefined; expires: number }>();

  constructor(
    private readonly db: Database,
    private readonly ttlMs = 5000,
  ) {}

  async bySlug(slug: string): Promise<Campaign | undefined> {
    if (!isCampaignSlug(slug)) return undefined;
    const now = Date.now();
    const hit = this.cache.get(slug);
    if (hit && hit.expires > now) return hit.campaign;
    const campaign = await campaignBySlug(this.db, slug);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(slug, { campaign, expires: now + this.ttlMs });
    return campaign;
  }

  /** Drops a cached campaign after staff edited it, so this process shows the change at once. */
  forget(slug: string): void {
    this.cache.delete(slug);
  }

  list(): Promise<Campaign[]> {
    return listCampaigns(this.db);
  }
}

/** The campaign with this slug, read now (the public pages read it through `CampaignDirectory`). */
export async function campaignBySlug(
  db: Pick<Database, 'select'>,
  slug: string,
): Promise<Campaign | undefined> {
  const [campaign] = await db.select().from(campaigns).where(eq(campaigns.slug, slug)).limit(1);
  return campaign;
}

/** The campaign with this id. */
export async function campaignById(
  db: Pick<Database, 'select'>,
  campaignId: number,
): Promise<Campaign | undefined> {
  const [campaign] = await db.select().from(campaigns).where(eq(campaigns.id, campaignId));
  return campaign;
}

/** Every campaign, oldest first. */
export function listCampaigns(db: Pick<Database, 'select'>): Promise<Campaign[]> {
  return db.select().from(campaigns).orderBy(asc(campaigns.createdAt), asc(campaigns.id));
}

/**
 * The campaign a command's `--campaign <slug>` names, or a UsageError (one error line, exit code 2)
 * when there is none: every command that takes a campaign says so in the same words.
 */
export async function campaignForCommand(
  db: Pick<Database, 'select'>,
  slug: string,
): Promise<Campaign> {
  const campaign = await campaignBySlug(db, slug);
  if (!campaign) throw new UsageError(`--campaign: no campaign with slug "${slug}"`);
  return campaign;
}

/**
 * Locks the campaign row so that tally batches and rebuilds of one campaign never interleave (false
 * when there is no such campaign). NO KEY UPDATE does not conflict with the KEY SHARE lock each
 * signature insert's foreign key takes, so signing goes on while a batch or a rebuild runs.
 */
export async function lockCampaign(
  tx: Pick<Database, 'execute'>,
  campaignId: number,
): Promise<boolean> {
  const rows = await queryRows(
    tx,
    sql`SELECT id FROM campaigns WHERE id = ${campaignId}::int FOR NO KEY UPDATE`,
  );
  return rows.length > 0;
}

const CAMPAIGN_COLUMNS = getTableColumns(campaigns);

/**
 * The campaigns, each with its id and the columns `fields` names (under their SQL names), as a
 * table to join in one statement: `JOIN ${campaignsWith('slug')} c ON c.id = l.campaign_id`, for a
 * query that needs a few of its rows' campaign settings without a query per row. It has no
 * parameters (a COPY statement may hold it) and PostgreSQL flattens it into the query: the plan is
 * that of a join on the table itself.
 */
export const campaignsWith = (...fields: Array<keyof typeof CAMPAIGN_COLUMNS>) =>
  sql.raw(
    `(SELECT ${[...new Set(['id', ...fields.map((field) => CAMPAIGN_COLUMNS[field].name)])].join(', ')} FROM campaigns)`,
  );

/**
 * Whether a campaign asks signers to confirm their address, as a scalar subquery over its id
 * (SQL: a value, or a column named with its table's alias).
 */
export const requiresVerificationOf = (campaignId: SQL) =>
  sql`(SELECT require_verification FROM campaigns WHERE id = ${campaignId})`;

/** A campaign's title, as a scalar subquery over its id (SQL), for a row that names its campaign. */
export const campaignTitleOf = (campaignId: SQL) =>
  sql`(SELECT c.title FROM campaigns c WHERE c.id = ${campaignId})`;

/**
 * Campaigns closed at least `days` days before `now` for which `holding` (a condition over the
 * campaign's id) is true, in id order: the retention rule's campaigns still holding personal data.
 */
export async function campaignsClosedFor(
  db: Pick<Database, 'execute'>,
  days: number,
  now: Date,
  holding: (campaignId: SQL) => SQL,
): Promise<Array<{ id: number; slug: string }>> {
  const rows = await queryRows<{ id: number; slug: string }>(
    db,
    sql`SELECT c.id, c.slug FROM campaigns c
        WHERE c.status = 'closed' AND c.closed_at IS NOT NULL
          AND c.closed_at <= ${now.toISOString()}::timestamptz - make_interval(days => ${days}::int)
          AND (${holding(sql`c.id`)})
        ORDER BY c.id`,
  );
  return rows.map((row) => ({ id: Number(row.id), slug: row.slug }));
}
