import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import type { Mailer } from '../delivery/mailer';
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
  const [row] = await queryRows<{ held: boolean }>(
    ctx.db,
    sql`SELECT EXISTS (SELECT 1 FROM campaigns c JOIN signatures s ON s.campaign_id = c.id AND s.email_hash = ${hash}::bytea)
            OR EXISTS (SELECT 1 FROM letter_actions WHERE email_hash = ${hash}::bytea) AS held`,
  );
  return Boolean(row?.held);
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
  const signatureRows = await queryRows<{
    id: number;
    slug: string;
    title: string;
    name: Uint8Array;
    email: Uint8Array;
    zip: string;
    address: Uint8Array | null;
    state: string | null;
    congressional_district: string | null;
    state_upper_district: string | null;
    state_lower_district: string | null;
    source: string | null;
    opt_in: boolean;
    ip_hash: string | null;
    verified_at: string | null;
    created_at: string;
  }>(
    db,
    sql`SELECT s.id, c.slug, c.title, s.name, s.email, s.zip, s.address, s.state, s.congressional_district, s.state_upper_district,
               s.state_lower_district, s.source, s.opt_in, s.ip_hash, s.verified_at, s.created_at
        FROM campaigns c JOIN signatures s ON s.campaign_id = c.id AND s.email_hash = ${hash}::bytea
        ORDER BY s.created_at, s.id`,
  );
  const consentRows = await queryRows<{
    signature_id: number;
    scope: string;
    partner: string | null;
    wording: string;
    channel: string;
    given_at: string;
    withdrawn_at: string | null;
  }>(
    db,
    sql`SELECT k.signature_id, k.scope, p.name AS partner, k.wording, k.channel, k.given_at, k.withdrawn_at
        FROM campaigns c JOIN signatures s ON s.campaign_id = c.id AND s.email_hash = ${hash}::bytea
        JOIN consents k ON k.signature_id = s.id LEFT JOIN partners p ON p.id = k.partner_id
        ORDER BY k.id`,
  );
  const actionRows = await queryRows<{
    id: number;
    slug: string;
    title: string;
    name: Uint8Array;
    email: Uint8Array;
    zip: string;
    city: Uint8Array | null;
    state: string | null;
    address: Uint8Array | null;
    note: Uint8Array | null;
    prefix: Uint8Array | null;
    congressional_district: string | null;
    state_upper_district: string | null;
    state_lower_district: string | null;
    wants_copy: boolean;
    confirmation_sent_at: string | null;
    created_at: string;
  }>(
    db,
    sql`SELECT a.id, c.slug, c.title, a.name, a.email, a.zip, a.city, a.state, a.address, a.note, a.prefix, a.congressional_district,
               a.state_upper_district, a.state_lower_district, a.wants_copy, a.confirmation_sent_at, a.created_at
        FROM letter_actions a JOIN campaigns c ON c.id = a.campaign_id
        WHERE a.email_hash = ${hash}::bytea ORDER BY a.created_at, a.id`,
  );
  const letterRows = await queryRows<{
    id: number;
    action_id: number;
    target_name: string;
    target_title: string;
    office: string;
    channel: string;
    subject: Uint8Array;
    body: Uint8Array;
    status: string;
    attempts: number;
    delivered_at: string | null;
    created_at: string;
  }>(
    db,
    sql`SELECT l.id, l.action_id, l.target_name, l.target_title, l.office, l.channel, l.subject, l.body, l.status, l.attempts, l.delivered_at, l.created_at
        FROM letter_actions a JOIN letters l ON l.action_id = a.id
        WHERE a.email_hash = ${hash}::bytea ORDER BY l.id`,
  );
  const attemptRows = await queryRows<{
    letter_id: number;
    started_at: string;
    finished_at: string | null;
    outcome: string | null;
  }>(
    db,
    sql`SELECT d.letter_id, d.started_at, d.finished_at, d.outcome
        FROM letter_actions a JOIN letters l ON l.action_id = a.id JOIN delivery_attempts d ON d.letter_id = l.id
        WHERE a.email_hash = ${hash}::bytea ORDER BY d.id`,
  );

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
