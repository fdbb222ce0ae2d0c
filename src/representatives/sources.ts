import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import yaml from 'js-yaml';
import { Parser as TarParser } from 'tar';
import { feature as topojsonFeature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import { z } from 'zod';
import type { Channel, DataSource, DistrictLayer, OfficeKind } from '../db/schema';
import { encodeGeometry, GeometryError, type GeoJsonGeometry } from './geometry';
import { houseOfficeCode, senateOfficeCode } from './congress-offices';
import { isStateCode, uspsByFips } from './us-states';

/**
 * Readers for the publishers' own formats: congress-legislators YAML (or its JSON), the
 * openstates/people tree (a directory or its .tar.gz), Census district polygons as GeoJSON
 * (gzipped or not), the ZCTA → district tables and the Census → Open States crosswalk. Each turns
 * its file into plain records, or stops at the first bad record with the file, the record and why.
 */

export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly record: string,
    readonly reason: string,
  ) {
    super(`${file}: ${record}: ${reason}`);
  }
}

export interface OfficialRecord {
  personId: string;
  office: OfficeKind;
  state: string;
  district: string | null;
  name: string;
  party: string | null;
  ids: Record<string, string>;
  channels: Channel[];
  /** The last day of the current term, as the publisher records it (`YYYY-MM-DD`), or null. */
  termEnd: string | null;
  source: number;
}

export interface DistrictRecord {
  layer: DistrictLayer;
  geoid: string;
  state: string;
  name: string;
  seats: Array<{ chamber: string; district: string }>;
  geometry: Int32Array | null;
}

export interface ZctaRecord {
  zcta: string;
  cd: string[];
  sldu: string[];
  sldl: string[];
  centroidCd: string | null;
  centroidSldu: string | null;
  centroidSldl: string | null;
  lat: number | null;
  lng: number | null;
}

/** The files of one import, found in the `--from` directory by their publishers' names. */
export interface SourceFiles {
  congress: string;
  districtOffices?: string;
  openstates: string;
  cd: string;
  sldu?: string;
  sldl?: string;
  zctaCd: string;
  zctaSld?: string;
  centroids?: string;
  zctaCentroids?: string;
  crosswalk?: string;
}

/** The names each input goes by, preferred first: the bundle's, then the publishers' own. */
const FILE_PATTERNS: {
  [K in keyof SourceFiles]-?: { patterns: RegExp[]; required: boolean; what: string };
} = {
  congress: {
    patterns: [/^legislators-current\.(ya?ml|json)$/],
    required: true,
    what: 'congress-legislators legislators-current.yaml',
  },
  districtOffices: {
    patterns: [/^legislators-district-offices\.(ya?ml|json)$/],
    required: false,
    what: 'legislators-district-offices.yaml',
  },
  openstates: {
    patterns: [/^(openstates-)?people.*\.tar\.gz$/, /^openstates-people$/, /^people(-main)?$/],
    required: true,
    what: 'the openstates/people tree',
  },
  cd: {
    patterns: [/^(cb_\d{4}_us_)?cd119.*\.geojson(\.gz)?$/, /cd119.*\.(topo)?json(\.gz)?$/],
    required: true,
    what: '119th-Congress district polygons',
  },
  sldu: {
    patterns: [/^(tl_\d{4}_.*_)?sldu.*\.geojson(\.gz)?$/, /^sldu$/],
    required: false,
    what: 'state senate district polygons',
  },
  sldl: {
    patterns: [/^(tl_\d{4}_.*_)?sldl.*\.geojson(\.gz)?$/, /^sldl$/],
    required: false,
    what: 'state house district polygons',
  },
  zctaCd: {
    patterns: [/^(zcta_to_cd119|zccd)\.csv$/],
    required: true,
    what: 'ZCTA → congressional district table (zccd.csv)',
  },
  zctaSld: {
    patterns: [/^zcta_to_sld.*\.csv$/, /^state-leg-zips.*\.json$/],
    required: false,
    what: 'ZCTA → state legislative district table',
  },
  centroids: {
    patterns: [/^zcta_centroid_point_lookup\.csv$/],
    required: false,
    what: 'ZCTA centroid district lookup',
  },
  zctaCentroids: {
    patterns: [/^zcta_centroids.*\.csv$/, /^zctas_\d{4}\.csv$/],
    required: false,
    what: 'ZCTA centroid points',
  },
  crosswalk: {
    patterns: [/^census_sld.*openstates.*\.csv$/],
    required: false,
    what: 'Census → Open States district crosswalk',
  },
};

