import type { Response } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { addContentSecuritySources } from '../http/security';
import { hashIp } from '../http/ip-hash';
import { throttledWarning } from '../queue/connection-errors';
import { captchaProvider, type CaptchaProvider, type CaptchaWidget } from './captcha';
import { EmailRateLimit } from './email-limit';
import {
  checkFormToken,
  formTokenKey,
  tokenForForm,
  type FormPurpose,
  type FormTokenPolicy,
} from './form-token';

/**
 * The abuse controls every door shares, built once per platform (`buildAbuseControls`, kept on the
 * context as `abuse`): the forms' fill-time tokens, the optional CAPTCHA, the per-email limits,
 * and the count of submissions discarded as automated.
 */

/** Where a submission came in: the HTML forms or the JSON API, for signing or for letters, or the call page's reports. */
export type Door = 'sign-form' | 'sign-api' | 'letters-form' | 'letters-api' | 'calls-form';

/** Why a submission was answered like a success and dropped, or refused. */
export type DiscardReason =
  'honeypot' | 'missing' | 'forged' | 'expired' | 'too-fast' | 'email-limit' | 'captcha';

export const DISCARD_DAYS = 7;

export interface AbuseControls {
  /** Undefined when the minimum fill time is off (FORM_MIN_FILL_SECONDS=0). */
  formTokens: FormTokenPolicy | undefined;
  /** Undefined when CAPTCHA_PROVIDER=none. */
  captcha: CaptchaProvider | undefined;
  emailLimits: { sign: EmailRateLimit; letters: EmailRateLimit };
  /** Counts a discarded or refused submission for the staff report, and logs it (no personal data). */
  record(campaign: { id: number; slug: string }, door: Door, reason: DiscardReason): void;
  /** The counts `record` kept, per day (UTC, newest first) and `door.reason`. */
  recorded(campaignId: number): Promise<Array<{ day: string; counts: Record<string, number> }>>;
  /** Logs that the CAPTCHA provider could not be reached (throttled: once per 30 s at most). */
  captchaUnavailable(error: Error): void;
}

const utcDay = (time: number) => new Date(time).toISOString().slice(0, 10);

export function buildAbuseControls(ctx: {
  config: Config;
  redis: Redis;
  logger: Logger;
}): AbuseControls {
  const { config, redis, logger } = ctx;
  const { abuse } = config;
  const prefix = config.redisKeyPrefix;
  const emailLimit = (door: 'sign' | 'letters', limit: number) =>
    new EmailRateLimit({
      redis,
      prefix: `${prefix}:rl:email:${door}`,
      secret: config.secret,
      limit,
      windowSeconds: abuse.emailRateLimit.windowSeconds,
      logger,
    });
  const countsKey = (campaignId: number, day: string) =>
    `${prefix}:abuse:discarded:${campaignId}:${day}`;
  const warn = throttledWarning(
    logger,
    `${prefix}:abuse`,
    'abuse counters unreachable; not counted',
  );

  return {
    formTokens:
      abuse.formMinFillSeconds > 0
        ? {
            key: formTokenKey(config.secret),
            minFillSeconds: abuse.formMinFillSeconds,
            maxAgeSeconds: abuse.formTokenMaxAgeSeconds,
            now: Date.now,
          }
        : undefined,
    captcha: captchaProvider(abuse.captcha),
    emailLimits: {
      sign: emailLimit('sign', abuse.emailRateLimit.sign),
      letters: emailLimit('letters', abuse.emailRateLimit.letters),
    },
    captchaUnavailable: throttledWarning(
      logger,
      'captcha',
      'CAPTCHA provider unavailable; letting submissions through',
    ),

    record(campaign, door, reason) {
      logger.info(
        { event: 'abuse.discarded', campaign: campaign.slug, door, reason },
        'submission dropped by an abuse control',
      );
      const key = countsKey(campaign.id, utcDay(Date.now()));
      redis
        .multi()
        .hincrby(key, `${door}.${reason}`, 1)
        .expire(key, (DISCARD_DAYS + 1) * 86_400)
        .exec()
        .catch(warn);
    },

    async recorded(campaignId) {
      const days = Array.from({ length: DISCARD_DAYS }, (_, index) =>
        utcDay(Date.now() - index * 86_400_000),
      );
      try {
        const pipeline = redis.pipeline();
        for (const day of days) pipeline.hgetall(countsKey(campaignId, day));
        const results = (await pipeline.exec()) ?? [];
        return days.map((day, index) => {
          const raw = (results[index]?.[1] ?? {}) as Record<string, string>;
          return {
            day,
            counts: Object.fromEntries(
              Object.entries(raw).map(([field, value]) => [field, Number(value)]),
            ),
          };
        });
      } catch (error) {
        warn(error);
        return [];
      }
    },
  };
}

