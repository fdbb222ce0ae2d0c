import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { AppContext } from '../context';
import type { RepChangeKind } from '../db/schema';
import {
  DOWNLOADS,
  DownloadError,
  downloadRepresentativeData,
  OFFICIALS_DOWNLOADS,
  redactUrl,
} from './download';
import { finishRefresh, startRefresh, type RefreshOutcome } from './history';
import { importSourceFiles, withImportLock, type ImportOptions } from './import';
import {
  DataError,
  DISTRICT_FILES,
  findSourceFiles,
  OFFICIALS_FILES,
  type SourceFiles,
} from './sources';

/**
 * Keeping the officials current: a refresh fetches the officials' files again (congress-legislators
 * and Open States, from their publishers or REP_DATA_MIRROR) into a new directory under
 * DATA_DIR/rep-refresh, and imports them with the district shapes and ZIP tables already at hand,
 * as one new snapshot (atomically, as any import). Those files change only with redistricting, so
 * they are not fetched again: they are taken from REP_DATA_DIR (the bundle), else from
 * DATA_DIR/rep-data (where `data:import -- --download` puts them), else from those a refresh
 * fetched once into DATA_DIR/rep-refresh/districts (a new installation with no data at all).
 *
 * Each refresh is recorded in `rep_refreshes`; what it changed goes to `rep_changes` (see
 * import.ts). A download that fails or a file that does not read changes nothing else: the data in
 * use stays as it was, the refresh is recorded as failed with the reason, and one line is logged.
 */

export type RefreshContext = Pick<AppContext, 'config' | 'db' | 'database' | 'logger'>;

export interface RefreshResult {
  refreshId: number;
  outcome: RefreshOutcome;
  snapshotId: number | null;
  changes: Record<RepChangeKind, number> | null;
  held: number;
  /** Why it failed, naming no secret (a mirror's credentials are never in it). */
  error: string | null;
}

type DistrictFiles = Pick<SourceFiles, (typeof DISTRICT_FILES)[number]>;

const OFFICIALS_DIR = /^officials-/;

export async function refreshRepresentativeData(
  ctx: RefreshContext,
  options: Pick<ImportOptions, 'onDeparted'> & { timeoutMs?: number } = {},
): Promise<RefreshResult> {
  const mirror = ctx.config.repDataMirror;
  const source = mirror ? redactUrl(mirror) : 'the publishers';
  const root = path.join(ctx.config.dataDir, 'rep-refresh');
  // Under the import lock from the start: a refresh whose process dies leaves a record the next import closes.
  return withImportLock(ctx, async () => {
    const { db } = ctx;
    const refreshId = await startRefresh(db, source);
    const dir = path.join(
      root,
      `officials-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`,
    );
    try {
      const districts = await districtFiles(ctx, root, options.timeoutMs);
      await downloadRepresentativeData(dir, {
        mirror,
        files: OFFICIALS_DOWNLOADS,
        timeoutMs: options.timeoutMs,
      });
      const officials = findSourceFiles(dir, OFFICIALS_FILES);
      const imported = await importSourceFiles(
        db,
        { ...districts, ...officials },
        { onDeparted: options.onDeparted },
      );
      const outcome = imported.unchanged ? 'unchanged' : 'imported';
      await finishRefresh(db, refreshId, { outcome, snapshotId: imported.snapshotId });
      // The files of the last refresh stay, to look at; older ones go.
      removeOlderDownloads(root, path.basename(dir));
      ctx.logger.info(
        {
          refresh: refreshId,
          outcome,
          snapshot: imported.snapshotId,
          ...imported.changes,
          held: imported.held,
          seconds: Math.round(imported.seconds),
        },
        'representative data refreshed',
      );
      return {
        refreshId,
        outcome,
        snapshotId: imported.snapshotId,
        changes: imported.changes,
        held: imported.held,
        error: null,
      };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      const reason = failureReason(error, mirror);
      await finishRefresh(db, refreshId, { outcome: 'failed', error: reason });
      ctx.logger.warn(
        { refresh: refreshId, source, reason },
        'representative data refresh failed; the data in use is unchanged',
      );
      // A failed download or a bad file is the refresh's outcome; anything else (the database
      // gone, say) is the job's failure as well.
      if (!(error instanceof DownloadError || error instanceof DataError)) throw error;
      return {
        refreshId,
        outcome: 'failed',
        snapshotId: null,
        changes: null,
        held: 0,
        error: reason,
      };
    }
  });
}

/** Why a refresh failed, in words that name no secret: the mirror's URL only without its credentials. */
function failureReason(error: unknown, mirror: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  return mirror ? message.split(mirror).join(redactUrl(mirror)) : message;
}

/** The district shapes and ZIP tables to import the officials with (see the top of this file). */
async function districtFiles(
  ctx: RefreshContext,
  root: string,
  timeoutMs: number | undefined,
): Promise<DistrictFiles> {
  const fetched = path.join(root, 'districts');
  for (const dir of [ctx.config.repDataDir, path.join(ctx.config.dataDir, 'rep-data'), fetched]) {
    if (!dir || !existsSync(dir)) continue;
    try {
      return findSourceFiles(dir, DISTRICT_FILES);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
    }
  }
  // Fetched whole into another directory first: a download cut short leaves nothing that looks complete.
  const partial = `${fetched}.part-${randomBytes(3).toString('hex')}`;
  try {
    const files = DOWNLOADS.filter((download) => !OFFICIALS_DOWNLOADS.includes(download));
    await downloadRepresentativeData(partial, {
      mirror: ctx.config.repDataMirror,
      files,
      timeoutMs,
    });
    rmSync(fetched, { recursive: true, force: true });
    renameSync(partial, fetched);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return findSourceFiles(fetched, DISTRICT_FILES);
}

function removeOlderDownloads(root: string, keep: string): void {
  for (const entry of readdirSync(root)) {
    if (OFFICIALS_DIR.test(entry) && entry !== keep)
      rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}
