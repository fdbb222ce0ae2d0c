import type { AppContext } from '../context';
import type { Mailer } from '../delivery/mailer';
import {
  claimNotices,
  oweNotices,
  oweVerification,
  unverifiedSignature,
  type ClaimedNotice,
} from '../petitions/signature-store';
import {
  linkLifetimeDays,
  renderSupporterEmail,
  unsubscribeHeaders,
  unsubscribeUrl,
} from './emails';
import { SealedValueError, UnknownKeyError } from '../db/field-encryption';
import { sealLink } from './links';
import { consentWordings } from './consent';
import { campaignTitle } from '../campaigns/texts';
import { DEFAULT_LANGUAGE, languageOf } from '../i18n/translations';

/**
 * The email each new signer is owed: the verification link when the campaign asks signers to
 * confirm, otherwise a confirmation. A signature is committed with `notice_pending`; the workers
 * claim pending notices in batches and send them (at most once: claimed before the send, handed
 * back when the send may succeed later). The request path never sends mail itself.
 */

export type NoticeContext = Pick<AppContext, 'db' | 'encryption' | 'config' | 'logger'>;

/** How often a verification email may be sent again to one signer (re-signing, or "send me a new link"). */
export const RESEND_EVERY_SECONDS = 600;

const BATCH_SIZE = 100;

/**
 * Asks the workers to send a campaign's pending notices; throttled per campaign like tally
 * requests (the platform's `noticeRequests`, flushed when it closes).
 */
export function requestNotices(ctx: Pick<AppContext, 'noticeRequests'>, campaignId: number): void {
  ctx.noticeRequests.request(campaignId);
}

/**
 * Sends an unconfirmed signature its verification email again, at most once per
 * RESEND_EVERY_SECONDS. Says whether it was queued; never says so to the person asking (the answer
 * they see is the same either way).
 */
export async function resendVerification(
  ctx: Pick<AppContext, 'db' | 'redis' | 'config' | 'noticeRequests'>,
  signatureId: number,
): Promise<boolean> {
  const allowed = await ctx.redis
    .set(
      `${ctx.config.redisKeyPrefix}:privacy:resend:${signatureId}`,
      '1',
      'EX',
      RESEND_EVERY_SECONDS,
      'NX',
    )
    .catch(() => null);
  if (allowed !== 'OK') return false;
  const campaignId = await oweVerification(ctx.db, signatureId);
  if (campaignId === undefined) return false;
  requestNotices(ctx, campaignId);
  return true;
}

/** The same, for a signer found by campaign and email hash (a repeat signature in a campaign that verifies). */
export async function resendVerificationTo(
  ctx: Pick<AppContext, 'db' | 'redis' | 'config' | 'noticeRequests'>,
  campaignId: number,
  emailHash: Buffer,
): Promise<boolean> {
  const signatureId = await unverifiedSignature(ctx.db, campaignId, emailHash);
  return signatureId === undefined ? false : resendVerification(ctx, signatureId);
}

/** Counts the emails sent to one address (SIGN_EMAIL_RATE_LIMIT per window), keyed by its hash. */
export interface MailBudget {
  hit(email: string): Promise<{ limited: boolean }>;
}

/**
 * Sends a campaign's pending notices, a batch at a time. Notices whose send may succeed later go
 * back to pending and the call throws (the job retries with back-off); those refused for good
 * (no such mailbox) are not tried again. A notice to an address that has had its share of emails
 * this window (`budget`) waits, pending, for a later run: anyone may type anyone's address, so the
 * emails are what is limited, never the signatures. Returns how many were sent.
 */
export async function sendPendingNotices(
  ctx: NoticeContext,
  mailer: Mailer,
  campaignId: number,
  budget?: MailBudget,
): Promise<number> {
  let sent = 0;
  const waiting: number[] = [];
  for (;;) {
    const claimed = await claimNotices(ctx.db, campaignId, waiting, BATCH_SIZE);
    if (claimed.length === 0) return sent;
    const consents = await consentWordings(
      ctx.db,
      claimed.map((notice) => Number(notice.id)),
    );
    const outcomes = await Promise.all(
      claimed.map((notice) =>
        sendNotice(
          ctx,
          mailer,
          notice,
          consents
            .filter((consent) => Number(consent.signature_id) === Number(notice.id))
            .map((consent) => consent.wording),
          budget,
        ),
      ),
    );
    const later = claimed
      .filter((_, index) => outcomes[index] === 'later')
      .map((notice) => Number(notice.id));
    if (later.length > 0) {
      waiting.push(...later);
      await oweNotices(ctx.db, later);
    }
    const retry = claimed
      .filter((_, index) => outcomes[index] === 'retry')
      .map((notice) => Number(notice.id));
    sent += outcomes.filter((outcome) => outcome === 'delivered').length;
    if (retry.length > 0) {
      await oweNotices(ctx.db, retry);
      throw new Error(`${retry.length} signer emails could not be sent yet; they will be retried`);
    }
    if (claimed.length < BATCH_SIZE) return sent;
  }
}

async function sendNotice(
  ctx: NoticeContext,
  mailer: Mailer,
  notice: ClaimedNotice,
  consents: string[],
  budget: MailBudget | undefined,
): Promise<'delivered' | 'retry' | 'failed' | 'later'> {
  const { config, encryption } = ctx;
  const id = String(notice.id);
  let email: string;
  try {
    email = encryption.open('signatures.email', notice.email);
  } catch (error) {
    // This signer's alone, not the batch's: again later when a key is missing (it may be added back), never when altered.
    if (!(error instanceof UnknownKeyError || error instanceof SealedValueError)) throw error;
    ctx.logger.error(
      { signatureId: notice.id, reason: error.message },
      'signer email not sent: the signature does not open',
    );
    return error instanceof UnknownKeyError ? 'retry' : 'failed';
  }
  if (budget && (await budget.hit(email)).limited) {
    ctx.logger.info(
      { signatureId: notice.id },
      'signer email waits: its address had its share of emails this window',
    );
    return 'later';
  }
  const unsubscribe = unsubscribeUrl(config, email, Number(notice.campaign_id));
  const kind = notice.require_verification && !notice.verified ? 'verify' : 'confirm';
  // Only the platform's words: the address may not be the signer's (anyone can type any), so
  // nothing they typed, their name included, is relayed to it.
  const language = languageOf(notice.language) ?? DEFAULT_LANGUAGE;
  const { subject, text } = renderSupporterEmail(kind, language, {
    campaign: {
      title: campaignTitle(
        { title: notice.title, translations: notice.translations ?? {} },
        language,
      ),
    },
    consents,
    verifyDays: linkLifetimeDays('verify'),
    links: {
      campaign: `${config.publicUrl}/campaigns/${encodeURIComponent(notice.slug)}${language === DEFAULT_LANGUAGE ? '' : `?lng=${language}`}`,
      verify: `${config.publicUrl}/verify/${sealLink(config.secret, 'verify', id)}`,
      notMe: `${config.publicUrl}/not-me/${sealLink(config.secret, 'not-me', id)}`,
      myData: `${config.publicUrl}/privacy/my-data${language === DEFAULT_LANGUAGE ? '' : `?lng=${language}`}`,
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
  if (outcome.outcome !== 'delivered')
    ctx.logger.warn(
      { signatureId: notice.id, kind, reason: outcome.error },
      'signer email not sent',
    );
  return outcome.outcome;
}
