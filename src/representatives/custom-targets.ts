import { parse } from 'csv-parse/sync';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database } from '../db/client';
import { customTargets, type CustomTarget, type DistrictLayer } from '../db/schema';
import { CONTROL_IN_LINE, controlsToSpaces } from '../text-safety/characters';
import { hiddenFormatting } from '../text-safety/input';
import { isStateCode } from './us-states';

/**
 * A campaign's own target lists (a city council, a police commission), imported from CSV. One row
 * per target: `name`, `title`, `email`, `phone`, `postal_address` and `represents`, which says
 * whom the target answers to (see `parseRepresents`). An import replaces a whole named list.
 */

export interface CustomTargetCsvError {
  /** Line in the file, the header being line 1; 0 for an error that is not about the file (the list name). */
  row: number;
  /** The column the error is about, or `file` for the file as a whole. */
  field: string;
  message: string;
}

/** Who a target represents, as stored in the `scope*` columns. */
export type TargetScope = Pick<
  CustomTarget,
  'scope' | 'scopeState' | 'scopeCity' | 'scopeZips' | 'scopeLayer' | 'scopeGeoid'
>;

/** One valid CSV row, in the table's columns. */
export type CustomTargetRow = Pick<
  CustomTarget,
  'name' | 'title' | 'email' | 'phone' | 'postalAddress'
> &
  TargetScope;

export type CustomTargetCsvResult =
  { ok: true; rows: CustomTargetRow[] } | { ok: false; errors: CustomTargetCsvError[] };
export type CustomTargetImportResult =
  { ok: true; imported: number } | { ok: false; errors: CustomTargetCsvError[] };

export const MAX_CUSTOM_TARGETS_PER_LIST = 5000;
/** Far more than 5,000 rows need; keeps a wrong file (a database dump, a video) from being parsed at all. */
const MAX_CSV_CHARACTERS = 10_000_000;

const REQUIRED_COLUMNS = ['name', 'title', 'represents'] as const;
const CONTACT_COLUMNS = ['email', 'phone', 'postal_address'] as const;
const KNOWN_COLUMNS: readonly string[] = [...REQUIRED_COLUMNS, ...CONTACT_COLUMNS];
type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof CONTACT_COLUMNS)[number];

/** The 50 states, DC, Puerto Rico and the inhabited territories. */

const DISTRICT_KINDS: Readonly<
  Record<string, { layer: DistrictLayer; geoid: RegExp; example: string }>
> = {
  congressional: { layer: 'cd', geoid: /^\d{4}$/, example: 'congressional:0612' },
  'state-upper': { layer: 'sldu', geoid: /^\d{2}[0-9A-Z-]{3}$/, example: 'state-upper:06010' },
  'state-lower': { layer: 'sldl', geoid: /^\d{2}[0-9A-Z-]{3}$/, example: 'state-lower:25D25' },
};

const REPRESENTS_FORMS =
  'everyone, state:CA, city:Oakland, CA, zips:94601 94602, congressional:0612, state-upper:06010 or state-lower:25D25';

/**
 * A cell as stored: control characters become spaces (so a line break in an address does not glue
 * two words together), runs of spaces become one. Cells starting with `= + - @` are stored as they
 * are; exports neutralise them where spreadsheets would read them as formulas.
 */
function cleanCell(value: string): string {
  return controlsToSpaces(value).replace(/\s+/g, ' ').trim();
}

const cell = z.string().transform(cleanCell);

const requiredText = (column: Column, max: number) =>
  cell.pipe(
    z
      .string()
      .min(1, `The ${column} is required.`)
      .max(max, `Shorten the ${column} to ${max} characters.`),
  );

const optionalText = (column: Column, max: number) =>
  cell
    .pipe(z.string().max(max, `Shorten the ${column} to ${max} characters.`))
    .transform((value) => value || null);

const emailAddress = z.email();

