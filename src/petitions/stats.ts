import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Database } from '../db/client';
import { signatureCounts } from '../db/schema';

export interface Counts {
  signatures: number;
  byState: Record<string, number>;
  byDistrict: Record<string, number>;
  bySource: Record<string, number>;
  updatedAt: string | null;
}

/** Reads a campaign's counts from the count table: a primary-key range read, never COUNT(*). */
export async function readCounts(db: Database, campaignId: number): Promise<Counts> {
  const rows = await db
    .select({
      dimension: signatureCounts.dimension,
      key: signatureCounts.key,
      count: signatureCounts.count,
      updatedAt: signatureCounts.updatedAt,
    })
    .from(signatureCounts)
    .where(eq(signatureCounts.campaignId, campaignId));
  const counts: Counts = { signatures: 0, byState: {}, byDistrict: {}, bySource: {}, updatedAt: null };
  let latest = 0;
  for (const row of rows) {
    const count = Number(row.count);
    if (row.dimension === 'total') counts.signatures = count;
    else if (row.dimension === 'state') counts.byState[row.key] = count;
    else if (row.dimension === 'congressional') counts.byDistrict[row.key] = count;
    else counts.bySource[row.key] = count;
    latest = Math.max(latest, row.updatedAt.getTime());
  }
  counts.updatedAt = latest > 0 ? new Date(latest).toISOString() : null;
  return counts;
}

/**
 * Public counts served from Redis. The tally worker refreshes an entry after each change; a miss
 * (first view, flushed Redis) is filled from the count table.
 */
export class StatsCache {
  private static readonly TTL_SECONDS = 3600;

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(campaignId: number): string {
    return `${this.prefix}:stats:${campaignId}`;
  }

  async get(campaignId: number): Promise<Counts> {
    const cached = await this.redis.get(this.key(campaignId)).catch(() => null);
    if (cached) return JSON.parse(cached) as Counts;
    return this.refresh(campaignId);
  }

  async refresh(campaignId: number): Promise<Counts> {
    const counts = await readCounts(this.db, campaignId);
    await this.redis
      .set(this.key(campaignId), JSON.stringify(counts), 'EX', StatsCache.TTL_SECONDS)
      .catch(() => undefined);
    return counts;
  }
}
