import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { signatures } from '../db/schema';

/**
 * The hot path's one query, built once per platform (on the context as `signatureInsert`) and
 * prepared on each connection: no per-request SQL building.
 */
export type SignatureInsert = ReturnType<typeof prepareSignatureInsert>;

export function prepareSignatureInsert(db: Database) {
  const p = (name: string) => sql.placeholder(name);
  return db
    .insert(signatures)
    .values({
      campaignId: p('campaignId'),
      email: p('email'),
      emailHash: p('emailHash'),
      emailDomainHash: p('emailDomainHash'),
      name: p('name'),
      zip: p('zip'),
      address: p('address'),
      state: p('state'),
      source: p('source'),
      optIn: p('optIn'),
      ipHash: p('ipHash'),
      language: p('language'),
      noticePending: true,
    })
    .onConflictDoNothing({ target: [signatures.campaignId, signatures.emailHash] })
    .returning({ id: signatures.id })
    .prepare('insert_signature');
}
