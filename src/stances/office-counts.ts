import type { Database } from '../db/client';
import { letterCounts } from '../letters/counts';
import { countsInDimensions } from '../petitions/signature-store';
import { legislativeSeats } from '../representatives/store';
import { peopleByKey } from '../representatives/people';
import { officeLabel } from '../representatives/labels';
import { personAsOfficial } from '../representatives/people';
import { fipsOf } from './state-fips';
import { callCountsByTarget } from './store';

/**
 * The numbers staff bring to a meeting with an office: per office the campaign's letters or calls
 * reached, the signatures from its constituents (its district's, or its state's for a senator or a
 * governor), the letters delivered to it, and the calls reported to it.
 */

export interface OfficeCount {
  targetKey: string;
  name: string;
  office: string;
  title: string;
  state: string | null;
  district: string | null;
  /** Signatures from the office's constituents; null where they cannot be counted (the campaign's own targets). */
  signatures: number | null;
  lettersDelivered: number;
  /** Calls reported made (talked to staff, voicemail, busy or no answer); "did not call" is not one. */
  calls: number;
  callsTalked: number;
}

/** The person key in a target key: `us-house:T000001` → `T000001`; `custom:12` stays. */
const personOf = (targetKey: string) =>
  targetKey.startsWith('custom:') ? targetKey : targetKey.slice(targetKey.indexOf(':') + 1);

export async function officeCounts(db: Database, campaignId: number): Promise<OfficeCount[]> {
  const [letters, calls, signatureRows, districtRows] = await Promise.all([
    letterCounts(db, campaignId),
    callCountsByTarget(db, campaignId),
    countsInDimensions(db, campaignId, ['state', 'congressional', 'state-upper', 'state-lower']),
    legislativeSeats(db),
  ]);
  const keys = new Set([...Object.keys(letters.byTarget), ...calls.map((row) => row.targetKey)]);
  const people = await peopleByKey(db, campaignId, [...keys].map(personOf));
  const signatures = new Map(
    signatureRows.map((row) => [`${row.dimension}:${row.key}`, row.count]),
  );
  const seatGeoid = new Map(
    districtRows.map((row) => [
      `${row.layer === 'sldu' ? 'state-upper' : 'state-lower'}:${row.state}:${row.district}`,
      row.geoid,
    ]),
  );
  const constituents = (office: string, state: string, district: string | null): number | null => {
    const count = (dimension: string, key: string | undefined) =>
      key === undefined ? 0 : (signatures.get(`${dimension}:${key}`) ?? 0);
    switch (office) {
      case 'us-senate':
      case 'governor':
        return count('state', state);
      case 'us-house': {
        const fips = fipsOf(state);
        if (!fips || district === null || !/^\d+$/.test(district)) return count('state', state);
        return count('congressional', `${fips}${district.padStart(2, '0')}`);
      }
      case 'state-upper':
      case 'state-lower':
        return count(office, seatGeoid.get(`${office}:${state}:${district ?? ''}`));
      default:
        return null;
    }
  };

  return [...keys]
    .map((targetKey) => {
      const office = targetKey.slice(0, targetKey.indexOf(':'));
      const person = people.get(personOf(targetKey));
      const called = calls.filter((row) => row.targetKey === targetKey);
      const firstCall = called[0];
      const state = person?.state || firstCall?.targetState || null;
      const district = person?.district ?? firstCall?.targetDistrict ?? null;
      return {
        targetKey,
        name: person?.name ?? firstCall?.targetName ?? targetKey,
        office,
        title: person ? officeLabel(personAsOfficial(person)) : office,
        state,
        district,
        signatures: state ? constituents(office, state, district) : null,
        lettersDelivered: letters.byTarget[targetKey]?.delivered ?? 0,
        calls: called
          .filter((row) => row.outcome !== 'did-not-call')
          .reduce((sum, row) => sum + row.count, 0),
        callsTalked: called
          .filter((row) => row.outcome === 'talked')
          .reduce((sum, row) => sum + row.count, 0),
      };
    })
    .sort(
      (a, b) =>
        b.lettersDelivered + b.calls - (a.lettersDelivered + a.calls) ||
        a.name.localeCompare(b.name),
    );
}
