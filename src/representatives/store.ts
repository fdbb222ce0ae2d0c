import { setImmediate as nextTurn } from 'node:timers/promises';
import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { queryRows, textArray, type Database } from '../db/client';
import { copyLiteral } from '../db/copy-values';
import {
  repDistricts,
  repOfficials,
  repSnapshots,
  repZctas,
  type Channel,
  type OfficeKind,
} from '../db/schema';
import { geometryFromBytes, geometryToBytes } from './geometry';
import type { Snapshot } from './snapshot';
import { houseSeatOf, uspsByFips } from './us-states';
import type { DistrictRecord, OfficialRecord, ZctaRecord } from './sources';

/** Serialises the switch between snapshots. */
const SWITCH_LOCK = 4_216_002;
/** Held for a whole import (refresh, first-start import, `data:import`): one at a time, in all processes. */
export const IMPORT_LOCK = 4_216_003;

/** A snapshot left inactive this long was written by an import that died; the next import removes it. */
const ABANDONED_AFTER = sql`interval '1 hour'`;

export type SaveResult = { snapshotId: number; unchanged: boolean };

/** A transaction, or the database: what the switch's work runs on. */
export type Tx = Pick<Database, 'execute'>;

/**
 * Work done in the switch's transaction, before the new snapshot becomes the active one (with the
 * id of the one it replaces, if any): it is committed with the switch or not at all.
 */
export type SwitchHook = (
  tx: Tx,
  snapshots: { previousId: number | null; snapshotId: number },
) => Promise<void>;

/**
 * Writes a snapshot and makes it the active one. Its rows are written as an inactive snapshot in
 * many short statements, so other work (signatures, in the one-connection embedded database)
 * goes on meanwhile; then one short transaction makes it the active one and deletes the one it
 * replaces. Readers only read the active snapshot, so they see the old data or the new, never
 * half of each; a failure deletes what was written and leaves the old one in place. Importing the
 * files of the active snapshot again changes nothing unless `force` is set.
 */
