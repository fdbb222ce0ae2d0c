import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Logger } from '../logger';
import { throttledWarning } from '../queue/connection-errors';
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
  logger: Logger;
  onLimited: (req: Request, res: Response, retryAfterSeconds: number) => void;
  /** Counts per something else than the IP address (the OSDI API counts per token). */
  keyOf?: (req: Request, res: Response) => string;
}): RequestHandler {
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    logger: {
      warn: (error: unknown) =>
        options.logger.warn({ err: error, source: options.prefix }, 'rate limiter warning'),
      error: throttledWarning(
        options.logger,
        options.prefix,
        'rate limit store unreachable; letting requests through',
      ),
    },
    // IPv6 addresses count per /56 network, as one household or phone can hold many of them.
    keyGenerator: (req, res) =>
      options.keyOf
        ? options.keyOf(req, res)
        : hashIp(options.secret, ipKeyGenerator(req.ip ?? 'unknown')),
    store: new RedisStore({
      prefix: `${options.prefix}:`,
      sendCommand: scriptTolerantSender(options.redis),
    }),
    handler: (req, res) => {
      const resetTime = (
        req as Request & { rateLimit?: { resetTime?: Date } }
      ).rateLimit?.resetTime?.getTime();
      const retryAfter = resetTime
        ? Math.max(1, Math.ceil((resetTime - Date.now()) / 1000))
        : options.windowSeconds;
      res.setHeader('Retry-After', String(retryAfter));
      options.onLimited(req, res, retryAfter);
    },
  });
}

/**
 * The store loads its Lua scripts once, when created, and keeps a failed load forever: were Redis
 * down at that moment, limits would stay off after it returned. So `SCRIPT LOAD` is answered here
 * (a script's id is its SHA-1), and a script Redis does not know yet is sent whole with EVAL,
 * which also loads it for the next EVALSHA.
 */
function scriptTolerantSender(redis: Redis) {
  const scripts = new Map<string, string>();
  return async (command: string, ...args: string[]): Promise<RedisReply> => {
    if (command === 'SCRIPT' && args[0] === 'LOAD' && args[1] !== undefined) {
      const sha = createHash('sha1').update(args[1]).digest('hex');
      scripts.set(sha, args[1]);
      return sha;
    }
    if (command === 'EVALSHA') {
      const [sha = '', ...rest] = args;
      try {
        return (await redis.call('EVALSHA', sha, ...rest)) as RedisReply;
      } catch (error) {
        const script = scripts.get(sha);
        if (!script || !String((error as Error).message).includes('NOSCRIPT')) throw error;
        return (await redis.call('EVAL', script, ...rest)) as RedisReply;
      }
    }
    return (await redis.call(command, ...args)) as RedisReply;
  };
}
