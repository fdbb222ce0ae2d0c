import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { stateNames } from '../representatives/us-states';
import { districtLabel } from '../representatives/labels';
import { signatureSeries, utcDay, type TimeSeries } from '../graphics/charts';
import type { PartnerScope } from './partner-accounts';

/**
 * A partner's numbers: the signatures it brought (those carrying its source code), over time and
 * by state and congressional district, and how many of those signers agreed to hear from it. Counts
 * only: no one is named. Read through the staff console's bounded connection (its statements time out).
 */
export interface PartnerNumbers {
  brought: number;
  consenting: number;
  series: TimeSeries;
  byState: Array<{ code: string; name: string; signatures: number }>;
  byDistrict: Array<{ geoid: string; label: string; signatures: number }>;
}

export async function partnerNumbers(
  db: Database,
  scope: PartnerScope,
  now = new Date(),
): Promise<PartnerNumbers> {
  const mine = sql`s.campaign_id = ${scope.campaignId}::int AND s.source = ${scope.sourceCode}`;
  const [totals] = await queryRows<{ brought: number; consenting: number }>(
    db,
    sql`SELECT count(*)::int AS brought,
          (SELECT count(*)::int FROM consents k WHERE k.campaign_id = ${scope.campaignId}::int AND k.scope = 'partner'
             AND k.partner_id = ${scope.partnerId}::int AND k.withdrawn_at IS NULL) AS consenting
        FROM signatures s WHERE ${mine}`,
  );
  const days = await queryRows<{ day: string; n: number }>(
    db,
    sql`SELECT to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n FROM signatures s WHERE ${mine} GROUP BY 1`,
  );
  const states = await queryRows<{ state: string; n: number }>(
    db,
    sql`SELECT s.state, count(*)::int AS n FROM signatures s WHERE ${mine} AND s.state IS NOT NULL GROUP BY s.state ORDER BY n DESC, s.state`,
  );
  const districts = await queryRows<{ geoid: string; n: number }>(
    db,
    sql`SELECT s.congressional_district AS geoid, count(*)::int AS n FROM signatures s
        WHERE ${mine} AND s.congressional_district IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100`,
  );
  return {
    brought: Number(totals?.brought ?? 0),
    consenting: Number(totals?.consenting ?? 0),
    series: signatureSeries(
      Object.fromEntries(days.map((row) => [row.day, Number(row.n)])),
      utcDay(now),
    ),
    byState: states.map((row) => ({
      code: row.state,
      name: stateNames.get(row.state) ?? row.state,
      signatures: Number(row.n),
    })),
    byDistrict: districts.map((row) => ({
      geoid: row.geoid,
      label: districtLabel(row.geoid),
      signatures: Number(row.n),
    })),
  };
}