/** What a page with a protected form passes to its template: the fill-time token and the CAPTCHA widget. */
export interface FormProtection {
  formToken: string | undefined;
  captcha: CaptchaWidget | undefined;
}

/**
 * The protection of a form about to be shown. With `captcha` and a provider configured, the page's
 * Content-Security-Policy is widened by exactly that provider's origins, on this response only.
 */
export function protectForm(
  ctx: { abuse: AbuseControls },
  res: Response,
  purpose: FormPurpose,
  submittedToken: unknown,
  options: { captcha: boolean },
): FormProtection {
  const controls = ctx.abuse;
  const provider = options.captcha ? controls.captcha : undefined;
  if (provider) addContentSecuritySources(res, provider.sources);
  return {
    formToken: controls.formTokens
      ? tokenForForm(controls.formTokens, purpose, submittedToken)
      : undefined,
    captcha: provider?.widget,
  };
}

/**
 * The fill-time check of a submitted form: true when it looks filled in by a person (or the check
 * is off). A submission that fails it is recorded; the caller shows the form again, with its
 * values, for its sender to confirm (autofill and a click is a person too).
 */
export function filledByPerson(
  ctx: { abuse: AbuseControls },
  campaign: { id: number; slug: string },
  door: Door,
  purpose: FormPurpose,
  token: unknown,
): boolean {
  const controls = ctx.abuse;
  if (!controls.formTokens) return true;
  const check = checkFormToken(controls.formTokens, purpose, token);
  if (check.ok) return true;
  controls.record(campaign, door, check.reason);
  return false;
}

const MAX_CAPTCHA_TOKEN = 8192;
/** The key of the message asking for the CAPTCHA (locales/<lng>/errors.json). */
export const CAPTCHA_MESSAGE = 'errors:captcha.required';

/**
 * Checks a CAPTCHA token when a provider is configured: undefined when it passes (or none is
 * configured), else the key of the message for the field. The provider being unreachable lets the submission
 * through (logged): the other controls still apply, and an outage must not stop a day of action.
 */
export async function captchaError(
  ctx: { abuse: AbuseControls; config: Pick<Config, 'secret'> },
  campaign: { id: number; slug: string },
  door: Door,
  token: unknown,
  ip: string | undefined,
): Promise<string | undefined> {
  const controls = ctx.abuse;
  const provider = controls.captcha;
  if (!provider) return undefined;
  if (typeof token !== 'string' || token.trim() === '' || token.length > MAX_CAPTCHA_TOKEN) {
    controls.record(campaign, door, 'captcha');
    return CAPTCHA_MESSAGE;
  }
  const verdict = await provider.verify(
    token.trim(),
    ip ? hashIp(ctx.config.secret, ip) : undefined,
  );
  if (verdict.outcome === 'pass') return undefined;
  if (verdict.outcome === 'unavailable') {
    controls.captchaUnavailable(new Error(verdict.reason));
    return undefined;
  }
  controls.record(campaign, door, 'captcha');
  return CAPTCHA_MESSAGE;
}

/** The CAPTCHA widget's settings when it is on (public: the site key is meant for browsers). */
export const captchaWidget = (ctx: { abuse: AbuseControls }): CaptchaWidget | undefined =>
  ctx.abuse.captcha?.widget;
