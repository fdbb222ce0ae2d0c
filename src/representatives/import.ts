import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { buildSnapshot, type ProgressReporter } from './snapshot';
import { findSourceFiles, hashSourceFiles } from './sources';
import { saveSnapshot } from './store';

export interface ImportOutcome {
  snapshotId: number;
  /** The files were those of the active snapshot: nothing was written. */
  unchanged: boolean;
  counts: Record<string, number>;
  seconds: number;
}

/**
 * Imports the representative data in `dir` (laid out as the publishers name their files) as the
 * new active snapshot. Everything is read and checked before anything is written; a bad file
 * stops the import with a `DataError` and leaves the previous snapshot as it was.
 */
export async function importRepresentativeData(
  db: Database,
  dir: string,
  options: { force?: boolean; asOf?: string; progress?: ProgressReporter } = {},
): Promise<ImportOutcome> {
  const started = performance.now();
  const files = findSourceFiles(dir);
  const contentHash = await hashSourceFiles(files);
  if (!options.force) {
    const [active] = await queryRows<{ id: number; counts: Record<string, number> }>(
      db,
      sql`SELECT id, counts FROM rep_snapshots WHERE active AND content_hash = ${contentHash}`,
    );
    if (active) return { snapshotId: Number(active.id), unchanged: true, counts: active.counts, seconds: (performance.now() - started) / 1000 };
  }
  const snapshot = await buildSnapshot(files, { asOf: options.asOf, progress: options.progress });
  options.progress?.('saving', 1, 1);
  const saved = await saveSnapshot(db, snapshot, contentHash, options.force);
  return { ...saved, counts: snapshot.counts, seconds: (performance.now() - started) / 1000 };
}
