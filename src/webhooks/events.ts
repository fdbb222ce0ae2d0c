import { sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import { letterActionsOfAddress, outreachToAnnounce } from '../letters/letter-store';
import { signatureIdentifier, signatureRef, outreachIdentifier } from '../osdi/identifiers';
import {
  confirmedSignatureToAnnounce,
  signaturesOfAddressEverywhere,
  signaturesToAnnounce,
} from '../petitions/signature-store';
import { consentsEverGiven } from '../privacy/consent';

/**
 * Raising webhook events: each writes one outbox row (`webhook_items`) per subscription that is to
 * hear of it, in the transaction that made the event, so an event is sent if and only if what it
 * tells of was committed. The delivery worker reads the rows and sends them (jobs/deliver-webhooks.ts).
 *
 * - `signature`: when a signature is first counted (the tally batch, in its transaction; see
 *   petitions/tallies.ts), or, in a campaign that asks signers to confirm their address, when it is
 *   both counted and confirmed. A partner's subscription hears only of signers who agreed to hear
 *   from that partner.
 * - `outreach`: when a supporter's letters are written (letters/write-letters.ts).
 * - `person.erased`: when a supporter has their data erased (privacy/erasure.ts), before it goes,
 *   to every subscription that was told of them.
 */

type Tx = Pick<Database, 'execute'>;

/** Subscriptions that got new rows, and how many each: the caller wakes their delivery once committed. */
export type Raised = Map<number, number>;

const raisedOf = (rows: Array<{ subscription_id: number; n: number | string }>): Raised =>
  new Map(rows.map((row) => [Number(row.subscription_id), Number(row.n)]));

/**
 * Signature events for the signatures of a campaign that `ids` selects (a subquery of signature
 * ids), at the moment they are counted. Only those a subscription may see: confirmed where the
 * campaign asks for it, and for a partner's subscription, those with that partner's consent.
 */
export async function raiseSignatureEvents(tx: Tx, campaignId: number, ids: SQL): Promise<Raised> {
  const rows = await queryRows<{ subscription_id: number; n: number }>(
    tx,
    sql`WITH raised AS (
          INSERT INTO webhook_items (subscription_id, event, signature_id)
          SELECT w.id, 'signature', s.id
          FROM webhook_subscriptions w
          CROSS JOIN LATERAL (${signaturesToAnnounce(campaignId, ids, sql`w.partner_id`)}) s
          WHERE w.campaign_id = ${campaignId}::int AND w.status = 'active' AND 'signature' = ANY(w.events)
          ORDER BY w.id, s.id
          RETURNING subscription_id
        )
        SELECT subscription_id, count(*)::int AS n FROM raised GROUP BY subscription_id`,
  );
  return raisedOf(rows);
}

/** Signature events for one signature just confirmed, in a campaign that asks signers to confirm, once it is counted. */
export async function raiseConfirmedSignature(
  tx: Tx,
  campaignId: number,
  signatureId: number,
): Promise<Raised> {
  // In a campaign that does not ask signers to confirm, the tally announced it already.
  return raiseSignatureEvents(tx, campaignId, confirmedSignatureToAnnounce(signatureId));
}

/**
 * An outreach event for a letter action just written (call it last in its transaction: a partner's
 * subscription hears of it only if the writer's signature carries that partner's consent).
 */
export async function raiseOutreachEvents(
  tx: Tx,
  campaignId: number,
  letterActionId: number,
): Promise<Raised> {
  const rows = await queryRows<{ subscription_id: number; n: number }>(
    tx,
    sql`WITH raised AS (
          INSERT INTO webhook_items (subscription_id, event, letter_action_id)
          SELECT w.id, 'outreach', a.id
          FROM webhook_subscriptions w
          CROSS JOIN LATERAL (${outreachToAnnounce(campaignId, letterActionId, sql`w.partner_id`)}) a
          WHERE w.campaign_id = ${campaignId}::int
            AND w.status = 'active' AND w.kind = 'webhook' AND 'outreach' = ANY(w.events)
          RETURNING subscription_id
        )
        SELECT subscription_id, count(*)::int AS n FROM raised GROUP BY subscription_id`,
  );
  return raisedOf(rows);
}

/** What a `person.erased` row holds, sealed: what its receiver may be told of the erased person. */
export interface ErasedPerson {
  /** The identifiers the receiver was given: the signature's, the outreaches'. */
  identifiers: string[];
  /** The address, only to a receiver that was given it (it needs it to find the person). */
  email: string | null;
  erasedAt: string;
  /** Action Network: its URLs of the signatures to delete. */
  remoteUrls?: string[];
}

/**
 * `person.erased` events for an address about to be erased, in every campaign: to each webhook
 * subscription that was told of the person (a campaign's, of everyone; a partner's, of those who
 * agreed to hear from it, even if they later withdrew: the partner may still hold what it was
 * sent), and to each Action Network push that recorded their signature (the erasure is forwarded
 * there: see jobs/deliver-webhooks.ts). Written before the erasure; returns the subscriptions to wake.
 */
export async function raisePersonErased(
  ctx: Pick<AppContext, 'db' | 'encryption' | 'config'>,
  email: string,
): Promise<Raised> {
  const hash = ctx.encryption.emailHash(email);
  const signed = await signaturesOfAddressEverywhere(ctx.db, hash);
  const written = await letterActionsOfAddress(ctx.db, hash);
  const campaigns = [...new Set([...signed, ...written].map((record) => record.campaignId))];
  if (campaigns.length === 0) return new Map();
  const consented = await consentsEverGiven(
    ctx.db,
    signed.map((signature) => signature.id),
  );
  const subscriptions = await queryRows<{
    id: number;
    kind: 'webhook' | 'action-network';
    partner_id: number | null;
    campaign_id: number;
  }>(
    ctx.db,
    sql`SELECT id, kind, partner_id, campaign_id FROM webhook_subscriptions
        WHERE status = 'active' AND 'person.erased' = ANY(events) AND campaign_id = ANY(${`{${campaigns.join(',')}}`}::int[])
        ORDER BY id`,
  );
  const candidates = subscriptions.map((subscription) => {
    const campaignId = Number(subscription.campaign_id);
    const partnerId = subscription.partner_id === null ? null : Number(subscription.partner_id);
    const signature = signed.find((row) => row.campaignId === campaignId);
    const gave = (scope: 'campaign' | 'partner') =>
      signature !== undefined &&
      consented.some(
        (consent) =>
          consent.signatureId === signature.id &&
          consent.scope === scope &&
          (scope === 'campaign' || consent.partnerId === partnerId),
      );
    const outreaches = written
      .filter((action) => action.campaignId === campaignId)
      .map((action) => action.id);
    return {
      subscriptionId: Number(subscription.id),
      kind: subscription.kind,
      partnerId,
      campaignId,
      signed: signature !== undefined,
      // The address went to this receiver: a partner's, with its consent (withdrawn since or not);
      // a campaign's, with the campaign's.
      emailSeen:
        signature !== undefined &&
        (partnerId === null ? signature.optIn || gave('campaign') : gave('partner')),
      outreaches,
    };
  });
  const erasedAt = new Date().toISOString();
  const rows: Array<{ subscriptionId: number; payload: Buffer }> = [];
  for (const candidate of candidates) {
    const { campaignId, subscriptionId } = candidate;
    const ref = signatureRef(ctx.config.secret, campaignId, email);
    if (candidate.kind === 'action-network') {
      const records = await queryRows<{ remote_url: string }>(
        ctx.db,
        sql`SELECT remote_url FROM action_network_records WHERE subscription_id = ${subscriptionId}::int AND signature_ref = ${ref}`,
      );
      if (records.length === 0) continue;
      const person: ErasedPerson = {
        identifiers: [signatureIdentifier(ref)],
        email: null,
        erasedAt,
        remoteUrls: records.map((record) => record.remote_url),
      };
      rows.push({
        subscriptionId,
        payload: ctx.encryption.seal('webhook_items.payload', JSON.stringify(person)),
      });
      continue;
    }
    // A partner's receiver was told only of those who gave that partner their consent.
    if (candidate.partnerId !== null && !candidate.emailSeen) continue;
    const identifiers = [
      ...(candidate.signed ? [signatureIdentifier(ref)] : []),
      ...candidate.outreaches.map((id) => outreachIdentifier(id)),
    ];
    const person: ErasedPerson = {
      identifiers,
      email: candidate.emailSeen ? email : null,
      erasedAt,
    };
    rows.push({
      subscriptionId,
      payload: ctx.encryption.seal('webhook_items.payload', JSON.stringify(person)),
    });
  }
  if (rows.length === 0) return new Map();
  await ctx.db.execute(sql`
    INSERT INTO webhook_items (subscription_id, event, payload)
    VALUES ${sql.join(
      rows.map((row) => sql`(${row.subscriptionId}::int, 'person.erased', ${row.payload}::bytea)`),
      sql`, `,
    )}`);
  const raised: Raised = new Map();
  for (const row of rows) raised.set(row.subscriptionId, (raised.get(row.subscriptionId) ?? 0) + 1);
  return raised;
}