/** The inputs that hold the officials (fetched again by each refresh); the others are districts and ZIP tables. */
export const OFFICIALS_FILES = [
  'congress',
  'districtOffices',
  'openstates',
] as const satisfies ReadonlyArray<keyof SourceFiles>;
export const DISTRICT_FILES = [
  'cd',
  'sldu',
  'sldl',
  'zctaCd',
  'zctaSld',
  'centroids',
  'zctaCentroids',
  'crosswalk',
] as const satisfies ReadonlyArray<keyof SourceFiles>;

type SourceRole = keyof SourceFiles;

/**
 * Finds each input by name, in the directory and two levels below it; only those of `roles` when
 * given (a refresh combines the officials' files it fetched with the districts it has).
 */
export function findSourceFiles(dir: string): SourceFiles;
export function findSourceFiles<R extends SourceRole>(
  dir: string,
  roles: readonly R[],
): Pick<SourceFiles, R>;
export function findSourceFiles(dir: string, roles?: readonly SourceRole[]): Partial<SourceFiles> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DataError(dir, 'directory', 'not found');
  const candidates: string[] = [];
  const visit = (current: string, depth: number) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      candidates.push(full);
      if (entry.isDirectory() && depth < 2 && !/^(openstates-)?people|^sld[ul]$/.test(entry.name))
        visit(full, depth + 1);
    }
  };
  visit(dir, 0);
  const found: Partial<SourceFiles> = {};
  const missing: string[] = [];
  for (const [key, { patterns, required, what }] of Object.entries(FILE_PATTERNS) as Array<
    [SourceRole, (typeof FILE_PATTERNS)['cd']]
  >) {
    if (roles && !roles.includes(key)) continue;
    const match = patterns
      .map((pattern) => candidates.find((file) => pattern.test(path.basename(file))))
      .find(Boolean);
    if (match) found[key] = match;
    else if (required) missing.push(what);
  }
  if (missing.length > 0) throw new DataError(dir, 'directory', `missing ${missing.join(', ')}`);
  return found;
}

/**
 * What the importer makes of the files: raised when the same files would now give other records
 * (2: members' CWC office codes and term ends), so that they are imported again.
 */
const IMPORTER_VERSION = 2;

/**
 * SHA-256 over every input file (and the importer's version), so an import of unchanged files can
 * be recognised. Each file counts by its role and its content (and, in a tree, its place in it),
 * not by where it lies: a refresh downloads into a new directory each time, and unchanged files
 * must still be recognised as such. The Open States tree counts by the person files the importer
 * reads, whether a directory or an archive: its archive is made again at each commit to the
 * repository (committees, scrapers), and changes with each even when no legislator's file did.
 */
export async function hashSourceFiles(files: SourceFiles): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`importer ${IMPORTER_VERSION}\n`);
  for (const [role, file] of (Object.entries(files) as Array<[string, string]>).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    hash.update(`${role}\n`);
    if (role === 'openstates') {
      const people: Array<{ name: string; text: string }> = [];
      for await (const entry of openstatesFiles(file))
        if (entry.state !== 'US') people.push({ name: personPath(entry.name), text: entry.text });
      people.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const { name, text } of people) hash.update(`${name}\n${text}\n`);
      continue;
    }
    for (const entry of filesUnder(file)) {
      hash.update(`${path.relative(file, entry)}\n`);
      for await (const chunk of createReadStream(entry)) hash.update(chunk as Buffer);
    }
  }
  return hash.digest('hex');
}

