import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The forms' minimum fill time. A page's form carries a token that says when the form was shown,
 * signed with a key derived from the platform secret: `v1.<issued at, ms, base 36>.<MAC>`. A submit
 * sooner than the minimum after that, or with no token, a forged one or an expired one, is taken
 * for a bot. No cookie and no server state: the token travels in a hidden field.
 */

export type FormPurpose = 'sign' | 'letters' | 'calls';

export type FormTokenCheck =
  | { ok: true; issuedAt: number }
  | { ok: false; reason: 'missing' | 'forged' | 'expired' | 'too-fast' };

const VERSION = 'v1';
const TOKEN = /^v1\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/;

/** The key for form tokens, derived from the platform secret so that it serves nothing else. */
export function formTokenKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'form-token-salt', 'form fill time v1', 32));
}

function mac(key: Buffer, purpose: FormPurpose, issuedAt: string): string {
  return createHmac('sha256', key)
    .update(`${purpose}.${issuedAt}`)
    .digest('base64url')
    .slice(0, 22);
}

/** A token for a form of `purpose` shown at `issuedAt` (ms since the epoch). */
export function signFormToken(key: Buffer, purpose: FormPurpose, issuedAt: number): string {
  const stamp = Math.floor(issuedAt).toString(36);
  return `${VERSION}.${stamp}.${mac(key, purpose, stamp)}`;
}

/** Reads a token: genuine (made by `signFormToken` for this purpose) and when it was issued, or why not. */
export function readFormToken(
  key: Buffer,
  purpose: FormPurpose,
  token: unknown,
): { issuedAt: number } | { reason: 'missing' | 'forged' } {
  if (typeof token !== 'string' || token === '') return { reason: 'missing' };
  const match = TOKEN.exec(token);
  if (!match) return { reason: 'forged' };
  const [, stamp = '', given = ''] = match;
  const expected = mac(key, purpose, stamp);
  if (!timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return { reason: 'forged' };
  return { issuedAt: parseInt(stamp, 36) };
}

export interface FormTokenPolicy {
  key: Buffer;
  /** Seconds a person needs at least; 0 turns the check off. */
  minFillSeconds: number;
  maxAgeSeconds: number;
  now: () => number;
}

/** Whether a submitted token shows a form that was filled in by a person: not too fast, not too old. */
export function checkFormToken(
  policy: FormTokenPolicy,
  purpose: FormPurpose,
  token: unknown,
): FormTokenCheck {
  const read = readFormToken(policy.key, purpose, token);
  if ('reason' in read) return { ok: false, reason: read.reason };
  const age = policy.now() - read.issuedAt;
  // A token from the future was not made by this platform's clock: treat it as too fast.
  if (age < policy.minFillSeconds * 1000) return { ok: false, reason: 'too-fast' };
  if (age > policy.maxAgeSeconds * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, issuedAt: read.issuedAt };
}

/**
 * The token a re-shown form carries: the one it was sent with while that one is genuine and not
 * expired (so a person correcting a field is not timed again from zero), else a new one.
 */
export function tokenForForm(
  policy: FormTokenPolicy,
  purpose: FormPurpose,
  submitted: unknown,
): string {
  const read = readFormToken(policy.key, purpose, submitted);
  const now = policy.now();
  if (
    'issuedAt' in read &&
    read.issuedAt <= now &&
    now - read.issuedAt <= policy.maxAgeSeconds * 1000
  )
    return submitted as string;
  return signFormToken(policy.key, purpose, now);
}
