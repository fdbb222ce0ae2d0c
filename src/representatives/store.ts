import { eq, sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { repDistricts, repOfficials, repSnapshots, repZctas, type DataSource } from '../db/schema';
import { geometryFromBytes, geometryToBytes } from './geometry';
import type { Snapshot } from './snapshot';
import type { DistrictRecord, OfficialRecord, ZctaRecord } from './sources';

/** Serialises imports: two at once would each try to become the active snapshot. */
const IMPORT_LOCK = 4_216_002;

export type SaveResult = { snapshotId: number; unchanged: boolean };

/**
 * Writes a snapshot and makes it the active one, in one transaction: readers see the old data or
 * the new, never half of each, and a failure leaves the old one in place. The replaced snapshot
 * is deleted in the same transaction. Importing the files of the active snapshot again changes
 * nothing unless `force` is set.
 */
export async function saveSnapshot(db: Database, snapshot: Snapshot, contentHash: string, force = false): Promise<SaveResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${IMPORT_LOCK}::bigint)`);
    const [active] = await tx.select({ id: repSnapshots.id, contentHash: repSnapshots.contentHash }).from(repSnapshots).where(eq(repSnapshots.active, true));
    if (active && active.contentHash === contentHash && !force) return { snapshotId: active.id, unchanged: true };

    const [created] = await tx
      .insert(repSnapshots)
      .values({ contentHash, sources: snapshot.sources, counts: snapshot.counts })
      .returning({ id: repSnapshots.id });
    const snapshotId = created!.id;
    for (const rows of chunks(snapshot.officials, 1000)) {
      await tx.insert(repOfficials).values(rows.map((official) => ({ snapshotId, ...official })));
    }
    for (const rows of chunks(snapshot.districts, 200)) {
      await tx.insert(repDistricts).values(
        rows.map((district) => ({
          snapshotId,
          layer: district.layer,
          geoid: district.geoid,
          state: district.state,
          name: district.name,
          seats: district.seats,
          geometry: district.geometry ? Buffer.from(geometryToBytes(district.geometry)) : null,
        })),
      );
    }
    for (const rows of chunks(snapshot.zctas, 2000)) {
      await tx.insert(repZctas).values(rows.map((zcta) => ({ snapshotId, ...zcta })));
    }
    await tx.execute(sql`DELETE FROM rep_snapshots WHERE id <> ${snapshotId}::int`);
    await tx.update(repSnapshots).set({ active: true }).where(eq(repSnapshots.id, snapshotId));
    return { snapshotId, unchanged: false };
  });
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export interface StoredSnapshot extends Snapshot {
  id: number;
  importedAt: Date;
}

/** The id of the active snapshot, cheaply, to tell whether the loaded data is still current. */
export async function activeSnapshotId(db: Database): Promise<number | null> {
  const [row] = await queryRows<{ id: number }>(db, sql`SELECT id FROM rep_snapshots WHERE active`);
  return row ? Number(row.id) : null;
}

/**
 * Reads the active snapshot whole. Its rows are read in one repeatable-read transaction, so an
 * import that commits meanwhile (and deletes these rows) is not seen half-way.
 */
export async function loadActiveSnapshot(db: Database): Promise<StoredSnapshot | null> {
  return db.transaction(
    async (tx) => {
      const [snapshot] = await tx.select().from(repSnapshots).where(eq(repSnapshots.active, true));
      if (!snapshot) return null;
      const id = snapshot.id;
      const [officials, districts, zctas] = [
        await tx.select().from(repOfficials).where(eq(repOfficials.snapshotId, id)),
        await tx.select().from(repDistricts).where(eq(repDistricts.snapshotId, id)),
        await tx.select().from(repZctas).where(eq(repZctas.snapshotId, id)),
      ];
      return {
        id,
        importedAt: snapshot.importedAt,
        sources: snapshot.sources as DataSource[],
        counts: snapshot.counts,
        officials: officials.map(({ snapshotId: _, ...official }): OfficialRecord => official),
        districts: districts.map(
          ({ snapshotId: _, geometry, ...district }): DistrictRecord => ({ ...district, geometry: geometry ? geometryFromBytes(geometry) : null }),
        ),
        zctas: zctas.map(({ snapshotId: _, ...zcta }): ZctaRecord => zcta),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
