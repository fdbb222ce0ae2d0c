import { sql } from 'drizzle-orm';
import { campaignsWith } from '../campaigns/directory';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import type {
  CampaignTranslations,
  DeliveredAs,
  DeliveryChannel,
  LetterStatus,
  SelfSendOptions,
} from '../db/schema';
import { openedLetter } from '../db/sealed-rows';
import { changeLetterStatus } from './letter-store';
import { CANCELLED_BY_STAFF } from './held-and-failed';
import { english, type Translator } from '../i18n/translations';

/**
 * A supporter's letters as their private status page (`/letters/<token>`) and its JSON twin show
 * them: where each one is, in plain words, and, for a letter we cannot deliver electronically or
 * did not, what the supporter needs to send it themselves (the office's contact form, its email
 * address) and the "I sent it" report, which moves the letter to `self-sent`.
 */

export const isStatusToken = (token: string) => /^[A-Za-z0-9_-]{32}$/.test(token);

export interface SupporterLetter {
  targetKey: string;
  targetName: string;
  targetTitle: string;
  office: string;
  targetState: string | null;
  targetDistrict: string | null;
  channel: DeliveryChannel;
  status: LetterStatus;
  deliveredAs: DeliveredAs | null;
  deliveredAt: Date | null;
  subject: string;
  body: string;
  /** How the supporter can send it themselves, when they may (see `selfSendOffer`). */
  selfSend: SelfSendOptions | null;
  cancelledByStaff: boolean;
}

export interface SupporterLetters {
  campaign: { title: string; slug: string; translations: CampaignTranslations };
  writtenAt: Date;
  letters: SupporterLetter[];
}