const customTargetCsvRow = z
  .object({
    name: requiredText('name', 200),
    title: requiredText('title', 200),
    email: cell
      .refine(
        (value) => value.length <= 254 && (value === '' || emailAddress.safeParse(value).success),
        {
          error: 'Write a valid email address, like clerk@example.org.',
        },
      )
      .transform((value) => value || null),
    phone: optionalText('phone', 50).refine(
      (value) => value === null || (value.match(/\d/g)?.length ?? 0) >= 7,
      {
        error: 'Write a phone number with its area code, like (510) 555-0123.',
      },
    ),
    postal_address: optionalText('postal_address', 500),
    represents: cell.transform((value, ctx): TargetScope => {
      const scope = parseRepresents(value);
      if (typeof scope === 'string') {
        ctx.addIssue({ code: 'custom', message: scope });
        return z.NEVER;
      }
      return scope;
    }),
  })
  .transform((row): CustomTargetRow => ({
    name: row.name,
    title: row.title,
    email: row.email,
    phone: row.phone,
    postalAddress: row.postal_address,
    ...row.represents,
  }));

const noScope: TargetScope = {
  scope: 'everyone',
  scopeState: null,
  scopeCity: null,
  scopeZips: null,
  scopeLayer: null,
  scopeGeoid: null,
};

