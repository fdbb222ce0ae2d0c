import type { FieldEncryption, SealedColumn } from './field-encryption';

/**
 * Which columns of which tables hold sealed personal data, and those columns as they are written:
 * sealed, with the keyed hashes that find them (see privacy/field-encryption.ts). Every writer of
 * these tables goes through here; so do the key rotation and the sealing of an older database.
 */

export type SealedTable =
  'signatures' | 'letter_actions' | 'letters' | 'webhook_subscriptions' | 'webhook_items';

type HashOf = (encryption: FieldEncryption, email: string) => Buffer;

/** Each table's sealed columns (SQL name, and the name its values are sealed under), and its keyed hashes of the email (by SQL name). */
export const SEALED_TABLES: Record<
  SealedTable,
  { columns: Array<[column: string, sealedAs: SealedColumn]>; hashes: Record<string, HashOf> }
> = {
  signatures: {
    columns: [
      ['email', 'signatures.email'],
      ['name', 'signatures.name'],
      ['address', 'signatures.address'],
    ],
    hashes: {
      email_hash: (encryption, email) => encryption.emailHash(email),
      email_domain_hash: (encryption, email) => encryption.domainHash(email),
    },
  },
  letter_actions: {
    columns: [
      ['email', 'letter_actions.email'],
      ['name', 'letter_actions.name'],
      ['city', 'letter_actions.city'],
      ['address', 'letter_actions.address'],
      ['note', 'letter_actions.note'],
      ['prefix', 'letter_actions.prefix'],
    ],
    hashes: { email_hash: (encryption, email) => encryption.emailHash(email) },
  },
  letters: {
    columns: [
      ['subject', 'letters.subject'],
      ['body', 'letters.body'],
    ],
    hashes: {},
  },
  // Not supporters' data but secrets sealed with the same keys: a rotation must reseal them too, or
  // an old key would look unused while webhook secrets still need it.
  webhook_subscriptions: {
    columns: [['secret', 'webhook_subscriptions.secret']],
    hashes: {},
  },
  webhook_items: {
    columns: [['payload', 'webhook_items.payload']],
    hashes: {},
  },
};

export const sealedTables = Object.keys(SEALED_TABLES) as SealedTable[];

/** A signer's email (normalised), name and street address, as `signatures` holds them. */
export function sealedSignature(
  encryption: FieldEncryption,
  person: { email: string; name: string; address?: string | null },
) {
  return {
    email: encryption.seal('signatures.email', person.email),
    emailHash: encryption.emailHash(person.email),
    emailDomainHash: encryption.domainHash(person.email),
    name: encryption.seal('signatures.name', person.name),
    address: encryption.sealOptional('signatures.address', person.address),
  };
}

/** A letter writer's details, as `letter_actions` holds them. */
export function sealedLetterAction(
  encryption: FieldEncryption,
  person: {
    email: string;
    name: string;
    prefix?: string | null;
    city?: string | null;
    address?: string | null;
    note?: string | null;
  },
) {
  return {
    email: encryption.seal('letter_actions.email', person.email),
    emailHash: encryption.emailHash(person.email),
    name: encryption.seal('letter_actions.name', person.name),
    prefix: encryption.sealOptional('letter_actions.prefix', person.prefix),
    city: encryption.sealOptional('letter_actions.city', person.city),
    address: encryption.sealOptional('letter_actions.address', person.address),
    note: encryption.sealOptional('letter_actions.note', person.note),
  };
}

/** A letter's subject and text, as `letters` holds them. */
export function sealedLetter(
  encryption: FieldEncryption,
  letter: { subject: string; body: string },
) {
  return {
    subject: encryption.seal('letters.subject', letter.subject),
    body: encryption.seal('letters.body', letter.body),
  };
}

/** A letter row as read, with its subject and text opened. */
export function openedLetter<T extends { subject: Uint8Array; body: Uint8Array }>(
  encryption: FieldEncryption,
  letter: T,
): Omit<T, 'subject' | 'body'> & { subject: string; body: string } {
  return {
    ...letter,
    subject: encryption.open('letters.subject', letter.subject),
    body: encryption.open('letters.body', letter.body),
  };
}
