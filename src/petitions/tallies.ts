import { lockCampaign } from '../campaigns/directory';
import type { Database } from '../db/client';
import { raiseSignatureEvents, type Raised } from '../webhooks/events';
import {
  campaignsWithUntallied,
  countSignatures,
  fillDistricts as fillDistrictsOf,
  idList,
  markAllTallied,
  recountTallied,
  signaturesWithoutDistricts,
  untalliedSignatures,
  type DistrictAssignment,
} from './signature-store';

export { campaignsWithUntallied };

export const TALLY_BATCH_SIZE = 2000;

/** The districts (Census GEOIDs) of a ZIP code, from the representative data; undefined without it. */
export type DistrictsOfZip = (
  zip: string,
) => { cd: string | null; sldu: string | null; sldl: string | null } | undefined;

/** Each signature's districts, from its ZIP code. */
function assignments(
  rows: Array<{ id: number; zip: string }>,
  districtsOf: DistrictsOfZip | undefined,
): DistrictAssignment[] {
  return rows.map(({ id, zip }) => {
    const districts = districtsOf?.(zip.slice(0, 5));
    return {
      id,
      cd: districts?.cd ?? null,
      sldu: districts?.sldu ?? null,
      sldl: districts?.sldl ?? null,
    };
  });
}

/** Told, after each commit, which webhook subscriptions got events (so their delivery can be woken). */
export type OnRaised = (raised: Raised) => void;

/**
 * Adds one campaign's untallied signatures to its counts, in batches. Each batch marks its
 * signatures tallied, fills their districts from their ZIP codes (when representative data is
 * loaded), adds them to the counts and raises their webhook events (webhooks/events.ts) in one
 * transaction, so a signature is counted, and announced, exactly once however often jobs run,
 * fail or overlap. Returns how many were added.
 */
export async function tallyCampaign(
  db: Database,
  campaignId: number,
  options: { batchSize?: number; districtsOf?: DistrictsOfZip; onRaised?: OnRaised } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? TALLY_BATCH_SIZE;
  let total = 0;
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      if (!(await lockCampaign(tx, campaignId)))
        return { picked: 0, added: 0, raised: new Map() as Raised };
      const picked = await untalliedSignatures(tx, campaignId, batchSize);
      if (picked.length === 0) return { picked: 0, added: 0, raised: new Map() as Raised };
      const added = await countSignatures(tx, campaignId, assignments(picked, options.districtsOf));
      const raised = await raiseSignatureEvents(
        tx,
        campaignId,
        idList(picked.map((row) => row.id)),
      );
      return { picked: picked.length, added, raised };
    });
    if (batch.raised.size > 0) options.onRaised?.(batch.raised);
    total += batch.added;
    if (batch.picked < batchSize) return total;
  }
}

/**
 * Fills the districts of a campaign's signatures that have none (signed before representative
 * data was imported, or under an older snapshot that lacked their ZIP) and recounts the campaign,
 * in one transaction: a crash in between cannot leave districts filled but not counted.
 * Returns how many signatures got districts.
 */
export async function assignMissingDistricts(
  db: Database,
  campaignId: number,
  districtsOf: DistrictsOfZip,
  onRaised?: OnRaised,
): Promise<number> {
  const { filled, raised } = await db.transaction(async (tx) => {
    if (!(await lockCampaign(tx, campaignId))) return { filled: 0, raised: new Map() as Raised };
    const filled = await fillDistricts(tx, campaignId, districtsOf, 'all');
    return {
      filled,
      raised: filled > 0 ? (await recount(tx, campaignId)).raised : (new Map() as Raised),
    };
  });
  if (raised.size > 0) onRaised?.(raised);
  return filled;
}

/** Gives districts to the campaign's signatures that have none: all of them, or only those not yet counted. */
async function fillDistricts(
  tx: Database,
  campaignId: number,
  districtsOf: DistrictsOfZip,
  which: 'all' | 'untallied',
) {
  let filled = 0;
  let after = 0;
  for (;;) {
    const rows = await signaturesWithoutDistricts(tx, campaignId, which, after, TALLY_BATCH_SIZE);
    if (rows.length === 0) return filled;
    after = rows[rows.length - 1]!.id;
    filled += await fillDistrictsOf(tx, assignments(rows, districtsOf));
  }
}

/**
 * Recomputes a campaign's counts exactly from its signatures, replacing what was there, plus what
 * erased signatures had contributed (`erased_signature_counts`): an erasure never lowers a count.
 * With `districtsOf`, signatures it is about to count for the first time get their districts too.
 */
export async function rebuildTallies(
  db: Database,
  campaignId: number,
  options: { districtsOf?: DistrictsOfZip; onRaised?: OnRaised } = {},
): Promise<number> {
  const { total, raised } = await db.transaction(async (tx) => {
    if (!(await lockCampaign(tx, campaignId))) return { total: 0, raised: new Map() as Raised };
    if (options.districtsOf) await fillDistricts(tx, campaignId, options.districtsOf, 'untallied');
    return recount(tx, campaignId);
  });
  if (raised.size > 0) options.onRaised?.(raised);
  return total;
}

/**
 * Marks every signature tallied and counts them all again; the caller holds the campaign lock.
 * Signatures counted here for the first time raise their webhook events, as a tally batch does.
 */
async function recount(
  tx: Pick<Database, 'execute'>,
  campaignId: number,
): Promise<{ total: number; raised: Raised }> {
  const marked = await markAllTallied(tx, campaignId);
  const raised =
    marked.length > 0
      ? await raiseSignatureEvents(tx, campaignId, idList(marked))
      : (new Map() as Raised);
  return { total: await recountTallied(tx, campaignId), raised };
}
