import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Database } from '../db/client';
import { signatureCounts } from '../db/schema';

export interface Counts {
  /** Every counted signature, confirmed or not. */
  signatures: number;
  /** Signatures whose signer confirmed their email address (double opt-in). */
  verified: number;
  byState: Record<string, number>;
  byDistrict: Record<string, number>;
  bySource: Record<string, number>;
  updatedAt: string | null;
  /** The counts' version (see `countsVersion` in the schema): orders cache writes; 0 before any. */
  version: number;
}

/** Reads a campaign's counts from the count table: a primary-key range read, never COUNT(*). */
export async function readCounts(db: Database, campaignId: number): Promise<Counts> {
  const rows = await db
    .select({
      dimension: signatureCounts.dimension,
      key: signatureCounts.key,
      count: signatureCounts.count,
      version: signatureCounts.version,
      updatedAt: signatureCounts.updatedAt,
    })
    .from(signatureCounts)
    .where(eq(signatureCounts.campaignId, campaignId));
  const counts: Counts = {
    signatures: 0,
    verified: 0,
    byState: {},
    byDistrict: {},
    bySource: {},
    updatedAt: null,
    version: 0,
  };
  let latest = 0;
  let version = 0;
  for (const row of rows) {
    const count = Number(row.count);
    if (row.dimension === 'total') counts.signatures = count;
    else if (row.dimension === 'verified') counts.verified = count;
    else if (row.dimension === 'state') counts.byState[row.key] = count;
    else if (row.dimension === 'congressional') counts.byDistrict[row.key] = count;
    else if (row.dimension === 'source') counts.bySource[row.key] = count;
    latest = Math.max(latest, row.updatedAt.getTime());
    version = Math.max(version, Number(row.version));
  }
  counts.updatedAt = latest > 0 ? new Date(latest).toISOString() : null;
  counts.version = version;
  return counts;
}

/**
 * Writes a campaign's counts unless the cache holds the same or a newer version (ARGV[2]). With
 * ARGV[4] = 'fill' it writes only into an empty entry: a page view filling a miss never overwrites.
 */
const SET_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  if ARGV[4] == 'fill' then return 0 end
  local ok, cached = pcall(cjson.decode, current)
  if ok and tonumber(cached.version or 0) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1`;

/**
 * Public counts served from Redis. The tally worker refreshes an entry after each change; a miss
 * (first view, flushed Redis) is filled from the count table. Writes are ordered by the counts'
 * version, so a slow reader can never put older counts over newer ones.
 */
export class StatsCache {
  private static readonly TTL_SECONDS = 3600;
  /** Part of the key: a deploy that changes what is cached starts on fresh entries, not old ones. */
  private static readonly FORMAT = 3;

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(campaignId: number): string {
    return `${this.prefix}:stats:v${StatsCache.FORMAT}:${campaignId}`;
  }

  async get(campaignId: number): Promise<Counts> {
    const cached = await this.redis.get(this.key(campaignId)).catch(() => null);
    if (cached) return JSON.parse(cached) as Counts;
    return this.load(campaignId, 'fill');
  }

  /** Reads the counts after they changed and caches them (called by the tally worker). */
  async refresh(campaignId: number): Promise<Counts> {
    return this.load(campaignId, 'refresh');
  }

  private async load(campaignId: number, mode: 'fill' | 'refresh'): Promise<Counts> {
    const counts = await readCounts(this.db, campaignId);
    await this.redis
      .eval(
        SET_IF_NEWER,
        1,
        this.key(campaignId),
        JSON.stringify(counts),
        counts.version,
        StatsCache.TTL_SECONDS,
        mode,
      )
      .catch(() => undefined);
    return counts;
  }
}

/**
 * The number a campaign shows the public: in a campaign that asks signers to confirm their email,
 * only confirmed signatures; otherwise every signature.
 */
export function publicSignatureCount(
  campaign: { requireVerification: boolean },
  counts: Pick<Counts, 'signatures' | 'verified'>,
): number {
  return campaign.requireVerification ? counts.verified : counts.signatures;
}
