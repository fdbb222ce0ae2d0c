import { pipeline as pipe, Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { BinaryCopyRows, type BinaryField } from '../db/binary-copy';
import { requiresVerificationOf } from '../campaigns/directory';
import { copyInteger as integer, copyLiteral as literal, copySql } from '../db/copy-values';
import {
  queryRows,
  type CopyOut,
  type Database,
  type DatabaseHandle,
  type ExportDatabase,
} from '../db/client';
import type { ExportKind } from '../db/schema';
import type { FieldEncryption } from '../db/field-encryption';
import {
  activeDistrictJoinText,
  activeDistrictText,
  districtLegislatorsText,
  houseMembersText,
} from '../representatives/store';
import { partnersWith } from '../partners/partner-accounts';
import { callDistrictCountsText, type CallDistrictDimension } from '../stances/store';
import { stateNames, uspsByFips } from '../representatives/us-states';
import { csvCell, neutralisedSql as neutralised, quotedCell } from '../text-safety/csv';

/**
 * The exports of the signatures' data (staff/exports.ts records and runs them): the signatures
 * themselves, and the counts by congressional district (with the member), state senate and house
 * district (with the legislators), state and source. PostgreSQL writes the count CSVs itself with
 * `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`; the signature export names people,
 * whose names and email addresses are sealed in the database: it is copied in COPY's binary
 * format, and Node opens those two fields of each row and writes the CSV line, streaming. COPY
 * takes no parameters, so every value in these queries is an integer checked by `integer` or a
 * constant of this file, quoted by `literal`. The districts and their members come from the active
 * representative data through the text fragments of representatives/store.ts, which keep that rule.
 */

export type SignatureExportKind = Exclude<ExportKind, 'letters'>;

/**
 * On PGlite, which cannot stream COPY, signatures are copied this many at a time (by id). Each page
 * holds the embedded process while PGlite copies it and its names are opened: about 0.1 s on a
 * quiet machine, several times that on a busy one (bench/README.md, bench:staff).
 */
export const PGLITE_PAGE_ROWS = 5000;
/** The USPS code of a GEOID's state (its first two digits), even for a district the active data lacks. */
const FIPS_TO_USPS = literal(JSON.stringify(Object.fromEntries(uspsByFips)));
const stateOfGeoid = (geoid: string) => `(${FIPS_TO_USPS}::jsonb ->> left(${geoid}, 2))`;
const stateNameTable = (alias: string) =>
  `(VALUES ${[...stateNames].map(([usps, name]) => `(${literal(usps)}, ${literal(name)})`).join(', ')}) AS ${alias}(usps, name)`;

/** "CO-1", "AK at-large", "DC (delegate seat)" from a congressional GEOID and its state's USPS code. */
const congressionalLabel = (geoid: string, usps: string) => `CASE
    WHEN ${usps} IS NULL THEN ${geoid}
    WHEN substr(${geoid}, 3) = '00' THEN ${usps} || ' at-large'
    WHEN substr(${geoid}, 3) = '98' THEN ${usps} || ' (delegate seat)'
    ELSE ${usps} || '-' || ltrim(substr(${geoid}, 3), '0') END`;

/** Whether the campaign asks signers to confirm their address (campaigns/directory.ts). */
const requiresVerification = (campaignId: number) =>
  copySql(requiresVerificationOf(sql.raw(integer(campaignId))));

/** One campaign's counts along a dimension, the rows with a count above zero. */
const countsOf = (campaignId: number, dimension: string) =>
  `c.campaign_id = ${integer(campaignId)} AND c.dimension = ${literal(dimension)} AND c.count > 0`;

/**
 * One campaign's signatures (`count`) and calls reported (`calls`, from stances/store.ts) per
 * district of `dimension` (`key`, its GEOID): the districts where either is above zero.
 */
const districtCountsWithCalls = (campaignId: number, dimension: CallDistrictDimension) =>
  `SELECT k.key, sum(k.signatures)::bigint AS count, sum(k.calls)::bigint AS calls FROM (
      SELECT c.key, c.count AS signatures, 0 AS calls FROM signature_counts c WHERE ${countsOf(campaignId, dimension)}
      UNION ALL
      SELECT r.key, 0, r.calls FROM (${callDistrictCountsText(campaignId, dimension)}) r
    ) k GROUP BY k.key`;

/** The signature export's columns, in order. */
const SIGNATURE_COLUMNS = [
  'name',
  'email',
  'zip',
  'state',
  'congressional_district',
  'state_senate_geoid',
  'state_house_geoid',
  'source',
  'opted_in',
  'signed_at',
];

/**
 * The signature export. Consent: the email address only where the supporter opted in; name, ZIP
 * code, state, districts, source and date always (what a lobby visit needs); the street address
 * never. The congressional district is named as people name it ("CO-1"); the state districts are
 * given by their GEOIDs, which the count exports name, with their legislators. `range` bounds the
 * ids, for PGlite's pages. Copied in binary: the name and the email come sealed (bytea), to be
 * opened and neutralised in Node; every other column as text, neutralised in this SQL.
 *
 * Cost, measured (bench/README.md): each per-row lookup or computed label costs PostgreSQL about
 * a third of what reading the row does, so there is one: the congressional district's label, from
 * the active representative data, through a LATERAL subquery that PostgreSQL caches per district
 * (Memoize) while it reads the signatures in id order: no sort, and the first rows go out at once.
 */
function signaturesQuery(
  campaignId: number,
  range?: { after: number; upTo: number | null },
): string {
  const bounds = range
    ? ` AND s.id > ${integer(range.after)}${range.upTo === null ? '' : ` AND s.id <= ${integer(range.upTo)}`}`
    : '';
  return `SELECT s.name,
      CASE WHEN s.opt_in THEN s.email END AS email,
      ${neutralised('s.zip')} AS zip,
      ${neutralised('s.state')} AS state,
      coalesce(cd.label, ${neutralised('s.congressional_district')}) AS congressional_district,
      ${neutralised('s.state_upper_district')} AS state_senate_geoid,
      ${neutralised('s.state_lower_district')} AS state_house_geoid,
      ${neutralised('s.source')} AS source,
      CASE WHEN s.opt_in THEN 'yes' ELSE 'no' END AS opted_in,
      to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS signed_at
    FROM signatures s
    LEFT JOIN LATERAL (${activeDistrictText(`${congressionalLabel('d.geoid', 'd.state')} AS label`, 'cd', 's.congressional_district')}) cd ON true
    WHERE s.campaign_id = ${integer(campaignId)}${bounds}
      -- Where signatures need confirming, an unconfirmed one may be someone else's address.
      AND (s.verified_at IS NOT NULL OR NOT ${requiresVerification(campaignId)})
    ORDER BY s.id`;
}

/** One binary COPY row of `signaturesQuery` as a CSV line, its name and email opened. */
function signatureCsvLine(encryption: FieldEncryption): (fields: BinaryField[]) => string {
  return (fields) => {
    if (fields.length !== SIGNATURE_COLUMNS.length)
      throw new Error(
        `a signature row of ${fields.length} fields, not ${SIGNATURE_COLUMNS.length}`,
      );
    let line = csvCell(encryption.open('signatures.name', fields[0]!));
    line += ',' + (fields[1] ? csvCell(encryption.open('signatures.email', fields[1])) : '');
    // Neutralised in the SQL already: only quoted here.
    for (let index = 2; index < fields.length; index++)
      line += ',' + quotedCell(fields[index]?.toString('utf8') ?? null);
    return line + '\n';
  };
}

/** Signatures and calls reported per congressional district, with the member (or members) holding its seat in the active data. */
function congressionalQuery(campaignId: number): string {
  return `SELECT f.usps AS state,
      ${congressionalLabel('c.key', 'f.usps')} AS district,
      ${neutralised('m.names')} AS representative,
      ${neutralised('m.parties')} AS party,
      c.count AS signatures,
      c.calls AS calls_reported,
      ${neutralised('c.key')} AS geoid
    FROM (${districtCountsWithCalls(campaignId, 'congressional')}) c
    CROSS JOIN LATERAL (SELECT ${stateOfGeoid('c.key')} AS usps) f
    LEFT JOIN LATERAL (
      ${houseMembersText('c.key', 'f.usps')}
    ) m ON true
    ORDER BY c.key`;
}

/**
 * Signatures and calls reported per state senate or house district, with the legislators of its seats (several in
 * multi-member districts, and for Idaho's A/B seats), matched as the lookup matches them.
 */
function stateDistrictQuery(campaignId: number, kind: 'state-upper' | 'state-lower'): string {
  const layer = kind === 'state-upper' ? 'sldu' : 'sldl';
  return `SELECT coalesce(d.state, f.usps) AS state,
      ${neutralised('coalesce(d.name, c.key)')} AS district,
      ${neutralised('m.names')} AS legislators,
      ${neutralised('m.parties')} AS party,
      c.count AS signatures,
      c.calls AS calls_reported,
      ${neutralised('c.key')} AS geoid
    FROM (${districtCountsWithCalls(campaignId, kind)}) c
    CROSS JOIN LATERAL (SELECT ${stateOfGeoid('c.key')} AS usps) f
    LEFT JOIN ${activeDistrictJoinText(layer, 'c.key')}
    LEFT JOIN LATERAL (
      ${districtLegislatorsText(kind)}
    ) m ON true
    ORDER BY c.key`;
}

function stateQuery(campaignId: number): string {
  return `SELECT ${neutralised('c.key')} AS state, n.name AS state_name, c.count AS signatures
    FROM signature_counts c
    LEFT JOIN ${stateNameTable('n')} ON n.usps = c.key
    WHERE ${countsOf(campaignId, 'state')}
    ORDER BY c.key`;
}

/** Signatures per source code with the partner it belongs to, then those with no source code. */
function sourceQuery(campaignId: number): string {
  const id = integer(campaignId);
  return `SELECT ${neutralised('r.source')} AS source, ${neutralised('r.partner')} AS partner, r.signatures
    FROM (
      SELECT c.key AS source, p.name AS partner, c.count AS signatures, 0 AS without_source
      FROM signature_counts c
      LEFT JOIN ${copySql(partnersWith('campaignId', 'sourceCode', 'name'))} p ON p.campaign_id = c.campaign_id AND p.source_code = c.key
      WHERE ${countsOf(campaignId, 'source')}
      UNION ALL
      SELECT '', 'No source code (the campaign''s own pages and links)',
        (t.count - coalesce((SELECT sum(s.count) FROM signature_counts s WHERE s.campaign_id = ${id} AND s.dimension = 'source'), 0))::bigint, 1
      FROM signature_counts t
      WHERE t.campaign_id = ${id} AND t.dimension = 'total' AND t.key = ''
    ) r
    WHERE r.signatures > 0
    ORDER BY r.without_source, r.signatures DESC, r.source`;
}

/** The text columns of each count export: every value quoted (see text-safety/csv.ts); the counts not. */
const COUNT_TEXT_COLUMNS: Record<Exclude<SignatureExportKind, 'signatures'>, readonly string[]> = {
  congressional: ['state', 'district', 'representative', 'party', 'geoid'],
  'state-upper': ['state', 'district', 'legislators', 'party', 'geoid'],
  'state-lower': ['state', 'district', 'legislators', 'party', 'geoid'],
  state: ['state', 'state_name'],
  source: ['source', 'partner'],
};

/** On PGlite, where no statement can be cancelled, signatures are counted this many at a time (by id), other requests running between. */
export const PGLITE_COUNT_PAGE_ROWS = 25_000;

/**
 * The signatures a signature export holds: the campaign's, and where it asks signers to confirm
 * their address, the confirmed ones (the rule `signaturesQuery` applies; its district lookup
 * matches at most one row, so counting needs no join). `after`: only those with a larger id.
 */
const exportedSignatures = (campaignId: number, after = 0) =>
  `SELECT s.id FROM signatures s
    WHERE s.campaign_id = ${integer(campaignId)} AND s.id > ${integer(after)}
      AND (s.verified_at IS NOT NULL OR NOT ${requiresVerification(campaignId)})`;

function pagedSignatures(
  database: ExportDatabase,
  campaignId: number,
  page: (range: { after: number; upTo: number | null }) => CopyOut,
): CopyOut {
  let settle: { resolve: (rows: number) => void; reject: (error: unknown) => void } | undefined;
  const rows = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
  rows.catch(() => undefined);
  async function* pages(): AsyncGenerator<Buffer> {
    let total = 0;
    let after = 0;
    try {
      for (;;) {
        const [end] = await queryRows<{ id: string | number }>(
          database.db,
          sql.raw(`SELECT id FROM signatures WHERE campaign_id = ${integer(campaignId)} AND id > ${integer(after)}
                   ORDER BY id OFFSET ${PGLITE_PAGE_ROWS - 1} LIMIT 1`),
        );
        const upTo = end ? Number(end.id) : null;
        const copied = page({ after, upTo });
        for await (const chunk of copied.stream) yield chunk as Buffer;
        total += await copied.rows;
        if (upTo === null) break;
        after = upTo;
        // PGlite answers without I/O: without a turn here, a reader that waits on nothing (or a
        // fast disk) would take page after page and answer no other request until the end.
        await nextTurn();
      }
      settle!.resolve(total);
    } catch (error) {
      settle!.reject(error);
      throw error;
    } finally {
      settle!.reject(new Error('the export was abandoned before its end'));
    }
  }
  return { stream: Readable.from(pages(), { objectMode: false }), rows };
}

/** The SELECT a signature or count export runs (inside COPY). */
export function signatureExportQuery(kind: SignatureExportKind, campaignId: number): string {
  switch (kind) {
    case 'signatures':
      return signaturesQuery(campaignId);
    case 'congressional':
      return congressionalQuery(campaignId);
    case 'state-upper':
    case 'state-lower':
      return stateDistrictQuery(campaignId, kind);
    case 'state':
      return stateQuery(campaignId);
    case 'source':
      return sourceQuery(campaignId);
    default:
      throw new Error(`unknown export kind: ${String(kind)}`);
  }
}

/**
 * How many rows an export will have (as of now). A staff request waits for it, so it is bounded:
 * on PostgreSQL by the staff statement timeout of the connection it runs on; on PGlite by counting
 * signatures in pages of PGLITE_COUNT_PAGE_ROWS, letting other requests run between pages.
 */
export async function countSignatureExportRows(
  database: { db: Database; driver: DatabaseHandle['driver'] },
  kind: SignatureExportKind,
  campaignId: number,
  pageRows = PGLITE_COUNT_PAGE_ROWS,
): Promise<number> {
  const { db } = database;
  if (kind !== 'signatures') {
    const [row] = await queryRows<{ n: string | number }>(
      db,
      sql.raw(`SELECT count(*)::bigint AS n FROM (${signatureExportQuery(kind, campaignId)}) AS q`),
    );
    return Number(row?.n ?? 0);
  }
  if (database.driver === 'pg') {
    const [row] = await queryRows<{ n: string | number }>(
      db,
      sql.raw(`SELECT count(*)::bigint AS n FROM (${exportedSignatures(campaignId)}) AS q`),
    );
    return Number(row?.n ?? 0);
  }
  let total = 0;
  let after = 0;
  for (;;) {
    const [page] = await queryRows<{ n: string | number; last: string | number | null }>(
      db,
      sql.raw(
        `SELECT count(*)::bigint AS n, max(id) AS last FROM (${exportedSignatures(campaignId, after)} ORDER BY s.id LIMIT ${integer(pageRows)}) AS q`,
      ),
    );
    const counted = Number(page?.n ?? 0);
    total += counted;
    if (counted < pageRows || page?.last === null || page?.last === undefined) return total;
    after = Number(page.last);
    await nextTurn();
  }
}

/**
 * A signature or count export's CSV. On PostgreSQL, one COPY streamed through a pooled connection: one consistent
 * snapshot, memory flat. On PGlite (embedded, one connection, no streaming COPY), the signature
 * export is copied in pages of PGLITE_PAGE_ROWS by id (keyset: each page ends at the id found
 * PGLITE_PAGE_ROWS rows further on), so memory stays bounded and other queries run between pages;
 * a signature made meanwhile appears if it falls in a page still to come; other requests are
 * answered between pages. Count exports are bounded by the number of districts and run as one
 * COPY on both.
 */
export function signatureExportCsv(
  database: ExportDatabase,
  encryption: FieldEncryption,
  kind: SignatureExportKind,
  campaignId: number,
): CopyOut {
  if (kind !== 'signatures')
    return database.copyOut(signatureExportQuery(kind, campaignId), {
      header: true,
      quote: COUNT_TEXT_COLUMNS[kind],
    });
  const page = (range?: { after: number; upTo: number | null }) => {
    const copy = database.copyOut(signaturesQuery(campaignId, range), { format: 'binary' });
    const lines = new BinaryCopyRows(
      signatureCsvLine(encryption),
      range && range.after > 0 ? '' : `${SIGNATURE_COLUMNS.join(',')}\n`,
    );
    // An error on either side, or a reader that gives up, ends both (and the COPY).
    return { stream: pipe(copy.stream, lines, () => undefined), rows: copy.rows };
  };
  return database.driver === 'pg' ? page() : pagedSignatures(database, campaignId, page);
}
