import { z } from 'zod';
import type { CustomTarget } from '../db/schema';
import { BIDI_CONTROL, CONTROL_IN_LINE } from '../text-safety/characters';
import { stripInvisible } from '../text-safety/input';
import { matchCustomTargets } from './custom-targets';
import type { DistrictKeys, DistrictSet, Official, RepresentativeData } from './districts';
import { GeocoderUnavailableError, type Geocoder } from './geocoder';
import { isStateCode } from './us-states';
import { english, type Translate } from '../i18n/translations';

/**
 * Finds a constituent's districts and representatives, from (best first) a point, an address
 * geocoded to a point, or a ZIP code. A ZIP that spans districts answers with every candidate
 * district set, marked ambiguous, and the set at the ZIP's centre as the default.
 */

export interface LookupQuery {
  address?: string;
  zip?: string;
  lat?: number;
  lng?: number;
  /** The constituent's city ("Oakland" or "Oakland, CA"), for the campaign's city targets. */
  city?: string;
  /** For a ZIP that spans districts: the constituent's choice among the candidates. */
  choice?: Partial<DistrictKeys>;
}

export interface LookupResult {
  precision: 'point' | 'zip';
  ambiguous: boolean;
  districts: DistrictSet;
  candidates: Array<DistrictSet & { default: boolean }>;
  officials: Official[];
  /** How the address was placed, when one was given. */
  geocoding?: 'geocoder' | 'zip-in-address';
  /** The ZIP that was used, when the lookup went by ZIP. */
  zip?: string;
  data: { importedAt: string; asOf: string | null };
}

export type LookupOutcome =
  | { ok: true; result: LookupResult }
  | { ok: false; status: 400; errors: Record<string, string> }
  | { ok: false; status: 404 | 503; error: string; message: string };

const ZIP = /^(\d{5})(?:-\d{4})?$/;
const MAX_CANDIDATES = 64;

const coordinate = (min: number, max: number, key: string) =>
  z.coerce.number({ error: key }).min(min, key).max(max, key);

export const lookupQuerySchema = z
  .object({
    zip: z
      .string({ error: 'errors:zip.invalid' })
      .trim()
      .regex(ZIP, 'errors:zip.invalid')
      .optional(),
    // As the signature's address: invisible characters stripped, control and direction characters refused (text-safety/input.ts).
    address: z
      .string({ error: 'errors:address.notText' })
      .overwrite(stripInvisible)
      .trim()
      .refine((value) => !CONTROL_IN_LINE.test(value), 'errors:address.oneLine')
      .refine((value) => !BIDI_CONTROL.test(value), 'errors:address.direction')
      .min(5, 'errors:address.tooShort')
      .max(200, 'errors:address.tooLong')
      .optional(),
    lat: coordinate(-90, 90, 'errors:lat.invalid').optional(),
    lng: coordinate(-180, 180, 'errors:lng.invalid').optional(),
    // Any script's letters: San José, Cataño, Mayagüez.
    city: z
      .string({ error: 'errors:city.invalid' })
      .trim()
      .max(100, 'errors:city.tooLong')
      .regex(/^\p{L}[\p{L}\p{M} .,'’-]*$/u, 'errors:city.invalid')
      .transform((city) => city.split(',')[0]!.trim())
      .optional(),
    cd: z
      .string({ error: 'errors:district.cd' })
      .regex(/^\d{4}$/, 'errors:district.cd')
      .optional(),
    sldu: z
      .string({ error: 'errors:district.sldu' })
      .regex(/^\d{2}[0-9A-Z-]{3}$/, 'errors:district.sldu')
      .optional(),
    sldl: z
      .string({ error: 'errors:district.sldl' })
      .regex(/^\d{2}[0-9A-Z-]{3}$/, 'errors:district.sldl')
      .optional(),
  })
  .superRefine((query, ctx) => {
    if ((query.lat === undefined) !== (query.lng === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [query.lat === undefined ? 'lat' : 'lng'],
        message: 'errors:coordinates.both',
      });
    }
    if (
      query.zip === undefined &&
      query.address === undefined &&
      query.lat === undefined &&
      query.lng === undefined
    ) {
      ctx.addIssue({ code: 'custom', path: ['zip'], message: 'errors:zip.orAddress' });
    }
  })
  .transform(({ cd, sldu, sldl, ...query }): LookupQuery => ({
    ...query,
    choice: { cd, sldu, sldl },
  }));

/** One message per field, in the asker's language (the schema's messages are keys of locales/<lng>/errors.json). */
export const queryErrors = (
  error: z.ZodError,
  t: Translate = english().t,
): Record<string, string> => {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'query');
    errors[field] ??= t(issue.message);
  }
  return errors;
};