/** The letters of the action whose status token this is, opened; null when there is none. */
export async function supporterLetters(
  ctx: Pick<AppContext, 'db' | 'encryption'>,
  statusToken: string,
): Promise<SupporterLetters | null> {
  if (!isStatusToken(statusToken)) return null;
  const rows = await queryRows<{
    created_at: Date | string;
    campaign_title: string;
    campaign_slug: string;
    campaign_translations: CampaignTranslations | null;
    target_key: string;
    target_name: string;
    target_title: string;
    office: string;
    target_state: string | null;
    target_district: string | null;
    channel: DeliveryChannel;
    status: LetterStatus;
    delivered_as: DeliveredAs | null;
    delivered_at: Date | string | null;
    subject: Uint8Array;
    body: Uint8Array;
    self_send: SelfSendOptions | null;
    last_error: string | null;
  }>(
    ctx.db,
    sql`SELECT a.created_at, c.title AS campaign_title, c.slug AS campaign_slug, c.translations AS campaign_translations, l.target_key, l.target_name, l.target_title, l.office, l.target_state, l.target_district,
               l.channel, l.status, l.delivered_as, l.delivered_at, l.subject, l.body, l.self_send, l.last_error
        FROM letter_actions a JOIN ${campaignsWith('title', 'slug', 'translations')} c ON c.id = a.campaign_id
          JOIN letters l ON l.action_id = a.id
        WHERE a.status_token = ${statusToken} ORDER BY l.id`,
  );
  const first = rows[0];
  if (!first) return null;
  return {
    campaign: {
      title: first.campaign_title,
      slug: first.campaign_slug,
      translations: first.campaign_translations ?? {},
    },
    writtenAt: new Date(first.created_at),
    letters: rows.map((sealed) => {
      const row = openedLetter(ctx.encryption, sealed);
      return {
        targetKey: row.target_key,
        targetName: row.target_name,
        targetTitle: row.target_title,
        office: row.office,
        targetState: row.target_state,
        targetDistrict: row.target_district,
        channel: row.channel,
        status: row.status,
        deliveredAs: row.delivered_as,
        deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
        subject: row.subject,
        body: row.body,
        selfSend: row.self_send,
        cancelledByStaff: row.status === 'failed' && row.last_error === CANCELLED_BY_STAFF,
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Words

/** A letter's status for people: a short label (one line on a phone) and a sentence. */
export interface StatusWords {
  label: string;
  text: string;
  /** `done` (it reached the office), `sent` (the supporter sent it), `waiting`, `problem`, `not-sent` (rehearsal, file). */
  tone: 'done' | 'sent' | 'waiting' | 'problem' | 'not-sent';
}

/** The key under `letters:status.` of a letter's state. */
function statusKey(
  letter: Pick<SupporterLetter, 'status' | 'deliveredAs' | 'channel' | 'cancelledByStaff'>,
): { key: string; tone: StatusWords['tone']; dated?: boolean } {
  switch (letter.status) {
    case 'queued':
      return { key: 'queued', tone: 'waiting' };
    case 'sending':
      return { key: 'sending', tone: 'waiting' };
    case 'retrying':
      return { key: 'retrying', tone: 'waiting' };
    case 'hand-delivery':
      return { key: 'handDelivery', tone: 'waiting' };
    case 'held':
      return { key: 'held', tone: 'waiting' };
    case 'self-sent':
      return { key: 'selfSent', tone: 'sent', dated: true };
    case 'failed':
      return letter.cancelledByStaff
        ? { key: 'cancelled', tone: 'problem' }
        : { key: 'failed', tone: 'problem' };
    case 'rehearsed':
      // Written while the campaign rehearsed: it went to the rehearsal address, CWC's validation service or a file, never the office.
      if (letter.channel === 'hand') return { key: 'rehearsedHand', tone: 'not-sent' };
      if (letter.deliveredAs === 'file') return { key: 'rehearsedFile', tone: 'not-sent' };
      return { key: letter.channel === 'cwc' ? 'rehearsalCwc' : 'rehearsal', tone: 'not-sent' };
    case 'delivered':
      switch (letter.deliveredAs) {
        case 'rehearsal':
          // Sent while the whole platform redirected its mail (DELIVERY_REDIRECT_TO), before rehearsals were counted apart.
          return { key: letter.channel === 'cwc' ? 'rehearsalCwc' : 'rehearsal', tone: 'not-sent' };
        case 'file':
          return { key: 'file', tone: 'not-sent' };
        case 'hand':
          return { key: 'deliveredByHand', tone: 'done', dated: true };
        default:
          return { key: 'delivered', tone: 'done', dated: true };
      }
    default:
      return { key: '', tone: 'waiting' };
  }
}

/**
 * What each state means, honestly, in the supporter's language: a letter sent in a rehearsal or
 * written to a file has not reached the office, and is never called delivered.
 */
export function statusWords(
  letter: Pick<
    SupporterLetter,
    'status' | 'deliveredAs' | 'deliveredAt' | 'channel' | 'cancelledByStaff'
  >,
  tr: Translator = english(),
): StatusWords {
  const { key, tone, dated } = statusKey(letter);
  if (!key) return { label: String(letter.status), text: '', tone };
  const when =
    dated && letter.deliveredAt ? { context: 'dated', date: tr.date(letter.deliveredAt) } : {};
  return {
    label: tr.t(`letters:status.${key}.label`),
    text: tr.t(`letters:status.${key}.text`, when),
    tone,
  };
}

// ---------------------------------------------------------------------------------------------
// Sending it yourself

/** The statuses in which a supporter may send a letter themselves: we cannot deliver it electronically, or did not. */
export const SELF_SENDABLE: readonly LetterStatus[] = ['hand-delivery', 'held', 'failed'];

const USABLE_EMAIL = /^[^\s@?&#%<>"'(),;:\\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

export interface SelfSendOffer {
  contactForm: string | null;
  email: string | null;
  /** `mailto:` with the subject and the text, for the supporter's own mail program. */
  mailto: string | null;
}

/**
 * How the supporter can send this letter themselves, or null when they cannot: it is in a status
 * where we cannot (or did not) deliver it, and the office publishes a web contact form or an
 * email address. A letter the campaign cancelled is not offered.
 */
export function selfSendOffer(
  letter: Pick<SupporterLetter, 'status' | 'selfSend' | 'subject' | 'body' | 'cancelledByStaff'>,
): SelfSendOffer | null {
  if (!SELF_SENDABLE.includes(letter.status) || letter.cancelledByStaff) return null;
  const contactForm =
    letter.selfSend?.contactForm && /^https?:\/\/[^\s"<>]+$/i.test(letter.selfSend.contactForm)
      ? letter.selfSend.contactForm
      : null;
  const email =
    letter.selfSend?.email && USABLE_EMAIL.test(letter.selfSend.email)
      ? letter.selfSend.email
      : null;
  if (!contactForm && !email) return null;
  // RFC 6068: line breaks in a mailto body are CRLF, percent-encoded.
  const encode = (text: string) => encodeURIComponent(text.replace(/\r?\n/g, '\r\n'));
  return {
    contactForm,
    email,
    mailto: email
      ? `mailto:${email}?subject=${encode(letter.subject)}&body=${encode(letter.body)}`
      : null,
  };
}

export type SelfSentResult =
  | { outcome: 'reported' }
  /** Reported before: nothing changes. */
  | { outcome: 'already' }
  /** Not a letter the supporter may send themselves (delivered by us, on its way, cancelled): nothing changes. */
  | { outcome: 'not-allowed'; status: LetterStatus }
  | { outcome: 'not-found' };

/**
 * The supporter reports having sent a letter themselves. The status token is the authority; the
 * letter is named by its office (a letter is written once per action and office). It moves to
 * `self-sent` (counted as sent by the supporter, apart from the letters we delivered), once:
 * from a status where they may, only; a second report, or one racing the first, changes nothing.
 */
export async function reportSelfSent(
  ctx: Pick<AppContext, 'db' | 'encryption'>,
  statusToken: string,
  targetKey: string,
): Promise<SelfSentResult> {
  if (!isStatusToken(statusToken) || targetKey.length > 200) return { outcome: 'not-found' };
  let status: LetterStatus = 'sending';
  for (let tries = 0; tries < 3; tries++) {
    const [letter] = await queryRows<{
      id: string | number;
      status: LetterStatus;
      self_send: SelfSendOptions | null;
      last_error: string | null;
    }>(
      ctx.db,
      sql`SELECT l.id, l.status, l.self_send, l.last_error FROM letters l JOIN letter_actions a ON a.id = l.action_id
          WHERE a.status_token = ${statusToken} AND l.target_key = ${targetKey}`,
    );
    if (!letter) return { outcome: 'not-found' };
    status = letter.status;
    if (letter.status === 'self-sent') return { outcome: 'already' };
    const offer = selfSendOffer({
      status: letter.status,
      selfSend: letter.self_send,
      subject: '',
      body: '',
      cancelledByStaff: letter.status === 'failed' && letter.last_error === CANCELLED_BY_STAFF,
    });
    if (!offer) return { outcome: 'not-allowed', status: letter.status };
    if (
      await changeLetterStatus(
        ctx.db,
        Number(letter.id),
        letter.status,
        'self-sent',
        sql`, delivered_at = now()`,
      )
    )
      return { outcome: 'reported' };
    // It moved meanwhile (staff delivered its packet, another report): look again.
  }
  return { outcome: 'not-allowed', status };
}
