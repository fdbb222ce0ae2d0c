import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import type { DataSource, OfficeKind } from '../db/schema';
import type { Official } from './districts';
import { lastGoodRefresh } from './history';
import { officeDescription } from './labels';

/** Data not checked against its publishers for longer than this is flagged to staff. */
export const STALE_AFTER_DAYS = 30;

const DAY_MS = 86_400_000;

export interface DataFreshness {
  snapshotId: number | null;
  importedAt: Date | null;
  sources: DataSource[];
  /**
   * When the officials were last known to be current: the import of the data in use, or a later
   * refresh that found the publishers' files unchanged (which writes no new snapshot).
   */
  checkedAt: Date | null;
  /** Whole days since `checkedAt`. */
  ageDays: number | null;
  /** Checked longer ago than STALE_AFTER_DAYS. */
  stale: boolean;
}

export async function dataFreshness(db: Database, now = new Date()): Promise<DataFreshness> {
  const [[snapshot], refreshed] = await Promise.all([
    queryRows<{ id: number; imported_at: Date | string; sources: DataSource[] }>(
      db,
      sql`SELECT id, imported_at, sources FROM rep_snapshots WHERE active`,
    ),
    lastGoodRefresh(db),
  ]);
  if (!snapshot)
    return {
      snapshotId: null,
      importedAt: null,
      sources: [],
      checkedAt: null,
      ageDays: null,
      stale: false,
    };
  const importedAt = new Date(snapshot.imported_at);
  const checkedAt = refreshed && refreshed > importedAt ? refreshed : importedAt;
  const ageDays = Math.max(0, Math.floor((now.getTime() - checkedAt.getTime()) / DAY_MS));
  return {
    snapshotId: Number(snapshot.id),
    importedAt,
    sources: snapshot.sources,
    checkedAt,
    ageDays,
    stale: ageDays > STALE_AFTER_DAYS,
  };
}

export interface EndedTerm {
  office: OfficeKind;
  personId: string;
  name: string;
  /** "U.S. Senator, CO". */
  title: string;
  termEnd: string;
}

/**
 * Officials in the data in use, in one of `offices`, whose recorded term ended before `today`
 * (`YYYY-MM-DD`): the data has not caught up with an election or a departure, and letters to them
 * may go to someone no longer in office.
 */
export async function endedTerms(
  db: Database,
  offices: readonly OfficeKind[],
  today: string,
): Promise<EndedTerm[]> {
  if (offices.length === 0) return [];
  const rows = await queryRows<{
    office: OfficeKind;
    person_id: string;
    name: string;
    state: string;
    district: string | null;
    term_end: string;
  }>(
    db,
    sql`SELECT o.office, o.person_id, o.name, o.state, o.district, o.term_end
        FROM rep_officials o JOIN rep_snapshots s ON s.id = o.snapshot_id AND s.active
        WHERE o.term_end < ${today} AND o.office IN (SELECT jsonb_array_elements_text(${JSON.stringify(offices)}::jsonb))
        ORDER BY o.term_end, o.state, o.office, o.name`,
  );
  return rows.map((row) => ({
    office: row.office,
    personId: row.person_id,
    name: row.name,
    title: seatTitle(row.office, row.state, row.district),
    termEnd: row.term_end,
  }));
}

/** An office as people name it, from its kind and seat: "State Senator, CO district 1". */
export function seatTitle(office: OfficeKind, state: string, district: string | null): string {
  const seat: Official = {
    office,
    state,
    district,
    name: null,
    party: null,
    vacant: false,
    ids: {},
    channels: [],
    source: null,
  };
  return officeDescription(seat);
}

/** What a campaign's dashboard warns of: data not checked for too long, targets whose term has ended. */
export async function dataWarnings(
  db: Database,
  offices: readonly string[],
  now = new Date(),
): Promise<{ stale: boolean; ageDays: number | null; endedTerms: number }> {
  const [freshness, ended] = await Promise.all([
    dataFreshness(db, now),
    endedTerms(
      db,
      offices.filter((office): office is OfficeKind => office !== 'custom'),
      now.toISOString().slice(0, 10),
    ),
  ]);
  return { stale: freshness.stale, ageDays: freshness.ageDays, endedTerms: ended.length };
}