export interface LookupDependencies {
  data: RepresentativeData | null;
  geocoder?: Geocoder;
  /** Called when the geocoder fails, to log it (without the address). */
  onGeocoderError?: (error: GeocoderUnavailableError) => void;
  /** The asker's language, for the messages; English when not given. */
  t?: Translate;
}

export async function lookupRepresentatives(
  deps: LookupDependencies,
  query: LookupQuery,
  customTargets: CustomTarget[] = [],
): Promise<LookupOutcome> {
  const { data } = deps;
  const t = deps.t ?? english().t;
  if (!data)
    return {
      ok: false,
      status: 503,
      error: 'data_unavailable',
      message: t('representatives:errors.dataMissing'),
    };

  let point: { lat: number; lng: number } | undefined;
  let zip = query.zip ? ZIP.exec(query.zip)?.[1] : undefined;
  let geocoding: LookupResult['geocoding'];
  let city = query.city;
  if (query.lat !== undefined && query.lng !== undefined) {
    point = { lat: query.lat, lng: query.lng };
  } else if (query.address) {
    const geocoded = deps.geocoder ? await geocode(deps, query.address) : undefined;
    if (geocoded) {
      point = geocoded;
      city ??= geocoded.city;
      zip ??= geocoded.zip;
      geocoding = 'geocoder';
    } else {
      const written = addressParts(query.address);
      zip ??= written.zip;
      if (!zip) {
        return { ok: false, status: 400, errors: { address: t('errors:address.notPlaced') } };
      }
      geocoding = 'zip-in-address';
      city ??= written.city;
    }
  }

  let keys: DistrictKeys;
  let result: Omit<LookupResult, 'officials' | 'districts' | 'data'>;
  if (point) {
    const found = data.districtsAt(point.lng, point.lat);
    if (!found)
      return {
        ok: false,
        status: 404,
        error: 'not_found',
        message: t('representatives:errors.outsideDistricts'),
      };
    keys = found;
    result = { precision: 'point', ambiguous: false, candidates: [] };
  } else {
    const entry = zip ? data.zip(zip) : undefined;
    if (!entry || entry.cd.length === 0) {
      return {
        ok: false,
        status: 404,
        error: 'not_found',
        message: t(
          deps.geocoder
            ? 'representatives:errors.unknownZipOrAddress'
            : 'representatives:errors.unknownZip',
          { zip: zip ?? '' },
        ),
      };
    }
    const foreign = (['cd', 'sldu', 'sldl'] as const).filter((layer) => {
      const wanted = query.choice?.[layer];
      return typeof wanted === 'string' && !entry[layer].includes(wanted);
    });
    if (foreign.length > 0) {
      return {
        ok: false,
        status: 400,
        errors: Object.fromEntries(
          foreign.map((layer) => [layer, t('errors:district.notInZip', { zip: entry.zcta })]),
        ),
      };
    }
    const chosen = (layer: keyof DistrictKeys): string | null =>
      query.choice?.[layer] ?? entry.primary[layer];
    keys = { cd: chosen('cd'), sldu: chosen('sldu'), sldl: chosen('sldl') };
    const ambiguous = entry.cd.length > 1 || entry.sldu.length > 1 || entry.sldl.length > 1;
    result = {
      precision: 'zip',
      ambiguous,
      candidates: ambiguous ? candidateSets(data, entry) : [],
    };
  }

  const districts = data.describe(keys);
  const state = districts.congressional?.state;
  const place = {
    state,
    city,
    zip,
    districts: {
      cd: keys.cd ?? undefined,
      sldu: keys.sldu ?? undefined,
      sldl: keys.sldl ?? undefined,
    },
  };
  const custom = matchCustomTargets(customTargets, place).map((target) =>
    customOfficial(target, state),
  );
  return {
    ok: true,
    result: {
      ...result,
      districts,
      officials: [...data.officialsFor(keys), ...custom],
      ...(geocoding ? { geocoding } : {}),
      ...(zip && result.precision === 'zip' ? { zip } : {}),
      data: { importedAt: data.importedAt.toISOString(), asOf: data.dataAsOf },
    },
  };
}

