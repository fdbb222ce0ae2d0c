import type { AppContext } from '../context';
import type { WebhookEvent } from '../db/schema';
import { OSDI_NAMESPACE } from '../osdi/identifiers';
import { outreachesById, signaturesById, type Audience } from '../osdi/records';
import { osdiBase, outreachResource, signatureResource } from '../osdi/resources';
import type { ErasedPerson } from './events';

/**
 * What a batch of events says, in Action Network's webhook shape: a JSON array of items, each one
 * resource under its type (`osdi:signature`, `osdi:outreach`, or `ban_face_surveillance:person_erased`)
 * and an `idempotency_key` that stays the same across retries. Built when sent, from the rows as
 * they are then: an item whose supporter has since withdrawn the consent the receiver relied on, or
 * was erased, is not told.
 */

export interface BatchItem {
  id: number;
  event: WebhookEvent;
  signatureId: number | null;
  letterActionId: number | null;
  payload: Uint8Array | null;
}

export type PayloadContext = Pick<AppContext, 'db' | 'encryption' | 'config'>;

export const ERASED_TYPE = `${OSDI_NAMESPACE}:person_erased`;

export function openErased(
  ctx: Pick<AppContext, 'encryption'>,
  payload: Uint8Array | null,
): ErasedPerson | null {
  if (!payload) return null;
  return JSON.parse(ctx.encryption.open('webhook_items.payload', payload)) as ErasedPerson;
}

/** The items of one batch that can still be told, each with its entry of the array (the others go with the batch, untold). */
export async function batchPayload(
  ctx: PayloadContext,
  audience: Audience,
  items: BatchItem[],
): Promise<{ entries: Array<{ itemId: number; entry: Record<string, unknown> }> }> {
  const base = osdiBase(ctx.config.publicUrl);
  const signatures = await signaturesById(
    ctx,
    audience,
    items.flatMap((item) =>
      item.event === 'signature' && item.signatureId !== null ? [item.signatureId] : [],
    ),
  );
  const outreaches = await outreachesById(
    ctx,
    audience,
    items.flatMap((item) =>
      item.event === 'outreach' && item.letterActionId !== null ? [item.letterActionId] : [],
    ),
  );
  const entries: Array<{ itemId: number; entry: Record<string, unknown> }> = [];
  for (const item of items) {
    const key = `${audience.campaign.slug}-${item.id}`;
    if (item.event === 'signature') {
      const signature = item.signatureId !== null ? signatures.get(item.signatureId) : undefined;
      if (signature)
        entries.push({
          itemId: item.id,
          entry: { 'osdi:signature': signatureResource(base, signature), idempotency_key: key },
        });
    } else if (item.event === 'outreach') {
      const outreach =
        item.letterActionId !== null ? outreaches.get(item.letterActionId) : undefined;
      if (outreach)
        entries.push({
          itemId: item.id,
          entry: { 'osdi:outreach': outreachResource(base, outreach), idempotency_key: key },
        });
    } else {
      const person = openErased(ctx, item.payload);
      if (!person) continue;
      entries.push({
        itemId: item.id,
        entry: {
          [ERASED_TYPE]: {
            identifiers: person.identifiers,
            ...(person.email ? { email_addresses: [{ address: person.email }] } : {}),
            erased_date: person.erasedAt,
            _links: { 'osdi:petition': { href: `${base}/petitions/${audience.campaign.slug}` } },
          },
          idempotency_key: key,
        },
      });
    }
  }
  return { entries };
}
