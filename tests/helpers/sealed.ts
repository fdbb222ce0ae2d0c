import { asc, type SQL } from 'drizzle-orm';
import type { Database } from '../../src/db/client';
import { letterActions, letters, signatures } from '../../src/db/schema';
import { sealedLetter, sealedLetterAction, sealedSignature } from '../../src/db/sealed-rows';
import type { FieldEncryption } from '../../src/db/field-encryption';

/**
 * Supporters' personal data is sealed in the database (src/privacy/field-encryption.ts). Tests
 * that write rows directly seal them as the platform does, and tests that check what was stored
 * read the rows and open them with the platform's own keys.
 */

type Sealing = { db: Database; encryption: FieldEncryption };

/** A `signatures` row to insert, from the plain values (email, name and address sealed, the email hashed). */
export function signatureValues<T extends { email: string; name: string; address?: string | null }>(
  encryption: FieldEncryption,
  row: T,
) {
  return { ...row, ...sealedSignature(encryption, row) };
}

/** A `letter_actions` row to insert, from the plain values. */
export function letterActionValues<
  T extends {
    email: string;
    name: string;
    city?: string | null;
    address?: string | null;
    note?: string | null;
  },
>(encryption: FieldEncryption, row: T) {
  return { ...row, ...sealedLetterAction(encryption, row) };
}

/** A `letters` row to insert, from the plain subject and text. */
export function letterValues<T extends { subject: string; body: string }>(
  encryption: FieldEncryption,
  row: T,
) {
  return { ...row, ...sealedLetter(encryption, row) };
}

/** The signatures (all, or those `where` selects), in id order, with their name, email and address opened. */
export async function openedSignatures({ db, encryption }: Sealing, where?: SQL) {
  const rows = await db.select().from(signatures).where(where).orderBy(asc(signatures.id));
  return rows.map(({ emailHash: _hash, emailDomainHash: _domain, ...row }) => ({
    ...row,
    email: encryption.open('signatures.email', row.email),
    name: encryption.open('signatures.name', row.name),
    address: encryption.openOptional('signatures.address', row.address),
  }));
}

/** The letter actions, opened. */
export async function openedLetterActions({ db, encryption }: Sealing, where?: SQL) {
  const rows = await db.select().from(letterActions).where(where).orderBy(asc(letterActions.id));
  return rows.map(({ emailHash: _hash, ...row }) => ({
    ...row,
    email: encryption.open('letter_actions.email', row.email),
    name: encryption.open('letter_actions.name', row.name),
    city: encryption.openOptional('letter_actions.city', row.city),
    address: encryption.openOptional('letter_actions.address', row.address),
    note: encryption.openOptional('letter_actions.note', row.note),
  }));
}

/** The letters, with their subject and text opened. */
export async function openedLetters({ db, encryption }: Sealing, where?: SQL) {
  const rows = await db.select().from(letters).where(where).orderBy(asc(letters.id));
  return rows.map((row) => ({
    ...row,
    subject: encryption.open('letters.subject', row.subject),
    body: encryption.open('letters.body', row.body),
  }));
}
