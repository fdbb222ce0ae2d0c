import { z } from 'zod';
import { STANCES, type BanPlaceKind, type BillStatus, type StanceSourceKind } from '../db/schema';
import { PERSON_KEY } from '../representatives/people';
import { isStateCode } from '../representatives/us-states';
import { optionalStaffLine, staffLine } from '../text-safety/fields';

/** What staff type about stances, bills and places with bans: one schema per form, English messages (the console is in English). */

export const SOURCE_KINDS: readonly StanceSourceKind[] = ['bill', 'vote', 'statement', 'other'];
export const BILL_STATUSES: readonly BillStatus[] = [
  'introduced',
  'in-committee',
  'passed-chamber',
  'enacted',
  'failed',
];
export const PLACE_KINDS: readonly BanPlaceKind[] = ['city', 'county', 'state'];

const webAddress = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z
    .string({ error: 'Enter a web address.' })
    .trim()
    .max(500, 'The web address is longer than 500 characters.')
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    }, 'Enter a web address that starts with https:// or http://.')
    .optional(),
);

/** A calendar day, `YYYY-MM-DD`, that exists. */
export const isoDay = (what: string) =>
  z
    .string({ error: `Enter ${what} as YYYY-MM-DD.` })
    .trim()
    .refine((value) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
      const date = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
    }, `Enter ${what} as YYYY-MM-DD, a day that exists.`);

const optionalDay = (what: string) =>
  z.preprocess((value) => (value === '' ? undefined : value), isoDay(what).optional());

export const personKey = z
  .string({ error: 'Enter the official’s id.' })
  .trim()
  .regex(
    PERSON_KEY,
    'Enter a bioguide id (T000001), an Open States id (ocd-person/…) or custom:<id> for one of the campaign’s own targets.',
  );

const checkbox = z
  .union([z.literal('on'), z.literal('true'), z.literal('false'), z.literal('')])
  .optional()
  .transform((value) => value === 'on' || value === 'true');

export const stanceForm = z.object({
  personKey,
  stance: z.enum(STANCES, {
    error: 'Choose a stance: champion, supports, undecided or opposes.',
  }),
  sourceKind: z.enum(SOURCE_KINDS, { error: 'Choose a source: bill, vote, statement or other.' }),
  sourceUrl: webAddress,
  sourceText: optionalStaffLine('what the source says', 300),
  statedOn: optionalDay('the day of the source'),
  published: checkbox,
});

export type StanceInput = z.output<typeof stanceForm>;

const sponsorList = z
  .string({ error: 'Enter the sponsors’ ids.' })
  .optional()
  .transform((value) => (value ?? '').split(/[\s,]+/).filter((each) => each !== ''))
  .pipe(
    z
      .array(personKey)
      .max(200, 'A bill has at most 200 sponsors here.')
      .transform((keys) => [...new Set(keys)]),
  );

export const billForm = z.object({
  jurisdiction: staffLine(
    'the jurisdiction',
    100,
    'Enter the jurisdiction: US, a state code, or a city or county.',
  ).transform((value) =>
    value.toUpperCase() === 'US' || isStateCode(value.toUpperCase()) ? value.toUpperCase() : value,
  ),
  number: staffLine('the bill number', 50),
  title: staffLine('the title', 300),
  status: z.enum(BILL_STATUSES, {
    error: 'Choose a status: introduced, in committee, passed a chamber, enacted or failed.',
  }),
  url: webAddress,
  sponsors: sponsorList,
  published: checkbox,
});

export type BillInput = z.output<typeof billForm>;

export const placeForm = z.object({
  kind: z.enum(PLACE_KINDS, { error: 'Choose city, county or state.' }),
  name: staffLine('the place’s name', 100),
  state: z
    .string({ error: 'Enter the state’s two-letter code.' })
    .trim()
    .toUpperCase()
    .refine(isStateCode, 'Enter the state’s two-letter code, like CA.'),
  passedOn: isoDay('the day the ban passed'),
  url: webAddress,
  /** Where the scorecard's map marks a city or county: one of its ZIP codes (checked against the data on save). */
  zip: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z
      .string({ error: 'Enter a 5-digit ZIP code.' })
      .trim()
      .regex(/^\d{5}$/, 'Enter a 5-digit ZIP code, like 80302.')
      .optional(),
  ),
  published: checkbox,
});

export type PlaceInput = z.output<typeof placeForm>;
