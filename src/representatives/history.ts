import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import type { OfficeKind, RepChangeKind } from '../db/schema';
import type { OfficialChange } from './changes';
import { chunks, type Tx } from './store';

/**
 * The record of how the representative data changed: each refresh (`rep_refreshes`: when, from
 * where, what came of it) and each change an import brought (`rep_changes`), for the staff console.
 */

export type RefreshOutcome = 'imported' | 'unchanged' | 'failed';

export interface RefreshRecord {
  id: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** None while it runs, or when its process stopped before it could say (see `closeInterruptedRefreshes`). */
  outcome: RefreshOutcome | null;
  source: string;
  snapshotId: number | null;
  error: string | null;
}

export interface ChangeRecord {
  id: number;
  at: Date;
  snapshotId: number;
  kind: RepChangeKind;
  office: OfficeKind;
  state: string;
  district: string | null;
  personId: string | null;
  name: string | null;
  details: Record<string, unknown>;
}

/** Writes an import's changes, in its switch transaction. */
export async function recordChanges(
  tx: Tx,
  snapshotId: number,
  changes: OfficialChange[],
): Promise<void> {
  for (const rows of chunks(changes, 500)) {
    await tx.execute(sql`
      INSERT INTO rep_changes (snapshot_id, kind, office, state, district, person_id, name, details)
      SELECT ${snapshotId}::int, c.kind, c.office, c.state, c.district, c.person_id, c.name, c.details
      FROM jsonb_to_recordset(${JSON.stringify(
        rows.map((change) => ({
          kind: change.kind,
          office: change.office,
          state: change.state,
          district: change.district,
          person_id: change.personId,
          name: change.name,
          details: change.details,
        })),
      )}::jsonb) AS c(kind text, office text, state text, district text, person_id text, name text, details jsonb)`);
  }
}

/** Records that a refresh has started; returns its id. */
export async function startRefresh(db: Database, source: string): Promise<number> {
  const [row] = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO rep_refreshes (source) VALUES (${source}) RETURNING id`,
  );
  return Number(row!.id);
}

export async function finishRefresh(
  db: Database,
  id: number,
  result: { outcome: RefreshOutcome; snapshotId?: number | null; error?: string | null },
): Promise<void> {
  await db.execute(sql`
    UPDATE rep_refreshes SET finished_at = now(), outcome = ${result.outcome}, snapshot_id = ${result.snapshotId ?? null}::int, error = ${result.error ?? null}
    WHERE id = ${id}::bigint`);
}

/**
 * Closes the refreshes that never finished: their process stopped during them. Only while holding
 * IMPORT_LOCK (under which every refresh runs), when none can be running.
 */
export async function closeInterruptedRefreshes(db: Database): Promise<number> {
  const closed = await queryRows<{ id: number }>(
    db,
    sql`UPDATE rep_refreshes SET finished_at = now(), outcome = 'failed', error = 'interrupted: the process running it stopped'
        WHERE outcome IS NULL RETURNING id`,
  );
  return closed.length;
}

export async function recentRefreshes(db: Database, limit: number): Promise<RefreshRecord[]> {
  const rows = await queryRows<{
    id: number;
    started_at: Date | string;
    finished_at: Date | string | null;
    outcome: RefreshOutcome | null;
    source: string;
    snapshot_id: number | null;
    error: string | null;
  }>(
    db,
    sql`SELECT id, started_at, finished_at, outcome, source, snapshot_id, error FROM rep_refreshes ORDER BY started_at DESC, id DESC LIMIT ${limit}::int`,
  );
  return rows.map((row) => ({
    id: Number(row.id),
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at ? new Date(row.finished_at) : null,
    outcome: row.outcome,
    source: row.source,
    snapshotId: row.snapshot_id === null ? null : Number(row.snapshot_id),
    error: row.error,
  }));
}

/** When the publishers' files were last fetched and found sound (imported, or unchanged). */
export async function lastGoodRefresh(db: Database): Promise<Date | null> {
  const [row] = await queryRows<{ at: Date | string | null }>(
    db,
    sql`SELECT max(finished_at) AS at FROM rep_refreshes WHERE outcome IN ('imported', 'unchanged')`,
  );
  return row?.at ? new Date(row.at) : null;
}

export async function recentChanges(db: Database, limit: number): Promise<ChangeRecord[]> {
  const rows = await queryRows<{
    id: number;
    at: Date | string;
    snapshot_id: number;
    kind: RepChangeKind;
    office: OfficeKind;
    state: string;
    district: string | null;
    person_id: string | null;
    name: string | null;
    details: Record<string, unknown>;
  }>(
    db,
    sql`SELECT id, at, snapshot_id, kind, office, state, district, person_id, name, details FROM rep_changes ORDER BY at DESC, id ASC LIMIT ${limit}::int`,
  );
  return rows.map((row) => ({
    id: Number(row.id),
    at: new Date(row.at),
    snapshotId: Number(row.snapshot_id),
    kind: row.kind,
    office: row.office,
    state: row.state,
    district: row.district,
    personId: row.person_id,
    name: row.name,
    details: row.details,
  }));
}
