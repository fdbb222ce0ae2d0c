import type { Database } from '../db/client';
import type { Campaign, CustomTarget } from '../db/schema';
import { letterCounts, type LetterCounts } from '../letters/counts';
import { countsInDimensions } from '../petitions/signature-store';
import { listCustomTargets } from '../representatives/custom-targets';
import { districtLabel, officeLabel } from '../representatives/labels';
import { peopleByKey, personAsOfficial } from '../representatives/people';
import { activeOfficialsRepresenting } from '../representatives/store';
import { uspsByFips } from '../representatives/us-states';
import { fipsOf } from './state-fips';
import { callCountsByTarget } from './store';

/**
 * The numbers staff bring to a meeting with an office. The offices are those the campaign targets:
 * the officials of its levels in the active representative data who represent the places its
 * signers live in (a state with signatures: its senators and governor; a congressional or state
 * legislative district with signatures: its members), the campaign's own targets, and any other
 * office its letters or calls reached. Per office: the signatures from its constituents (its
 * district's, or its state's for a senator or a governor), the letters delivered to it, and the
 * calls reported to it. A few set-based reads, whatever the number of offices.
 */

export interface OfficeCount {
  targetKey: string;
  name: string;
  office: string;
  title: string;
  state: string | null;
  district: string | null;
  /** Where the office's constituents are, as staff name it: "CO-2", "CO senate district 7", "CO". */
  seat: string;
  /** Signatures from the office's constituents; null where they cannot be counted (a target by city or ZIP code, or an office no longer in the data). */
  signatures: number | null;
  lettersDelivered: number;
  /** Calls reported made (talked to staff, voicemail, busy or no answer); "did not call" is not one. */
  calls: number;
  callsTalked: number;
}

const OFFICIAL_OFFICES = ['us-house', 'us-senate', 'state-upper', 'state-lower', 'governor'];

/** The person key in a target key: `us-house:T000001` → `T000001`; `custom:12` stays. */
const personOf = (targetKey: string) =>
  targetKey.startsWith('custom:') ? targetKey : targetKey.slice(targetKey.indexOf(':') + 1);

const officeOf = (targetKey: string) => targetKey.slice(0, targetKey.indexOf(':'));

/** The House seats without a vote (the Census numbers them 98): DC's, the territories' and Puerto Rico's. */
const DELEGATE_SEATS = new Set(['DC', 'AS', 'GU', 'MP', 'VI', 'PR']);

/**
 * "CO-2", "CO at-large", "DC (delegate seat)", "CO senate district 7", "CO house district 12",
 * "NE legislative district 5" (one chamber), "DC council (Ward 1)", "CO" (statewide).
 */
export function seatName(office: string, state: string | null, district: string | null): string {
  if (!state) return '';
  switch (office) {
    case 'us-house': {
      const fips = fipsOf(state);
      if (!fips || district === null || !/^\d+$/.test(district)) return state;
      const code =
        district !== '0' ? district.padStart(2, '0') : DELEGATE_SEATS.has(state) ? '98' : '00';
      return districtLabel(`${fips}${code}`);
    }
    case 'state-upper':
      if (!district) return state;
      if (state === 'DC') return `DC council (${district})`;
      return `${state} ${state === 'NE' ? 'legislative' : 'senate'} district ${district}`;
    case 'state-lower':
      return district ? `${state} house district ${district}` : state;
    default:
      return state;
  }
}

/** Where a custom target's constituents are, and the signatures counted there (null for a city or ZIP codes: not counted). */
function customScope(
  target: CustomTarget,
  count: (dimension: string, key: string) => number,
): { seat: string; state: string | null; signatures: number | null } {
  switch (target.scope) {
    case 'everyone':
      return { seat: 'Everyone', state: null, signatures: count('total', '') };
    case 'state':
      return {
        seat: target.scopeState ?? '',
        state: target.scopeState,
        signatures: target.scopeState ? count('state', target.scopeState) : null,
      };
    case 'city':
      return {
        // Stored lower-cased, to match: "Aurora, CO" to read.
        seat: `${(target.scopeCity ?? '').replace(/(^|[\s-])\p{Ll}/gu, (start) => start.toUpperCase())}, ${target.scopeState ?? ''}`,
        state: target.scopeState,
        signatures: null,
      };
    case 'zips':
      return {
        seat: `ZIP ${(target.scopeZips ?? []).join(', ')}`,
        state: target.scopeState,
        signatures: null,
      };
    case 'district': {
      const geoid = target.scopeGeoid ?? '';
      const state = uspsByFips.get(geoid.slice(0, 2)) ?? null;
      if (target.scopeLayer === 'cd')
        return { seat: districtLabel(geoid), state, signatures: count('congressional', geoid) };
      const dimension = target.scopeLayer === 'sldu' ? 'state-upper' : 'state-lower';
      const chamber = target.scopeLayer === 'sldu' ? 'senate' : 'house';
      return {
        seat: `${state ?? ''} ${chamber} district (GEOID ${geoid})`.trim(),
        state,
        signatures: count(dimension, geoid),
      };
    }
  }
}

