import { parse } from 'csv-parse/sync';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { queryRows } from '../db/client';
import { copyInteger } from '../db/copy-values';
import {
  banBills,
  banPlaces,
  callReports,
  callScripts,
  officialStances,
  stanceLetterTemplates,
  type BanBill,
  type BanPlace,
  type CallOutcome,
  type OfficialStance,
  type ScriptStance,
} from '../db/schema';
import type { Language } from '../i18n/translations';
import type { TargetLevel } from '../letters/templates';
import { peopleByKey } from '../representatives/people';
import { activeZipCentres } from '../representatives/store';
import { fipsByUsps } from '../representatives/us-states';
import { recordAudit, type Actor } from '../staff/audit';
import {
  billForm,
  placeForm,
  stanceForm,
  type BillInput,
  type PlaceInput,
  type StanceInput,
} from './stance-input';

/**
 * The owner of the tables of src/stances: officials' stances, bills, places with bans, the
 * templates and scripts per stance, and call reports. Every change staff make is audited in the
 * same transaction that makes it.
 */

export type FieldErrors = Record<string, string>;

/** A campaign's rows of a stances table; only those published when asked. */
const shownOf = (
  table: typeof officialStances | typeof banBills | typeof banPlaces,
  campaignId: number,
  publishedOnly = false,
) => and(eq(table.campaignId, campaignId), publishedOnly ? eq(table.published, true) : undefined);

/** The campaign's bill or place `id` (none when it is another campaign's). */
const oneOf = (table: typeof banBills | typeof banPlaces, campaignId: number, id: number) =>
  and(eq(table.id, id), eq(table.campaignId, campaignId));

// ---------------------------------------------------------------------------------------------
// Stances

/** A campaign's stances, staff's and those that follow from bills; only the published ones when asked. */
export async function listStances(
  db: Database,
  campaignId: number,
  options: { publishedOnly?: boolean } = {},
): Promise<OfficialStance[]> {
  return db
    .select()
    .from(officialStances)
    .where(shownOf(officialStances, campaignId, options.publishedOnly))
    .orderBy(asc(officialStances.personKey));
}

/** The published stances of a campaign, by person key: what the letter and call pages show. */
export async function publishedStances(
  db: Database,
  campaignId: number,
): Promise<Map<string, OfficialStance>> {
  const rows = await listStances(db, campaignId, { publishedOnly: true });
  return new Map(rows.map((row) => [row.personKey, row]));
}

/**
 * Writes again the stances that follow from the campaign's bills: each sponsor of a bill is a
 * champion, with the bill as the source, unless staff set the sponsor's stance themselves.
 */
async function deriveSponsorStances(tx: Pick<Database, 'execute'>, campaignId: number) {
  await tx.execute(
    sql`DELETE FROM official_stances WHERE campaign_id = ${campaignId} AND NOT set_by_staff`,
  );
  await tx.execute(sql`
    INSERT INTO official_stances
      (campaign_id, person_key, stance, source_kind, source_url, source_text, bill_id, stated_on, set_by_staff, published)
    SELECT DISTINCT ON (sponsor) b.campaign_id, sponsor, 'champion', 'bill', b.url,
           'Sponsor of ' || b.jurisdiction || ' ' || b.number, b.id,
           to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), false, b.published
      FROM ban_bills b CROSS JOIN LATERAL unnest(b.sponsors) AS sponsor
     WHERE b.campaign_id = ${campaignId}
     ORDER BY sponsor, b.published DESC, b.id
    ON CONFLICT (campaign_id, person_key) DO NOTHING`);
}

const unknownPerson = (key: string) =>
  `There is no official ${key} in the representative data or among the campaign's own targets.`;

export type SaveResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export async function saveStance(
  db: Database,
  campaignId: number,
  input: StanceInput,
  actor: Actor,
): Promise<SaveResult<OfficialStance>> {
  const known = await peopleByKey(db, campaignId, [input.personKey]);
  if (!known.has(input.personKey))
    return { ok: false, errors: { personKey: unknownPerson(input.personKey) } };
  const row = stanceRow(campaignId, input);
  const saved = await db.transaction(async (tx) => {
    const [written] = await tx
      .insert(officialStances)
      .values(row)
      .onConflictDoUpdate({
        target: [officialStances.campaignId, officialStances.personKey],
        set: { ...row, updatedAt: new Date() },
      })
      .returning();
    await recordAudit(tx, actor, {
      action: 'stance.set',
      campaignId,
      details: { person: input.personKey, stance: input.stance, published: input.published },
    });
    return written!;
  });
  return { ok: true, value: saved };
}

