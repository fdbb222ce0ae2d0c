import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import type { Database } from '../db/client';
import { campaignsClosedFor, lockCampaign } from '../campaigns/directory';
import {
  campaignHoldsLetterActions,
  eraseLetterActionBatch,
  type LetterActionsToErase,
} from '../letters/letter-store';
import {
  campaignHoldsSignatures,
  campaignOfSignature,
  campaignsSignedBy,
  deleteSignatureUncounted,
  eraseSignatureBatch,
  markVerified,
  verificationOf,
  type SignaturesToErase,
} from '../petitions/signature-store';
import { tallyCampaign, type DistrictsOfZip } from '../petitions/tallies';
import { raiseConfirmedSignature, raisePersonErased } from '../webhooks/events';

/**
 * Removing supporters' personal data. Two different acts:
 *
 * - **"This wasn't me"** (`removeSignature`): the signature should never have existed. It is
 *   deleted and taken out of every count.
 * - **Erasure** (`erasePerson`, on the supporter's request; `purgeCampaign`, by the retention
 *   rule): the person's data goes, their support stays counted. Signatures are deleted outright
 *   (with their consents and IP hashes); what each contributed to the counts is added to
 *   `erased_signature_counts` in the same statement, so the counts do not move, and a rebuild,
 *   which adds those rows to what it counts from the signatures left, gives the same numbers.
 *   Letter actions are deleted with their letters and delivery attempts; letters still waiting to
 *   be sent are withdrawn (taken out of the letter counts: they will never go), while delivered,
 *   failed and hand-delivery letters stay counted.
 *
 * Each change to the counts runs under the campaign's row lock, like tally batches and rebuilds,
 * so it is applied exactly once whatever runs alongside.
 */

export type ErasureContext = Pick<AppContext, 'db' | 'stats'> & {
  districtsOf?: DistrictsOfZip;
} & Partial<Pick<AppContext, 'webhookWakeups'>>;

/** Signatures erased per statement, and letter actions. */
const ERASE_BATCH = 2000;

/** Deletes a signature ("this wasn't me") and takes it out of the counts. Returns its campaign, or null when it is gone already. */
export async function removeSignature(
  ctx: Pick<AppContext, 'db' | 'stats'>,
  signatureId: number,
): Promise<number | null> {
  const campaignId = await ctx.db.transaction(async (tx) => {
    const campaign = await campaignOfSignature(tx, signatureId);
    if (campaign === undefined) return null;
    await lockCampaign(tx, campaign);
    return (await deleteSignatureUncounted(tx, campaign, signatureId)) ? campaign : null;
  });
  if (campaignId !== null) await ctx.stats.refresh(campaignId);
  return campaignId;
}

/** Erases a campaign's signatures (`which`), batch by batch, each batch its own transaction. */
async function eraseSignatures(
  ctx: ErasureContext,
  campaignId: number,
  which: SignaturesToErase,
): Promise<number> {
  // Signatures still waiting for the tally worker are counted first, with their districts.
  await tallyCampaign(ctx.db, campaignId, {
    districtsOf: ctx.districtsOf,
    onRaised: (raised) => ctx.webhookWakeups?.wake(raised),
  });
  let erased = 0;
  for (;;) {
    const batch = await ctx.db.transaction(async (tx) =>
      (await lockCampaign(tx, campaignId))
        ? eraseSignatureBatch(tx, campaignId, which, ERASE_BATCH)
        : 0,
    );
    erased += batch;
    if (batch < ERASE_BATCH) break;
  }
  await ctx.stats.refresh(campaignId);
  return erased;
}

/** Erases letter actions (`which`), batch by batch, each batch its own transaction. */
async function eraseLetterActions(db: Database, which: LetterActionsToErase): Promise<number> {
  let erased = 0;
  for (;;) {
    const batch = await db.transaction((tx) => eraseLetterActionBatch(tx, which, ERASE_BATCH));
    erased += batch;
    if (batch < ERASE_BATCH) return erased;
  }
}

export interface Erased {
  signatures: number;
  letterActions: number;
}

/**
 * Erases everything held about an email address, in every campaign; the counts stay as they were.
 * First, every webhook that was told of the person is told of the erasure, and every Action Network
 * petition that recorded their signature gets it deleted (webhooks/events.ts): written before the
 * erasure, so that it cannot be lost after it.
 */
export async function erasePerson(
  ctx: ErasureContext & Pick<AppContext, 'encryption' | 'config'>,
  email: string,
): Promise<Erased> {
  const hash = ctx.encryption.emailHash(email);
  const raised = await raisePersonErased(ctx, email);
  let signatures = 0;
  for (const campaignId of await campaignsSignedBy(ctx.db, hash))
    signatures += await eraseSignatures(ctx, campaignId, { emailHash: hash });
  const letterActions = await eraseLetterActions(ctx.db, { emailHash: hash });
  if (raised.size > 0) ctx.webhookWakeups?.wake(raised);
  return { signatures, letterActions };
}

/** Erases every supporter's personal data in a campaign (the retention rule); the counts stay. */
export async function purgeCampaign(ctx: ErasureContext, campaignId: number): Promise<Erased> {
  const signatures = await eraseSignatures(ctx, campaignId, 'all');
  const letterActions = await eraseLetterActions(ctx.db, { campaignId });
  return { signatures, letterActions };
}

/**
 * The retention rule: campaigns closed at least `days` days ago that still hold supporters'
 * personal data are purged. Returns what was erased, per campaign slug.
 */
export async function purgeExpiredCampaigns(
  ctx: ErasureContext,
  days: number,
  now = new Date(),
): Promise<Array<{ slug: string } & Erased>> {
  const due = await campaignsClosedFor(
    ctx.db,
    days,
    now,
    (campaignId) =>
      sql`${campaignHoldsSignatures(campaignId)} OR ${campaignHoldsLetterActions(campaignId)}`,
  );
  const purged: Array<{ slug: string } & Erased> = [];
  for (const campaign of due)
    purged.push({ slug: campaign.slug, ...(await purgeCampaign(ctx, campaign.id)) });
  return purged;
}

/**
 * Confirms a signer's email address (the verification link's button). The first confirmation
 * adds the signature to the `verified` count, once: the signature is marked and, when it is
 * already counted, the count raised in the same transaction, under the campaign lock (a signature
 * not yet counted is counted as verified by the tally batch that picks it up).
 */
export async function verifySignature(
  ctx: Pick<AppContext, 'db' | 'stats'> & Partial<Pick<AppContext, 'webhookWakeups'>>,
  signatureId: number,
): Promise<'verified' | 'already' | 'gone'> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const found = await verificationOf(tx, signatureId);
    if (!found) return { result: 'gone' as const };
    if (found.verified) return { result: 'already' as const };
    const campaignId = found.campaignId;
    await lockCampaign(tx, campaignId);
    const marked = await markVerified(tx, campaignId, signatureId);
    if (!marked) return { result: 'already' as const };
    // In a campaign that asks signers to confirm, a counted signature is announced once confirmed (an uncounted one, when counted).
    const raised = marked.tallied
      ? await raiseConfirmedSignature(tx, campaignId, signatureId)
      : new Map<number, number>();
    return { result: 'verified' as const, campaignId, raised };
  });
  if (outcome.result === 'verified') {
    if (outcome.raised.size > 0) ctx.webhookWakeups?.wake(outcome.raised);
    await ctx.stats.refresh(outcome.campaignId);
  }
  return outcome.result;
}
