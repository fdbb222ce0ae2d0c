import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../logger';
import { throttledWarning } from '../queue/connection-errors';
import { hashIp } from './ip-hash';

/**
 * A per-IP limit counted in Redis by rate-limiter-flexible (a fixed window per key, one atomic
 * script per request on the platform's own connection), so every web process shares it. Keys are
 * IP hashes, never IPs. If Redis is unreachable the request goes through: a signature is worth
 * more than the limit.
 */
export function ipRateLimit(options: {
  redis: Redis;
  prefix: string;
  secret: string;
  limit: number;
  windowSeconds: number;
  logger: Logger;
  onLimited: (req: Request, res: Response, retryAfterSeconds: number) => void;
  /** Counts per something else than the IP address (the OSDI API counts per token). */
  keyOf?: (req: Request, res: Response) => string;
}): RequestHandler {
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    keyPrefix: options.prefix,
    points: options.limit,
    duration: options.windowSeconds,
  });
  const warn = throttledWarning(
    options.logger,
    options.prefix,
    'rate limit store unreachable; letting requests through',
  );
  const policy = `"${options.limit}-in-${options.windowSeconds}s"`;
  return (req, res, next) => {
    // IPv6 addresses count per /56 network, as one household or phone can hold many of them.
    const key = options.keyOf
      ? options.keyOf(req, res)
      : hashIp(options.secret, ipKeyGenerator(req.ip ?? 'unknown'));
    limiter.consume(key).then(
      (used) => {
        rateLimitHeaders(res, policy, options, used);
        next();
      },
      (refusal: unknown) => {
        if (!(refusal instanceof RateLimiterRes)) {
          warn(refusal);
          next();
          return;
        }
        rateLimitHeaders(res, policy, options, refusal);
        const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        res.setHeader('Retry-After', String(retryAfter));
        options.onLimited(req, res, retryAfter);
      },
    );
  };
}

/** The IETF draft's `RateLimit-Policy` and `RateLimit` headers: the quota, what is left, and when it resets. */
function rateLimitHeaders(
  res: Response,
  policy: string,
  options: { limit: number; windowSeconds: number },
  state: RateLimiterRes,
): void {
  res.setHeader('RateLimit-Policy', `${policy}; q=${options.limit}; w=${options.windowSeconds}`);
  res.setHeader(
    'RateLimit',
    `${policy}; r=${state.remainingPoints}; t=${Math.max(0, Math.ceil(state.msBeforeNext / 1000))}`,
  );
}
