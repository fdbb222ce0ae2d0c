import type { Campaign } from '../db/schema';
import type { AppContext } from '../context';
import { sealedSignature } from '../db/sealed-rows';
import { hashIp } from '../http/ip-hash';
import { consentsGiven, type ConsentToRecord } from '../privacy/consent';
import { requestNotices, resendVerificationTo } from '../privacy/notices';
import { honeypotFilled, signatureInput, type SignatureInput } from './signature-input';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { insertSignature, type NewSignature } from './signature-store';
import { stateForZip } from './zip-state';
import { DEFAULT_LANGUAGE, translator, type Language } from '../i18n/translations';

export type SignResult =
  | { outcome: 'signed' }
  | { outcome: 'invalid'; errors: FieldErrors }
  | { outcome: 'closed' }
  /** Nothing written: the form is shown again, with its values, for its sender to confirm (see SignScreen). */
  | { outcome: 'confirm' };

export type SignContext = Pick<
  AppContext,
  | 'db'
  | 'encryption'
  | 'tallyRequests'
  | 'noticeRequests'
  | 'partnerSources'
  | 'signatureInsert'
  | 'config'
  | 'redis'
  | 'logger'
>;

/**
 * A door's abuse checks (src/abuse), run on valid input before anything is written or sent:
 * `discard` is answered like a signature and changes nothing; `confirm` changes nothing and asks
 * the sender to confirm (a form sent faster than a person fills one in: autofill and a click can
 * be a person, who must not lose their signature to a thank-you page); `invalid` is a 400 with field errors.
 */
export type SignScreen = (
  input: SignatureInput,
) => Promise<
  | { outcome: 'pass' }
  | { outcome: 'discard' }
  | { outcome: 'confirm' }
  | { outcome: 'invalid'; errors: FieldErrors }
>;

/**
 * Signs a campaign's petition. A first signature, a repeat by the same email, and a bot caught by
 * the honeypot all get the same `signed` answer: nobody can learn from it whether an address has
 * signed. A new signature is committed (with the consents its signer gave, in the words shown)
 * before this returns; then a tally and the signer's email (confirmation, or verification link)
 * are requested from the workers. A repeat by a signer who has not confirmed yet sends the
 * verification link again, at most every few minutes.
 */
export async function signPetition(
  ctx: SignContext,
  campaign: Campaign,
  raw: unknown,
  /** `language`: the one the signer signed in (their messages, and their emails later); English when not given. */
  request: {
    ip: string | undefined;
    channel?: 'form' | 'api';
    screen?: SignScreen;
    language?: Language;
  },
): Promise<SignResult> {
  if (campaign.status !== 'open') return { outcome: 'closed' };
  if (honeypotFilled(raw)) return { outcome: 'signed' };
  const language = request.language ?? DEFAULT_LANGUAGE;
  const { t } = translator(language);

  const parsed = signatureInput.safeParse(raw);
  if (!parsed.success) return { outcome: 'invalid', errors: fieldErrors(parsed.error, t) };
  const input = parsed.data;
  const screened = request.screen ? await request.screen(input) : undefined;
  if (screened?.outcome === 'discard') return { outcome: 'signed' };
  if (screened?.outcome === 'confirm' || screened?.outcome === 'invalid') return screened;

  let consents: ConsentToRecord[] = [];
  if (input.optIn || input.partnerOptIn) {
    const partner = input.partnerOptIn
      ? await ctx.partnerSources.bySource(campaign.id, input.source)
      : undefined;
    if (input.partnerOptIn && !partner)
      return { outcome: 'invalid', errors: { partnerOptIn: t('errors:partnerOptIn.noPartner') } };
    // In the words the signer was shown, in their language.
    consents = consentsGiven(input, partner, t);
  }

  const values: NewSignature = {
    campaignId: campaign.id,
    ...sealedSignature(ctx.encryption, input),
    zip: input.zip,
    state: stateForZip(input.zip) ?? null,
    source: input.source ?? null,
    optIn: input.optIn,
    ipHash: request.ip ? hashIp(ctx.config.secret, request.ip) : null,
    language,
    noticePending: true,
  };
  const inserted = await insertSignature(
    ctx.db,
    values,
    consents,
    request.channel ?? 'api',
    ctx.signatureInsert,
  );

  if (inserted !== undefined) {
    ctx.tallyRequests.request(campaign.id);
    requestNotices(ctx, campaign.id);
  } else if (campaign.requireVerification) {
    await resendVerificationTo(ctx, campaign.id, values.emailHash).catch((error: unknown) =>
      ctx.logger.warn({ err: error }, 'could not send the verification email again'),
    );
  }
  return { outcome: 'signed' };
}
