import type { Database } from '../db/client';
import type { CustomTarget } from '../db/schema';
import type { Logger } from '../logger';
import { listCustomTargets } from './custom-targets';
import { RepresentativeData } from './districts';
import { activeSnapshotId, loadActiveSnapshot } from './store';

const CUSTOM_TARGETS_TTL_MS = 10_000;

/**
 * Holds the active representative data in memory for this process, and swaps in a new snapshot
 * when an import has activated one (checked on `refresh`, which the platform runs on a timer).
 * Lookups keep using the old data while a new one loads.
 */
export class RepresentativeDirectory {
  private data: RepresentativeData | null = null;
  private refreshing: Promise<RepresentativeData | null> | undefined;
  private readonly targets = new Map<number, { at: number; targets: Promise<CustomTarget[]> }>();
  private readonly listeners: Array<(data: RepresentativeData) => void> = [];

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  get current(): RepresentativeData | null {
    return this.data;
  }

  /** Loads the active snapshot when it is not the one in memory; concurrent calls share one load. */
  refresh(): Promise<RepresentativeData | null> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(): Promise<RepresentativeData | null> {
    const id = await activeSnapshotId(this.db);
    if (id === this.data?.snapshotId || (id === null && this.data === null)) return this.data;
    const started = performance.now();
    const snapshot = await loadActiveSnapshot(this.db);
    this.data = snapshot ? new RepresentativeData(snapshot) : null;
    if (this.data) {
      this.logger.info(
        { snapshot: this.data.snapshotId, ms: Math.round(performance.now() - started) },
        'representative data loaded',
      );
      for (const listener of this.listeners) listener(this.data);
    }
    return this.data;
  }

  /** Calls `listener` with each snapshot loaded from now on. */
  onChange(listener: (data: RepresentativeData) => void): void {
    this.listeners.push(listener);
  }

  districtsOfZip(zip: string) {
    return this.data?.primaryDistricts(zip);
  }

  /** Forgets a campaign's cached custom targets, after staff changed them. */
  forgetCustomTargets(campaignId: number): void {
    this.targets.delete(campaignId);
  }

  /** A campaign's custom targets, cached for a few seconds (staff edits show up shortly after). */
  customTargets(campaignId: number): Promise<CustomTarget[]> {
    const cached = this.targets.get(campaignId);
    if (cached && Date.now() - cached.at < CUSTOM_TARGETS_TTL_MS) return cached.targets;
    const targets = listCustomTargets(this.db, campaignId);
    this.targets.set(campaignId, { at: Date.now(), targets });
    targets.catch(() => this.targets.delete(campaignId));
    return targets;
  }
}
