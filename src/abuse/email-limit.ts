import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
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

/** Takes one use if the budget has one left (an atomic check and count); answers [taken, ms left in the window]. */
const RESERVE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, redis.call('PTTL', KEYS[1])}`;

/** Hands one use back, never below zero, never reviving an expired window. */
const RELEASE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then redis.call('DECR', KEYS[1]) end
return used`;

/**
 * A fixed-window limit per email address, counted in Redis under the address's keyed hash (never
 * the address) so that every web process shares it; the key expires with its window. When Redis is
 * unreachable the request goes through, as with the per-IP limits.
 */
export class EmailRateLimit {
  private readonly warn: (error: unknown) => void;

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
  }

  /** Counts one use of `email` (already normalised) and says whether it is over the limit. */
  async hit(email: string): Promise<EmailLimitAnswer> {
    const { redis, prefix, secret, limit, windowSeconds } = this.options;
    const key = `${prefix}:${hashEmail(secret, email)}`;
    try {
      const results = await redis
        .multi()
        .set(key, '0', 'EX', windowSeconds, 'NX')
        .incr(key)
        .pttl(key)
        .exec();
      if (!results) return { limited: false };
      const [, [incrError, count], [, ttl]] = results as [
        unknown,
        [Error | null, number],
        [Error | null, number],
      ];
      if (incrError) throw incrError;
      if (count <= limit) return { limited: false };
      return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
    } catch (error) {
      this.warn(error);
      return { limited: false };
    }
  }

  /**
   * Takes one use of the budget of `email` as asked for by `requester` (the asker's IP hash): each
   * asker has a budget of their own for each address, so a third party can neither read how much
   * of someone's budget is used nor spend it. Take it just before writing, and release it when
   * nothing was written: only what is written counts.
   */
  async reserve(email: string, requester: string): Promise<Reservation> {
    const { redis, prefix, secret, limit, windowSeconds } = this.options;
    const key = `${prefix}:${hashEmail(secret, `${email}\n${requester}`)}`;
    const released = { limited: false as const, release: async () => undefined };
    try {
      const [taken, ttl] = (await redis.eval(
        RESERVE,
        1,
        key,
        String(limit),
        String(windowSeconds * 1000),
      )) as [number, number];
      if (Number(taken) !== 1)
        return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
      return {
        limited: false,
        release: async () => {
          await redis.eval(RELEASE, 1, key).catch((error: unknown) => this.warn(error));
        },
      };
    } catch (error) {
      this.warn(error);
      return released;
    }
  }
}
