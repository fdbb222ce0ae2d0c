import type { AppContext } from '../context';
import type { DateCondition } from '../db/record-pages';
import type { Campaign } from '../db/schema';
import {
  lettersOfActions,
  outreachesShownWithIds,
  pageOfOutreachesShown,
  type OutreachesShown,
  type ShownOutreachRow,
} from '../letters/letter-store';
import {
  pageOfSignaturesShown,
  signaturesShownWithIds,
  type ShownSignatureRow,
  type SignaturesShown,
} from '../petitions/signature-store';
import { signatureRef } from './identifiers';
import type { OutreachFields, OutreachTarget, SignatureFields } from './resources';

/**
 * Reading signatures and outreaches (letter actions) as a holder of the API or a webhook may see
 * them: the audience. A partner's sees only the supporters who agreed to hear from that partner
 * (a consent not withdrawn), with their email address; the coalition's own (no partner) sees
 * every signature, with the email address only of those who agreed to hear from the campaign. In
 * a campaign that asks signers to confirm their address, a signature shows once confirmed (an
 * unconfirmed one may carry someone else's address), and an outreach shows without its writer's
 * address until they confirm. Names, ZIP codes and states show; street addresses never do.
 * The rules are said here; the queries are the stores' (petitions/signature-store.ts for
 * signatures, letters/letter-store.ts for letter actions).
 */

export interface Audience {
  campaign: Campaign;
  /** A partner's token or subscription; null for the coalition's own. */
  partnerId: number | null;
}

export type ReadContext = Pick<AppContext, 'db' | 'encryption' | 'config'>;

// ---------------------------------------------------------------------------------------------
// Signatures

/**
 * The signatures the audience sees: in a campaign that asks signers to confirm, confirmed ones,
 * modified when confirmed; a partner's, those with its consent and their addresses; the coalition's,
 * all, with the addresses of those who agreed to hear from the campaign.
 */
const signaturesShown = ({ campaign, partnerId }: Audience): SignaturesShown => ({
  campaignId: campaign.id,
  confirmedOnly: campaign.requireVerification,
  consentedTo: partnerId,
  modifiedAt: campaign.requireVerification ? 'confirmed' : 'created',
  emailShownOf: partnerId !== null ? 'all' : 'opted-in',
});

function openSignature(
  ctx: ReadContext,
  audience: Audience,
  row: ShownSignatureRow,
): SignatureFields & { id: number } {
  // Opened for the identifier even where the holder may not see it.
  const email = ctx.encryption.open('signatures.email', row.email);
  return {
    id: Number(row.id),
    ref: signatureRef(ctx.config.secret, audience.campaign.id, email),
    name: ctx.encryption.open('signatures.name', row.name),
    email: row.email_visible ? email : null,
    zip: row.zip,
    state: row.state,
    source: row.source,
    createdAt: new Date(row.created_at),
    modifiedAt: new Date(row.modified_at),
    campaignSlug: audience.campaign.slug,
  };
}

/** A page of the signatures the audience may see, in the order they showed, and how many there are in all. */
export async function pageOfSignatures(
  ctx: ReadContext,
  audience: Audience,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; signatures: SignatureFields[] }> {
  const { total, rows } = await pageOfSignaturesShown(ctx.db, signaturesShown(audience), page);
  return { total, signatures: rows.map((row) => openSignature(ctx, audience, row)) };
}

/** The signatures of `ids` the audience may see (now: a consent withdrawn since drops one), by id. */
export async function signaturesById(
  ctx: ReadContext,
  audience: Audience,
  ids: number[],
): Promise<Map<number, SignatureFields>> {
  const rows = await signaturesShownWithIds(ctx.db, signaturesShown(audience), ids);
  return new Map(rows.map((row) => [Number(row.id), openSignature(ctx, audience, row)]));
}

// ---------------------------------------------------------------------------------------------
// Outreaches: a supporter's letters to their targets

/**
 * The outreaches the audience sees: a partner's, those whose writer's signature carries its
 * consent, with their addresses; the coalition's, all, with the addresses of writers who agreed to
 * hear from the campaign; in a campaign that asks signers to confirm, an address only once confirmed.
 */
const outreachesShown = ({ campaign, partnerId }: Audience): OutreachesShown => ({
  campaignId: campaign.id,
  consentedTo: partnerId,
  emailShownOf: partnerId !== null ? 'all' : 'opted-in',
  emailOnceConfirmed: campaign.requireVerification,
});

async function withTargets(
  ctx: ReadContext,
  audience: Audience,
  rows: ShownOutreachRow[],
): Promise<Array<OutreachFields & { id: number }>> {
  if (rows.length === 0) return [];
  const letters = await lettersOfActions(
    ctx.db,
    rows.map((row) => Number(row.id)),
  );
  const byAction = new Map<number, { targets: OutreachTarget[]; subject: Uint8Array | null }>();
  for (const letter of letters) {
    const entry = byAction.get(Number(letter.action_id)) ?? {
      targets: [],
      subject: letter.subject,
    };
    entry.targets.push({
      name: letter.target_name,
      title: letter.target_title,
      office: letter.office,
      state: letter.target_state,
      status: letter.status,
      deliveredAt: letter.delivered_at === null ? null : new Date(letter.delivered_at),
    });
    byAction.set(Number(letter.action_id), entry);
  }
  return rows.map((row) => {
    const entry = byAction.get(Number(row.id));
    return {
      id: Number(row.id),
      name: ctx.encryption.open('letter_actions.name', row.name),
      email: row.email_visible ? ctx.encryption.open('letter_actions.email', row.email) : null,
      zip: row.zip,
      state: row.state,
      source: row.source,
      subject: entry?.subject ? ctx.encryption.open('letters.subject', entry.subject) : null,
      createdAt: new Date(row.created_at),
      modifiedAt: new Date(row.modified_at),
      campaignSlug: audience.campaign.slug,
      targets: entry?.targets ?? [],
    };
  });
}

/** A page of the outreaches the audience may see, oldest first, and how many there are in all. */
export async function pageOfOutreaches(
  ctx: ReadContext,
  audience: Audience,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; outreaches: OutreachFields[] }> {
  const { total, rows } = await pageOfOutreachesShown(ctx.db, outreachesShown(audience), page);
  return { total, outreaches: await withTargets(ctx, audience, rows) };
}

/** The outreaches of `ids` the audience may see, by id. */
export async function outreachesById(
  ctx: ReadContext,
  audience: Audience,
  ids: number[],
): Promise<Map<number, OutreachFields>> {
  const rows = await outreachesShownWithIds(ctx.db, outreachesShown(audience), ids);
  return new Map(
    (await withTargets(ctx, audience, rows)).map((outreach) => [outreach.id, outreach]),
  );
}
