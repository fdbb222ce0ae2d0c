import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import {
  queryRows,
  type CopyOut,
  type Database,
  type DatabaseHandle,
  type ExportDatabase,
} from '../db/client';
import { staffAccounts, staffExports, type ExportKind, type StaffExport } from '../db/schema';
import type { FieldEncryption } from '../db/field-encryption';
import { lettersExportCsv, lettersExportQuery } from '../letters/letter-exports';
import {
  countSignatureExportRows,
  signatureExportCsv,
  signatureExportQuery,
} from '../petitions/signature-exports';
import { recordAudit } from './audit';
import type { Permission } from './roles';

/**
 * Staff exports: signatures, and counts by congressional district (with the member), state
 * senate and house district (with the legislators), state and source (their queries beside the
 * signatures, in petitions/signature-exports.ts), and letters by office (letters/letter-exports.ts).
 * PostgreSQL writes the CSVs with COPY; Node only passes the bytes on (to the HTTP response, or to
 * a file), never holds them whole, and opens the sealed names and emails of the signature export
 * on the way.
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
      'Signatures and calls reported per U.S. House district (the callers’), with the member who holds it: the constituents of each office.',
  },
  'state-upper': {
    title: 'By state senate district',
    description:
      'Signatures and calls reported per state senate district, with its senator or senators.',
  },
  'state-lower': {
    title: 'By state house district',
    description:
      'Signatures and calls reported per state house district, with its representative or representatives.',
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

/** The SELECT an export runs (inside COPY). */
export const exportQuery = (kind: ExportKind, campaignId: number): string =>
  kind === 'letters' ? lettersExportQuery(campaignId) : signatureExportQuery(kind, campaignId);

/**
 * How many rows an export will have (as of now). A staff request waits for it, so it is bounded
 * (see `countSignatureExportRows`); a letters export has a row per office.
 */
export async function countExportRows(
  database: { db: Database; driver: DatabaseHandle['driver'] },
  kind: ExportKind,
  campaignId: number,
  pageRows?: number,
): Promise<number> {
  if (kind !== 'letters') return countSignatureExportRows(database, kind, campaignId, pageRows);
  const [row] = await queryRows<{ n: string | number }>(
    database.db,
    sql.raw(`SELECT count(*)::bigint AS n FROM (${exportQuery(kind, campaignId)}) AS q`),
  );
  return Number(row?.n ?? 0);
}

/** An export's CSV, streamed (see `signatureExportCsv` and `lettersExportCsv`). */
export const exportCsv = (
  database: ExportDatabase,
  encryption: FieldEncryption,
  kind: ExportKind,
  campaignId: number,
): CopyOut =>
  kind === 'letters'
    ? lettersExportCsv(database, campaignId)
    : signatureExportCsv(database, encryption, kind, campaignId);

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