export async function saveSnapshot(
  db: Database,
  snapshot: Snapshot,
  contentHash: string,
  force = false,
  onSwitch?: SwitchHook,
): Promise<SaveResult> {
  const [active] = await db
    .select({ id: repSnapshots.id, contentHash: repSnapshots.contentHash })
    .from(repSnapshots)
    .where(eq(repSnapshots.active, true));
  if (active && active.contentHash === contentHash && !force)
    return { snapshotId: active.id, unchanged: true };
  await db.execute(
    sql`DELETE FROM rep_snapshots WHERE NOT active AND imported_at < now() - ${ABANDONED_AFTER}`,
  );

  const [created] = await db
    .insert(repSnapshots)
    .values({
      contentHash,
      sources: snapshot.sources,
      counts: snapshot.counts,
      mapOutline: snapshot.mapOutline,
    })
    .returning({ id: repSnapshots.id });
  const snapshotId = created!.id;
  try {
    for (const rows of chunks(snapshot.officials, 500)) {
      await db.insert(repOfficials).values(rows.map((official) => ({ snapshotId, ...official })));
      await nextTurn();
    }
    for (const rows of chunks(snapshot.districts, 50)) {
      await db.insert(repDistricts).values(
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
      await nextTurn();
    }
    for (const rows of chunks(snapshot.zctas, 1000)) {
      await db.insert(repZctas).values(rows.map((zcta) => ({ snapshotId, ...zcta })));
      await nextTurn();
    }
    await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${SWITCH_LOCK}::bigint)`);
      const [previous] = await queryRows<{ id: number }>(
        tx,
        sql`SELECT id FROM rep_snapshots WHERE active`,
      );
      await onSwitch?.(tx, { previousId: previous ? Number(previous.id) : null, snapshotId });
      await tx.execute(sql`DELETE FROM rep_snapshots WHERE active`);
      // The new snapshot must still be there (nothing else may have removed it as abandoned):
      // otherwise the transaction is undone, and the data in use stays.
      const switched = await tx
        .update(repSnapshots)
        .set({ active: true })
        .where(eq(repSnapshots.id, snapshotId))
        .returning({ id: repSnapshots.id });
      if (switched.length === 0)
        throw new Error(
          'the new representative data snapshot was removed while it was written; the data in use is unchanged',
        );
    });
  } catch (error) {
    await db
      .delete(repSnapshots)
      .where(eq(repSnapshots.id, snapshotId))
      .catch(() => undefined);
    throw error;
  }
  return { snapshotId, unchanged: false };
}

/**
 * Deletes every inactive snapshot: those an import left when its process died. Only while holding
 * IMPORT_LOCK, when no import can be writing one.
 */
export async function deleteAbandonedSnapshots(db: Database): Promise<number> {
  const deleted = await queryRows<{ id: number }>(
    db,
    sql`DELETE FROM rep_snapshots WHERE NOT active RETURNING id`,
  );
  return deleted.length;
}

/** The officials of a snapshot, as a comparison with the next one needs them. */
export async function snapshotOfficials(
  tx: Tx,
  snapshotId: number,
): Promise<
  Array<Pick<OfficialRecord, 'personId' | 'office' | 'state' | 'district' | 'name' | 'channels'>>
> {
  const rows = await queryRows<{
    person_id: string;
    office: OfficialRecord['office'];
    state: string;
    district: string | null;
    name: string;
    channels: OfficialRecord['channels'];
  }>(
    tx,
    sql`SELECT person_id, office, state, district, name, channels FROM rep_officials WHERE snapshot_id = ${snapshotId}::int`,
  );
  return rows.map((row) => ({
    personId: row.person_id,
    office: row.office,
    state: row.state,
    district: row.district,
    name: row.name,
    channels: row.channels,
  }));
}

export function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export interface StoredSnapshot extends Omit<Snapshot, 'mapOutline'> {
  id: number;
  importedAt: Date;
}

/** The id of the active snapshot, cheaply, to tell whether the loaded data is still current. */
export async function activeSnapshotId(db: Database): Promise<number | null> {
  const [row] = await queryRows<{ id: number }>(db, sql`SELECT id FROM rep_snapshots WHERE active`);
  return row ? Number(row.id) : null;
}

/**
 * Reads the active snapshot whole, in pages so that the embedded database serves other work in
 * between. A snapshot's rows never change; they are deleted all at once, with the snapshot row,
 * when a newer snapshot replaces it. So if the snapshot row is still there after the last page,
 * every page was read whole; if it is gone, the newer snapshot is read instead.
 */
export async function loadActiveSnapshot(db: Database): Promise<StoredSnapshot | null> {
  for (;;) {
    // Not the map outline: the dashboard reads that on its own (map-outline.ts).
    const [snapshot] = await db
      .select({
        id: repSnapshots.id,
        importedAt: repSnapshots.importedAt,
        sources: repSnapshots.sources,
        counts: repSnapshots.counts,
      })
      .from(repSnapshots)
      .where(eq(repSnapshots.active, true));
    if (!snapshot) return null;
    const id = snapshot.id;
    const officials = await db.select().from(repOfficials).where(eq(repOfficials.snapshotId, id));
    const districts = await readPages(async (after, limit) => {
      const rows = await db
        .select()
        .from(repDistricts)
        .where(
          and(
            eq(repDistricts.snapshotId, id),
            gt(sql`${repDistricts.layer} || ':' || ${repDistricts.geoid}`, after),
          ),
        )
        .orderBy(asc(sql`${repDistricts.layer} || ':' || ${repDistricts.geoid}`))
        .limit(limit);
      return {
        rows,
        last:
          rows.length > 0
            ? `${rows[rows.length - 1]!.layer}:${rows[rows.length - 1]!.geoid}`
            : after,
      };
    }, 100);
    const zctas = await readPages(async (after, limit) => {
      const rows = await db
        .select()
        .from(repZctas)
        .where(and(eq(repZctas.snapshotId, id), gt(repZctas.zcta, after)))
        .orderBy(asc(repZctas.zcta))
        .limit(limit);
      return { rows, last: rows[rows.length - 1]?.zcta ?? after };
    }, 5000);
    const [stillThere] = await queryRows<{ id: number }>(
      db,
      sql`SELECT id FROM rep_snapshots WHERE id = ${id}::int`,
    );
    if (!stillThere) continue;
    return {
      id,
      importedAt: snapshot.importedAt,
      sources: snapshot.sources,
      counts: snapshot.counts,
      officials: officials.map((official): OfficialRecord => withoutSnapshot(official)),
      districts: districts.map(({ geometry, ...district }): DistrictRecord => ({
        ...withoutSnapshot(district),
        geometry: geometry ? geometryFromBytes(geometry) : null,
      })),
      zctas: zctas.map((zcta): ZctaRecord => withoutSnapshot(zcta)),
    };
  }
}

/** A stored row as the import had it: without the snapshot it belongs to. */
function withoutSnapshot<T extends { snapshotId: number }>(row: T): Omit<T, 'snapshotId'> {
  const copy: Partial<T> = { ...row };
  delete copy.snapshotId;
  return copy as Omit<T, 'snapshotId'>;
}

async function readPages<T>(
  page: (after: string, limit: number) => Promise<{ rows: T[]; last: string }>,
  limit: number,
): Promise<T[]> {
  const all: T[] = [];
  let after = '';
  for (;;) {
    const { rows, last } = await page(after, limit);
    all.push(...rows);
    if (rows.length < limit) return all;
    after = last;
    await nextTurn();
  }
}

/** The map outline stored with a snapshot at import, whatever its version (see map-outline.ts). */
export async function snapshotMapOutline(db: Database, id: number): Promise<unknown> {
  const [row] = await db
    .select({ mapOutline: repSnapshots.mapOutline })
    .from(repSnapshots)
    .where(eq(repSnapshots.id, id));
  return row?.mapOutline ?? null;
}

/** Keeps a map outline built later for a snapshot (one imported before outlines were kept). */
export async function saveMapOutline(
  db: Database,
  id: number,
  outline: { version: number },
): Promise<void> {
  await db.update(repSnapshots).set({ mapOutline: outline }).where(eq(repSnapshots.id, id));
}

/** A snapshot's districts of one layer with their shapes, read a page at a time. */
export async function snapshotDistrictShapes(
  db: Database,
  id: number,
  layer: DistrictRecord['layer'],
): Promise<Array<{ geoid: string; geometry: Int32Array | null }>> {
  return readPages(async (after, limit) => {
    const rows = await db
      .select({ geoid: repDistricts.geoid, geometry: repDistricts.geometry })
      .from(repDistricts)
      .where(
        and(
          eq(repDistricts.snapshotId, id),
          eq(repDistricts.layer, layer),
          gt(repDistricts.geoid, after),
        ),
      )
      .orderBy(asc(repDistricts.geoid))
      .limit(limit);
    return {
      rows: rows.map((row) => ({
        geoid: row.geoid,
        geometry: row.geometry ? geometryFromBytes(row.geometry) : null,
      })),
      last: rows[rows.length - 1]?.geoid ?? after,
    };
  }, 50);
}

/** Where a ZIP code (ZCTA) lies: its centre, and the states (FIPS codes) of its congressional districts. */
export interface ZipCentre {
  lat: number;
  lng: number;
  states: string[];
}

/**
 * The centres of these ZIP codes in the active snapshot (the scorecard's markers of places with
 * bans); a ZIP the data does not hold, or holds without a centre, is absent.
 */
export async function activeZipCentres(
  db: Database,
  zips: readonly string[],
): Promise<Map<string, ZipCentre>> {
  const wanted = [...new Set(zips)];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ zcta: repZctas.zcta, lat: repZctas.lat, lng: repZctas.lng, cd: repZctas.cd })
    .from(repZctas)
    .innerJoin(repSnapshots, eq(repSnapshots.id, repZctas.snapshotId))
    .where(and(eq(repSnapshots.active, true), inArray(repZctas.zcta, wanted)));
  return new Map(
    rows.flatMap(({ zcta, lat, lng, cd }) =>
      lat === null || lng === null
        ? []
        : [[zcta, { lat, lng, states: [...new Set(cd.map((geoid) => geoid.slice(0, 2)))] }]],
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Reads for other features: letter targets' names and postal addresses (letters/counts.ts,
// letters/hand-packets.ts), and the districts and their members that the packet covers and the
// signature exports (petitions/signature-exports.ts) join into their own statements, one statement
// each, as below. Always the active snapshot.

/** The active snapshot's id, as a scalar subquery. */
const ACTIVE_SNAPSHOT_ID = '(SELECT id FROM rep_snapshots WHERE active)';

/** An official of the active data, as the per-office reads give it. */
export interface ActiveOfficialRow {
  office: OfficeKind;
  person_id: string;
  name: string;
  state: string;
  district: string | null;
  party: string | null;
}

/** The officials of the active data that letter targets name (`office:personId`), as a letter's target key says. */
export async function activeOfficialsByTargetKey(
  db: Database,
  keys: readonly string[],
): Promise<ActiveOfficialRow[]> {
  return queryRows(
    db,
    sql`SELECT o.office, o.person_id, o.name, o.state, o.district, o.party
        FROM rep_officials o JOIN rep_snapshots s ON s.id = o.snapshot_id AND s.active
        WHERE (o.office, o.person_id) IN (
          SELECT split_part(k, ':', 1), substr(k, strpos(k, ':') + 1) FROM unnest(${textArray(keys)}::text[]) AS k)`,
  );
}

/** Where an official's constituents are, as the signature counts name it: a state, or a district's GEOID. */
export type Constituency =
  | { dimension: 'state'; key: string }
  | { dimension: 'congressional' | 'state-upper' | 'state-lower'; key: string };

/**
 * The officials of the active data, of `offices`, who represent these places: the senators and
 * governors of `states`, the House members of the congressional GEOIDs, and the legislators of the
 * seats of the state senate and house GEOIDs (several in multi-member districts, matched as the
 * lookup matches them), each with the place it was found by. One statement, whatever the count.
 */
export async function activeOfficialsRepresenting(
  db: Database,
  offices: readonly string[],
  places: {
    states: readonly string[];
    congressional: readonly string[];
    stateUpper: readonly string[];
    stateLower: readonly string[];
  },
): Promise<Array<ActiveOfficialRow & { dimension: Constituency['dimension']; key: string }>> {
  if (offices.length === 0) return [];
  const seats = places.congressional.flatMap((geoid) => {
    const usps = uspsByFips.get(geoid.slice(0, 2));
    if (!usps || !/^\d{4}$/.test(geoid)) return [];
    const seat = String(houseSeatOf(geoid));
    return [{ geoid, usps, seat }];
  });
  return queryRows(
    db,
    sql`WITH active AS (SELECT id FROM rep_snapshots WHERE active)
        SELECT o.office, o.person_id, o.name, o.state, o.district, o.party, 'state' AS dimension, o.state AS key
          FROM rep_officials o JOIN active ON o.snapshot_id = active.id
         WHERE o.office IN ('us-senate', 'governor') AND o.office = ANY(${textArray(offices)}::text[])
           AND o.state = ANY(${textArray(places.states)}::text[])
        UNION ALL
        SELECT o.office, o.person_id, o.name, o.state, o.district, o.party, 'congressional', h.geoid
          FROM unnest(${textArray(seats.map((s) => s.geoid))}::text[], ${textArray(seats.map((s) => s.usps))}::text[],
                      ${textArray(seats.map((s) => s.seat))}::text[]) AS h(geoid, usps, seat)
          JOIN rep_officials o ON o.snapshot_id = (SELECT id FROM active) AND o.office = 'us-house'
               AND o.state = h.usps AND o.district = h.seat
         WHERE 'us-house' = ANY(${textArray(offices)}::text[])
        UNION ALL
        SELECT o.office, o.person_id, o.name, o.state, o.district, o.party,
               CASE d.layer WHEN 'sldu' THEN 'state-upper' ELSE 'state-lower' END, d.geoid
          FROM rep_districts d JOIN active ON d.snapshot_id = active.id
          CROSS JOIN LATERAL jsonb_array_elements(d.seats) AS seat
          JOIN rep_officials o ON o.snapshot_id = d.snapshot_id AND o.state = d.state
               AND o.office = CASE d.layer WHEN 'sldu' THEN 'state-upper' ELSE 'state-lower' END
               AND o.district = seat->>'district'
         WHERE o.office = ANY(${textArray(offices)}::text[])
           AND ((d.layer = 'sldu' AND d.geoid = ANY(${textArray(places.stateUpper)}::text[]))
             OR (d.layer = 'sldl' AND d.geoid = ANY(${textArray(places.stateLower)}::text[])))`,
  );
}

/** The channels of the official holding `office` with the publisher's id `personId` in the active data; undefined when none does. */
export async function activeOfficialChannels(
  db: Database,
  office: string,
  personId: string,
): Promise<Channel[] | undefined> {
  const [official] = await queryRows<{ channels: Channel[] }>(
    db,
    sql`SELECT o.channels FROM rep_officials o JOIN rep_snapshots s ON s.id = o.snapshot_id AND s.active
        WHERE o.office = ${office} AND o.person_id = ${personId} LIMIT 1`,
  );
  return official?.channels;
}

/**
 * A join of the active data's district (as `d`) of `layer` whose GEOID is `geoid` (an expression
 * of the query): `LEFT JOIN ${activeDistrictJoin(…)}`; `d.name` is then its name.
 */
export const activeDistrictJoin = (layer: DistrictRecord['layer'], geoid: SQL) =>
  sql`rep_districts d ON d.snapshot_id = ${sql.raw(ACTIVE_SNAPSHOT_ID)} AND d.layer = ${layer} AND d.geoid = ${geoid}`;

// The same reads as text, for the statements of COPY, which takes no parameters: every value in
// them is a constant of this file or quoted by `copyLiteral`, and every expression passed in is
// the caller's own text (column names), never input.

/**
 * `LEFT JOIN ${activeDistrictJoinText(…)}`: the active data's district (as `d`, with its `name`,
 * `state` and `seats`) of `layer` whose GEOID is `geoid`.
 */
export const activeDistrictJoinText = (layer: DistrictRecord['layer'], geoid: string) =>
  `rep_districts d ON d.snapshot_id = ${ACTIVE_SNAPSHOT_ID} AND d.layer = ${copyLiteral(layer)} AND d.geoid = ${geoid}`;

/**
 * A subquery of `columns` (expressions over `d`: its `geoid`, `state`, `name`) of the active data's
 * district of `layer` whose GEOID is `geoid`: one row or none, so as `LEFT JOIN LATERAL (…) ON true`
 * PostgreSQL can cache it per GEOID (Memoize) while it reads rows in another order.
 */
export const activeDistrictText = (
  columns: string,
  layer: DistrictRecord['layer'],
  geoid: string,
) =>
  `SELECT ${columns} FROM rep_districts d
      WHERE d.snapshot_id = ${ACTIVE_SNAPSHOT_ID} AND d.layer = ${copyLiteral(layer)} AND d.geoid = ${geoid}`;

/** The House seat of a congressional GEOID as the officials' data writes it: `0` for at-large and delegate seats. */
const houseSeat = (geoid: string) =>
  `CASE WHEN substr(${geoid}, 3) IN ('00', '98') THEN '0' ELSE ltrim(substr(${geoid}, 3), '0') END`;

/**
 * A one-row subquery: the `names` and `parties` (each `; `-separated, in name order; null when
 * the seat is empty) of the House members in the active data holding the seat of the congressional
 * GEOID `geoid`, in the state whose USPS code is `usps`.
 */
export const houseMembersText = (geoid: string, usps: string) =>
  `SELECT string_agg(o.name, '; ' ORDER BY o.name) AS names, string_agg(coalesce(o.party, ''), '; ' ORDER BY o.name) AS parties
      FROM rep_officials o
      WHERE o.snapshot_id = ${ACTIVE_SNAPSHOT_ID} AND o.office = 'us-house' AND o.state = ${usps} AND o.district = ${houseSeat(geoid)}`;

/**
 * A one-row subquery: the `names` and `parties` (each `; `-separated, by seat, then name; null when
 * no seat is held) of the legislators of `office` holding the seats of the district `d` (from
 * `activeDistrictJoinText`): several in multi-member districts, and for Idaho's A/B seats, matched
 * as the lookup matches them.
 */
export const districtLegislatorsText = (office: 'state-upper' | 'state-lower') =>
  `SELECT string_agg(o.name, '; ' ORDER BY seat.position, o.name) AS names,
             string_agg(coalesce(o.party, ''), '; ' ORDER BY seat.position, o.name) AS parties
      FROM jsonb_array_elements(d.seats) WITH ORDINALITY AS seat(value, position)
      JOIN rep_officials o ON o.snapshot_id = d.snapshot_id AND o.office = ${copyLiteral(office)} AND o.state = d.state
        AND o.district = seat.value->>'district'`;
