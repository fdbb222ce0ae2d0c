import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../logger';
import { signatureInput } from '../petitions/signature-input';
import { throttledWarning } from '../queue/connection-errors';

/** An email address as signatures keep it (trimmed, lower-cased), or undefined when it is not one. */
export function normalisedEmail(value: unknown): string | undefined {
  const parsed = signatureInput.shape.email.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Keyed hash of a normalised email address: the only form in which a limit ever sees one. */
export function hashEmail(secret: string, email: string): string {
  return createHmac('sha256', secret).update(`email:${email}`).digest('base64url').slice(0, 32);
}

export type EmailLimitAnswer = { limited: false } | { limited: true; retryAfterSeconds: number };

/** A use of a budget taken before writing: handed back when nothing was written after all. */
export type Reservation =
  { limited: false; release(): Promise<void> } | { limited: true; retryAfterSeconds: number };

/**
 * A fixed-window limit per email address, counted in Redis by rate-limiter-flexible under the
 * address's keyed hash (never the address) so that every web process shares it; the key expires
 * with its window. When Redis is unreachable the request goes through, as with the per-IP limits.
 */
export class EmailRateLimit {
  private readonly warn: (error: unknown) => void;
  private readonly limiter: RateLimiterRedis;

  constructor(
    private readonly options: {
      redis: Redis;
      prefix: string;
      secret: string;
      limit: number;
      windowSeconds: number;
      logger: Logger;
    },
  ) {
    this.warn = throttledWarning(
      options.logger,
      options.prefix,
      'email rate limit store unreachable; letting requests through',
    );
    this.limiter = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: options.prefix,
      points: options.limit,
      duration: options.windowSeconds,
    });
  }

  /** Counts one use of `email` (already normalised) and says whether it is over the limit: every try counts. */
  async hit(email: string): Promise<EmailLimitAnswer> {
    try {
      await this.limiter.consume(hashEmail(this.options.secret, email));
      return { limited: false };
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return { limited: true, ...retryAfter(refusal) };
      this.warn(refusal);
      return { limited: false };
    }
  }

  /**
   * Takes one use of the budget of `email` as asked for by `requester` (the asker's IP hash): each
   * asker has a budget of their own for each address, so a third party can neither read how much
   * of someone's budget is used nor spend it. Take it just before writing, and release it when
   * nothing was written: only what is written counts. A refused try is handed back at once, so
   * it spends nothing either.
   */
  async reserve(email: string, requester: string): Promise<Reservation> {
    const key = hashEmail(this.options.secret, `${email}\n${requester}`);
    try {
      await this.limiter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) {
        this.warn(refusal);
        return { limited: false, release: () => Promise.resolve() };
      }
      await this.handBack(key);
      return { limited: true, ...retryAfter(refusal) };
    }
    return { limited: false, release: () => this.handBack(key) };
  }

  /** Gives one use back, never below zero and never into a window that has ended (which would start one). */
  private async handBack(key: string): Promise<void> {
    try {
      const used = await this.limiter.get(key);
      if (used && used.consumedPoints > 0 && used.msBeforeNext > 0)
        await this.limiter.reward(key, 1);
    } catch (error) {
      this.warn(error);
    }
  }
}

const retryAfter = (refusal: RateLimiterRes) => ({
  retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)),
});
