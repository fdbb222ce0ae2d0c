import { z } from 'zod';
import type { AppContext } from '../context';
import type { Database } from '../db/client';
import { attemptsOfLetters } from '../delivery/deliver';
import type { Mailer } from '../delivery/mailer';
import {
  holdsLetterActionsOf,
  letterActionsOf,
  lettersOf,
  lettersOfAddress,
} from '../letters/letter-store';
import { holdsSignaturesOf, signaturesOf } from '../petitions/signature-store';
import { consentsOfAddress } from './consent';
import { renderSupporterEmail, unsubscribeHeaders, unsubscribeUrl } from './emails';
import { emailAddress } from '../petitions/signature-input';
import { DEFAULT_LANGUAGE, languageOf } from '../i18n/translations';
import type { FieldEncryption } from '../db/field-encryption';
import { LINK_LIFETIME_SECONDS, openLink, sealLink } from './links';

/**
 * A supporter's rights over their data: from the "Your data" page they ask for a link by email;
 * the link's page shows what we hold, gives all of it as JSON, and deletes it (see erasure.ts).
 * The page answers the same whether or not we hold anything: only the mailbox's owner learns it.
 */

/** How often one address may be sent a "your data" link. */
export const DATA_LINK_EVERY_SECONDS = 300;

export const dataRequestInput = z.object({ email: emailAddress });

type LookupContext = { db: Database; encryption: FieldEncryption };

/** Whether anything is held about this address: a signature or a letter, in any campaign. */
export async function holdsDataAbout(ctx: LookupContext, email: string): Promise<boolean> {
  const hash = ctx.encryption.emailHash(email);
  return (await holdsSignaturesOf(ctx.db, hash)) || (await holdsLetterActionsOf(ctx.db, hash));
}

/** The worker's side: mails the link when we hold something about the address, and nothing otherwise. */
export async function sendDataLink(
  ctx: Pick<AppContext, 'db' | 'encryption' | 'config' | 'logger'>,
  mailer: Mailer,
  request: string,
  /** The language the link was asked for in (the page's): the email is written in it. */
  language?: string,
): Promise<'sent' | 'nothing-held' | 'expired'> {
  const opened = openLink(ctx.config.secret, 'data-request', request);
  if (!opened.ok) return 'expired';
  const email = opened.subject;
  if (!(await holdsDataAbout(ctx, email))) return 'nothing-held';
  const { config } = ctx;
  const unsubscribe = unsubscribeUrl(config, email, null);
  const lng = languageOf(language) ?? DEFAULT_LANGUAGE;
  const { subject, text } = renderSupporterEmail('data-link', lng, {
    hours: Math.round((LINK_LIFETIME_SECONDS['my-data'] ?? 0) / 3600),
    links: {
      myData: `${config.publicUrl}/privacy/my-data/${sealLink(config.secret, 'my-data', email)}${lng === DEFAULT_LANGUAGE ? '' : `?lng=${lng}`}`,
      unsubscribe,
    },
  });
  const outcome = await mailer.send({
    from: config.delivery.from,
    to: email,
    subject,
    text,
    headers: unsubscribeHeaders(config, unsubscribe),
  });
  if (outcome.outcome === 'retry') throw new Error(`data link not sent yet: ${outcome.error}`);
  if (outcome.outcome === 'failed')
    ctx.logger.warn({ reason: outcome.error }, 'data link refused by the mail server');
  return 'sent';
}

const iso = (value: Date | string | null) =>
  value === null ? null : new Date(value).toISOString();

/**
 * Everything held about an email address, across campaigns: signatures with their consents, and
 * letter actions with each letter, its text and its delivery attempts, opened. Only rows with this
 * exact (normalised) address.
 */
export async function personalData(ctx: LookupContext, email: string) {
  const { db, encryption } = ctx;
  const hash = encryption.emailHash(email);
  const signatureRows = await signaturesOf(db, hash);
  const consentRows = await consentsOfAddress(db, hash);
  const actionRows = await letterActionsOf(db, hash);
  const letterRows = await lettersOf(db, hash);
  const attemptRows = await attemptsOfLetters(db, lettersOfAddress(hash));

  return {
    email,
    generatedAt: new Date().toISOString(),
    about:
      'Everything this platform holds about this email address. Counts of signatures and letters (numbers per campaign, state, district, ' +
      'source and day) name nobody and are not included.',
    signatures: signatureRows.map((row) => ({
      campaign: { slug: row.slug, title: row.title },
      name: encryption.open('signatures.name', row.name),
      email: encryption.open('signatures.email', row.email),
      zip: row.zip,
      address: encryption.openOptional('signatures.address', row.address),
      state: row.state,
      districts: {
        congressional: row.congressional_district,
        stateUpper: row.state_upper_district,
        stateLower: row.state_lower_district,
      },
      source: row.source,
      campaignUpdates: row.opt_in,
      ipHash: row.ip_hash,
      signedAt: iso(row.created_at),
      verifiedAt: iso(row.verified_at),
      consents: consentRows
        .filter((consent) => Number(consent.signature_id) === Number(row.id))
        .map((consent) => ({
          to:
            consent.scope === 'campaign'
              ? 'the campaign'
              : (consent.partner ?? 'a former partner organisation'),
          wording: consent.wording,
          channel: consent.channel,
          givenAt: iso(consent.given_at),
          withdrawnAt: iso(consent.withdrawn_at),
        })),
    })),
    letters: actionRows.map((action) => ({
      campaign: { slug: action.slug, title: action.title },
      name: encryption.open('letter_actions.name', action.name),
      honorific: encryption.openOptional('letter_actions.prefix', action.prefix),
      email: encryption.open('letter_actions.email', action.email),
      zip: action.zip,
      city: encryption.openOptional('letter_actions.city', action.city),
      state: action.state,
      address: encryption.openOptional('letter_actions.address', action.address),
      note: encryption.openOptional('letter_actions.note', action.note),
      districts: {
        congressional: action.congressional_district,
        stateUpper: action.state_upper_district,
        stateLower: action.state_lower_district,
      },
      wantsCopy: action.wants_copy,
      copySentAt: iso(action.confirmation_sent_at),
      writtenAt: iso(action.created_at),
      letters: letterRows
        .filter((letter) => Number(letter.action_id) === Number(action.id))
        .map((letter) => ({
          to: letter.target_name,
          title: letter.target_title,
          office: letter.office,
          channel: letter.channel,
          subject: encryption.open('letters.subject', letter.subject),
          body: encryption.open('letters.body', letter.body),
          status: letter.status,
          attempts: Number(letter.attempts),
          deliveredAt: iso(letter.delivered_at),
          deliveryAttempts: attemptRows
            .filter((attempt) => Number(attempt.letter_id) === Number(letter.id))
            .map((attempt) => ({
              startedAt: iso(attempt.started_at),
              finishedAt: iso(attempt.finished_at),
              outcome: attempt.outcome,
            })),
        })),
    })),
  };
}

export type PersonalData = Awaited<ReturnType<typeof personalData>>;