function stanceRow(campaignId: number, input: StanceInput) {
  return {
    campaignId,
    personKey: input.personKey,
    stance: input.stance,
    sourceKind: input.sourceKind,
    sourceUrl: input.sourceUrl ?? null,
    sourceText: input.sourceText ?? null,
    billId: null,
    statedOn: input.statedOn ?? null,
    setByStaff: true,
    published: input.published,
  };
}

/** Removes the stance staff set; one that follows from a bill takes its place. */
export async function clearStance(
  db: Database,
  campaignId: number,
  personKey: string,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(officialStances)
      .where(
        and(
          eq(officialStances.campaignId, campaignId),
          eq(officialStances.personKey, personKey),
          eq(officialStances.setByStaff, true),
        ),
      )
      .returning({ key: officialStances.personKey });
    if (removed.length === 0) return false;
    await deriveSponsorStances(tx, campaignId);
    await recordAudit(tx, actor, {
      action: 'stance.clear',
      campaignId,
      details: { person: personKey },
    });
    return true;
  });
}

export interface CsvRowError {
  /** The line in the file, the header being line 1. */
  row: number;
  field: string;
  message: string;
}

export const STANCE_CSV_COLUMNS = [
  'id',
  'stance',
  'source',
  'source_url',
  'source_text',
  'date',
  'published',
] as const;
const REQUIRED_CSV_COLUMNS = ['id', 'stance', 'source'];
const MAX_STANCE_ROWS = 5000;
const CSV_FIELD_OF: Record<string, string> = {
  personKey: 'id',
  stance: 'stance',
  sourceKind: 'source',
  sourceUrl: 'source_url',
  sourceText: 'source_text',
  statedOn: 'date',
  published: 'published',
};

/**
 * Reads a stance CSV (`id,stance,source,source_url,source_text,date,published`, the ids being
 * publishers' ids or `custom:<id>`), checks every row and every id, and writes all of it in one
 * transaction, or nothing: a file with any problem names each bad row and imports nothing.
 */
export async function importStances(
  db: Database,
  campaignId: number,
  text: string,
  actor: Actor,
): Promise<{ ok: true; imported: number } | { ok: false; errors: CsvRowError[] }> {
  let records: string[][];
  try {
    records = parse(text.replace(/\r\n?/g, '\n'), {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    });
  } catch (error) {
    const { lines } = error as { lines?: number };
    return {
      ok: false,
      errors: [{ row: lines ?? 1, field: 'file', message: 'The file cannot be read as CSV.' }],
    };
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0)
    return {
      ok: false,
      errors: [
        {
          row: 1,
          field: 'file',
          message: `The file needs a header row (${STANCE_CSV_COLUMNS.join(',')}) and one row per official.`,
        },
      ],
    };
  const columns = header.map((name) =>
    name
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_'),
  );
  const errors: CsvRowError[] = [];
  columns.forEach((column, index) => {
    if (!(STANCE_CSV_COLUMNS as readonly string[]).includes(column))
      errors.push({
        row: 1,
        field: header[index]!.trim() || `column ${index + 1}`,
        message: `Unknown column; the columns are ${STANCE_CSV_COLUMNS.join(', ')}.`,
      });
  });
  for (const column of REQUIRED_CSV_COLUMNS)
    if (!columns.includes(column))
      errors.push({ row: 1, field: column, message: `The ${column} column is missing.` });
  if (rows.length > MAX_STANCE_ROWS)
    errors.push({ row: 1, field: 'file', message: `At most ${MAX_STANCE_ROWS} rows per file.` });
  if (errors.length > 0) return { ok: false, errors };

  const valid: Array<{ line: number; input: StanceInput }> = [];
  const seen = new Map<string, number>();
  rows.forEach((cells, index) => {
    const line = index + 2;
    const cell = (column: string) => (cells[columns.indexOf(column)] ?? '').trim();
    const parsed = stanceForm.safeParse({
      personKey: cell('id'),
      stance: cell('stance').toLowerCase(),
      sourceKind: cell('source').toLowerCase(),
      sourceUrl: cell('source_url'),
      sourceText: cell('source_text'),
      statedOn: cell('date'),
      published: ['yes', 'true', 'on', '1'].includes(cell('published').toLowerCase()) ? 'on' : '',
    });
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        errors.push({
          row: line,
          field: CSV_FIELD_OF[String(issue.path[0])] ?? 'row',
          message: issue.message,
        });
      return;
    }
    const earlier = seen.get(parsed.data.personKey);
    if (earlier !== undefined) {
      errors.push({
        row: line,
        field: 'id',
        message: `${parsed.data.personKey} is also on line ${earlier}: one row per official.`,
      });
      return;
    }
    seen.set(parsed.data.personKey, line);
    valid.push({ line, input: parsed.data });
  });
  const known = await peopleByKey(
    db,
    campaignId,
    valid.map((each) => each.input.personKey),
  );
  for (const { line, input } of valid)
    if (!known.has(input.personKey))
      errors.push({ row: line, field: 'id', message: unknownPerson(input.personKey) });
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => a.row - b.row) };

  await db.transaction(async (tx) => {
    for (const { input } of valid) {
      const row = stanceRow(campaignId, input);
      await tx
        .insert(officialStances)
        .values(row)
        .onConflictDoUpdate({
          target: [officialStances.campaignId, officialStances.personKey],
          set: { ...row, updatedAt: new Date() },
        });
    }
    await recordAudit(tx, actor, {
      action: 'stance.import',
      campaignId,
      details: { stances: valid.length },
    });
  });
  return { ok: true, imported: valid.length };
}

