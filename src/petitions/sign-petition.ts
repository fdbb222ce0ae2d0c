import { signatures, type Campaign } from '../db/schema';
import type { AppContext } from '../context';
import { hashIp } from '../http/ip-hash';
import { fieldErrors, honeypotFilled, signatureInput, type FieldErrors } from './signature-input';
import { stateForZip } from './zip-state';

export type SignResult = { outcome: 'signed' } | { outcome: 'invalid'; errors: FieldErrors } | { outcome: 'closed' };

export type SignContext = Pick<AppContext, 'db' | 'queues' | 'logger' | 'config'>;

/**
 * Signs a campaign's petition. A first signature, a repeat by the same email, and a bot caught by
 * the honeypot all get the same `signed` answer: nobody can learn from it whether an address has
 * signed. A new signature is committed before this returns, then a tally is requested.
 */
export async function signPetition(
  ctx: SignContext,
  campaign: Campaign,
  raw: unknown,
  request: { ip: string | undefined },
): Promise<SignResult> {
  if (campaign.status !== 'open') return { outcome: 'closed' };
  if (honeypotFilled(raw)) return { outcome: 'signed' };

  const parsed = signatureInput.safeParse(raw);
  if (!parsed.success) return { outcome: 'invalid', errors: fieldErrors(parsed.error) };
  const input = parsed.data;

  const inserted = await ctx.db
    .insert(signatures)
    .values({
      campaignId: campaign.id,
      email: input.email,
      name: input.name,
      zip: input.zip,
      address: input.address ?? null,
      state: stateForZip(input.zip) ?? null,
      source: input.source ?? null,
      optIn: input.optIn,
      ipHash: request.ip ? hashIp(ctx.config.secret, request.ip) : null,
    })
    .onConflictDoNothing({ target: [signatures.campaignId, signatures.email] })
    .returning({ id: signatures.id });

  if (inserted.length > 0) {
    // The signature is already durable; if Redis is away, the periodic sweep tallies it later.
    await ctx.queues.requestTally(campaign.id).catch((error: unknown) => {
      ctx.logger.warn({ err: error, campaignId: campaign.id }, 'tally request failed; the sweep will count it');
    });
  }
  return { outcome: 'signed' };
}
