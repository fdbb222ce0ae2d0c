import { sql } from 'drizzle-orm';
import { queryRows, type Database, type DatabaseHandle } from '../db/client';
import type { RepChangeKind } from '../db/schema';
import { compareOfficials, countChanges, type DepartedOfficial } from './changes';
import { closeInterruptedRefreshes, recordChanges } from './history';
import { buildSnapshot, type ProgressReporter } from './snapshot';
import { DataError, findSourceFiles, hashSourceFiles, type SourceFiles } from './sources';
import {
  deleteAbandonedSnapshots,
  IMPORT_LOCK,
  saveSnapshot,
  snapshotOfficials,
  type Tx,
} from './store';

export interface ImportOutcome {
  snapshotId: number;
  /** The files were those of the active snapshot: nothing was written. */
  unchanged: boolean;
  counts: Record<string, number>;
  /** What changed against the snapshot it replaced, by kind (none for a first import). */
  changes: Record<RepChangeKind, number>;
  /** Letters held because their office changed hands (see `onDeparted`). */
  held: number;
  seconds: number;
}

export interface ImportOptions {
  force?: boolean;
  asOf?: string;
  progress?: ProgressReporter;
  /**
   * Called in the switch's transaction with the letter targets no longer in their office (gone,
   * or their seat left vacant), so that letters still waiting for them are held in the same
   * commit as the switch (see letters/held-letters.ts); returns how many letters it held.
   */
  onDeparted?: (tx: Tx, departed: DepartedOfficial[]) => Promise<number>;
}

/**
 * Imports the representative data in `dir` (laid out as the publishers name their files) as the
 * new active snapshot. Everything is read and checked before anything is written; a bad file
 * stops the import with a `DataError` and leaves the previous snapshot as it was.
 */
export async function importRepresentativeData(
  db: Database,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportOutcome> {
  return importSourceFiles(db, findSourceFiles(dir), options);
}

/**
 * Imports these files as the new active snapshot (see `importRepresentativeData`). In the same
 * transaction as the switch, what changed against the snapshot it replaces is recorded
 * (`rep_changes`, see changes.ts), and `onDeparted` holds the letters to officials who left.
 */
export async function importSourceFiles(
  db: Database,
  files: SourceFiles,
  options: ImportOptions = {},
): Promise<ImportOutcome> {
  const started = performance.now();
  const contentHash = await hashSourceFiles(files);
  const seconds = () => (performance.now() - started) / 1000;
  const nothing = countChanges([]);
  if (!options.force) {
    const [active] = await queryRows<{ id: number; counts: Record<string, number> }>(
      db,
      sql`SELECT id, counts FROM rep_snapshots WHERE active AND content_hash = ${contentHash}`,
    );
    if (active)
      return {
        snapshotId: Number(active.id),
        unchanged: true,
        counts: active.counts,
        changes: nothing,
        held: 0,
        seconds: seconds(),
      };
  }
  const snapshot = await buildSnapshot(files, { asOf: options.asOf, progress: options.progress });
  if (!options.force) {
    const [active] = await queryRows<{ counts: Record<string, number> }>(
      db,
      sql`SELECT counts FROM rep_snapshots WHERE active`,
    );
    if (active) refuseImplausible(files.congress, active.counts, snapshot.counts);
  }
  options.progress?.('saving', 1, 1);
  let changes = nothing;
  let held = 0;
  const saved = await saveSnapshot(
    db,
    snapshot,
    contentHash,
    options.force,
    async (tx, { previousId, snapshotId }) => {
      // A first import has nothing to compare with: everyone would be "added".
      if (previousId === null) return;
      const compared = compareOfficials(
        await snapshotOfficials(tx, previousId),
        snapshot.officials,
      );
      await recordChanges(tx, snapshotId, compared.changes);
      changes = countChanges(compared.changes);
      if (options.onDeparted && compared.departed.length > 0)
        held = await options.onDeparted(tx, compared.departed);
    },
  );
  return {
    ...saved,
    counts: snapshot.counts,
    changes: saved.unchanged ? nothing : changes,
    held,
    seconds: seconds(),
  };
}

/** The offices whose number of officials an import may not cut by much without `--force`. */
const GUARDED_COUNTS: Array<[key: string, what: string]> = [
  ['usHouse', 'members of the House'],
  ['usSenate', 'senators'],
  ['stateUpper', 'state senators'],
  ['stateLower', 'state representatives'],
  ['governors', 'governors'],
];

/**
 * Refuses new data that would drop a tenth or more of any office's officials at once (and at least
 * three): a truncated download, an empty mirror, or a publisher that has not yet added
 * the terms that began today would otherwise leave hundreds of seats "vacant" and hold every
 * letter to them. Real turnover is far smaller between refreshes; a deliberate import of such
 * data takes `--force`.
 */
function refuseImplausible(
  file: string,
  before: Record<string, number>,
  after: Record<string, number>,
): void {
  const cuts = GUARDED_COUNTS.flatMap(([key, what]) => {
    const was = before[key] ?? 0;
    const now = after[key] ?? 0;
    return was - now >= Math.max(3, Math.ceil(was * 0.1)) ? [`${what} from ${was} to ${now}`] : [];
  });
  if (cuts.length > 0) {
    throw new DataError(
      file,
      'officials',
      `would cut ${cuts.join(', ')} at once; nothing was imported (import with --force if the data is right)`,
    );
  }
}

/**
 * Runs an import (or a refresh) while holding IMPORT_LOCK, waiting for one in progress elsewhere:
 * imports run one at a time across every process. Holding it also means none is in progress, so
 * what an import left when its process died is cleared first: its unfinished snapshot, and its
 * refresh record, which is closed as interrupted.
 */
export async function withImportLock<T>(
  ctx: { db: Database; database: Pick<DatabaseHandle, 'lock'> },
  work: () => Promise<T>,
): Promise<T> {
  const lock = await ctx.database.lock(IMPORT_LOCK, { wait: true });
  try {
    await deleteAbandonedSnapshots(ctx.db);
    await closeInterruptedRefreshes(ctx.db);
    return await work();
  } finally {
    await lock?.release();
  }
}
