import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  pipeline as pipe,
  Readable,
  Transform,
  type TransformCallback,
  type Writable,
} from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import pg from 'pg';
import type { AppContext } from '../context';
import { BinaryCopyRows, type BinaryField } from '../db/binary-copy';
import { queryRows, type CopyOut, type Database, type DatabaseHandle } from '../db/client';
import { staffAccounts, staffExports, type ExportKind, type StaffExport } from '../db/schema';
import type { FieldEncryption } from '../db/field-encryption';
import { stateNames, uspsByFips } from '../representatives/us-states';
import { csvCell, neutralisedSql, quotedCell } from '../text-safety/csv';
import { recordAudit } from './audit';
import { targetNames } from './dashboard';
import type { Permission } from './roles';

/**
 * Staff exports: signatures, and counts by congressional district (with the member), state
 * senate and house district (with the legislators), state and source, and letters by office. PostgreSQL writes the count
 * CSVs itself with `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`; Node only passes the
 * bytes on (to the HTTP response, or to a file), never holds them whole. The signature export
 * names people, whose names and email addresses are sealed in the database: it is copied in COPY's
 * binary format, and Node opens those two fields of each row and writes the CSV line, streaming.
 *
 * Small exports (every count export, and signature exports up to DIRECT_EXPORT_MAX_ROWS) stream
 * straight into the response. Larger ones are written by a job on the `exports` queue into
 * `DATA_DIR/exports/<id>.csv`, downloadable for EXPORT_FILE_HOURS, then removed by the workers'
 * maintenance. Every export is recorded in `staff_exports` and in the audit log as it starts.
 */

export const exportKinds = [
  'signatures',
  'congressional',
  'state-upper',
  'state-lower',
  'state',
  'source',
  'letters',
] as const satisfies readonly ExportKind[];

/** Signature exports with more rows than this are written by a job instead of streamed at once. */
export const DIRECT_EXPORT_MAX_ROWS = 50_000;
/** How long a job's file can be downloaded before the maintenance removes it. */
export const EXPORT_FILE_HOURS = 24;
/** A job that has not finished after this long is marked failed (its worker and its retries are gone). */
const STALE_JOB_HOURS = 24;
/**
 * On PGlite, which cannot stream COPY, signatures are copied this many at a time (by id). Each page
 * holds the embedded process while PGlite copies it and its names are opened: about 0.1 s on a
 * quiet machine, several times that on a busy one (bench/README.md, bench:staff).
 */
export const PGLITE_PAGE_ROWS = 5000;
/** How often a job records how many rows it has written, at most. */
const PROGRESS_EVERY_MS = 1000;

export const exportKindInfo: Record<ExportKind, { title: string; description: string }> = {
  signatures: {
    title: 'Signatures',
    description:
      'One row per signature: name, ZIP code, state, districts, source, date, and the email address of those who agreed to hear from the campaign.',
  },
  congressional: {
    title: 'By congressional district',
    description:
      'Signatures per U.S. House district, with the member who holds it: the constituents of each office.',
  },
  'state-upper': {
    title: 'By state senate district',
    description: 'Signatures per state senate district, with its senator or senators.',
  },
  'state-lower': {
    title: 'By state house district',
    description: 'Signatures per state house district, with its representative or representatives.',
  },
  state: { title: 'By state', description: 'Signatures per state.' },
  source: {
    title: 'By source',
    description: 'Signatures per partner source code, and those that came with none.',
  },
  letters: {
    title: 'Letters by office',
    description:
      'Letters per office: delivered by us, delivered by hand, sent by supporters themselves, waiting to be sent, waiting for hand delivery, held, failed.',
  },
};

export const isExportKind = (value: unknown): value is ExportKind =>
  exportKinds.includes(value as ExportKind);

/** Signatures name people; counts name no one. A kind this version does not know needs the stricter. */
export const exportPermission = (kind: ExportKind): Permission =>
  kind !== 'signatures' && isExportKind(kind) ? 'exports.counts' : 'exports.signatures';

