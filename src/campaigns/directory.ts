import { asc, eq, sql, type SQL } from 'drizzle-orm';
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
    const [campaign] = await this.db
      .select()
      .from(campaigns)
      .where(eq(campaigns.slug, slug))
      .limit(1);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(slug, { campaign, expires: now + this.ttlMs });
    return campaign;
  }

  /** Drops a cached campaign after staff edited it, so this process shows the change at once. */
  forget(slug: string): void {
    this.cache.delete(slug);
  }

  async list(): Promise<Campaign[]> {
    return this.db.select().from(campaigns).orderBy(asc(campaigns.createdAt), asc(campaigns.id));
  }
}

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
