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

/**
 * A fixed-window limit per email address, counted in Redis under the address's keyed hash (never
 * the address) so that every web process shares it; the key expires with its window. When Redis is
 * unreachable the request goes through, as with the per-IP limits.
 */
export class EmailRateLimit {
  private readonly warn: (error: unknown) => void;

  constructor(
    private readonly options: { redis: Redis; prefix: string; secret: string; limit: number; windowSeconds: number; logger: Logger },
  ) {
    this.warn = throttledWarning(options.logger, options.prefix, 'email rate limit store unreachable; letting requests through');
  }

  /** Counts one use of `email` (already normalised) and says whether it is over the limit. */
  async hit(email: string): Promise<EmailLimitAnswer> {
    const { redis, prefix, secret, limit, windowSeconds } = this.options;
    const key = `${prefix}:${hashEmail(secret, email)}`;
    try {
      const results = await redis.multi().set(key, '0', 'EX', windowSeconds, 'NX').incr(key).pttl(key).exec();
      if (!results) return { limited: false };
      const [, [incrError, count], [, ttl]] = results as [unknown, [Error | null, number], [Error | null, number]];
      if (incrError) throw incrError;
      if (count <= limit) return { limited: false };
      return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
    } catch (error) {
      this.warn(error);
      return { limited: false };
    }
  }
}
