import { signatures, type Campaign } from '../db/schema';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import type { Database } from '../db/client';
import { hashIp } from '../http/ip-hash';
import { fieldErrors, honeypotFilled, signatureInput, type FieldErrors } from './signature-input';
import { stateForZip } from './zip-state';

export type SignResult = { outcome: 'signed' } | { outcome: 'invalid'; errors: FieldErrors } | { outcome: 'closed' };

export type SignContext = Pick<AppContext, 'db' | 'tallyRequests' | 'config'>;

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

  const inserted = await insertSignature(ctx.db).execute({
    campaignId: campaign.id,
    email: input.email,
    name: input.name,
    zip: input.zip,
    address: input.address ?? null,
    state: stateForZip(input.zip) ?? null,
    source: input.source ?? null,
    optIn: input.optIn,
    ipHash: request.ip ? hashIp(ctx.config.secret, request.ip) : null,
  });

  if (inserted.length > 0) ctx.tallyRequests.request(campaign.id);
  return { outcome: 'signed' };
}

const preparedInserts = new WeakMap<Database, ReturnType<typeof prepareInsert>>();

/** The hot path's one query, built once and prepared on each connection (no per-request SQL building). */
function insertSignature(db: Database) {
  let prepared = preparedInserts.get(db);
  if (!prepared) preparedInserts.set(db, (prepared = prepareInsert(db)));
  return prepared;
}

function prepareInsert(db: Database) {
  const p = (name: string) => sql.placeholder(name);
  return db
    .insert(signatures)
    .values({
      campaignId: p('campaignId'),
      email: p('email'),
      name: p('name'),
      zip: p('zip'),
      address: p('address'),
      state: p('state'),
      source: p('source'),
      optIn: p('optIn'),
      ipHash: p('ipHash'),
    })
    .onConflictDoNothing({ target: [signatures.campaignId, signatures.email] })
    .returning({ id: signatures.id })
    .prepare('insert_signature');
}