async function geocode(deps: LookupDependencies, address: string) {
  try {
    return (await deps.geocoder!.geocode(address)) ?? undefined;
  } catch (error) {
    if (!(error instanceof GeocoderUnavailableError)) throw error;
    deps.onGeocoderError?.(error);
    return undefined;
  }
}

/**
 * The ZIP code and city of an address written the usual way, "street, city, ST 12345": the ZIP
 * only from the very end (a house number is not a ZIP), the city from just before the state.
 */
export function addressParts(address: string): { zip?: string; city?: string } {
  const parts = address.split(',').map((part) => part.trim());
  const last = parts[parts.length - 1] ?? '';
  const tail = /(?:^|\s)(?:([A-Za-z]{2})\.?\s+)?(\d{5})(?:-\d{4})?$/.exec(last);
  if (!tail) return {};
  const before = last.slice(0, tail.index).trim();
  const state = tail[1] && isStateCode(tail[1].toUpperCase());
  const city = state
    ? before || (parts.length >= 3 ? parts[parts.length - 2] : undefined)
    : undefined;
  return {
    zip: tail[2],
    city: city && /^[A-Za-z][A-Za-z .'-]{0,60}$/.test(city) ? city : undefined,
  };
}

/**
 * The street line of a one-line US address, without its city, state and ZIP ("200 Main St, Apt 2"
 * from "200 Main St, Apt 2, Springfield, IL 62701"); the address as given when its tail is not
 * recognised.
 */
export function streetOf(address: string): string {
  const parts = address
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const last = parts[parts.length - 1] ?? '';
  const tail = /(?:^|\s)(?:([A-Za-z]{2})\.?\s+)?(\d{5})(?:-\d{4})?$/.exec(last);
  if (!tail || parts.length < 2) return address.trim();
  // "…, Springfield IL 62701" holds the city in the last part; "…, Springfield, IL 62701" in the one before.
  const cityInLast = last.slice(0, tail.index).trim() !== '' && Boolean(tail[1]);
  const street = parts.slice(0, cityInLast ? -1 : -2);
  return street.length > 0 ? street.join(', ') : address.trim();
}

/**
 * Combinations of the ZIP's districts, the default (its centre's) first. Each district of each
 * layer is in one of the first sets (the default with that one district changed), so the cap on
 * combinations never leaves a district out of the choices.
 */
function candidateSets(
  data: RepresentativeData,
  entry: NonNullable<ReturnType<RepresentativeData['zip']>>,
) {
  const options = (list: string[], primary: string | null) =>
    list.length === 0 ? [null] : [primary, ...list.filter((geoid) => geoid !== primary)];
  const cds = options(entry.cd, entry.primary.cd);
  const sldus = options(entry.sldu, entry.primary.sldu);
  const sldls = options(entry.sldl, entry.primary.sldl);
  const keys: DistrictKeys[] = [
    { cd: cds[0]!, sldu: sldus[0]!, sldl: sldls[0]! },
    ...cds.slice(1).map((cd) => ({ cd, sldu: sldus[0]!, sldl: sldls[0]! })),
    ...sldus.slice(1).map((sldu) => ({ cd: cds[0]!, sldu, sldl: sldls[0]! })),
    ...sldls.slice(1).map((sldl) => ({ cd: cds[0]!, sldu: sldus[0]!, sldl })),
  ];
  const seen = new Set(keys.map((set) => `${set.cd}|${set.sldu}|${set.sldl}`));
  for (const cd of cds) {
    for (const sldu of sldus) {
      for (const sldl of sldls) {
        if (keys.length >= MAX_CANDIDATES) break;
        if (!seen.has(`${cd}|${sldu}|${sldl}`)) keys.push({ cd, sldu, sldl });
      }
    }
  }
  return keys.map((set, index) => ({ ...data.describe(set), default: index === 0 }));
}

function customOfficial(target: CustomTarget, constituentState: string | undefined): Official {
  return {
    office: 'custom',
    name: target.name,
    title: target.title,
    party: null,
    state: target.scopeState ?? constituentState ?? '',
    district: target.scopeGeoid,
    vacant: false,
    ids: { customTarget: String(target.id), list: target.list },
    channels: [
      ...(target.email ? [{ type: 'email' as const, address: target.email }] : []),
      ...(target.phone ? [{ type: 'phone' as const, number: target.phone }] : []),
      ...(target.postalAddress ? [{ type: 'postal' as const, address: target.postalAddress }] : []),
    ],
    source: { name: target.list, snapshotDate: null },
  };
}