// ---------------------------------------------------------------------------------------------
// The queries. COPY takes no parameters, so every value in them is an integer checked here or a
// constant of this file, quoted by node-postgres' escapeLiteral.

const integer = (value: number): string => {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
};
const literal = (value: string) => pg.escapeLiteral(value);

/** Formula neutralisation in SQL (see text-safety/csv.ts), so the CSV stream is never parsed here. */
const neutralised = neutralisedSql;

/** The USPS code of a GEOID's state (its first two digits), even for a district the active data lacks. */
const FIPS_TO_USPS = literal(JSON.stringify(Object.fromEntries(uspsByFips)));
const stateOfGeoid = (geoid: string) => `(${FIPS_TO_USPS}::jsonb ->> left(${geoid}, 2))`;
const stateNameTable = (alias: string) =>
  `(VALUES ${[...stateNames].map(([usps, name]) => `(${literal(usps)}, ${literal(name)})`).join(', ')}) AS ${alias}(usps, name)`;

const ACTIVE_SNAPSHOT = '(SELECT id FROM rep_snapshots WHERE active)';

/** "CO-1", "AK at-large", "DC (delegate seat)" from a congressional GEOID and its state's USPS code. */
const congressionalLabel = (geoid: string, usps: string) => `CASE
    WHEN ${usps} IS NULL THEN ${geoid}
    WHEN substr(${geoid}, 3) = '00' THEN ${usps} || ' at-large'
    WHEN substr(${geoid}, 3) = '98' THEN ${usps} || ' (delegate seat)'
    ELSE ${usps} || '-' || ltrim(substr(${geoid}, 3), '0') END`;

/** The House seat of a congressional GEOID as the officials' data writes it: `0` for at-large and delegate seats. */
const houseSeat = (geoid: string) =>
  `CASE WHEN substr(${geoid}, 3) IN ('00', '98') THEN '0' ELSE ltrim(substr(${geoid}, 3), '0') END`;

/** One campaign's counts along a dimension, the rows with a count above zero. */
const countsOf = (campaignId: number, dimension: string) =>
  `c.campaign_id = ${integer(campaignId)} AND c.dimension = ${literal(dimension)} AND c.count > 0`;

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
    LEFT JOIN LATERAL (SELECT ${congressionalLabel('d.geoid', 'd.state')} AS label FROM rep_districts d
      WHERE d.snapshot_id = ${ACTIVE_SNAPSHOT} AND d.layer = 'cd' AND d.geoid = s.congressional_district) cd ON true
    WHERE s.campaign_id = ${integer(campaignId)}${bounds}
      -- Where signatures need confirming, an unconfirmed one may be someone else's address.
      AND (s.verified_at IS NOT NULL OR NOT (SELECT require_verification FROM campaigns WHERE id = ${integer(campaignId)}))
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

/** Signatures per congressional district, with the member (or members) holding its seat in the active data. */
function congressionalQuery(campaignId: number): string {
  return `SELECT f.usps AS state,
      ${congressionalLabel('c.key', 'f.usps')} AS district,
      ${neutralised('m.names')} AS representative,
      ${neutralised('m.parties')} AS party,
      c.count AS signatures,
      ${neutralised('c.key')} AS geoid
    FROM signature_counts c
    CROSS JOIN LATERAL (SELECT ${stateOfGeoid('c.key')} AS usps) f
    LEFT JOIN LATERAL (
      SELECT string_agg(o.name, '; ' ORDER BY o.name) AS names, string_agg(coalesce(o.party, ''), '; ' ORDER BY o.name) AS parties
      FROM rep_officials o
      WHERE o.snapshot_id = ${ACTIVE_SNAPSHOT} AND o.office = 'us-house' AND o.state = f.usps AND o.district = ${houseSeat('c.key')}
    ) m ON true
    WHERE ${countsOf(campaignId, 'congressional')}
    ORDER BY c.key`;
}

/**
 * Signatures per state senate or house district, with the legislators of its seats (several in
 * multi-member districts, and for Idaho's A/B seats), matched as the lookup matches them.
 */
