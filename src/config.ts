import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the platform reads, parsed once. Nothing else reads process.env.
 * With none set, the platform runs embedded: PGlite under DATA_DIR/pg and its own redis-server.
 */
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalString.pipe(z.url().optional()),
  DATABASE_POOL_SIZE: positiveInt(10),
  REDIS_URL: optionalString.pipe(z.url().optional()),
  REDIS_KEY_PREFIX: z.string().regex(/^[a-z0-9_-]+$/i).default('frb'),
  SMTP_URL: optionalString.pipe(z.url().optional()),
  APP_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  PARTNER_ORIGINS: commaList.pipe(z.array(z.url())),
  TRUST_PROXY: z.string().default('loopback'),
  SIGN_RATE_LIMIT: positiveInt(30),
  SIGN_RATE_WINDOW_SECONDS: positiveInt(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Environment = Record<string, string | undefined>;

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  /** Embedded database (PGlite) when unset. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** Embedded redis-server child process when unset. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** With no SMTP_URL, mail is written to files under DATA_DIR/mail, never sent. */
  smtpUrl: string | undefined;
  secret: string;
  partnerOrigins: string[];
  trustProxy: string;
  signRateLimit: { limit: number; windowSeconds: number };
  logLevel: string;
}

/** The names of every variable the platform knows (the compose test checks against this). */
export const knownVariables: readonly string[] = Object.keys(configSchema.shape);

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Configuration error: ${issues.join('; ')}`);
  }
}

export function loadConfig(env: Environment): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const vars = parsed.data;
  const dataDir = path.resolve(vars.DATA_DIR);
  if (vars.NODE_ENV === 'production' && !vars.APP_SECRET) {
    throw new ConfigError(['APP_SECRET: required when NODE_ENV=production (e.g. `openssl rand -hex 32`)']);
  }
  return {
    env: vars.NODE_ENV,
    host: vars.HOST,
    port: vars.PORT,
    publicUrl: (vars.PUBLIC_URL ?? `http://localhost:${vars.PORT}`).replace(/\/+$/, ''),
    dataDir,
    databaseUrl: vars.DATABASE_URL,
    databasePoolSize: vars.DATABASE_POOL_SIZE,
    redisUrl: vars.REDIS_URL,
    redisKeyPrefix: vars.REDIS_KEY_PREFIX,
    smtpUrl: vars.SMTP_URL,
    secret: vars.APP_SECRET ?? embeddedSecret(dataDir),
    partnerOrigins: vars.PARTNER_ORIGINS.map((origin) => new URL(origin).origin),
    trustProxy: vars.TRUST_PROXY,
    signRateLimit: { limit: vars.SIGN_RATE_LIMIT, windowSeconds: vars.SIGN_RATE_WINDOW_SECONDS },
    logLevel: vars.LOG_LEVEL,
  };
}

/** Loads `.env` from the working directory when present, then parses the process environment. */
export function configFromProcess(): Config {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return loadConfig(process.env);
}

/** A secret generated on first start and kept under DATA_DIR, so embedded mode needs no setup. */
function embeddedSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
