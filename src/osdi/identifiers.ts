import { createHmac } from 'node:crypto';

/**
 * OSDI identifiers (`<system>:<id>`) of what the platform holds. A signature's is derived from its
 * campaign and its signer's (normalised) email address under APP_SECRET, not from its row id: the
 * record signature helper answers a repeat with the identifier it gave the first time without
 * looking anything up (the same answer for both, as every door gives), and an identifier tells
 * nothing of when or in what order people signed, nor, without the secret, whose it is. It stays
 * the same for as long as APP_SECRET does (a new LOOKUP_HASH_KEY does not change it).
 */
export const OSDI_NAMESPACE = 'ban_face_surveillance';

/** The part after the namespace of a signature's identifier. */
export function signatureRef(secret: string, campaignId: number, email: string): string {
  return createHmac('sha256', secret)
    .update(`osdi-signature:${campaignId}:${email}`)
    .digest('base64url')
    .slice(0, 22);
}

export const signatureIdentifier = (ref: string) => `${OSDI_NAMESPACE}:signature-${ref}`;
export const outreachIdentifier = (letterActionId: number) =>
  `${OSDI_NAMESPACE}:outreach-${letterActionId}`;
export const petitionIdentifier = (slug: string) => `${OSDI_NAMESPACE}:petition-${slug}`;
export const advocacyCampaignIdentifier = (slug: string) =>
  `${OSDI_NAMESPACE}:advocacy_campaign-${slug}`;
