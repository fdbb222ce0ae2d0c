import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { hashIp } from './ip-hash';

/**
 * A per-IP limit counted in Redis, so every web process shares it. Keys are IP hashes, never
 * IPs. If Redis is unreachable the request goes through: a signature is worth more than the limit.
 */
export function ipRateLimit(options: {
  redis: Redis;
  prefix: string;
  secret: string;
  limit: number;
  windowSeconds: number;
  onLimited: (req: Request, res: Response, retryAfterSeconds: number) => void;
}): RequestHandler {
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    // IPv6 addresses count per /56 network, as one household or phone can hold many of them.
    keyGenerator: (req) => hashIp(options.secret, ipKeyGenerator(req.ip ?? 'unknown')),
    store: new RedisStore({
      prefix: `${options.prefix}:`,
      sendCommand: (command: string, ...args: string[]) =>
        options.redis.call(command, ...args) as Promise<RedisReply>,
    }),
    handler: (req, res) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime?.getTime();
      const retryAfter = resetTime ? Math.max(1, Math.ceil((resetTime - Date.now()) / 1000)) : options.windowSeconds;
      res.setHeader('Retry-After', String(retryAfter));
      options.onLimited(req, res, retryAfter);
    },
  });
}