/** A city name as stored and compared: lower-cased, single spaces. */
function normaliseCity(city: string): string {
  return city.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Reads a `represents` cell; returns the scope, or a message saying what is wrong. */
function parseRepresents(value: string): TargetScope | string {
  if (value === '') return `Say whom this target represents: ${REPRESENTS_FORMS}.`;
  if (value.toLowerCase() === 'everyone') return noScope;
  const colon = value.indexOf(':');
  const kind = (colon < 0 ? value : value.slice(0, colon)).trim().toLowerCase();
  const argument = colon < 0 ? '' : value.slice(colon + 1).trim();

  if (kind === 'state') {
    const state = argument.toUpperCase();
    if (!isStateCode(state))
      return `"${argument}" is not a state's two-letter postal code (write state:CA).`;
    return { ...noScope, scope: 'state', scopeState: state };
  }
  if (kind === 'city') {
    const comma = argument.lastIndexOf(',');
    if (comma < 0) return 'Write the city, a comma and its state code, like city:Oakland, CA.';
    const city = normaliseCity(argument.slice(0, comma));
    const state = argument
      .slice(comma + 1)
      .trim()
      .toUpperCase();
    if (!/\p{L}/u.test(city)) return 'Write the city name before the comma, like city:Oakland, CA.';
    if (city.length > 100) return 'Shorten the city name to 100 characters.';
    if (!isStateCode(state))
      return `"${state}" is not a state's two-letter postal code (write city:Oakland, CA).`;
    return { ...noScope, scope: 'city', scopeState: state, scopeCity: city };
  }
  if (kind === 'zips') {
    const zips = argument.split(/[\s,;]+/).filter((zip) => zip !== '');
    if (zips.length === 0) return 'List at least one ZIP code, like zips:94601 94602.';
    const invalid = zips.find((zip) => !/^\d{5}$/.test(zip));
    if (invalid !== undefined) return `"${invalid}" is not a 5-digit ZIP code.`;
    return { ...noScope, scope: 'zips', scopeZips: [...new Set(zips)] };
  }
  const district = DISTRICT_KINDS[kind];
  if (district) {
    const geoid = argument.toUpperCase();
    if (!district.geoid.test(geoid))
      return `"${argument}" is not a Census district GEOID (write ${district.example}).`;
    return { ...noScope, scope: 'district', scopeLayer: district.layer, scopeGeoid: geoid };
  }
  return `"${value}" is not one of the forms ${REPRESENTS_FORMS}.`;
}

/** `Postal Address`, ` EMAIL ` and `postal-address` all name the `postal_address`/`email` columns. */
function normaliseHeader(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

interface CsvRecord {
  cells: string[];
  /** Line where the record starts (a quoted cell can span lines). */
  line: number;
}

function readCsvRecords(
  text: string,
): { ok: true; records: CsvRecord[] } | { ok: false; error: CustomTargetCsvError } {
  // csv-parse miscounts lines for CRLF files with blank lines; with LF only its count is exact.
  const normalised = text.replace(/\r\n?/g, '\n');
  const records: CsvRecord[] = [];
  let lastLineRead = 0;
  try {
    parse(normalised, {
      bom: true,
      // A hand-written `Ada "Sunny" Okafor` keeps its quotes; only a quoted cell must double them.
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (cells: string[], context) => {
        const lineBreaksInside = cells.reduce(
          (count, value) => count + value.split('\n').length - 1,
          0,
        );
        records.push({ cells, line: context.lines - lineBreaksInside });
        lastLineRead = context.lines;
        return null;
      },
    });
  } catch (error) {
    const { code, lines, message } = error as { code?: string; lines?: number; message: string };
    if (code !== 'CSV_QUOTE_NOT_CLOSED') {
      return {
        ok: false,
        error: {
          row: lines ?? 1,
          field: 'file',
          message: `The file cannot be read as CSV (${message}).`,
        },
      };
    }
    // The parser stops at the end of the file; the quote opened on the first line after the last whole record.
    const fileLines = normalised.split('\n');
    let opened = lastLineRead + 1;
    while (opened < fileLines.length && fileLines[opened - 1]!.trim() === '') opened++;
    return {
      ok: false,
      error: {
        row: opened,
        field: 'file',
        message: 'A quoted cell starting on this line is never closed: look for a stray ".',
      },
    };
  }
  // A spreadsheet's empty rows come out as `,,,,`: not targets, and not errors either.
  return {
    ok: true,
    records: records.filter((record) => record.cells.some((value) => value.trim() !== '')),
  };
}

/** Reads and validates a custom target list; reports every problem found, each with its line. */
export function parseCustomTargetsCsv(text: string): CustomTargetCsvResult {
  const fail = (row: number, field: string, message: string): CustomTargetCsvResult => ({
    ok: false,
    errors: [{ row, field, message }],
  });
  if (text.length > MAX_CSV_CHARACTERS)
    return fail(1, 'file', 'The file is too large for a target list.');
  const read = readCsvRecords(text);
  if (!read.ok) return { ok: false, errors: [read.error] };
  const [header, ...dataRecords] = read.records;
  if (!header) {
    return fail(
      1,
      'file',
      `The file is empty: it needs a header row (${KNOWN_COLUMNS.join(',')}) and one row per target.`,
    );
  }

  const columns = header.cells.map(normaliseHeader);
  const headerErrors: CustomTargetCsvError[] = [];
  columns.forEach((column, index) => {
    if (column === '')
      headerErrors.push({
        row: header.line,
        field: `column ${index + 1}`,
        message: 'This column has no name.',
      });
    else if (!KNOWN_COLUMNS.includes(column)) {
      const message = `Unknown column; the columns are ${KNOWN_COLUMNS.join(', ')}.`;
      headerErrors.push({ row: header.line, field: header.cells[index]!.trim(), message });
    } else if (columns.indexOf(column) !== index) {
      headerErrors.push({ row: header.line, field: column, message: 'This column appears twice.' });
    }
  });
  for (const column of REQUIRED_COLUMNS) {
    if (!columns.includes(column))
      headerErrors.push({
        row: header.line,
        field: column,
        message: `The ${column} column is missing.`,
      });
  }
  if (!CONTACT_COLUMNS.some((column) => columns.includes(column))) {
    headerErrors.push({
      row: header.line,
      field: 'email',
      message: 'Add at least one of the columns email, phone or postal_address.',
    });
  }
  if (headerErrors.length > 0) return { ok: false, errors: headerErrors };

  if (dataRecords.length === 0)
    return fail(header.line + 1, 'file', 'The file has a header but no targets.');
  if (dataRecords.length > MAX_CUSTOM_TARGETS_PER_LIST) {
    const count = (n: number) => n.toLocaleString('en-US');
    const firstRowOver = dataRecords[MAX_CUSTOM_TARGETS_PER_LIST]!.line;
    const message = `A list holds at most ${count(MAX_CUSTOM_TARGETS_PER_LIST)} targets; this file has ${count(dataRecords.length)}.`;
    return fail(firstRowOver, 'file', message);
  }

  const rows: CustomTargetRow[] = [];
  const errors: CustomTargetCsvError[] = [];
  for (const record of dataRecords) {
    if (record.cells.length !== columns.length) {
      errors.push({
        row: record.line,
        field: 'file',
        message:
          `This row has ${record.cells.length} cells but the header has ${columns.length}; ` +
          'put quotes around cells that contain commas.',
      });
      continue;
    }
    const cells: Record<string, string> = {};
    for (const column of KNOWN_COLUMNS) cells[column] = '';
    columns.forEach((column, index) => {
      cells[column] = record.cells[index]!;
    });
    const rowErrors: CustomTargetCsvError[] = [];
    if (CONTACT_COLUMNS.every((column) => cleanCell(cells[column]!) === '')) {
      rowErrors.push({
        row: record.line,
        field: 'email',
        message: 'Give at least one of email, phone or postal_address.',
      });
    }
    const result = customTargetCsvRow.safeParse(cells);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = String(issue.path[0] ?? 'file');
        // One message per cell: the first thing to fix.
        if (!rowErrors.some((error) => error.field === field))
          rowErrors.push({ row: record.line, field, message: issue.message });
      }
    }
    if (rowErrors.length > 0) errors.push(...rowErrors);
    else if (result.success) rows.push(result.data);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rows };
}