/** `letters`: the campaign's letter counts, where the caller reads them too (the dashboard). */
export async function officeCounts(
  db: Database,
  campaign: Pick<Campaign, 'id' | 'targetOffices'>,
  letters: Promise<LetterCounts> = letterCounts(db, campaign.id),
): Promise<OfficeCount[]> {
  const campaignId = campaign.id;
  const [letterCounted, calls, signatureRows, customTargets] = await Promise.all([
    letters,
    callCountsByTarget(db, campaignId),
    countsInDimensions(db, campaignId, [
      'total',
      'state',
      'congressional',
      'state-upper',
      'state-lower',
    ]),
    campaign.targetOffices.includes('custom')
      ? listCustomTargets(db, campaignId)
      : Promise.resolve([]),
  ]);
  const signatures = new Map(
    signatureRows
      .filter((row) => row.count > 0)
      .map((row) => [`${row.dimension}:${row.key}`, row.count]),
  );
  const count = (dimension: string, key: string) => signatures.get(`${dimension}:${key}`) ?? 0;
  const keysOf = (dimension: string) =>
    signatureRows
      .filter((row) => row.dimension === dimension && row.count > 0)
      .map((row) => row.key);
  const callsTo = new Map<string, typeof calls>();
  for (const row of calls) callsTo.set(row.targetKey, [...(callsTo.get(row.targetKey) ?? []), row]);
  const reachedKeys = [...new Set([...Object.keys(letterCounted.byTarget), ...callsTo.keys()])];

  // The offices of the campaign's levels (and of any office reached since a level was dropped).
  const offices = [
    ...new Set([
      ...campaign.targetOffices.filter((office) => OFFICIAL_OFFICES.includes(office)),
      ...reachedKeys.map(officeOf).filter((office) => OFFICIAL_OFFICES.includes(office)),
    ]),
  ];
  const officials = await activeOfficialsRepresenting(db, offices, {
    states: keysOf('state'),
    congressional: keysOf('congressional'),
    stateUpper: keysOf('state-upper'),
    stateLower: keysOf('state-lower'),
  });

  interface Office {
    name: string;
    title: string;
    state: string | null;
    district: string | null;
    seat: string;
    signatures: number | null;
  }
  const found = new Map<string, Office>();
  for (const row of officials) {
    const key = `${row.office}:${row.person_id}`;
    if (found.has(key)) continue;
    const person = {
      key: row.person_id,
      name: row.name,
      office: row.office,
      state: row.state,
      district: row.district,
      party: row.party,
      channels: [],
      ids: {},
    };
    found.set(key, {
      name: row.name,
      title: officeLabel(personAsOfficial(person)),
      state: row.state,
      district: row.district,
      seat:
        row.dimension === 'congressional'
          ? districtLabel(row.key)
          : seatName(row.office, row.state, row.district),
      signatures: count(row.dimension, row.key),
    });
  }
  for (const target of customTargets) {
    const scope = customScope(target, count);
    found.set(`custom:${target.id}`, {
      name: target.name,
      title: target.title || target.list,
      state: scope.state,
      district: null,
      seat: scope.seat,
      signatures: scope.signatures,
    });
  }

  // Offices letters or calls reached that no signer's place named: in the data with no
  // constituent's signature, a custom target of a level the campaign dropped, or gone from the data.
  const unlisted = reachedKeys.filter((key) => !found.has(key));
  const people = await peopleByKey(db, campaignId, unlisted.map(personOf));
  for (const targetKey of unlisted) {
    const office = officeOf(targetKey);
    const person = people.get(personOf(targetKey));
    const firstCall = callsTo.get(targetKey)?.[0];
    const state = person?.state || firstCall?.targetState || null;
    const district = person?.district ?? firstCall?.targetDistrict ?? null;
    found.set(targetKey, {
      name: person?.name ?? firstCall?.targetName ?? targetKey,
      title: person ? officeLabel(personAsOfficial(person)) : office,
      state,
      district,
      seat: seatName(office, state, district),
      // In the data but found by no signer's place: none of its constituents signed. Gone from the
      // data (or a custom target): not counted against today's districts.
      signatures: person && office !== 'custom' ? 0 : null,
    });
  }

  return [...found]
    .map(([targetKey, office]): OfficeCount => {
      const called = callsTo.get(targetKey) ?? [];
      return {
        targetKey,
        name: office.name,
        office: officeOf(targetKey),
        title: office.title,
        state: office.state,
        district: office.district,
        seat: office.seat,
        signatures: office.signatures,
        lettersDelivered: letterCounted.byTarget[targetKey]?.delivered ?? 0,
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
        (b.signatures ?? -1) - (a.signatures ?? -1) ||
        b.lettersDelivered + b.calls - (a.lettersDelivered + a.calls) ||
        a.name.localeCompare(b.name),
    );
}
