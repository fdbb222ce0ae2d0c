import type { Channel, OfficeKind, RepChangeKind } from '../db/schema';

/**
 * What an import changed, office by office, found by comparing the officials of the snapshot it
 * replaces with its own. People are matched by the publisher's id within an office (the same key a
 * letter's target has, `office:personId`); seats by office, state and district:
 *
 * - `gone`: a member left the office and someone else holds the seat now (`details.replacedBy`);
 * - `added`: a member took a seat someone else held (`details.replaces`);
 * - `vacant`: a member left the office and nobody holds the seat now (the row names who left);
 * - `filled`: a member took a seat nobody held (the row names who took it);
 * - `contact`: a member still in office whose email addresses, phone numbers, contact forms or
 *   CWC office code changed (`details.<channel>` holds `before` and `after`).
 *
 * A member who stays in the same office (even under another district name, after redistricting)
 * is neither gone nor added: letters to them still reach them.
 */

/** What a comparison needs of an official. */
export interface ComparedOfficial {
  personId: string;
  office: OfficeKind;
  state: string;
  district: string | null;
  name: string;
  channels: Channel[];
}

export interface OfficialChange {
  kind: RepChangeKind;
  office: OfficeKind;
  state: string;
  district: string | null;
  personId: string;
  name: string;
  details: Record<string, unknown>;
}

/** A letter target (`office:personId`) who is no longer in that office, and who holds the seat now, if anyone. */
export interface DepartedOfficial {
  targetKey: string;
  name: string;
  successor: string | null;
}

/** The channel types a contact change is recorded for: those letters and supporters use. */
const CONTACT_TYPES = ['email', 'phone', 'contact-form', 'cwc'] as const;

const targetKey = (official: Pick<ComparedOfficial, 'office' | 'personId'>) =>
  `${official.office}:${official.personId}`;
const seatKey = (official: ComparedOfficial) =>
  `${official.office}:${official.state}:${official.district ?? ''}`;
const person = (official: ComparedOfficial) => ({
  personId: official.personId,
  name: official.name,
});

function contactValues(channels: Channel[], type: (typeof CONTACT_TYPES)[number]): string[] {
  const values = channels.flatMap((channel): string[] => {
    if (channel.type !== type) return [];
    if (channel.type === 'email') return [channel.address];
    if (channel.type === 'phone') return [channel.number];
    if (channel.type === 'contact-form') return [channel.url];
    if (channel.type === 'cwc') return [channel.office];
    return [];
  });
  return [...new Set(values)].sort();
}

export function compareOfficials(
  before: ComparedOfficial[],
  after: ComparedOfficial[],
): { changes: OfficialChange[]; departed: DepartedOfficial[] } {
  const beforeByKey = new Map(before.map((official) => [targetKey(official), official]));
  const afterByKey = new Map(after.map((official) => [targetKey(official), official]));
  const changes: OfficialChange[] = [];
  const row = (
    kind: RepChangeKind,
    official: ComparedOfficial,
    details: Record<string, unknown> = {},
  ): OfficialChange => ({
    kind,
    office: official.office,
    state: official.state,
    district: official.district,
    personId: official.personId,
    name: official.name,
    details,
  });

  // Those who left an office and those who arrived in one, by seat.
  const seats = new Map<string, { left: ComparedOfficial[]; arrived: ComparedOfficial[] }>();
  const seat = (official: ComparedOfficial) => {
    const key = seatKey(official);
    let entry = seats.get(key);
    if (!entry) seats.set(key, (entry = { left: [], arrived: [] }));
    return entry;
  };
  for (const official of before)
    if (!afterByKey.has(targetKey(official))) seat(official).left.push(official);
  for (const official of after)
    if (!beforeByKey.has(targetKey(official))) seat(official).arrived.push(official);

  const departed: DepartedOfficial[] = [];
  for (const { left, arrived } of seats.values()) {
    left.forEach((official, index) => {
      const successor = arrived[index];
      changes.push(
        successor
          ? row('gone', official, { replacedBy: person(successor) })
          : row('vacant', official),
      );
      departed.push({
        targetKey: targetKey(official),
        name: official.name,
        successor: successor?.name ?? null,
      });
    });
    arrived.forEach((official, index) => {
      const predecessor = left[index];
      changes.push(
        predecessor
          ? row('added', official, { replaces: person(predecessor) })
          : row('filled', official),
      );
    });
  }

  for (const official of after) {
    const previous = beforeByKey.get(targetKey(official));
    if (!previous) continue;
    const details: Record<string, { before: string[]; after: string[] }> = {};
    for (const type of CONTACT_TYPES) {
      const was = contactValues(previous.channels, type);
      const is = contactValues(official.channels, type);
      if (was.join('\n') !== is.join('\n')) details[type] = { before: was, after: is };
    }
    if (Object.keys(details).length > 0) changes.push(row('contact', official, details));
  }

  const order: Record<RepChangeKind, number> = {
    vacant: 0,
    gone: 1,
    added: 2,
    filled: 3,
    contact: 4,
  };
  changes.sort(
    (a, b) =>
      order[a.kind] - order[b.kind] ||
      a.state.localeCompare(b.state) ||
      a.office.localeCompare(b.office) ||
      a.name.localeCompare(b.name),
  );
  return { changes, departed };
}

/** How many changes of each kind. */
export function countChanges(changes: OfficialChange[]): Record<RepChangeKind, number> {
  const counts: Record<RepChangeKind, number> = {
    added: 0,
    gone: 0,
    vacant: 0,
    filled: 0,
    contact: 0,
  };
  for (const change of changes) counts[change.kind]++;
  return counts;
}
