import type { Database } from '../db/client';
import { countsOfSource } from '../petitions/signature-store';
import { countPartnerConsents } from '../privacy/consent';
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
  const counts = await countsOfSource(db, scope.campaignId, scope.sourceCode);
  const consenting = await countPartnerConsents(db, scope.campaignId, scope.partnerId);
  return {
    brought: counts.total,
    consenting,
    series: signatureSeries(
      Object.fromEntries(counts.byDay.map((row) => [row.day, Number(row.n)])),
      utcDay(now),
    ),
    byState: counts.byState.map((row) => ({
      code: row.state,
      name: stateNames.get(row.state) ?? row.state,
      signatures: Number(row.n),
    })),
    byDistrict: counts.byDistrict.map((row) => ({
      geoid: row.geoid,
      label: districtLabel(row.geoid),
      signatures: Number(row.n),
    })),
  };
}