/**
 * A list's name, typed in the console or given to the command line (not a cell of the file): shown
 * to supporters and staff as given, so control characters and invisible formatting are refused,
 * not cleaned (see text-safety/input.ts).
 */
export const customTargetListName = z
  .string({ error: 'The list needs a name.' })
  .refine(
    (value) => !CONTROL_IN_LINE.test(value),
    'Write the list name on one line, without invisible control characters.',
  )
  .refine(
    (value) => !hiddenFormatting(value),
    'Remove the invisible formatting characters (text-direction controls, zero-width spaces) from the list name.',
  )
  .transform(cleanCell)
  .pipe(
    z
      .string()
      .min(1, 'The list needs a name.')
      .max(100, 'Shorten the list name to 100 characters.'),
  );

/** Two ints for `pg_advisory_xact_lock(int, int)`: this namespace, then the campaign id. */
const CUSTOM_TARGET_IMPORT_LOCK = 4_216_003;
/** Rows per INSERT: 13 parameters each, well under PostgreSQL's 65,535 per statement. */
const INSERT_BATCH_SIZE = 1000;

/**
 * Replaces the campaign's list called `listName` with the targets in `csvText`, in one transaction:
 * importing the same file twice leaves the same list, and a file with any error writes nothing.
 */
export async function importCustomTargets(
  db: Database,
  campaignId: number,
  listName: string,
  csvText: string,
): Promise<CustomTargetImportResult> {
  const name = customTargetListName.safeParse(listName);
  if (!name.success)
    return {
      ok: false,
      errors: [{ row: 0, field: 'list', message: name.error.issues[0]!.message }],
    };
  const parsed = parseCustomTargetsCsv(csvText);
  if (!parsed.ok) return parsed;

  const list = name.data;
  await db.transaction(async (tx) => {
    // Two imports of one list at once would otherwise both delete the old rows and both insert.
    await tx.execute(
      sql`SELECT pg_advisory_xact_lock(${CUSTOM_TARGET_IMPORT_LOCK}::int, ${campaignId}::int)`,
    );
    await tx
      .delete(customTargets)
      .where(and(eq(customTargets.campaignId, campaignId), eq(customTargets.list, list)));
    for (let start = 0; start < parsed.rows.length; start += INSERT_BATCH_SIZE) {
      const batch = parsed.rows.slice(start, start + INSERT_BATCH_SIZE);
      await tx.insert(customTargets).values(batch.map((row) => ({ ...row, campaignId, list })));
    }
  });
  return { ok: true, imported: parsed.rows.length };
}

