import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import {
  customTargets,
  repOfficials,
  repSnapshots,
  type Campaign,
  type Channel,
} from '../db/schema';
import type { Official } from './districts';

/**
 * Officials named by their publishers' ids, for the pages that speak of a person rather than of a
 * place (stances, bills, the scorecard): a bioguide id, an Open States `ocd-person/…` id, or
 * `custom:<id>` for one of a campaign's own targets.
 */

export interface Person {
  key: string;
  name: string;
  office: Official['office'];
  /** A custom target's title ("Council Member"). */
  title?: string;
  state: string;
  district: string | null;
  party: string | null;
  channels: Channel[];
  ids: Record<string, string>;
}

/** An official's person key: the publisher's id (bioguide, Open States), or `custom:<id>`. */
export function personKeyOf(official: Pick<Official, 'ids' | 'vacant'>): string | null {
  if (official.vacant) return null;
  const { bioguide, openstates, customTarget } = official.ids;
  return bioguide ?? openstates ?? (customTarget ? `custom:${customTarget}` : null);
}

/** How a person key looks: checked before it is looked up. */
export const PERSON_KEY = /^(?:[A-Z]\d{6}|ocd-person\/[0-9a-f-]{36}|custom:\d{1,9})$/;

/** The people with these keys in the active data and among the campaign's own targets. */
export async function peopleByKey(
  db: Database,
  campaignId: number,
  keys: readonly string[],
): Promise<Map<string, Person>> {
  const found = new Map<string, Person>();
  const wanted = [...new Set(keys.filter((key) => PERSON_KEY.test(key)))];
  const published = wanted.filter((key) => !key.startsWith('custom:'));
  const custom = wanted
    .filter((key) => key.startsWith('custom:'))
    .map((key) => Number(key.slice('custom:'.length)));
  if (published.length > 0) {
    const rows = await db
      .select({
        personId: repOfficials.personId,
        office: repOfficials.office,
        name: repOfficials.name,
        state: repOfficials.state,
        district: repOfficials.district,
        party: repOfficials.party,
        channels: repOfficials.channels,
        ids: repOfficials.ids,
      })
      .from(repOfficials)
      .innerJoin(repSnapshots, eq(repSnapshots.id, repOfficials.snapshotId))
      .where(and(eq(repSnapshots.active, true), inArray(repOfficials.personId, published)))
      // A member who moved from the House to the Senate in the data: the later office.
      .orderBy(sql`${repOfficials.office} DESC`);
    for (const row of rows)
      found.set(row.personId, {
        key: row.personId,
        name: row.name,
        office: row.office,
        state: row.state,
        district: row.district,
        party: row.party,
        channels: row.channels,
        ids: row.ids,
      });
  }
  if (custom.length > 0) {
    const rows = await db
      .select()
      .from(customTargets)
      .where(and(eq(customTargets.campaignId, campaignId), inArray(customTargets.id, custom)));
    for (const row of rows)
      found.set(`custom:${row.id}`, {
        key: `custom:${row.id}`,
        name: row.name,
        title: row.title,
        office: 'custom',
        state: row.scopeState ?? '',
        district: null,
        party: null,
        channels: [
          ...(row.email ? [{ type: 'email' as const, address: row.email }] : []),
          ...(row.phone ? [{ type: 'phone' as const, number: row.phone }] : []),
        ],
        ids: { customTarget: String(row.id), list: row.list },
      });
  }
  return found;
}

/**
 * The official a link names (`?official=<publisher id>`, as each scorecard card gives the call and
 * letter pages), if the id is one the active data or the campaign's own targets hold, in an office
 * the campaign targets: anything else (not text, too long, unknown, not published, an office no
 * letter or call of this campaign goes to) names no one and is ignored.
 */
export async function namedPerson(
  db: Database,
  campaign: Pick<Campaign, 'id' | 'targetOffices'>,
  value: unknown,
): Promise<Person | undefined> {
  if (typeof value !== 'string' || value.length > 100) return undefined;
  const person = (await peopleByKey(db, campaign.id, [value])).get(value);
  return person && isTargeted(campaign, person) ? person : undefined;
}

/** Whether the campaign's letters and calls go to this person's office. */
export const isTargeted = (
  campaign: Pick<Campaign, 'targetOffices'>,
  person: Pick<Person, 'office'>,
) => (campaign.targetOffices as readonly string[]).includes(person.office);

/** A person as the labels and the letters take an official. */
export const personAsOfficial = (person: Person): Official => ({
  office: person.office,
  name: person.name,
  ...(person.title ? { title: person.title } : {}),
  party: person.party,
  state: person.state,
  district: person.district,
  vacant: false,
  ids: person.ids,
  channels: person.channels,
  source: null,
});
