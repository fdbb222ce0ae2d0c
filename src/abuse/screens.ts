import type { AppContext } from '../context';
import type { SignScreen } from '../petitions/sign-petition';
import { honeypotFilled } from '../petitions/signature-input';
import type { FieldErrors } from '../kernel/field-errors';
import { CAPTCHA_MESSAGE, captchaError, filledByPerson, type Door } from './controls';
import type { FormPurpose } from './form-token';
import { ipKeyGenerator } from 'express-rate-limit';
import { hashIp } from '../http/ip-hash';
import type { Reservation } from './email-limit';
import { english, type Translate } from '../i18n/translations';

/**
 * The abuse checks of each door, in one order: the honeypot (in the services), then, on valid
 * input, the fill-time token (HTML forms only), the CAPTCHA when it is on, and the per-email limit.
 * A bot caught by the honeypot is answered like a success and nothing is kept; a form that fails
 * the fill-time check is shown again with its values for its sender to confirm (nothing is kept
 * until they do: a person using autofill must not lose their action); a missing or refused
 * CAPTCHA is a field error; the per-email limit answers as each door's comment says.
 */

type CampaignRef = { id: number; slug: string };

/** The field a door's CAPTCHA token comes in: the provider's own in an HTML form, `captchaToken` in JSON. */
export function captchaField(ctx: AppContext, door: Door): string {
  return door === 'sign-api' || door === 'letters-api'
    ? 'captchaToken'
    : (ctx.abuse.captcha?.widget.responseField ?? 'captcha');
}

/** The key of a CAPTCHA message among a door's field errors (`captcha` on the pages, where the widget has that anchor). */
const captchaErrorKey = (door: Door) =>
  door === 'sign-api' || door === 'letters-api' ? 'captchaToken' : 'captcha';

/** Counts a filled honeypot (the services answer it like a success). */
export function noteHoneypot(
  ctx: AppContext,
  campaign: CampaignRef,
  door: Door,
  body: unknown,
): void {
  if (honeypotFilled(body)) ctx.abuse.record(campaign, door, 'honeypot');
}

/**
 * The signing doors' checks. There is no per-email limit on signing itself: a signature is one per
 * campaign and address whatever is sent, and a limit a third party could fill with someone's
 * address would drop that person's own signature. What the address receives is limited instead:
 * the emails sent to one address (privacy/notices.ts) wait for the next window once over it.
 */
export function signingScreen(
  ctx: AppContext,
  campaign: CampaignRef,
  door: 'sign-form' | 'sign-api',
  body: Record<string, unknown>,
  ip: string | undefined,
  t: Translate = english().t,
): SignScreen {
  return async () => {
    if (door === 'sign-form' && !filledByPerson(ctx, campaign, door, 'sign', body.formToken))
      return { outcome: 'confirm' };
    const refused = await captchaError(ctx, campaign, door, body[captchaField(ctx, door)], ip);
    if (refused) return { outcome: 'invalid', errors: { [captchaErrorKey(door)]: t(refused) } };
    return { outcome: 'pass' };
  };
}

/**
 * Field errors for a form sent back with errors, plus the CAPTCHA's when it is on and the form came
 * without its token (the token itself is checked only once the rest of the form is valid).
 */
export function withCaptchaPrompt(
  ctx: AppContext,
  door: Door,
  body: Record<string, unknown>,
  errors: FieldErrors,
  t: Translate = english().t,
): FieldErrors {
  if (!ctx.abuse.captcha) return errors;
  const token = body[captchaField(ctx, door)];
  if (typeof token === 'string' && token.trim() !== '') return errors;
  return { ...errors, [captchaErrorKey(door)]: t(CAPTCHA_MESSAGE) };
}

export type FormScreen =
  | { outcome: 'pass' }
  /** Sent faster than a person fills the form in: shown again for its sender to confirm, nothing written or sent. */
  | { outcome: 'confirm' }
  | { outcome: 'invalid'; errors: FieldErrors };

/** The pages' forms whose fill time is checked, with the purpose of their fill-time token. */
const FILLED_FORMS: Partial<Record<Door, FormPurpose>> = {
  'letters-form': 'letters',
  'calls-form': 'calls',
};

/**
 * The checks of the doors that act for a supporter without an email to confirm (letters, and call
 * reports, which have no email at all), on a submission otherwise valid, before anything is
 * written: a page's form filled too fast comes back to be confirmed, then the CAPTCHA when it is
 * on. Honeypots are noted by the caller; per-email and per-network limits are the caller's too.
 */
export async function formScreen(
  ctx: AppContext,
  campaign: CampaignRef,
  door: 'letters-form' | 'letters-api' | 'calls-form',
  body: Record<string, unknown>,
  ip: string | undefined,
  t: Translate = english().t,
): Promise<FormScreen> {
  const purpose = FILLED_FORMS[door];
  if (purpose && !filledByPerson(ctx, campaign, door, purpose, body.formToken))
    return { outcome: 'confirm' };
  const refused = await captchaError(ctx, campaign, door, body[captchaField(ctx, door)], ip);
  if (refused) return { outcome: 'invalid', errors: { [captchaErrorKey(door)]: t(refused) } };
  return { outcome: 'pass' };
}

/**
 * The per-email letters budget of one asker (LETTER_EMAIL_RATE_LIMIT letter submissions per
 * address per window), for `writeLetters` to take just before it writes and hand back when it
 * writes nothing. Keyed by the address *and* the asker's IP hash: probes with someone's address
 * neither reveal how many letters they wrote nor use up what they may write. Over it, a 429
 * (honest to the asker about their own submissions: a faked success would be told apart by its
 * dead status link, and would tell a real writer their letters went when they did not).
 */
export function letterBudget(
  ctx: AppContext,
  campaign: CampaignRef,
  door: 'letters-form' | 'letters-api',
  ip: string | undefined,
): (email: string) => Promise<Reservation> {
  return async (email) => {
    // The asker as the per-IP limits count them: an IPv6 address by its /56 network, as one household holds many.
    const reservation = await ctx.abuse.emailLimits.letters.reserve(
      email,
      ip ? hashIp(ctx.config.secret, ipKeyGenerator(ip)) : '',
    );
    if (reservation.limited) ctx.abuse.record(campaign, door, 'email-limit');
    return reservation;
  };
}