function filesUnder(file: string): string[] {
  if (!statSync(file).isDirectory()) return [file];
  return readdirSync(file, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

const readText = (file: string): string => {
  const bytes = readFileSync(file);
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
};

function parseStructured(file: string, text: string): unknown {
  try {
    return file.endsWith('.json')
      ? JSON.parse(text)
      : yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (error) {
    throw new DataError(
      file,
      'file',
      `cannot be parsed: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

function readCsv(file: string, columns: string[]): Array<Record<string, string>> {
  let rows: Array<Record<string, string>>;
  try {
    rows = parseCsv<Record<string, string>>(readText(file), {
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (error) {
    throw new DataError(file, 'file', `is not readable CSV: ${(error as Error).message}`);
  }
  const header = rows[0] ? Object.keys(rows[0]) : [];
  const absent = columns.filter((column) => !header.includes(column));
  if (rows.length === 0) throw new DataError(file, 'file', 'has no rows');
  if (absent.length > 0) throw new DataError(file, 'header', `missing column ${absent.join(', ')}`);
  return rows;
}

const isoDate = (value: unknown): string | undefined => {
  const text = typeof value === 'string' ? value : undefined;
  return text && /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : undefined;
};

const laterDate = (a: string | null, b: string | undefined): string | null =>
  b && (!a || b > a) ? b : a;

// ---------------------------------------------------------------------------------------------
// Congress: unitedstates/congress-legislators

const congressTerm = z.object({
  type: z.enum(['rep', 'sen']),
  start: z.string(),
  end: z.string(),
  state: z.string().refine(isStateCode, 'not a state code'),
  district: z.number().int().min(-1).optional(),
  /** A senator's class (1, 2 or 3): which third of the Senate the seat is elected with. */
  class: z.number().int().min(1).max(3).optional(),
  party: z.string().optional(),
  url: z.string().optional(),
  contact_form: z.string().optional(),
  phone: z.string().optional(),
  address: z.string().optional(),
});

const congressPerson = z.object({
  id: z
    .object({ bioguide: z.string().regex(/^[A-Z]\d{6}$/, 'bioguide id must look like A000360') })
    .loose(),
  name: z
    .object({ first: z.string(), last: z.string(), official_full: z.string().optional() })
    .loose(),
  terms: z.array(congressTerm.loose()).min(1, 'has no terms'),
});

/** YAML reads a suite "101" or a ZIP code written without quotes as a number. */
const textual = z.union([z.string(), z.number()]).transform(String);

const districtOfficeList = z.array(
  z
    .object({
      id: z.object({ bioguide: z.string() }).loose(),
      offices: z
        .array(
          z
            .object({
              address: textual.optional(),
              suite: textual.optional(),
              building: textual.optional(),
              city: textual.optional(),
              state: textual.optional(),
              zip: textual.optional(),
              phone: textual.optional(),
            })
            .loose(),
        )
        .default([]),
    })
    .loose(),
);

const issueText = (error: z.ZodError) =>
  error.issues.map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`).join('; ');

/**
 * Current members of Congress: the last term of each, with DC and district offices as channels.
 * A term that ended before `asOf` (the import's date) is not current.
 */
export function readCongress(
  file: string,
  officesFile: string | undefined,
  source: number,
  asOf: string,
): { officials: OfficialRecord[]; newestChange: string | null } {
  const list = parseStructured(file, readText(file));
  if (!Array.isArray(list)) throw new DataError(file, 'file', 'is not a list of legislators');
  const offices = new Map<string, Channel[]>();
  if (officesFile) {
    const parsed = districtOfficeList.safeParse(
      parseStructured(officesFile, readText(officesFile)),
    );
    if (!parsed.success)
      throw new DataError(
        officesFile,
        `record ${String(parsed.error.issues[0]?.path[0] ?? '?')}`,
        issueText(parsed.error),
      );
    for (const member of parsed.data) {
      offices.set(
        member.id.bioguide,
        member.offices.flatMap((office): Channel[] => {
          const label = office.city ? `${office.city} office` : 'District office';
          const street = [office.building, office.address, office.suite].filter(Boolean).join(', ');
          const line = [street, office.city, [office.state, office.zip].filter(Boolean).join(' ')]
            .filter(Boolean)
            .join(', ');
          return [
            ...(office.phone ? [{ type: 'phone' as const, number: office.phone, label }] : []),
            ...(street ? [{ type: 'postal' as const, address: line, label }] : []),
          ];
        }),
      );
    }
  }

  const seen = new Set<string>();
  const people = list.map((raw, index) => {
    const parsed = congressPerson.safeParse(raw);
    const bioguide = (raw as { id?: { bioguide?: unknown } })?.id?.bioguide;
    const record = `legislator ${index + 1}${typeof bioguide === 'string' ? ` (${bioguide})` : ''}`;
    if (!parsed.success) throw new DataError(file, record, issueText(parsed.error));
    if (seen.has(parsed.data.id.bioguide))
      throw new DataError(file, record, 'bioguide id appears twice');
    seen.add(parsed.data.id.bioguide);
    const term = parsed.data.terms[parsed.data.terms.length - 1]!;
    if (term.type === 'rep' && term.district === undefined)
      throw new DataError(file, record, 'a representative term has no district');
    if (term.type === 'sen' && term.class === undefined)
      throw new DataError(file, record, 'a senator term has no class');
    return { person: parsed.data, term };
  });
  const newestChange = people.reduce<string | null>(
    (newest, { term }) => laterDate(newest, isoDate(term.start)),
    null,
  );
  const officials: OfficialRecord[] = [];
  for (const { person, term } of people) {
    if (term.end < asOf) continue;
    const district = term.type === 'rep' ? Math.max(0, term.district ?? 0) : null;
    const cwcOffice =
      district !== null
        ? houseOfficeCode(term.state, district)
        : senateOfficeCode(term.state, term.class!);
    const channels: Channel[] = [
      { type: 'cwc', office: cwcOffice },
      ...(term.contact_form ? [{ type: 'contact-form' as const, url: term.contact_form }] : []),
      ...(term.url ? [{ type: 'website' as const, url: term.url }] : []),
      ...(term.phone
        ? [{ type: 'phone' as const, number: term.phone, label: 'Washington office' }]
        : []),
      ...(term.address
        ? [{ type: 'postal' as const, address: term.address, label: 'Washington office' }]
        : []),
      ...(offices.get(person.id.bioguide) ?? []),
    ];
    const ids: Record<string, string> = { bioguide: person.id.bioguide };
    for (const key of ['govtrack', 'thomas', 'lis'] as const) {
      const value = (person.id as Record<string, unknown>)[key];
      if (typeof value === 'string' || typeof value === 'number') ids[key] = String(value);
    }
    officials.push({
      personId: person.id.bioguide,
      office: term.type === 'sen' ? 'us-senate' : 'us-house',
      state: term.state,
      district: district === null ? null : String(district),
      name: person.name.official_full ?? `${person.name.first} ${person.name.last}`,
      party: term.party ?? null,
      ids,
      channels,
      termEnd: isoDate(term.end) ?? null,
      source,
    });
  }
  return { officials, newestChange };
}

// ---------------------------------------------------------------------------------------------
// States: openstates/people

const openstatesRole = z
  .object({
    type: z.string(),
    district: z.union([z.string(), z.number()]).optional(),
    start_date: z.string().optional(),
    end_date: z.string().optional(),
  })
  .loose();

const openstatesPerson = z
  .object({
    id: z.string().regex(/^ocd-person\/[0-9a-f-]{36}$/, 'must be an ocd-person id'),
    name: z.string().min(1),
    email: z.string().optional(),
    party: z
      .array(z.object({ name: z.string(), end_date: z.string().optional() }).loose())
      .default([]),
    roles: z.array(openstatesRole).default([]),
    offices: z
      .array(
        z
          .object({
            classification: z.string().optional(),
            address: z.string().optional(),
            voice: z.string().optional(),
          })
          .loose(),
      )
      .default([]),
    links: z.array(z.object({ url: z.string(), note: z.string().optional() }).loose()).default([]),
  })
  .loose();

const OFFICE_OF_ROLE: Record<string, OfficeKind | undefined> = {
  upper: 'state-upper',
  lower: 'state-lower',
  legislature: 'state-upper',
  governor: 'governor',
};

const PERSON_PATH = /(?:^|\/)data\/([a-z]{2})\/(legislature|executive)\/[^/]+\.ya?ml$/;

/** A person file's path from `data/` on, wherever the tree or the archive puts it. */
const personPath = (name: string): string =>
  name.slice(name.length - PERSON_PATH.exec(name)![0].replace(/^\//, '').length);

/** Every person file of the tree (a directory or a .tar.gz of it) that may hold a legislator or governor. */
async function* openstatesFiles(
  location: string,
): AsyncGenerator<{ name: string; state: string; text: string }> {
  if (statSync(location).isDirectory()) {
    for (const file of filesUnder(location)) {
      const relative = path.relative(location, file).split(path.sep).join('/');
      const match = PERSON_PATH.exec(relative);
      if (match)
        yield { name: relative, state: match[1]!.toUpperCase(), text: readFileSync(file, 'utf8') };
    }
    return;
  }
  const entries: Array<{ name: string; state: string; text: string }> = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new TarParser({
      onReadEntry: (entry) => {
        const match = PERSON_PATH.exec(entry.path);
        if (!match || entry.type !== 'File') return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () =>
          entries.push({
            name: entry.path,
            state: match[1]!.toUpperCase(),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    });
    parser.on('error', (error: Error) =>
      reject(new DataError(location, 'archive', `cannot be read: ${error.message}`)),
    );
    parser.on('end', () => resolve());
    const stream = createReadStream(location);
    stream.on('error', reject);
    stream.pipe(parser);
  });
  yield* entries;
}

/**
 * Current state legislators and governors. A role is current when it has no end date, or one on
 * or after `asOf` (the import's date). The US Congress copy in the tree (`data/us`) is skipped: Congress comes from
 * congress-legislators.
 */
export async function readOpenStates(
  location: string,
  source: number,
  asOf: string,
): Promise<{ officials: OfficialRecord[]; newestChange: string | null; files: number }> {
  const people: Array<{ person: z.infer<typeof openstatesPerson>; state: string; record: string }> =
    [];
  let newestChange: string | null = null;
  for await (const file of openstatesFiles(location)) {
    if (file.state === 'US') continue;
    const parsed = openstatesPerson.safeParse(
      parseStructured(`${location}:${file.name}`, file.text),
    );
    if (!parsed.success) throw new DataError(location, file.name, issueText(parsed.error));
    for (const role of parsed.data.roles)
      newestChange = laterDate(newestChange, isoDate(role.start_date));
    people.push({ person: parsed.data, state: file.state, record: file.name });
  }
  if (people.length === 0)
    throw new DataError(location, 'tree', 'holds no data/<state>/legislature or executive files');
  const current = asOf;

  const officials: OfficialRecord[] = [];
  for (const { person, state, record } of people) {
    const roles = person.roles.filter(
      (role) =>
        OFFICE_OF_ROLE[role.type] && !(role.end_date && role.end_date.slice(0, 10) < current),
    );
    if (roles.length === 0) continue;
    const party =
      person.party.find((entry) => !entry.end_date || entry.end_date >= current)?.name ?? null;
    const channels: Channel[] = [
      ...(person.email ? [{ type: 'email' as const, address: person.email }] : []),
      ...person.links
        .filter((link) => /form|contact/i.test(link.note ?? ''))
        .map((link) => ({ type: 'contact-form' as const, url: link.url })),
      ...person.offices.flatMap((office): Channel[] => {
        const label = officeLabel(office.classification);
        return [
          ...(office.voice ? [{ type: 'phone' as const, number: office.voice, label }] : []),
          ...(office.address
            ? [{ type: 'postal' as const, address: office.address.replace(/;\s*/g, ', '), label }]
            : []),
        ];
      }),
      ...(person.links[0] ? [{ type: 'website' as const, url: person.links[0].url }] : []),
    ];
    const seen = new Set<OfficeKind>();
    for (const role of roles) {
      const office = OFFICE_OF_ROLE[role.type]!;
      if (seen.has(office)) continue;
      if (office !== 'governor' && role.district === undefined)
        throw new DataError(location, record, `a ${role.type} role has no district`);
      seen.add(office);
      officials.push({
        personId: person.id,
        office,
        state,
        district: office === 'governor' ? null : String(role.district),
        name: person.name,
        party,
        ids: { openstates: person.id },
        channels,
        termEnd: role.end_date ? (isoDate(role.end_date) ?? null) : null,
        source,
      });
    }
  }
  return { officials, newestChange, files: people.length };
}

function officeLabel(classification: string | undefined): string {
  if (!classification) return 'Office';
  const name = classification
    .replace(/-mail$/, '')
    .replace(/^\w/, (letter) => letter.toUpperCase());
  return `${name} office${classification.endsWith('-mail') ? ' (mail)' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// District polygons: Census cartographic boundaries and TIGER/Line, as GeoJSON

const LAYER_CODE: Record<DistrictLayer, string> = { cd: 'CD119FP', sldu: 'SLDUST', sldl: 'SLDLST' };

const featureCollection = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z
      .object({ properties: z.record(z.string(), z.unknown()).nullable(), geometry: z.unknown() })
      .loose(),
  ),
});

const topology = z
  .object({ type: z.literal('Topology'), objects: z.record(z.string(), z.unknown()) })
  .loose();

type Feature = z.infer<typeof featureCollection>['features'][number];

/** The features of a GeoJSON FeatureCollection or a TopoJSON topology (each of its objects). */
function readFeatures(file: string): Feature[] {
  let json: unknown;
  try {
    json = JSON.parse(readText(file));
  } catch (error) {
    throw new DataError(file, 'file', `is not JSON: ${(error as Error).message}`);
  }
  const asTopology = topology.safeParse(json);
  if (asTopology.success) {
    try {
      const data = asTopology.data as unknown as Topology;
      return Object.values(data.objects).flatMap((object) => {
        const converted = topojsonFeature(data, object) as unknown as {
          features?: Feature[];
        } & Feature;
        return converted.features ?? [converted];
      });
    } catch (error) {
      throw new DataError(
        file,
        'file',
        `is not a readable TopoJSON topology: ${(error as Error).message}`,
      );
    }
  }
  const parsed = featureCollection.safeParse(json);
  if (!parsed.success)
    throw new DataError(
      file,
      'file',
      `is not a GeoJSON FeatureCollection (${issueText(parsed.error)})`,
    );
  return parsed.data.features;
}

/**
 * One layer's districts, from a GeoJSON or TopoJSON file, or a directory of them (one file per
 * state, as some publishers split them). `ZZZ` areas (water, no district) are left out.
 */
export function readDistrictPolygons(location: string, layer: DistrictLayer): DistrictRecord[] {
  const files = statSync(location).isDirectory()
    ? filesUnder(location).filter((file) => /\.(geo|topo)?json(\.gz)?$/.test(file))
    : [location];
  if (files.length === 0) throw new DataError(location, 'directory', 'holds no GeoJSON files');
  const districts: DistrictRecord[] = [];
  const seen = new Set<string>();
  for (const file of files)
    readFeatures(file).forEach((feature, index) => {
      const properties = feature.properties ?? {};
      const geoid = properties.GEOID;
      const record = `feature ${index + 1}${typeof geoid === 'string' ? ` (GEOID ${geoid})` : ''}`;
      if (typeof geoid !== 'string' || !/^\d{2}[0-9A-Z-]{2,3}$/.test(geoid))
        throw new DataError(file, record, 'GEOID is missing or malformed');
      if (!(LAYER_CODE[layer] in properties))
        throw new DataError(file, record, `has no ${LAYER_CODE[layer]}: not a ${layer} layer`);
      if (geoid.endsWith('ZZZ')) return;
      const state = uspsByFips.get(geoid.slice(0, 2));
      if (!state) throw new DataError(file, record, `unknown state FIPS code ${geoid.slice(0, 2)}`);
      if (seen.has(geoid)) throw new DataError(file, record, 'GEOID appears twice');
      seen.add(geoid);
      let geometry: Int32Array;
      try {
        geometry = encodeGeometry(feature.geometry as GeoJsonGeometry);
      } catch (error) {
        if (error instanceof GeometryError) throw new DataError(file, record, error.message);
        throw error;
      }
      const name = typeof properties.NAMELSAD === 'string' ? properties.NAMELSAD : geoid;
      districts.push({ layer, geoid, state, name, seats: [], geometry });
    });
  return districts;
}

// ---------------------------------------------------------------------------------------------
// ZCTA tables and the crosswalk

const ZCTA = /^\d{5}$/;

/**
 * ZCTA → congressional district GEOIDs (zccd.csv). The table writes an at-large or delegate seat
 * as district 0; the polygons call it `00` or `98`, and `cdGeoids` says which exists.
 */
export function readZctaCd(file: string, cdGeoids: ReadonlySet<string>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  readCsv(file, ['state_fips', 'zcta', 'cd']).forEach((row, index) => {
    const record = `line ${index + 2}`;
    const fips = row.state_fips!.padStart(2, '0');
    const zcta = row.zcta!.padStart(5, '0');
    if (!ZCTA.test(zcta)) throw new DataError(file, record, `ZCTA "${row.zcta}" is not 5 digits`);
    if (!uspsByFips.has(fips))
      throw new DataError(file, record, `unknown state FIPS code "${row.state_fips}"`);
    if (!/^\d{1,2}$/.test(row.cd!))
      throw new DataError(file, record, `district "${row.cd}" is not a number`);
    const number = row.cd!.padStart(2, '0');
    const geoid =
      number === '00' && !cdGeoids.has(`${fips}00`) && cdGeoids.has(`${fips}98`)
        ? `${fips}98`
        : `${fips}${number}`;
    const list = map.get(zcta);
    if (!list) map.set(zcta, [geoid]);
    else if (!list.includes(geoid)) list.push(geoid);
  });
  return map;
}

/**
 * ZCTA → state legislative district GEOIDs, per chamber: a flat CSV (`chamber, sld_geoid, zcta`),
 * or the nested JSON of the Census relationship files that thecantercompany/state-leg-zips
 * publishes (`states.<fips>.chambers.<upper|lower>.districts.<code>.zips`, codes without padding).
 */
export function readZctaSld(file: string): {
  sldu: Map<string, string[]>;
  sldl: Map<string, string[]>;
} {
  const maps = { sldu: new Map<string, string[]>(), sldl: new Map<string, string[]>() };
  const add = (record: string, chamber: string, geoid: string, zcta: string) => {
    if (!ZCTA.test(zcta)) throw new DataError(file, record, `ZCTA "${zcta}" is not 5 digits`);
    if (!/^\d{2}[0-9A-Z-]{3}$/.test(geoid))
      throw new DataError(file, record, `GEOID "${geoid}" is malformed`);
    const map = chamber === 'upper' ? maps.sldu : chamber === 'lower' ? maps.sldl : undefined;
    if (!map) throw new DataError(file, record, `chamber "${chamber}" is neither upper nor lower`);
    const list = map.get(zcta);
    if (!list) map.set(zcta, [geoid]);
    else if (!list.includes(geoid)) list.push(geoid);
  };
  if (file.endsWith('.json')) {
    const parsed = stateLegZips.safeParse(parseStructured(file, readText(file)));
    if (!parsed.success)
      throw new DataError(
        file,
        'file',
        `is not the state-leg-zips districts layout (${issueText(parsed.error)})`,
      );
    for (const [fips, state] of Object.entries(parsed.data.states)) {
      for (const [chamber, { districts }] of Object.entries(state.chambers)) {
        for (const [code, district] of Object.entries(districts)) {
          for (const zcta of district.zips)
            add(
              `states.${fips}.${chamber}.${code}`,
              chamber,
              `${fips}${code.padStart(3, '0')}`,
              zcta,
            );
        }
      }
    }
    return maps;
  }
  readCsv(file, ['chamber', 'sld_geoid', 'zcta']).forEach((row, index) =>
    add(`line ${index + 2}`, row.chamber!, row.sld_geoid!, row.zcta!.padStart(5, '0')),
  );
  return maps;
}

const stateLegZips = z.object({
  states: z.record(
    z.string().regex(/^\d{2}$/, 'state keys must be FIPS codes'),
    z
      .object({
        chambers: z.record(
          z.string(),
          z.object({
            districts: z.record(z.string(), z.object({ zips: z.array(z.string()) }).loose()),
          }),
        ),
      })
      .loose(),
  ),
});

/** Each ZCTA's centre point (`geoid, latitude, longitude`, as Census-derived centroid files have it). */
export function readZctaCentroidPoints(file: string): Map<string, { lat: number; lng: number }> {
  const map = new Map<string, { lat: number; lng: number }>();
  readCsv(file, ['geoid', 'latitude', 'longitude']).forEach((row, index) => {
    const zcta = row.geoid!.padStart(5, '0');
    const lat = Number(row.latitude);
    const lng = Number(row.longitude);
    if (!ZCTA.test(zcta) || !Number.isFinite(lat) || !Number.isFinite(lng)) {
      throw new DataError(
        file,
        `line ${index + 2}`,
        'needs a 5-digit ZCTA and a numeric latitude and longitude',
      );
    }
    map.set(zcta, { lat, lng });
  });
  return map;
}

export interface Centroid {
  lat: number;
  lng: number;
  cd: string | null;
  sldu: string | null;
  sldl: string | null;
}

/** The districts at each ZCTA's centre: the default when a ZIP spans districts. */
export function readCentroids(file: string): Map<string, Centroid> {
  const map = new Map<string, Centroid>();
  readCsv(file, [
    'zcta',
    'centroid_lat',
    'centroid_lng',
    'cd119_geoid',
    'sldu_2024_geoid',
    'sldl_2024_geoid',
  ]).forEach((row, index) => {
    const zcta = row.zcta!.padStart(5, '0');
    const lat = Number(row.centroid_lat);
    const lng = Number(row.centroid_lng);
    if (!ZCTA.test(zcta) || !Number.isFinite(lat) || !Number.isFinite(lng)) {
      throw new DataError(
        file,
        `line ${index + 2}`,
        'needs a 5-digit ZCTA and a numeric latitude and longitude',
      );
    }
    map.set(zcta, {
      lat,
      lng,
      cd: row.cd119_geoid || null,
      sldu: row.sldu_2024_geoid || null,
      sldl: row.sldl_2024_geoid || null,
    });
  });
  return map;
}

/** Census SLD GEOID → the Open States seat names of that district, per layer. */
export function readCrosswalk(
  file: string,
): Map<string, Array<{ chamber: string; district: string }>> {
  const map = new Map<string, Array<{ chamber: string; district: string }>>();
  readCsv(file, ['chamber', 'sld_geoid', 'openstates_district']).forEach((row, index) => {
    const chamber = row.chamber!;
    if (!['upper', 'lower', 'legislature'].includes(chamber))
      throw new DataError(file, `line ${index + 2}`, `unknown chamber "${chamber}"`);
    if (!row.openstates_district) return;
    const key = `${chamber === 'lower' ? 'sldl' : 'sldu'}:${row.sld_geoid}`;
    const seats = map.get(key) ?? [];
    seats.push({ chamber, district: row.openstates_district });
    map.set(key, seats);
  });
  return map;
}

export const dataSource = (
  name: string,
  publisher: string,
  url: string,
  snapshotDate: string | null,
): DataSource => ({
  name,
  publisher,
  url,
  snapshotDate,
});
