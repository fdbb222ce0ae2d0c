import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';

/** How long a browser stays trusted after a sign-in from it. */
export const TRUSTED_BROWSER_DAYS = 180;
/** Wrong passwords from one trusted browser, within TRUSTED_BROWSER_WINDOW_SECONDS, after which it is trusted no more for that window. */
export const TRUSTED_BROWSER_FAILURES = 5;
export const TRUSTED_BROWSER_WINDOW_SECONDS = 15 * 60;

/**
 * Browsers an account has signed in from (OWASP's "device cookies"). After a successful sign-in
 * the browser gets a cookie naming the account, signed with the platform secret. A later sign-in to
 * that account from that browser is not held by the account's wait after failed attempts (see
 * `authenticate`), so someone guessing from elsewhere cannot lock the owner out; the browser's own
 * wrong passwords are counted apart, in Redis, and after TRUSTED_BROWSER_FAILURES of them within
 * the window its cookie counts for nothing until the window ends (a stolen cookie buys few guesses).
 * The cookie says nothing but the account's id; the count is keyed by the cookie's random part.
 */
export class TrustedBrowsers {
  readonly cookieName: string;

  constructor(
    private readonly options: { secret: string; redis: Redis; prefix: string; https: boolean },
  ) {
    this.cookieName = options.https ? '__Host-staff-browser' : 'staff-browser';
  }

  private mac(accountId: number, nonce: string): Buffer {
    return createHmac('sha256', this.options.secret)
      .update(`staff-trusted-browser\n${accountId}.${nonce}`)
      .digest();
  }

  private failuresKey(nonce: string): string {
    return `${this.options.prefix}:staff-browser-failures:${nonce}`;
  }

  private read(req: Request): { accountId: number; nonce: string } | undefined {
    const value = (req.cookies as Record<string, unknown> | undefined)?.[this.cookieName];
    if (typeof value !== 'string') return undefined;
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return undefined;
    const accountId = Number(match[1]);
    const given = Buffer.from(match[3]!, 'base64url');
    const expected = this.mac(accountId, match[2]!);
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? { accountId, nonce: match[2]! }
      : undefined;
  }

  /**
   * The account this request's browser is trusted for, if its cookie is genuine and the browser
   * has not failed too often lately. Without Redis, none (the account's own wait applies).
   */
  async accountOf(req: Request): Promise<number | undefined> {
    const cookie = this.read(req);
    if (!cookie) return undefined;
    const failures = await this.options.redis
      .get(this.failuresKey(cookie.nonce))
      .catch(() => String(TRUSTED_BROWSER_FAILURES));
    return Number(failures ?? 0) < TRUSTED_BROWSER_FAILURES ? cookie.accountId : undefined;
  }

  /** Counts a wrong password from this request's trusted browser. */
  async failed(req: Request): Promise<void> {
    const cookie = this.read(req);
    if (!cookie) return;
    const key = this.failuresKey(cookie.nonce);
    await this.options.redis
      .multi()
      // The window starts with the first failure; later ones do not move it.
      .set(key, '0', 'EX', TRUSTED_BROWSER_WINDOW_SECONDS, 'NX')
      .incr(key)
      .exec()
      .catch(() => undefined);
  }

  /** Trusts this browser for `accountId` from now on (after a successful sign-in). */
  trust(res: Response, accountId: number): void {
    const nonce = randomBytes(16).toString('base64url');
    res.cookie(
      this.cookieName,
      `${accountId}.${nonce}.${this.mac(accountId, nonce).toString('base64url')}`,
      {
        httpOnly: true,
        sameSite: 'lax',
        secure: this.options.https,
        path: '/',
        maxAge: TRUSTED_BROWSER_DAYS * 24 * 60 * 60 * 1000,
      },
    );
  }
}
