import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database } from '../db/client';
import { fieldErrors, type FieldErrors } from '../petitions/signature-input';
import { emailDomain, type FieldEncryption } from '../privacy/field-encryption';

/**
 * Suspicious bursts: times when one IP hash, or one email domain, signed a campaign more than a
 * threshold of times within a short window. Each signature starts a window (it and the same key's
 * signatures up to `window` minutes later); windows over the threshold that overlap make one
 * burst, from its first signature to its last. Nothing here names anyone: an IP hash (truncated
 * on the page) and the part of an address after the `@`. Addresses are sealed in the database, so
 * signatures are grouped by the keyed hash of their domain, and a burst's domain is read from one
 * of its signatures' addresses.
 */

const whole = (label: string, min: number, max: number, fallback: number) =>
  z.preprocess(
    (value) => (value === undefined || value === '' ? fallback : value),
    z.coerce
      .number({ error: `${label} must be a whole number from ${min} to ${max}.` })
      .int(`${label} must be a whole number from ${min} to ${max}.`)
      .min(min, `${label} must be a whole number from ${min} to ${max}.`)
      .max(max, `${label} must be a whole number from ${min} to ${max}.`),
  );

export const MAX_HOURS = 7 * 24;

/** The report's settings, from the page's query string. */
export const burstQuery = z.object({
  window: whole('The window', 1, 1440, 10),
  ips: whole('The IP threshold', 1, 1_000_000, 10),
  domains: whole('The domain threshold', 1, 1_000_000, 100),
  hours: whole('The period', 1, MAX_HOURS, 24),
});

export type BurstQuery = z.output<typeof burstQuery>;

export function parseBurstQuery(query: Record<string, unknown>): { ok: true; value: BurstQuery } | { ok: false; errors: FieldErrors; value: BurstQuery } {
  const single = Object.fromEntries(['window', 'ips', 'domains', 'hours'].map((name) => [name, Array.isArray(query[name]) ? 'not one value' : query[name]]));
  const parsed = burstQuery.safeParse(single);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, errors: fieldErrors(parsed.error), value: burstQuery.parse({}) };
}

export interface Burst {
  kind: 'ip' | 'domain';
  /** The IP hash (whole: the page truncates it) or the email domain. */
  key: string;
  /** The key's signatures in the burst. */
  signatures: number;
  /** The most in any one window. */
  peak: number;
  firstAt: Date;
  lastAt: Date;
  /** Every signature of the campaign between the burst's first and last: how much of that time's traffic it was. */
  allInSpan: number;
}

/**
 * The campaign's bursts within the last `hours` (the bound keeps the work proportional to that
 * period's signatures, not the campaign's: the scan is by `created_at`), biggest first.
 */
export async function findBursts(
  ctx: { db: Database; encryption: FieldEncryption },
  campaignId: number,
  query: BurstQuery,
  options: { now?: Date; limit?: number } = {},
): Promise<Burst[]> {
  const { db } = ctx;
  const until = options.now ?? new Date();
  const since = new Date(until.getTime() - query.hours * 3_600_000);
  const window = `${query.window} minutes`;
  const rows = await db.transaction(async (tx) => {
    // The sorts of a week of a day of action fit in memory with this; the setting ends with the transaction.
    await tx.execute(sql`SET LOCAL work_mem = '32MB'`);
    return queryRows<{
      kind: 'ip' | 'domain';
      key: string;
      signatures: string | number;
      peak: string | number;
      first_at: string | Date;
      last_at: string | Date;
      all_in_span: string | number;
      sample_id: string | number;
    }>(
      tx,
      sql`WITH base AS (
            SELECT id, created_at, ip_hash, encode(email_domain_hash, 'hex') AS domain,
                   row_number() OVER (ORDER BY created_at, id) AS g
            FROM signatures
            WHERE campaign_id = ${campaignId}::int AND created_at >= ${since.toISOString()}::timestamptz AND created_at < ${until.toISOString()}::timestamptz
          ), keyed AS (
            SELECT 'ip'::text AS kind, ip_hash AS key, id, created_at, g FROM base WHERE ip_hash IS NOT NULL
            UNION ALL
            SELECT 'domain'::text, domain, id, created_at, g FROM base
          ), heavy AS (
            -- Only a key with more signatures in the whole period than the threshold can burst: most sign once.
            SELECT kind, key FROM keyed
            GROUP BY kind, key
            HAVING count(*) > CASE kind WHEN 'ip' THEN ${query.ips}::int ELSE ${query.domains}::int END
          ), numbered AS (
            SELECT keyed.*, row_number() OVER (PARTITION BY keyed.kind, keyed.key ORDER BY keyed.created_at, keyed.id) AS r
            FROM keyed JOIN heavy ON heavy.kind = keyed.kind AND heavy.key = keyed.key
          ), windows AS (
            SELECT kind, key, id, created_at, r, g,
                   count(*) OVER w AS n,
                   max(r) OVER w AS last_r,
                   max(g) OVER w AS last_g,
                   max(created_at) OVER w AS last_at
            FROM numbered
            WINDOW w AS (PARTITION BY kind, key ORDER BY created_at RANGE BETWEEN CURRENT ROW AND ${window}::interval FOLLOWING)
          ), over AS (
            SELECT * FROM windows
            WHERE n > CASE kind WHEN 'ip' THEN ${query.ips}::int ELSE ${query.domains}::int END
          ), marked AS (
            SELECT *,
                   CASE WHEN created_at <= max(last_at) OVER (PARTITION BY kind, key ORDER BY created_at, r ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                        THEN 0 ELSE 1 END AS starts
            FROM over
          ), grouped AS (
            SELECT *, sum(starts) OVER (PARTITION BY kind, key ORDER BY created_at, r ROWS UNBOUNDED PRECEDING) AS burst FROM marked
          )
          SELECT kind, key,
                 max(last_r) - min(r) + 1 AS signatures,
                 max(n) AS peak,
                 min(created_at) AS first_at,
                 max(last_at) AS last_at,
                 max(last_g) - min(g) + 1 AS all_in_span,
                 min(id) AS sample_id
          FROM grouped
          GROUP BY kind, key, burst
          ORDER BY max(last_r) - min(r) + 1 DESC, min(created_at)
          LIMIT ${options.limit ?? 200}::int`,
    );
  });
  const domains = await burstDomains(ctx, rows.filter((row) => row.kind === 'domain').map((row) => Number(row.sample_id)));
  return rows.map((row) => ({
    kind: row.kind,
    key: row.kind === 'domain' ? (domains.get(Number(row.sample_id)) ?? '') : row.key,
    signatures: Number(row.signatures),
    peak: Number(row.peak),
    firstAt: new Date(row.first_at),
    lastAt: new Date(row.last_at),
    allInSpan: Number(row.all_in_span),
  }));
}

/** The domain of each of these signatures' email addresses, by signature id. */
async function burstDomains(ctx: { db: Database; encryption: FieldEncryption }, signatureIds: number[]): Promise<Map<number, string>> {
  if (signatureIds.length === 0) return new Map();
  const rows = await queryRows<{ id: string | number; email: Uint8Array }>(
    ctx.db,
    sql`SELECT id, email FROM signatures WHERE id IN (SELECT unnest(${`{${signatureIds.join(',')}}`}::bigint[]))`,
  );
  return new Map(rows.map((row) => [Number(row.id), emailDomain(ctx.encryption.open('signatures.email', row.email))]));
}
