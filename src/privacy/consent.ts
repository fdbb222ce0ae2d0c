import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { consents, type ConsentScope } from '../db/schema';
import { english, type Translate } from '../i18n/translations';
import { clearOptIn, signaturesOfAddress } from '../petitions/signature-store';
import type { FieldEncryption } from '../db/field-encryption';
import { campaignTitleOf } from '../campaigns/directory';
import { partnerBySourceCode, partnerNameOf } from '../partners/partner-accounts';

/**
 * Consent to updates: from the campaign itself, and from the partner organisation that brought the
 * signer (its source code). The words are made here, once, for the signing form and the JSON API,
 * in the signer's language; each consent records the words exactly as they were shown.
 */

export const campaignConsentWording = (t: Translate = english().t) =>
  t('petition:consent.campaign');

/** The campaign's consent words in English (as a signature in English records them). */
export const CAMPAIGN_CONSENT_WORDING = campaignConsentWording();

export const partnerConsentWording = (partnerName: string, t: Translate = english().t) =>
  t('petition:consent.partner', { partner: partnerName });

export interface PartnerRef {
  id: number;
  name: string;
  sourceCode: string;
}

export interface ConsentToRecord {
  scope: ConsentScope;
  partnerId: number | null;
  wording: string;
}

const PARTNER_TTL_MS = 5000;

/**
 * Campaigns' partners by source code, each held a few seconds (every page view with `?source=`
 * asks). One per platform, on the context as `partnerSources`.
 */
export class PartnerSources {
  private readonly cache = new Map<string, { partner: PartnerRef | undefined; expires: number }>();

  constructor(private readonly db: Database) {}

  /** The campaign's partner with this source code. */
  async bySource(campaignId: number, source: string | undefined): Promise<PartnerRef | undefined> {
    if (!source) return undefined;
    const key = `${campaignId}:${source}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.partner;
    const found = await partnerBySourceCode(this.db, campaignId, source);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { partner: found, expires: now + PARTNER_TTL_MS });
    return found;
  }
}

/** The consent boxes a signing form shows: the campaign's, and the partner's when a partner brought the signer. */
export function consentChoices(partner: PartnerRef | undefined, t: Translate = english().t) {
  return {
    campaign: campaignConsentWording(t),
    partner: partner
      ? { name: partner.name, wording: partnerConsentWording(partner.name, t) }
      : null,
  };
}

/** The consents a signer gave by ticking the boxes, in the words the boxes showed (in their language). */
export function consentsGiven(
  choices: { optIn: boolean; partnerOptIn: boolean },
  partner: PartnerRef | undefined,
  t: Translate = english().t,
): ConsentToRecord[] {
  const given: ConsentToRecord[] = [];
  if (choices.optIn)
    given.push({ scope: 'campaign', partnerId: null, wording: campaignConsentWording(t) });
  if (choices.partnerOptIn && partner)
    given.push({
      scope: 'partner',
      partnerId: partner.id,
      wording: partnerConsentWording(partner.name, t),
    });
  return given;
}

type LookupContext = { db: Database; encryption: FieldEncryption };

/** Signatures of an address (found by its keyed hash): in one campaign, or (no campaign) in all of them. */
const signaturesOf = (encryption: FieldEncryption, email: string, campaignId: number | null) =>
  signaturesOfAddress(encryption.emailHash(email), campaignId);

/** The updates an address currently receives: whom from, and the words agreed to. */
export async function activeConsents(ctx: LookupContext, email: string, campaignId: number | null) {
  return queryRows<{
    campaign: string;
    scope: ConsentScope;
    partner: string | null;
    wording: string;
  }>(
    ctx.db,
    sql`SELECT ${campaignTitleOf(sql`k.campaign_id`)} AS campaign, k.scope, ${partnerNameOf(sql`k.partner_id`)} AS partner, k.wording
        FROM consents k
        WHERE k.withdrawn_at IS NULL AND k.signature_id IN (${signaturesOf(ctx.encryption, email, campaignId)})
        ORDER BY k.id`,
  );
}

/** Every consent an address gave (by its keyed hash), withdrawn or not, in the order given: for "your data". */
export function consentsOfAddress(db: Database, emailHash: Uint8Array) {
  return queryRows<{
    signature_id: number;
    scope: string;
    partner: string | null;
    wording: string;
    channel: string;
    given_at: string;
    withdrawn_at: string | null;
  }>(
    db,
    sql`SELECT k.signature_id, k.scope, ${partnerNameOf(sql`k.partner_id`)} AS partner, k.wording, k.channel, k.given_at, k.withdrawn_at
        FROM consents k WHERE k.signature_id IN (${signaturesOfAddress(emailHash, null)})
        ORDER BY k.id`,
  );
}

/** The consents still given with these signatures, in the order given: their words, for the signers' emails. */
export function consentWordings(db: Pick<Database, 'execute'>, signatureIds: number[]) {
  return queryRows<{ signature_id: number; wording: string }>(
    db,
    sql`SELECT signature_id, wording FROM consents
        WHERE signature_id IN (SELECT unnest(${`{${signatureIds.join(',')}}`}::bigint[])) AND withdrawn_at IS NULL
        ORDER BY id`,
  );
}

/**
 * Withdraws every consent of an address (one-click unsubscribe): each is kept, dated withdrawn,
 * and the signatures' `opt_in` (the campaign's own list) is cleared with them. Returns how many
 * consents were withdrawn; doing it again changes nothing.
 */
export async function withdrawConsents(
  ctx: LookupContext,
  email: string,
  campaignId: number | null,
): Promise<number> {
  const signatures = signaturesOf(ctx.encryption, email, campaignId);
  return ctx.db.transaction(async (tx) => {
    const withdrawn = await queryRows<{ id: number }>(
      tx,
      sql`UPDATE consents SET withdrawn_at = now()
          WHERE withdrawn_at IS NULL AND signature_id IN (${signatures})
          RETURNING id`,
    );
    await clearOptIn(tx, signatures);
    return withdrawn.length;
  });
}

// ---------------------------------------------------------------------------------------------
// Reads for other features: partners' numbers (partners/) and the erasure notices to webhook
// receivers (webhooks/events.ts).

/** A consent's row, as the schema declares it. */
export type ConsentRow = typeof consents.$inferSelect;

/** How many supporters of a campaign agree to hear from a partner now (consents not withdrawn). */
export async function countPartnerConsents(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  partnerId: number,
): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM consents k WHERE k.campaign_id = ${campaignId}::int AND k.scope = 'partner'
          AND k.partner_id = ${partnerId}::int AND k.withdrawn_at IS NULL`,
  );
  return Number(row?.n ?? 0);
}