function stateDistrictQuery(campaignId: number, kind: 'state-upper' | 'state-lower'): string {
  const layer = kind === 'state-upper' ? 'sldu' : 'sldl';
  return `SELECT coalesce(d.state, f.usps) AS state,
      ${neutralised('coalesce(d.name, c.key)')} AS district,
      ${neutralised('m.names')} AS legislators,
      ${neutralised('m.parties')} AS party,
      c.count AS signatures,
      ${neutralised('c.key')} AS geoid
    FROM signature_counts c
    CROSS JOIN LATERAL (SELECT ${stateOfGeoid('c.key')} AS usps) f
    LEFT JOIN rep_districts d ON d.snapshot_id = ${ACTIVE_SNAPSHOT} AND d.layer = ${literal(layer)} AND d.geoid = c.key
    LEFT JOIN LATERAL (
      SELECT string_agg(o.name, '; ' ORDER BY seat.position, o.name) AS names,
             string_agg(coalesce(o.party, ''), '; ' ORDER BY seat.position, o.name) AS parties
      FROM jsonb_array_elements(d.seats) WITH ORDINALITY AS seat(value, position)
      JOIN rep_officials o ON o.snapshot_id = d.snapshot_id AND o.office = ${literal(kind)} AND o.state = d.state
        AND o.district = seat.value->>'district'
    ) m ON true
    WHERE ${countsOf(campaignId, kind)}
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
      LEFT JOIN partners p ON p.campaign_id = c.campaign_id AND p.source_code = c.key
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

/**
 * Letters per office, from the letter counts (a row per office and status), with how many of the
 * delivered ones went by hand (the letters of the campaign's delivered packets, by index). Names
 * and titles are looked up before the COPY (`names`, a VALUES list of quoted literals), as the
 * dashboard names targets: from the representative data, the campaign's lists, or the letters.
 * "Delivered by us" is every delivered letter not delivered by hand.
 */
function lettersQuery(
  campaignId: number,
  names: Map<string, { name: string; title: string }> = new Map(),
): string {
  const id = integer(campaignId);
  const named =
    names.size > 0
      ? `(VALUES ${[...names].map(([key, target]) => `(${literal(key)}, ${literal(target.name)}, ${literal(target.title)})`).join(', ')}) AS n(key, name, title)`
      : `(SELECT NULL::text AS key, NULL::text AS name, NULL::text AS title WHERE false) AS n`;
  return `SELECT ${neutralised('coalesce(n.name, c.key)')} AS office_holder,
      ${neutralised('n.title')} AS office,
      c.delivered - coalesce(h.letters, 0) AS delivered_by_us,
      coalesce(h.letters, 0) AS delivered_by_hand,
      c.self_sent AS sent_by_supporter,
      c.rehearsed AS rehearsal_only,
      c.waiting AS waiting_to_send,
      c.hand AS waiting_for_hand_delivery,
      c.held,
      c.failed,
      c.total,
      ${neutralised('c.key')} AS target
    FROM (
      SELECT key,
        coalesce(sum(count) FILTER (WHERE status = 'delivered'), 0)::bigint AS delivered,
        coalesce(sum(count) FILTER (WHERE status = 'self-sent'), 0)::bigint AS self_sent,
        coalesce(sum(count) FILTER (WHERE status = 'rehearsed'), 0)::bigint AS rehearsed,
        coalesce(sum(count) FILTER (WHERE status IN ('queued', 'sending', 'retrying')), 0)::bigint AS waiting,
        coalesce(sum(count) FILTER (WHERE status = 'hand-delivery'), 0)::bigint AS hand,
        coalesce(sum(count) FILTER (WHERE status = 'held'), 0)::bigint AS held,
        coalesce(sum(count) FILTER (WHERE status = 'failed'), 0)::bigint AS failed,
        sum(count)::bigint AS total
      FROM letter_counts WHERE campaign_id = ${id} AND dimension = 'target'
      GROUP BY key HAVING sum(count) > 0
    ) c
    LEFT JOIN (
      SELECT p.target_key, count(*) AS letters FROM hand_packets p JOIN letters l ON l.packet_id = p.id
      WHERE p.campaign_id = ${id} AND p.delivered_at IS NOT NULL AND l.status = 'delivered' AND l.delivered_as = 'hand'
      GROUP BY p.target_key
    ) h ON h.target_key = c.key
    LEFT JOIN ${named} ON n.key = c.key
    ORDER BY c.total DESC, c.key`;
}

/** The text columns of each count export: every value quoted (see text-safety/csv.ts); the counts not. */
const COUNT_TEXT_COLUMNS: Record<
  Exclude<ExportKind, 'signatures' | 'letters'>,
  readonly string[]
> = {
  congressional: ['state', 'district', 'representative', 'party', 'geoid'],
  'state-upper': ['state', 'district', 'legislators', 'party', 'geoid'],
  'state-lower': ['state', 'district', 'legislators', 'party', 'geoid'],
  state: ['state', 'state_name'],
  source: ['source', 'partner'],
};

/** The SELECT an export runs (inside COPY). */
export function exportQuery(kind: ExportKind, campaignId: number): string {
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
    case 'letters':
      return lettersQuery(campaignId);
    default:
      throw new Error(`unknown export kind: ${String(kind)}`);
  }
}

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
      AND (s.verified_at IS NOT NULL OR NOT (SELECT require_verification FROM campaigns WHERE id = ${integer(campaignId)}))`;

/**
 * How many rows an export will have (as of now). A staff request waits for it, so it is bounded:
 * on PostgreSQL by the staff statement timeout of the connection it runs on; on PGlite by counting
 * signatures in pages of PGLITE_COUNT_PAGE_ROWS, letting other requests run between pages.
 */
export async function countExportRows(
  database: { db: Database; driver: DatabaseHandle['driver'] },
  kind: ExportKind,
  campaignId: number,
  pageRows = PGLITE_COUNT_PAGE_ROWS,
): Promise<number> {
  const { db } = database;
  if (kind !== 'signatures') {
    const [row] = await queryRows<{ n: string | number }>(
      db,
      sql.raw(`SELECT count(*)::bigint AS n FROM (${exportQuery(kind, campaignId)}) AS q`),
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

/** What an export reads through: queries, and COPY out on the unbounded pool. */
type ExportDatabase = Pick<DatabaseHandle, 'db' | 'driver' | 'copyOut'>;

/**
 * An export's CSV. On PostgreSQL, one COPY streamed through a pooled connection: one consistent
 * snapshot, memory flat. On PGlite (embedded, one connection, no streaming COPY), the signature
 * export is copied in pages of PGLITE_PAGE_ROWS by id (keyset: each page ends at the id found
 * PGLITE_PAGE_ROWS rows further on), so memory stays bounded and other queries run between pages;
 * a signature made meanwhile appears if it falls in a page still to come; other requests are
 * answered between pages. Count exports are bounded by the number of districts and run as one
 * COPY on both.
 */
export function exportCsv(
  database: ExportDatabase,
  encryption: FieldEncryption,
  kind: ExportKind,
  campaignId: number,
): CopyOut {
  if (kind === 'letters') return lettersCsv(database, campaignId);
  if (kind !== 'signatures')
    return database.copyOut(exportQuery(kind, campaignId), {
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

/** The letters export: the offices' names first (a query or two, bounded by the number of offices), then one COPY. */
function lettersCsv(database: ExportDatabase, campaignId: number): CopyOut {
  let settle: { resolve: (rows: number) => void; reject: (error: unknown) => void } | undefined;
  const rows = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
  rows.catch(() => undefined);
  async function* csv(): AsyncGenerator<Buffer> {
    try {
      const keys = await queryRows<{ key: string }>(
        database.db,
        sql`SELECT DISTINCT key FROM letter_counts WHERE campaign_id = ${campaignId}::int AND dimension = 'target' AND count > 0`,
      );
      const names = await targetNames(
        { db: database.db },
        campaignId,
        keys.map((row) => row.key),
      );
      const copied = database.copyOut(lettersQuery(campaignId, names), {
        header: true,
        quote: ['office_holder', 'office', 'target'],
      });
      for await (const chunk of copied.stream) yield chunk as Buffer;
      settle!.resolve(await copied.rows);
    } catch (error) {
      settle!.reject(error);
      throw error;
    } finally {
      settle!.reject(new Error('the export was abandoned before its end'));
    }
  }
  return { stream: Readable.from(csv(), { objectMode: false }), rows };
}

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

/** Counts bytes, and lines as a measure of progress (a quoted cell may hold a line break; the final count comes from COPY). */
class CsvMeter extends Transform {
  bytes = 0;
  lines = 0;

  constructor(private readonly onChunk?: (meter: CsvMeter) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.lines++;
    this.onChunk?.(this);
    done(null, chunk);
  }
}

// ---------------------------------------------------------------------------------------------
// Starting, sending and writing exports

export class ExportQueueUnavailableError extends Error {}

type ExportContext = Pick<AppContext, 'db' | 'database' | 'encryption'>;

export type StartedExport =
  | { mode: 'direct'; record: StaffExport }
  | { mode: 'job'; record: StaffExport }
  /** The same export of this campaign is already being written; no new one was started. */
  | { mode: 'in-progress'; record: StaffExport };

const newExportId = () => randomBytes(18).toString('base64url');
export const isExportId = (value: string) => /^[A-Za-z0-9_-]{24}$/.test(value);

/**
 * Starts an export: counts its rows, records it (its `staff_exports` row and the audit entry, in
 * one transaction), then either leaves it to the caller to stream (`direct`) or queues its job.
 */
export async function startExport(
  ctx: ExportContext & { queueExportFile(exportId: string): Promise<void> },
  request: { campaignId: number; kind: ExportKind; staff: { id: number; email: string } },
): Promise<StartedExport> {
  const { campaignId, kind, staff } = request;
  const rows = await countExportRows({ db: ctx.db, driver: ctx.database.driver }, kind, campaignId);
  const mode = kind !== 'signatures' || rows <= DIRECT_EXPORT_MAX_ROWS ? 'direct' : 'job';
  if (mode === 'job') {
    const [running] = await ctx.db
      .select()
      .from(staffExports)
      .where(
        and(
          eq(staffExports.campaignId, campaignId),
          eq(staffExports.kind, kind),
          inArray(staffExports.status, ['queued', 'running']),
        ),
      )
      .orderBy(desc(staffExports.createdAt))
      .limit(1);
    if (running) return { mode: 'in-progress', record: running };
  }
  const record = await ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(staffExports)
      .values({
        id: newExportId(),
        campaignId,
        staffId: staff.id,
        kind,
        status: mode === 'direct' ? 'running' : 'queued',
        rowsTotal: rows,
      })
      .returning();
    await recordAudit(tx, staff, {
      action: `export.${kind}`,
      campaignId,
      details: { exportId: created!.id, rows, delivery: mode === 'direct' ? 'download' : 'file' },
    });
    return created!;
  });
  if (mode === 'job') {
    try {
      await ctx.queueExportFile(record.id);
    } catch (error) {
      await markExportFailed(
        ctx.db,
        record.id,
        'The export could not be queued. Please try again in a moment.',
      );
      throw new ExportQueueUnavailableError('the export queue is not reachable', { cause: error });
    }
  }
  return { mode, record };
}

/**
 * Streams a direct export into `destination` (an HTTP response whose headers the caller has set),
 * then records it as done, with no file kept. On failure (the database, or the browser that went
 * away) it is recorded as failed, `destination` is destroyed, and the error is thrown.
 */
export async function sendExport(
  ctx: ExportContext,
  record: StaffExport,
  destination: Writable,
): Promise<{ rows: number; bytes: number }> {
  const copy = exportCsv(
    { ...ctx.database, db: ctx.db },
    ctx.encryption,
    record.kind,
    record.campaignId,
  );
  const meter = new CsvMeter();
  try {
    await pipeline(copy.stream, meter, destination);
    const rows = await copy.rows;
    await ctx.db
      .update(staffExports)
      .set({ status: 'ready', rowsWritten: rows, bytes: meter.bytes, finishedAt: sql`now()` })
      .where(eq(staffExports.id, record.id));
    return { rows, bytes: meter.bytes };
  } catch (error) {
    await markExportFailed(ctx.db, record.id, 'The download did not complete.').catch(
      () => undefined,
    );
    throw error;
  }
}

export const exportsDir = (dataDir: string) => path.join(dataDir, 'exports');
export const exportFilePath = (dataDir: string, id: string) =>
  path.join(exportsDir(dataDir), `${id}.csv`);

/**
 * The export job: writes the CSV to a temporary file of its own, renames it into place, and marks
 * the export ready to download for EXPORT_FILE_HOURS. Records how many rows it has written, about
 * once a second. A retried job (after a crash or an error) starts again from the beginning; an
 * export already finished, failed or expired is left alone.
 */
export async function writeExportFile(
  ctx: ExportContext & { config: { dataDir: string } },
  exportId: string,
): Promise<'written' | 'skipped'> {
  const { db } = ctx;
  const [claimed] = await db
    .update(staffExports)
    .set({ status: 'running', rowsWritten: 0, error: null })
    .where(and(eq(staffExports.id, exportId), inArray(staffExports.status, ['queued', 'running'])))
    .returning();
  if (!claimed) return 'skipped';

  const dir = exportsDir(ctx.config.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const part = path.join(dir, `${exportId}.${randomBytes(4).toString('hex')}.part`);
  const file = exportFilePath(ctx.config.dataDir, exportId);

  let progress: Promise<unknown> = Promise.resolve();
  let lastProgress = Date.now();
  const meter = new CsvMeter((current) => {
    if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = Date.now();
    const rows = Math.max(0, current.lines - 1);
    progress = progress.then(() =>
      db
        .update(staffExports)
        .set({ rowsWritten: rows })
        .where(and(eq(staffExports.id, exportId), eq(staffExports.status, 'running')))
        .catch(() => undefined),
    );
  });

  try {
    const copy = exportCsv(
      { ...ctx.database, db: ctx.db },
      ctx.encryption,
      claimed.kind,
      claimed.campaignId,
    );
    // Owner-only: the file may hold supporters' names and emails.
    await pipeline(copy.stream, meter, createWriteStream(part, { flags: 'w', mode: 0o600 }));
    const rows = await copy.rows;
    await progress;
    await rename(part, file);
    const [ready] = await db
      .update(staffExports)
      .set({
        status: 'ready',
        rowsWritten: rows,
        bytes: meter.bytes,
        finishedAt: sql`now()`,
        expiresAt: sql`now() + make_interval(hours => ${EXPORT_FILE_HOURS}::int)`,
      })
      .where(and(eq(staffExports.id, exportId), eq(staffExports.status, 'running')))
      .returning({ id: staffExports.id });
    // Failed or expired while it was being written: the file is not wanted.
    if (!ready) await rm(file, { force: true });
    return 'written';
  } catch (error) {
    await progress;
    await rm(part, { force: true });
    throw error;
  }
}

/** Exports waiting this long without being written are queued again (their job may have been lost with Redis). */
const REQUEUE_AFTER_MINUTES = 5;

/**
 * Queues again the jobs of exports still waiting or being written after a while. The job id is
 * the export's, so an export whose job is still in the queue (waiting, running or retrying) is
 * not queued twice; one whose job was lost with Redis gets a new one. Returns how many it asked for.
 */
export async function requeueExports(ctx: {
  db: Database;
  queueExportFile(exportId: string): Promise<void>;
}): Promise<number> {
  const waiting = await queryRows<{ id: string }>(
    ctx.db,
    sql`SELECT id FROM staff_exports
        WHERE status IN ('queued', 'running') AND created_at < now() - make_interval(mins => ${REQUEUE_AFTER_MINUTES}::int)`,
  );
  for (const { id } of waiting) await ctx.queueExportFile(id);
  return waiting.length;
}

export async function markExportFailed(
  db: Database,
  exportId: string,
  message: string,
): Promise<void> {
  await db
    .update(staffExports)
    .set({ status: 'failed', error: message, finishedAt: sql`now()` })
    .where(and(eq(staffExports.id, exportId), inArray(staffExports.status, ['queued', 'running'])));
}

/**
 * The maintenance: exports past their time are marked expired and their files removed; jobs
 * that never finished are marked failed; files no export is waiting for (an export deleted with
 * its campaign, a temporary file left by a crash) are removed once they are an hour old.
 * Returns how many files were removed.
 */
export async function expireExports(ctx: {
  db: Database;
  config: { dataDir: string };
}): Promise<number> {
  const { db } = ctx;
  const expired = await queryRows<{ id: string }>(
    db,
    sql`UPDATE staff_exports SET status = 'expired' WHERE status = 'ready' AND expires_at <= now() RETURNING id`,
  );
  await db.execute(sql`
    UPDATE staff_exports SET status = 'failed', error = 'The export did not finish.', finished_at = now()
    WHERE status IN ('queued', 'running') AND created_at < now() - make_interval(hours => ${STALE_JOB_HOURS}::int)`);
  let removed = 0;
  for (const { id } of expired) {
    if (!isExportId(id)) continue;
    await rm(exportFilePath(ctx.config.dataDir, id), { force: true });
    removed++;
  }

  const dir = exportsDir(ctx.config.dataDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return removed;
  const kept = new Set(
    (
      await queryRows<{ id: string }>(
        db,
        sql`SELECT id FROM staff_exports WHERE status IN ('queued', 'running', 'ready')`,
      )
    ).map((row) => row.id),
  );
  const hourAgo = Date.now() - 60 * 60 * 1000;
  for (const name of names) {
    const id = name.split('.')[0]!;
    const finished = name.endsWith('.csv') && kept.has(id);
    const writing = name.endsWith('.part') && kept.has(id);
    if (finished || writing) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || info.mtimeMs > hourAgo) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ExportListing extends StaffExport {
  staffEmail: string | null;
}

export const EXPORT_LIST_LENGTH = 50;

/** A campaign's exports, newest first, with who started each. */
export async function listExports(db: Database, campaignId: number): Promise<ExportListing[]> {
  const rows = await db
    .select({ export: staffExports, staffEmail: staffAccounts.email })
    .from(staffExports)
    .leftJoin(staffAccounts, eq(staffAccounts.id, staffExports.staffId))
    .where(eq(staffExports.campaignId, campaignId))
    .orderBy(desc(staffExports.createdAt))
    .limit(EXPORT_LIST_LENGTH);
  return rows.map((row) => ({ ...row.export, staffEmail: row.staffEmail }));
}

export async function findExport(db: Database, id: string): Promise<StaffExport | undefined> {
  if (!isExportId(id)) return undefined;
  const [found] = await db.select().from(staffExports).where(eq(staffExports.id, id));
  return found;
}

/** Streamed straight to the browser: nothing kept to download later. */
export const isDirectExport = (record: StaffExport) =>
  record.status === 'ready' && record.expiresAt === null;

/** Whether an export's file can be downloaded now, and if not, why. */
export function downloadState(
  record: StaffExport,
  now = new Date(),
): 'ready' | 'pending' | 'failed' | 'expired' | 'direct' {
  if (record.status === 'queued' || record.status === 'running') return 'pending';
  if (record.status === 'failed') return 'failed';
  if (isDirectExport(record)) return 'direct';
  if (record.status === 'expired' || !record.expiresAt || record.expiresAt <= now) return 'expired';
  return 'ready';
}

/** `ban-facial-recognition-congressional-2026-11-26.csv` */
export const exportFileName = (slug: string, record: Pick<StaffExport, 'kind' | 'createdAt'>) =>
  `${slug}-${record.kind}-${record.createdAt.toISOString().slice(0, 10)}.csv`;
