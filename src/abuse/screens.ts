import type { AppContext } from '../context';
import type { SignScreen } from '../petitions/sign-petition';
import { honeypotFilled, type FieldErrors } from '../petitions/signature-input';
import { abuseControls, CAPTCHA_MESSAGE, captchaError, filledByPerson, type Door } from './controls';
import type { EmailLimitAnswer } from './email-limit';

/**
 * The abuse checks of each door, in one order: the honeypot (in the services), then, on valid
 * input, the fill-time token (HTML forms only), the CAPTCHA when it is on, and the per-email limit.
 * A bot caught by the first two is answered like a success and nothing is kept; a missing or
 * refused CAPTCHA is a field error; the per-email limit answers as each door's comment says.
 */

type CampaignRef = { id: number; slug: string };

/** The field a door's CAPTCHA token comes in: the provider's own in an HTML form, `captchaToken` in JSON. */
export function captchaField(ctx: AppContext, door: Door): string {
  return door === 'sign-api' || door === 'letters-api' ? 'captchaToken' : (abuseControls(ctx).captcha?.widget.responseField ?? 'captcha');
}

/** The key of a CAPTCHA message among a door's field errors (`captcha` on the pages, where the widget has that anchor). */
const captchaErrorKey = (door: Door) => (door === 'sign-api' || door === 'letters-api' ? 'captchaToken' : 'captcha');

/** Counts a filled honeypot (the services answer it like a success). */
export function noteHoneypot(ctx: AppContext, campaign: CampaignRef, door: Door, body: unknown): void {
  if (honeypotFilled(body)) abuseControls(ctx).record(campaign, door, 'honeypot');
}

/**
 * The signing doors' checks. Over the per-email limit a signature is answered like any other and
 * nothing is written or sent: a refusal would tell whoever asks that the address signed recently
 * (a repeat is answered like a first signature, so the limit must be too).
 */
export function signingScreen(ctx: AppContext, campaign: CampaignRef, door: 'sign-form' | 'sign-api', body: Record<string, unknown>, ip: string | undefined): SignScreen {
  return async (input) => {
    if (door === 'sign-form' && !filledByPerson(ctx, campaign, door, 'sign', body.formToken)) return { outcome: 'discard' };
    const refused = await captchaError(ctx, campaign, door, body[captchaField(ctx, door)], ip);
    if (refused) return { outcome: 'invalid', errors: { [captchaErrorKey(door)]: refused } };
    if ((await abuseControls(ctx).emailLimits.sign.hit(input.email)).limited) {
      abuseControls(ctx).record(campaign, door, 'email-limit');
      return { outcome: 'discard' };
    }
    return { outcome: 'pass' };
  };
}

/**
 * Field errors for a form sent back with errors, plus the CAPTCHA's when it is on and the form came
 * without its token (the token itself is checked only once the rest of the form is valid).
 */
export function withCaptchaPrompt(ctx: AppContext, door: Door, body: Record<string, unknown>, errors: FieldErrors): FieldErrors {
  if (!abuseControls(ctx).captcha) return errors;
  const token = body[captchaField(ctx, door)];
  if (typeof token === 'string' && token.trim() !== '') return errors;
  return { ...errors, [captchaErrorKey(door)]: CAPTCHA_MESSAGE };
}

export type LetterScreen =
  | { outcome: 'pass' }
  /** Treated as a bot: answered like a success, nothing written or sent. */
  | { outcome: 'discard' }
  | { outcome: 'invalid'; errors: FieldErrors }
  | { outcome: 'limited'; retryAfterSeconds: number };

/**
 * The letter doors' checks, on a submission whose letters are valid, before they are written.
 * Over the per-email limit the answer is a 429: a letter's answer is its private status link,
 * which could not be faked without writing letters, so a fake success would be told apart (by
 * the dead link) and say exactly what a 429 says; and it would tell a real supporter that their
 * letters went when they did not.
 */
export async function letterScreen(ctx: AppContext, campaign: CampaignRef, door: 'letters-form' | 'letters-api', body: Record<string, unknown>, email: string, ip: string | undefined): Promise<LetterScreen> {
  if (door === 'letters-form' && !filledByPerson(ctx, campaign, door, 'letters', body.formToken)) return { outcome: 'discard' };
  const refused = await captchaError(ctx, campaign, door, body[captchaField(ctx, door)], ip);
  if (refused) return { outcome: 'invalid', errors: { [captchaErrorKey(door)]: refused } };
  const limit: EmailLimitAnswer = await abuseControls(ctx).emailLimits.letters.hit(email);
  if (limit.limited) {
    abuseControls(ctx).record(campaign, door, 'email-limit');
    return { outcome: 'limited', retryAfterSeconds: limit.retryAfterSeconds };
  }
  return { outcome: 'pass' };
}