// ---------------------------------------------------------------------------------------------
// Bills

export async function listBills(
  db: Database,
  campaignId: number,
  options: { publishedOnly?: boolean } = {},
): Promise<BanBill[]> {
  return db
    .select()
    .from(banBills)
    .where(shownOf(banBills, campaignId, options.publishedOnly))
    .orderBy(asc(banBills.jurisdiction), asc(banBills.number));
}

/** Adds a bill, or changes the one with `id`; its sponsors' stances follow. */
export async function saveBill(
  db: Database,
  campaignId: number,
  id: number | undefined,
  input: BillInput,
  actor: Actor,
): Promise<SaveResult<BanBill>> {
  const known = await peopleByKey(db, campaignId, input.sponsors);
  const unknown = input.sponsors.filter((key) => !known.has(key));
  if (unknown.length > 0)
    return {
      ok: false,
      errors: {
        sponsors: `Not in the representative data nor among the campaign's own targets: ${unknown.join(', ')}.`,
      },
    };
  const values = {
    campaignId,
    jurisdiction: input.jurisdiction,
    number: input.number,
    title: input.title,
    status: input.status,
    url: input.url ?? null,
    sponsors: input.sponsors,
    published: input.published,
    updatedAt: new Date(),
  };
  const duplicate = await db
    .select({ id: banBills.id })
    .from(banBills)
    .where(
      and(
        eq(banBills.campaignId, campaignId),
        eq(banBills.jurisdiction, input.jurisdiction),
        eq(banBills.number, input.number),
      ),
    );
  if (duplicate.some((row) => row.id !== id))
    return {
      ok: false,
      errors: { number: `The campaign already has ${input.jurisdiction} ${input.number}.` },
    };
  const saved = await db.transaction(async (tx) => {
    const [written] =
      id === undefined
        ? await tx.insert(banBills).values(values).returning()
        : await tx
            .update(banBills)
            .set(values)
            .where(oneOf(banBills, campaignId, id))
            .returning();
    if (!written) return undefined;
    await deriveSponsorStances(tx, campaignId);
    await recordAudit(tx, actor, {
      action: id === undefined ? 'bill.add' : 'bill.update',
      campaignId,
      details: {
        bill: written.id,
        number: `${written.jurisdiction} ${written.number}`,
        status: written.status,
        sponsors: written.sponsors.length,
        published: written.published,
      },
    });
    return written;
  });
  if (!saved) return { ok: false, errors: { form: 'There is no such bill.' } };
  return { ok: true, value: saved };
}

