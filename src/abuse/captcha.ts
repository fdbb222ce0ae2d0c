import type { Config } from '../config';

/**
 * The optional CAPTCHA, behind one interface so that the provider is a setting. Off by default:
 * turning it on makes every page with a protected form load the provider's script and frame.
 */

export type CaptchaVerdict =
  /** The provider vouches for this token (once: tokens are single-use). */
  | { outcome: 'pass' }
  /** The provider refuses it: expired, already used, forged, or a failed challenge. */
  | { outcome: 'fail'; codes: string[] }
  /** The provider could not be asked, or refused our own credentials. */
  | { outcome: 'unavailable'; reason: string };

/** CSP directives a widget needs, with the sources to add to each. */
export type CaptchaSources = Partial<
  Record<'script-src' | 'frame-src' | 'style-src' | 'connect-src', string[]>
>;

export interface CaptchaWidget {
  /** Which provider: also the name of its script's global object (`window.hcaptcha`, `window.turnstile`). */
  provider: 'hcaptcha' | 'turnstile';
  /** Shown to supporters: who runs the check. */
  providerName: string;
  siteKey: string;
  scriptUrl: string;
  /** The element class the provider's script turns into a widget. */
  className: string;
  /** The form field the widget fills with its token. */
  responseField: string;
}

export interface CaptchaProvider {
  readonly widget: CaptchaWidget;
  readonly sources: CaptchaSources;
  /**
   * Asks the provider whether `token` is good. `ipHash` is the request's keyed IP hash, for
   * providers that can use one; the built-in providers send neither it nor the IP address.
   */
  verify(token: string, ipHash?: string): Promise<CaptchaVerdict>;
}

/** Error codes that mean our own settings are wrong, not the supporter's token. */
const OUR_MISTAKES = new Set([
  'missing-input-secret',
  'invalid-input-secret',
  'sitekey-secret-mismatch',
  'invalid-or-already-seen-response-secret',
  'not-using-dummy-secret',
  'internal-error',
]);

/** Both providers' siteverify: a form POST of secret and response, answered with `{ success, "error-codes" }`. */
async function siteverify(
  url: string,
  fields: Record<string, string>,
  timeoutMs: number,
): Promise<CaptchaVerdict> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(fields).toString(),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const name = (error as Error).name;
    return {
      outcome: 'unavailable',
      reason:
        name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `request failed (${name})`,
    };
  }
  let answer: unknown;
  try {
    answer = await response.json();
  } catch {
    return { outcome: 'unavailable', reason: `HTTP ${response.status}, not JSON` };
  }
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof (answer as { success?: unknown }).success !== 'boolean'
  ) {
    return { outcome: 'unavailable', reason: `HTTP ${response.status}, no verdict` };
  }
  const { success, 'error-codes': rawCodes } = answer as {
    success: boolean;
    'error-codes'?: unknown;
  };
  const codes = Array.isArray(rawCodes)
    ? rawCodes.filter((code): code is string => typeof code === 'string')
    : [];
  if (success) return { outcome: 'pass' };
  const ours = codes.filter((code) => OUR_MISTAKES.has(code));
  if (ours.length > 0)
    return { outcome: 'unavailable', reason: `provider refused our settings: ${ours.join(', ')}` };
  return { outcome: 'fail', codes };
}

/** hCaptcha (https://docs.hcaptcha.com): `api.js` from js.hcaptcha.com, challenges in frames from *.hcaptcha.com. */
export class HCaptchaProvider implements CaptchaProvider {
  static readonly defaultVerifyUrl = 'https://api.hcaptcha.com/siteverify';
  readonly widget: CaptchaWidget;
  // The origins hCaptcha's documentation asks a CSP to allow, and no more.
  readonly sources: CaptchaSources = {
    'script-src': ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    'frame-src': ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    'style-src': ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    'connect-src': ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
  };

  constructor(
    private readonly settings: {
      siteKey: string;
      secret: string;
      verifyUrl?: string;
      timeoutMs: number;
    },
  ) {
    this.widget = {
      provider: 'hcaptcha',
      providerName: 'hCaptcha',
      siteKey: settings.siteKey,
      scriptUrl: 'https://js.hcaptcha.com/1/api.js',
      className: 'h-captcha',
      responseField: 'h-captcha-response',
    };
  }

  verify(token: string): Promise<CaptchaVerdict> {
    const { secret, siteKey, verifyUrl, timeoutMs } = this.settings;
    return siteverify(
      verifyUrl ?? HCaptchaProvider.defaultVerifyUrl,
      { secret, response: token, sitekey: siteKey },
      timeoutMs,
    );
  }
}

/** Cloudflare Turnstile (https://developers.cloudflare.com/turnstile): script and frame from challenges.cloudflare.com. */
export class TurnstileProvider implements CaptchaProvider {
  static readonly defaultVerifyUrl = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
  readonly widget: CaptchaWidget;
  readonly sources: CaptchaSources = {
    'script-src': ['https://challenges.cloudflare.com'],
    'frame-src': ['https://challenges.cloudflare.com'],
  };

  constructor(
    private readonly settings: {
      siteKey: string;
      secret: string;
      verifyUrl?: string;
      timeoutMs: number;
    },
  ) {
    this.widget = {
      provider: 'turnstile',
      providerName: 'Cloudflare Turnstile',
      siteKey: settings.siteKey,
      scriptUrl: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
      className: 'cf-turnstile',
      responseField: 'cf-turnstile-response',
    };
  }

  verify(token: string): Promise<CaptchaVerdict> {
    const { secret, verifyUrl, timeoutMs } = this.settings;
    return siteverify(
      verifyUrl ?? TurnstileProvider.defaultVerifyUrl,
      { secret, response: token },
      timeoutMs,
    );
  }
}

/** The configured provider, or none (CAPTCHA_PROVIDER=none, the default). */
export function captchaProvider(settings: Config['abuse']['captcha']): CaptchaProvider | undefined {
  if (!settings) return undefined;
  const { provider, ...rest } = settings;
  return provider === 'hcaptcha' ? new HCaptchaProvider(rest) : new TurnstileProvider(rest);
}