/** Every custom target of a campaign, list by list, each list in file order. */
export async function listCustomTargets(db: Database, campaignId: number): Promise<CustomTarget[]> {
  return db
    .select()
    .from(customTargets)
    .where(eq(customTargets.campaignId, campaignId))
    .orderBy(asc(customTargets.list), asc(customTargets.id));
}

/** The campaign's lists: each one's name, how many targets it holds and how many of them by email, and when it was imported. */
export async function customTargetLists(db: Database, campaignId: number) {
  return db
    .select({
      list: customTargets.list,
      targets: sql<number>`count(*)::int`,
      withEmail: sql<number>`count(${customTargets.email})::int`,
      updatedAt: sql<Date>`max(${customTargets.createdAt})`,
    })
    .from(customTargets)
    .where(eq(customTargets.campaignId, campaignId))
    .groupBy(customTargets.list)
    .orderBy(asc(customTargets.list));
}

/** Deletes the campaign's list called `list`, in one statement; returns how many targets it held. */
export async function deleteCustomTargetList(
  db: Pick<Database, 'delete'>,
  campaignId: number,
  list: string,
): Promise<number> {
  const removed = await db
    .delete(customTargets)
    .where(and(eq(customTargets.campaignId, campaignId), eq(customTargets.list, list)))
    .returning({ id: customTargets.id });
  return removed.length;
}

/** The name, title and list of each of the campaign's targets with these ids (letter targets `custom:<id>`); ids it lacks are left out. */
export async function customTargetNames(
  db: Database,
  campaignId: number,
  ids: readonly number[],
): Promise<Array<{ id: number; name: string; title: string; list: string }>> {
  return queryRows(
    db,
    sql`SELECT id, name, title, list FROM custom_targets
          WHERE campaign_id = ${campaignId}::int AND id = ANY(${`{${ids.join(',')}}`}::int[])`,
  );
}

/** The postal address of the campaign's target `id`: null when it has none, undefined when the campaign has no such target. */
export async function customTargetPostalAddress(
  db: Database,
  campaignId: number,
  id: number,
): Promise<string | null | undefined> {
  const [target] = await queryRows<{ postal_address: string | null }>(
    db,
    sql`SELECT postal_address FROM custom_targets WHERE id = ${id}::int AND campaign_id = ${campaignId}::int`,
  );
  return target?.postal_address;
}

/** Where a constituent is: their state (USPS code), city, ZIP and district GEOIDs, as far as known. */
export interface ConstituentPlace {
  state?: string | null;
  city?: string | null;
  zip?: string | null;
  districts: { cd?: string | null; sldu?: string | null; sldl?: string | null };
}

/** The targets that represent someone at `place`; an unknown part of the place matches nothing that needs it. */
export function matchCustomTargets<Target extends TargetScope>(
  targets: Target[],
  place: ConstituentPlace,
): Target[] {
  const state = place.state?.trim().toUpperCase() || undefined;
  const city = place.city ? normaliseCity(place.city) : undefined;
  const zip = place.zip?.trim().slice(0, 5) || undefined;
  return targets.filter((target) => {
    switch (target.scope) {
      case 'everyone':
        return true;
      case 'state':
        return state !== undefined && target.scopeState === state;
      case 'city':
        return (
          state !== undefined &&
          city !== undefined &&
          target.scopeState === state &&
          target.scopeCity === city
        );
      case 'zips':
        return zip !== undefined && (target.scopeZips ?? []).includes(zip);
      case 'district': {
        const geoid = target.scopeLayer
          ? place.districts[target.scopeLayer]?.trim().toUpperCase() || undefined
          : undefined;
        return geoid !== undefined && target.scopeGeoid === geoid;
      }
      default:
        return false;
    }
  });
}