export async function deleteBill(
  db: Database,
  campaignId: number,
  id: number,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(banBills)
      .where(oneOf(banBills, campaignId, id))
      .returning();
    if (removed.length === 0) return false;
    await deriveSponsorStances(tx, campaignId);
    await recordAudit(tx, actor, {
      action: 'bill.delete',
      campaignId,
      details: { bill: id, number: `${removed[0]!.jurisdiction} ${removed[0]!.number}` },
    });
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Places with bans

export async function listPlaces(
  db: Database,
  campaignId: number,
  options: { publishedOnly?: boolean } = {},
): Promise<BanPlace[]> {
  return db
    .select()
    .from(banPlaces)
    .where(shownOf(banPlaces, campaignId, options.publishedOnly))
    .orderBy(desc(banPlaces.passedOn), asc(banPlaces.name));
}

export async function savePlace(
  db: Database,
  campaignId: number,
  id: number | undefined,
  input: PlaceInput,
  actor: Actor,
): Promise<SaveResult<BanPlace>> {
  const zipError = await placeZipError(db, input);
  if (zipError) return { ok: false, errors: { zip: zipError } };
  const values = {
    campaignId,
    ...input,
    url: input.url ?? null,
    zip: input.zip ?? null,
    updatedAt: new Date(),
  };
  const duplicate = await db
    .select({ id: banPlaces.id })
    .from(banPlaces)
    .where(
      and(
        eq(banPlaces.campaignId, campaignId),
        eq(banPlaces.kind, input.kind),
        eq(banPlaces.state, input.state),
        eq(banPlaces.name, input.name),
      ),
    );
  if (duplicate.some((row) => row.id !== id))
    return { ok: false, errors: { name: `${input.name}, ${input.state} is listed already.` } };
  const saved = await db.transaction(async (tx) => {
    const [written] =
      id === undefined
        ? await tx.insert(banPlaces).values(values).returning()
        : await tx
            .update(banPlaces)
            .set(values)
            .where(oneOf(banPlaces, campaignId, id))
            .returning();
    if (!written) return undefined;
    await recordAudit(tx, actor, {
      action: id === undefined ? 'ban-place.add' : 'ban-place.update',
      campaignId,
      details: {
        place: written.id,
        name: `${written.name}, ${written.state}`,
        kind: written.kind,
        published: written.published,
      },
    });
    return written;
  });
  if (!saved) return { ok: false, errors: { form: 'There is no such place.' } };
  return { ok: true, value: saved };
}

/** What is wrong with a place's ZIP code: one the imported data does not hold, or holds in another state. */
async function placeZipError(db: Database, input: PlaceInput): Promise<string | undefined> {
  if (input.zip === undefined) return undefined;
  if (input.kind === 'state')
    return 'A statewide ban is shown by its state: leave the ZIP code empty.';
  const centre = (await activeZipCentres(db, [input.zip])).get(input.zip);
  if (!centre)
    return `The representative data cannot place ZIP code ${input.zip} (it does not know it, or has no centre for it): enter another of the place’s ZIP codes, or leave it empty.`;
  if (!centre.states.includes(fipsByUsps.get(input.state) ?? ''))
    return `ZIP code ${input.zip} is not in ${input.state}: enter one of the place’s ZIP codes.`;
  return undefined;
}

export async function deletePlace(
  db: Database,
  campaignId: number,
  id: number,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(banPlaces)
      .where(oneOf(banPlaces, campaignId, id))
      .returning();
    if (removed.length === 0) return false;
    await recordAudit(tx, actor, {
      action: 'ban-place.delete',
      campaignId,
      details: { place: id, name: `${removed[0]!.name}, ${removed[0]!.state}` },
    });
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Texts per stance: letter templates (subject and body) and call scripts (body), each keyed by
// level, stance and language

/** Which texts: letters to officials of a stance, or the script for calling them. */
export type StanceTextKind = 'letter' | 'call';

export interface StanceTextKey {
  campaignId: number;
  level: TargetLevel;
  /** Letters are per stance; scripts also have one for `any` stance. */
  stance: ScriptStance;
  language: Language;
}

const TEXTS = {
  letter: { table: stanceLetterTemplates, audit: 'template.stance' },
  call: { table: callScripts, audit: 'call-script' },
} as const;

/** The two tables share their key columns; the text columns are the letters' subject and body, or a script's body. */
type TextTable = typeof callScripts;

const tableOf = (kind: StanceTextKind): TextTable => TEXTS[kind].table as TextTable;

const atKey = (table: TextTable, key: StanceTextKey) =>
  and(
    eq(table.campaignId, key.campaignId),
    eq(table.level, key.level),
    eq(table.stance, key.stance),
    eq(table.language, key.language),
  );

/** A campaign's own letters per stance. */
export async function stanceTemplates(db: Database, campaignId: number) {
  return db
    .select()
    .from(stanceLetterTemplates)
    .where(eq(stanceLetterTemplates.campaignId, campaignId));
}

/** A campaign's own call scripts. */
export async function storedCallScripts(db: Database, campaignId: number) {
  return db.select().from(callScripts).where(eq(callScripts.campaignId, campaignId));
}

/** Saves the campaign's own text at `key` (a letter needs its subject), audited. */
export async function saveStanceText(
  db: Database,
  kind: StanceTextKind,
  key: StanceTextKey,
  text: { subject: string; body: string },
  actor: Actor,
): Promise<void> {
  const table = tableOf(kind);
  const columns = kind === 'letter' ? text : { body: text.body };
  await db.transaction(async (tx) => {
    await tx
      .insert(table)
      .values({ ...key, ...columns })
      .onConflictDoUpdate({
        target: [table.campaignId, table.level, table.stance, table.language],
        set: { ...columns, updatedAt: new Date() },
      });
    await recordAudit(tx, actor, {
      action: `${TEXTS[kind].audit}.save`,
      campaignId: key.campaignId,
      details: { level: key.level, stance: key.stance, language: key.language },
    });
  });
}

/** Removes the campaign's own text at `key`, so the level's text applies again; audited. */
export async function resetStanceText(
  db: Database,
  kind: StanceTextKind,
  key: StanceTextKey,
  actor: Actor,
): Promise<void> {
  const table = tableOf(kind);
  await db.transaction(async (tx) => {
    await tx.delete(table).where(atKey(table, key));
    await recordAudit(tx, actor, {
      action: `${TEXTS[kind].audit}.reset`,
      campaignId: key.campaignId,
      details: { level: key.level, stance: key.stance, language: key.language },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Call reports

export interface CallReportInput {
  campaignId: number;
  targetKey: string;
  office: string;
  targetName: string;
  targetState: string | null;
  targetDistrict: string | null;
  outcome: CallOutcome;
  congressionalDistrict: string | null;
  stateUpperDistrict: string | null;
  stateLowerDistrict: string | null;
}

export async function recordCallReport(db: Database, report: CallReportInput): Promise<void> {
  await db.insert(callReports).values(report);
}

/** Calls reported per office (target key) and outcome. */
export async function callCountsByTarget(
  db: Database,
  campaignId: number,
): Promise<
  Array<{
    targetKey: string;
    office: string;
    targetName: string;
    targetState: string | null;
    targetDistrict: string | null;
    outcome: CallOutcome;
    count: number;
  }>
> {
  return queryRows(
    db,
    sql`SELECT target_key AS "targetKey", max(office) AS office, max(target_name) AS "targetName",
               max(target_state) AS "targetState", max(target_district) AS "targetDistrict",
               outcome, count(*)::int AS count
          FROM call_reports WHERE campaign_id = ${campaignId}
         GROUP BY target_key, outcome`,
  );
}

export { billForm, placeForm, stanceForm };

/** The caller's district a count is by: as the call report records it. */
export type CallDistrictDimension = 'congressional' | 'state-upper' | 'state-lower';

const CALL_DISTRICT_COLUMN: Record<CallDistrictDimension, string> = {
  congressional: 'congressional_district',
  'state-upper': 'state_upper_district',
  'state-lower': 'state_lower_district',
};

/**
 * Calls reported made (talked to staff, voicemail, busy or no answer; not "did not call") per
 * caller's congressional, state senate and state house district (GEOID), in one read.
 */
export async function callCountsByDistrict(
  db: Database,
  campaignId: number,
): Promise<Record<CallDistrictDimension, Record<string, number>>> {
  const rows = await queryRows<{ dimension: CallDistrictDimension; key: string; count: number }>(
    db,
    sql`SELECT d.dimension, d.key, count(*)::int AS count
          FROM call_reports r
          CROSS JOIN LATERAL (VALUES ('congressional', r.congressional_district),
                                     ('state-upper', r.state_upper_district),
                                     ('state-lower', r.state_lower_district)) AS d(dimension, key)
         WHERE r.campaign_id = ${campaignId} AND r.outcome <> 'did-not-call' AND d.key IS NOT NULL
         GROUP BY d.dimension, d.key`,
  );
  const counts: Record<CallDistrictDimension, Record<string, number>> = {
    congressional: {},
    'state-upper': {},
    'state-lower': {},
  };
  for (const row of rows) counts[row.dimension][row.key] = Number(row.count);
  return counts;
}

/**
 * The same counts as text for a COPY statement (which takes no parameters): a subquery of `key`
 * (the district's GEOID) and `calls`, one row per district of `dimension` a call came from.
 */
export const callDistrictCountsText = (campaignId: number, dimension: CallDistrictDimension) => {
  const column = CALL_DISTRICT_COLUMN[dimension];
  return `SELECT r.${column} AS key, count(*)::bigint AS calls FROM call_reports r
      WHERE r.campaign_id = ${copyInteger(campaignId)} AND r.outcome <> 'did-not-call' AND r.${column} IS NOT NULL
      GROUP BY r.${column}`;
};
