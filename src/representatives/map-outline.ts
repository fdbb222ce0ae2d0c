import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { buildMapOutline, OUTLINE_VERSION, type MapOutline } from '../graphics/district-map';
import {
  activeSnapshotId,
  saveMapOutline,
  snapshotDistrictShapes,
  snapshotMapOutline,
} from './store';

/**
 * The map outline of a snapshot: the one its import stored, or, for a snapshot imported before
 * outlines were kept (or by another version of the map's layout), one built now from its
 * congressional districts and stored for next time.
 */
export async function loadMapOutline(db: Database, snapshotId: number): Promise<MapOutline> {
  const stored = await snapshotMapOutline(db, snapshotId);
  if (isCurrentOutline(stored)) return stored;
  const outline = buildMapOutline(await snapshotDistrictShapes(db, snapshotId, 'cd'));
  await saveMapOutline(db, snapshotId, outline);
  return outline;
}

const isCurrentOutline = (value: unknown): value is MapOutline =>
  typeof value === 'object' &&
  value !== null &&
  (value as { version?: unknown }).version === OUTLINE_VERSION &&
  Array.isArray((value as { districts?: unknown }).districts);

/**
 * The outline of the active snapshot, read on first use and again after an import activates a
 * new snapshot; requests meanwhile share the one read.
 */
export class DistrictMapCache {
  private cached: { snapshotId: number; outline: Promise<MapOutline> } | undefined;

  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
  ) {}

  async outline(): Promise<MapOutline | null> {
    const snapshotId = await activeSnapshotId(this.db);
    if (snapshotId === null) return null;
    if (this.cached?.snapshotId !== snapshotId) {
      const started = performance.now();
      const outline = loadMapOutline(this.db, snapshotId).then((loaded) => {
        this.logger?.info(
          {
            snapshot: snapshotId,
            districts: loaded.districts.length,
            points: loaded.points,
            ms: Math.round(performance.now() - started),
          },
          'district map loaded',
        );
        return loaded;
      });
      const entry = { snapshotId, outline };
      this.cached = entry;
      outline.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
    }
    return this.cached.outline;
  }
}
