import { sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import { signatureIdentifier, signatureRef, outreachIdentifier } from '../osdi/identifiers';

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
          JOIN campaigns c ON c.id = w.campaign_id
          JOIN signatures s ON s.campaign_id = w.campaign_id
          WHERE w.campaign_id = ${campaignId}::int AND w.status = 'active' AND 'signature' = ANY(w.events)
            AND s.id IN (${ids})
            AND (NOT c.require_verification OR s.verified_at IS NOT NULL)
            AND (w.partner_id IS NULL OR EXISTS (
              SELECT 1 FROM consents k WHERE k.signature_id = s.id AND k.scope = 'partner' AND k.partner_id = w.partner_id AND k.withdrawn_at IS NULL))
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
  return raiseSignatureEvents(
    tx,
    campaignId,
    sql`SELECT s.id FROM signatures s JOIN campaigns c ON c.id = s.campaign_id WHERE s.id = ${signatureId}::bigint AND s.tallied AND c.require_verification`,
  );
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
          FROM webhook_subscriptions w JOIN letter_actions a ON a.campaign_id = w.campaign_id
          WHERE w.campaign_id = ${campaignId}::int AND a.id = ${letterActionId}::bigint
            AND w.status = 'active' AND w.kind = 'webhook' AND 'outreach' = ANY(w.events)
            AND (w.partner_id IS NULL OR EXISTS (
              SELECT 1 FROM signatures s JOIN consents k ON k.signature_id = s.id
              WHERE s.campaign_id = a.campaign_id AND s.email_hash = a.email_hash
                AND k.scope = 'partner' AND k.partner_id = w.partner_id AND k.withdrawn_at IS NULL))
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
  const candidates = await queryRows<{
    subscription_id: number;
    kind: 'webhook' | 'action-network';
    partner_id: number | null;
    campaign_id: number;
    signed: boolean;
    email_seen: boolean;
    outreaches: Array<number | string> | null;
  }>(
    ctx.db,
    sql`SELECT w.id AS subscription_id, w.kind, w.partner_id, w.campaign_id,
          s.id IS NOT NULL AS signed,
          -- The address went to this receiver: a partner's, with its consent; a campaign's, with the campaign's.
          CASE WHEN w.partner_id IS NULL THEN coalesce(s.opt_in, false) OR EXISTS (
                 SELECT 1 FROM consents k WHERE k.signature_id = s.id AND k.scope = 'campaign')
               ELSE EXISTS (SELECT 1 FROM consents k WHERE k.signature_id = s.id AND k.scope = 'partner' AND k.partner_id = w.partner_id) END AS email_seen,
          (SELECT array_agg(a.id ORDER BY a.id) FROM letter_actions a WHERE a.campaign_id = w.campaign_id AND a.email_hash = ${hash}::bytea) AS outreaches
        FROM webhook_subscriptions w
        LEFT JOIN signatures s ON s.campaign_id = w.campaign_id AND s.email_hash = ${hash}::bytea
        WHERE w.status = 'active' AND 'person.erased' = ANY(w.events)
          AND (s.id IS NOT NULL OR EXISTS (SELECT 1 FROM letter_actions a WHERE a.campaign_id = w.campaign_id AND a.email_hash = ${hash}::bytea))
        ORDER BY w.id`,
  );
  const erasedAt = new Date().toISOString();
  const rows: Array<{ subscriptionId: number; payload: Buffer }> = [];
  for (const candidate of candidates) {
    const campaignId = Number(candidate.campaign_id);
    const ref = signatureRef(ctx.config.secret, campaignId, email);
    const subscriptionId = Number(candidate.subscription_id);
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
    if (candidate.partner_id !== null && !candidate.email_seen) continue;
    const identifiers = [
      ...(candidate.signed ? [signatureIdentifier(ref)] : []),
      ...(candidate.outreaches ?? []).map((id) => outreachIdentifier(Number(id))),
    ];
    const person: ErasedPerson = {
      identifiers,
      email: candidate.email_seen ? email : null,
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
