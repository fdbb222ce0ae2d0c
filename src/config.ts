import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { projectRoot } from './paths';
import { newKey, parseKeyRing, parseLookupKey, type EncryptionKeys } from './db/field-encryption';

/**
 * Every environment variable the platform reads, parsed once. Nothing else reads process.env.
 * With none set, the platform runs embedded: PGlite under DATA_DIR/pg and its own redis-server.
 */
const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const wholeNumber = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be a whole number from ${min} to ${max}`)
    .max(max, `must be a whole number from ${min} to ${max}`)
    .default(fallback);

const urlWithScheme = (schemes: string[], example: string) =>
  z
    .url({ error: `must be a URL like ${example}` })
    .refine(
      (url) => URL.canParse(url) && schemes.includes(new URL(url).protocol),
      `must start with ${schemes.map((s) => `${s}//`).join(' or ')}`,
    )
    .optional();

/** CWC's message endpoint: rehearsals use its validation endpoint beside it, so it must end in /message. */
const cwcMessageUrl = urlWithScheme(['http:', 'https:'], 'https://cwc.example/v2/message').refine(
  (url) => url === undefined || /\/message\/?$/.test(new URL(url).pathname),
  "must be CWC's message endpoint, ending in /message (rehearsals use /validate beside it)",
);

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, a subnet (`10.0.0.0/8`) or one of proxy-addr's names; not proxy-addr's looser forms. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || !isIP(address)) return false;
  return prefix === undefined || /^\d{1,3}$/.test(prefix);
}

/** Express `trust proxy`: true/false, a hop count, or addresses, subnets and the names proxy-addr knows. */
const trustProxy = z
  .string()
  .default('loopback')
  .transform((raw, ctx): boolean | number | string[] => {
    const value = raw.trim();
    if (value === 'true') return true;
    if (value === 'false') return false;
    if (/^\d+$/.test(value)) return Number(value);
    const list = value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    const invalid = list.filter((entry) => !isProxyEntry(entry));
    try {
      if (invalid.length > 0)
        throw new Error(`not an address, subnet or proxy name: ${invalid.join(', ')}`);
      proxyaddr.compile(list);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `${(error as Error).message} (use true, false, a hop count, or addresses/subnets)`,
      });
      return z.NEVER;
    }
    return list;
  });

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: wholeNumber(3000, 0, 65535),
  PUBLIC_URL: urlWithScheme(['http:', 'https:'], 'https://act.example.org'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db'),
  DATABASE_POOL_SIZE: wholeNumber(10, 1, 1000),
  REDIS_URL: urlWithScheme(['redis:', 'rediss:'], 'redis://host:6379/0'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]+$/i, 'may use letters, digits, - and _')
    .default('frb'),
  SMTP_URL: urlWithScheme(['smtp:', 'smtps:'], 'smtp://user:pass@smtp.example.org:587'),
  APP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ENCRYPTION_KEYS: z.string().optional(),
  LOOKUP_HASH_KEY: z.string().optional(),
  PARTNER_ORIGINS: commaList.pipe(
    z.array(
      z.url({ error: 'must be a comma-separated list of origins like https://partner.example' }),
    ),
  ),
  TRUST_PROXY: trustProxy,
  SIGN_RATE_LIMIT: wholeNumber(30, 1, 1_000_000_000),
  SIGN_RATE_WINDOW_SECONDS: wholeNumber(60, 1, 86_400),
  SIGN_EMAIL_RATE_LIMIT: wholeNumber(10, 1, 1_000_000_000),
  LETTER_EMAIL_RATE_LIMIT: wholeNumber(10, 1, 1_000_000_000),
  EMAIL_RATE_WINDOW_SECONDS: wholeNumber(3600, 1, 604_800),
  FORM_MIN_FILL_SECONDS: wholeNumber(3, 0, 3600),
  FORM_TOKEN_MAX_AGE_SECONDS: wholeNumber(86_400, 60, 2_592_000),
  CAPTCHA_PROVIDER: z.enum(['none', 'hcaptcha', 'turnstile']).default('none'),
  CAPTCHA_SITE_KEY: z
    .string()
    .regex(/^[\w.-]{1,200}$/, 'must be the site key the provider gave you')
    .optional(),
  CAPTCHA_SECRET: z
    .string()
    .regex(/^[^\s]{8,500}$/, 'must be the secret key the provider gave you (no spaces)')
    .optional(),
  CAPTCHA_VERIFY_URL: urlWithScheme(['http:', 'https:'], 'https://api.hcaptcha.com/siteverify'),
  CAPTCHA_TIMEOUT_MS: wholeNumber(3000, 100, 60_000),
  IP_HASH_RETENTION_DAYS: wholeNumber(7, 0, 3650),
  RETENTION_DAYS_AFTER_CLOSE: wholeNumber(90, 0, 36500),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REP_DATA_DIR: z.string().optional(),
  REP_DATA_REFRESH: z
    .enum(['off', 'daily', 'weekly'], { error: 'must be off, daily or weekly' })
    .default('daily'),
  REP_DATA_MIRROR: urlWithScheme(['http:', 'https:'], 'https://mirror.example.org/rep-data'),
  GEOCODER: z.enum(['none', 'census']).default('none'),
  GEOCODER_URL: urlWithScheme(['http:', 'https:'], 'https://geocoding.geo.census.gov'),
  GEOCODER_TIMEOUT_MS: wholeNumber(3000, 100, 60_000),
  LOOKUP_RATE_LIMIT: wholeNumber(60, 1, 1_000_000_000),
  STAFF_LOGIN_RATE_LIMIT: wholeNumber(20, 1, 1_000_000_000),
  STAFF_STATEMENT_TIMEOUT_MS: wholeNumber(10_000, 100, 600_000),
  MAIL_FROM: z
    .string()
    .regex(/^[^\r\n]+$/, 'must be one line')
    .default('Ban Face Surveillance <letters@localhost>'),
  DELIVERY_REDIRECT_TO: z.email({ error: 'must be an email address' }).optional(),
  DELIVERY_PER_RECIPIENT_PER_MINUTE: wholeNumber(30, 1, 1_000_000),
  DELIVERY_LOCK_SECONDS: wholeNumber(30, 1, 3600),
  OSDI_RATE_LIMIT: wholeNumber(600, 1, 1_000_000_000),
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false'),
  ACTION_NETWORK_URL: urlWithScheme(['http:', 'https:'], 'https://actionnetwork.org'),
  CWC_URL: cwcMessageUrl,
  CWC_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  CWC_SENATE_URL: cwcMessageUrl,
  CWC_SENATE_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  CWC_ORGANIZATION: z
    .string()
    .regex(/^[^\r\n]+$/, 'must be one line')
    .optional(),
  CWC_CONTACT_EMAIL: z.email({ error: 'must be an email address' }).optional(),
  CWC_CONTACT_PHONE: z
    .string()
    .regex(/^[0-9 ()+.-]{7,30}$/, 'must be a phone number')
    .transform((phone, ctx) => {
      // CWC takes a US number written xxx-xxx-xxxx; a leading country code 1 is dropped.
      const digits = phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
      if (digits.length === 10)
        return `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
      ctx.addIssue({
        code: 'custom',
        message: 'must be a US phone number of 10 digits, like 202-555-0100 (CWC requires one)',
      });
      return z.NEVER;
    })
    .optional(),
});

export type Environment = Record<string, string | undefined>;

export interface CwcConfig {
  house: { url: string; apiKey: string } | undefined;
  senate: { url: string; apiKey: string } | undefined;
  organization: string;
  /** The delivery agent's contact; the phone written xxx-xxx-xxxx as CWC requires. */
  contactEmail: string;
  contactPhone: string;
}

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
  /**
   * Supporters' names, emails, addresses and letters are encrypted in the database with these
   * (src/privacy/field-encryption.ts): the first key encrypts, every key decrypts (key rotation);
   * the lookup key makes the keyed hashes that find and de-duplicate email addresses.
   */
  encryption: EncryptionKeys;
  partnerOrigins: string[];
  trustProxy: boolean | number | string[];
  signRateLimit: { limit: number; windowSeconds: number };
  /** Abuse controls: per-email limits, the forms' minimum fill time, and the optional CAPTCHA. */
  abuse: {
    /** Signatures / letter submissions per email address (counted by its keyed hash) per window. */
    emailRateLimit: { sign: number; letters: number; windowSeconds: number };
    /** A form sent sooner than this after it was shown is treated as automated (0: the check is off). */
    formMinFillSeconds: number;
    /** A form token older than this is treated as automated. */
    formTokenMaxAgeSeconds: number;
    /** Off when undefined. */
    captcha:
      | {
          provider: 'hcaptcha' | 'turnstile';
          siteKey: string;
          secret: string;
          verifyUrl: string | undefined;
          timeoutMs: number;
        }
      | undefined;
  };
  /** IP hashes are erased from signatures this many days after signing (0: at the next sweep). */
  ipHashRetentionDays: number;
  /** Supporters' personal data in a closed campaign is erased this many days after it closed. */
  retentionDaysAfterClose: number;
  logLevel: string;
  /**
   * Where representative data is imported from on first start: REP_DATA_DIR (`none`: nowhere),
   * else the shared bundle next to the project (`../shared/data`) when it exists. Refreshes take
   * its district shapes and ZIP tables (see representatives/refresh.ts).
   */
  repDataDir: string | undefined;
  /**
   * How often the officials' files are fetched again from their publishers (or the mirror) and
   * imported (REP_DATA_REFRESH): the job scheduler's period, or off.
   */
  repDataRefresh: 'off' | 'daily' | 'weekly';
  /** REP_DATA_MIRROR: a base URL serving the publishers' files as `<mirror>/<host>/<path>`, used instead of them. */
  repDataMirror: string | undefined;
  /** Address geocoding: off (addresses are looked up by their ZIP) or the Census Geocoder. */
  geocoder: { provider: 'none' | 'census'; url: string; timeoutMs: number };
  /** Representative lookups per IP and minute. */
  lookupRateLimit: number;
  /** Staff sign-in attempts allowed per IP address per 15 minutes (each account also locks itself). */
  staffLoginRateLimit: number;
  /**
   * How long one statement of the staff console may run on PostgreSQL before the server cancels
   * it, and how long a report read in pages (the abuse report, on either database) may take in
   * all: past it, the page answers 503 and asks for a narrower report.
   */
  staffStatementTimeoutMs: number;
  /** The OSDI API (`/api/osdi/v1`): requests per token per minute (OSDI_RATE_LIMIT). */
  osdiRateLimit: number;
  /** Webhooks and the push to Action Network. */
  webhooks: {
    /**
     * WEBHOOK_ALLOW_PRIVATE: let webhooks (and Action Network pushes) reach private and loopback
     * addresses, and plain http://; for tests and local development only.
     */
    allowPrivate: boolean;
    /** ACTION_NETWORK_URL: where partners' Action Network lives (its API is under `/api/v2`). */
    actionNetworkUrl: string;
  };
  delivery: {
    /** The From of letters and confirmations, unless a campaign sets its own. */
    from: string;
    /** Rehearsals: every letter goes to this address instead of its target. */
    redirectTo: string | undefined;
    /** Letters to any one recipient address per minute; more wait. */
    perRecipientPerMinute: number;
    /** A delivery job's lock: a send whose worker has been silent this long is taken over. */
    lockSeconds: number;
    /**
     * Communicating with Congress, for the House (CWC_URL, CWC_API_KEY) and the Senate
     * (CWC_SENATE_URL, CWC_SENATE_API_KEY), each on when its URL and key are set; the coalition's
     * name and contact serve both. Undefined when neither is on.
     */
    cwc: CwcConfig | undefined;
  };
}

/** The names of every variable the platform knows (the compose test checks against this). */
export const knownVariables: readonly string[] = Object.keys(configSchema.shape);

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Configuration error: ${issues.join('; ')}`);
  }
}

export function loadConfig(env: Environment): Config {
  // A variable set to nothing (`PORT=`) means the default, as if it were not set.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = configSchema.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const vars = parsed.data;
  const dataDir = path.resolve(vars.DATA_DIR);
  if (vars.NODE_ENV === 'production') {
    const missing = [
      !vars.APP_SECRET &&
        'APP_SECRET: required when NODE_ENV=production (e.g. `openssl rand -hex 32`)',
      !vars.ENCRYPTION_KEYS &&
        'ENCRYPTION_KEYS: required when NODE_ENV=production (`npm run keys:new` makes one)',
      !vars.LOOKUP_HASH_KEY &&
        'LOOKUP_HASH_KEY: required when NODE_ENV=production (`npm run keys:new` makes one)',
    ].filter((issue): issue is string => Boolean(issue));
    if (missing.length > 0) throw new ConfigError(missing);
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
    encryption: encryptionKeys(vars, dataDir),
    partnerOrigins: vars.PARTNER_ORIGINS.map((origin) => new URL(origin).origin),
    trustProxy: vars.TRUST_PROXY,
    signRateLimit: { limit: vars.SIGN_RATE_LIMIT, windowSeconds: vars.SIGN_RATE_WINDOW_SECONDS },
    abuse: {
      emailRateLimit: {
        sign: vars.SIGN_EMAIL_RATE_LIMIT,
        letters: vars.LETTER_EMAIL_RATE_LIMIT,
        windowSeconds: vars.EMAIL_RATE_WINDOW_SECONDS,
      },
      formMinFillSeconds: vars.FORM_MIN_FILL_SECONDS,
      formTokenMaxAgeSeconds: vars.FORM_TOKEN_MAX_AGE_SECONDS,
      captcha: captchaSettings(vars),
    },
    ipHashRetentionDays: vars.IP_HASH_RETENTION_DAYS,
    retentionDaysAfterClose: vars.RETENTION_DAYS_AFTER_CLOSE,
    logLevel: vars.LOG_LEVEL,
    repDataDir:
      vars.REP_DATA_DIR === 'none'
        ? undefined
        : vars.REP_DATA_DIR
          ? path.resolve(vars.REP_DATA_DIR)
          : bundledRepData(),
    repDataRefresh: vars.REP_DATA_REFRESH,
    repDataMirror: vars.REP_DATA_MIRROR?.replace(/\/+$/, ''),
    geocoder: {
      provider: vars.GEOCODER,
      url: (vars.GEOCODER_URL ?? 'https://geocoding.geo.census.gov').replace(/\/+$/, ''),
      timeoutMs: vars.GEOCODER_TIMEOUT_MS,
    },
    lookupRateLimit: vars.LOOKUP_RATE_LIMIT,
    staffLoginRateLimit: vars.STAFF_LOGIN_RATE_LIMIT,
    staffStatementTimeoutMs: vars.STAFF_STATEMENT_TIMEOUT_MS,
    osdiRateLimit: vars.OSDI_RATE_LIMIT,
    webhooks: {
      allowPrivate: vars.WEBHOOK_ALLOW_PRIVATE === 'true',
      actionNetworkUrl: (vars.ACTION_NETWORK_URL ?? 'https://actionnetwork.org').replace(
        /\/+$/,
        '',
      ),
    },
    delivery: {
      from: vars.MAIL_FROM,
      redirectTo: vars.DELIVERY_REDIRECT_TO,
      perRecipientPerMinute: vars.DELIVERY_PER_RECIPIENT_PER_MINUTE,
      lockSeconds: vars.DELIVERY_LOCK_SECONDS,
      cwc: cwcSettings(vars),
    },
  };
}

/** The process environment, with `.env` from the working directory loaded into it when present. */
function processEnvironment(): Environment {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

/** Parses the process environment (and `.env`). */
export function configFromProcess(): Config {
  return loadConfig(processEnvironment());
}

/**
 * The ids of the encryption keys configured now (ENCRYPTION_KEYS, else an embedded installation's
 * keys file), without generating any: for `keys:new`, which proposes the next id.
 */
export function configuredKeyIds(env: Environment = processEnvironment()): number[] {
  const file = path.join(path.resolve(env.DATA_DIR?.trim() || './data'), 'keys.json');
  const ring =
    env.ENCRYPTION_KEYS?.trim() || (existsSync(file) ? readKeysFile(file).encryptionKeys : '');
  return ring ? parseKeyRing(ring).map((key) => key.id) : [];
}

function cwcSettings(vars: z.output<typeof configSchema>): CwcConfig | undefined {
  const chamber = (
    name: string,
    url: string | undefined,
    apiKey: string | undefined,
    issues: string[],
  ) => {
    if (!url && !apiKey) return undefined;
    if (!url) issues.push(`${name}_URL: required when ${name}_API_KEY is set`);
    if (!apiKey) issues.push(`${name}_API_KEY: required when ${name}_URL is set`);
    return url && apiKey ? { url, apiKey } : undefined;
  };
  const issues: string[] = [];
  const house = chamber('CWC', vars.CWC_URL, vars.CWC_API_KEY, issues);
  const senate = chamber('CWC_SENATE', vars.CWC_SENATE_URL, vars.CWC_SENATE_API_KEY, issues);
  if (issues.length === 0 && !house && !senate) return undefined;
  const contact = {
    CWC_ORGANIZATION: vars.CWC_ORGANIZATION,
    CWC_CONTACT_EMAIL: vars.CWC_CONTACT_EMAIL,
    CWC_CONTACT_PHONE: vars.CWC_CONTACT_PHONE,
  };
  for (const [name, value] of Object.entries(contact))
    if (!value) issues.push(`${name}: required when CWC is on (CWC_URL or CWC_SENATE_URL)`);
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    house,
    senate,
    organization: contact.CWC_ORGANIZATION!,
    contactEmail: contact.CWC_CONTACT_EMAIL!,
    contactPhone: contact.CWC_CONTACT_PHONE!,
  };
}

function captchaSettings(vars: z.output<typeof configSchema>): Config['abuse']['captcha'] {
  if (vars.CAPTCHA_PROVIDER === 'none') return undefined;
  const missing = Object.entries({
    CAPTCHA_SITE_KEY: vars.CAPTCHA_SITE_KEY,
    CAPTCHA_SECRET: vars.CAPTCHA_SECRET,
  })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0)
    throw new ConfigError(
      missing.map((name) => `${name}: required when CAPTCHA_PROVIDER is ${vars.CAPTCHA_PROVIDER}`),
    );
  return {
    provider: vars.CAPTCHA_PROVIDER,
    siteKey: vars.CAPTCHA_SITE_KEY!,
    secret: vars.CAPTCHA_SECRET!,
    verifyUrl: vars.CAPTCHA_VERIFY_URL,
    timeoutMs: vars.CAPTCHA_TIMEOUT_MS,
  };
}

/** The shared data bundle next to the project, where the project is developed. */
function bundledRepData(): string | undefined {
  const dir = path.resolve(projectRoot, '..', 'shared', 'data');
  return existsSync(path.join(dir, 'congress')) ? dir : undefined;
}

/**
 * The encryption keys and the lookup hash key, as configured. In embedded mode (no DATABASE_URL),
 * those not configured are generated on first start and kept in DATA_DIR/keys.json, beside the
 * embedded database they protect. With DATABASE_URL both must be given: every process that shares
 * the database needs the same keys, and a key made up on one machine would seal data no other
 * process can read.
 */
function encryptionKeys(vars: z.output<typeof configSchema>, dataDir: string): EncryptionKeys {
  if (vars.DATABASE_URL) {
    const missing = (['ENCRYPTION_KEYS', 'LOOKUP_HASH_KEY'] as const).filter((name) => !vars[name]);
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map(
          (name) =>
            `${name}: required with DATABASE_URL, the same in every process that uses the database (\`npm run keys:new\` makes one)`,
        ),
      );
    }
  }
  const stored = vars.ENCRYPTION_KEYS && vars.LOOKUP_HASH_KEY ? undefined : embeddedKeys(dataDir);
  const keys = parseEncryptionKeys(
    {
      ENCRYPTION_KEYS: vars.ENCRYPTION_KEYS ?? stored!.encryptionKeys,
      LOOKUP_HASH_KEY: vars.LOOKUP_HASH_KEY ?? stored!.lookupHashKey,
    },
    {
      ENCRYPTION_KEYS: vars.ENCRYPTION_KEYS
        ? 'ENCRYPTION_KEYS'
        : `${stored!.file} (encryptionKeys)`,
      LOOKUP_HASH_KEY: vars.LOOKUP_HASH_KEY ? 'LOOKUP_HASH_KEY' : `${stored!.file} (lookupHashKey)`,
    },
  );
  return stored?.save ? { ...keys, unsaved: { file: stored.file, save: stored.save } } : keys;
}

/** Both keys from their variables' text, checked; a ConfigError names each variable that is wrong, never a key. */
export function parseEncryptionKeys(
  values: { ENCRYPTION_KEYS: string; LOOKUP_HASH_KEY: string },
  names: { ENCRYPTION_KEYS: string; LOOKUP_HASH_KEY: string } = {
    ENCRYPTION_KEYS: 'ENCRYPTION_KEYS',
    LOOKUP_HASH_KEY: 'LOOKUP_HASH_KEY',
  },
): EncryptionKeys {
  const issues: string[] = [];
  const parse = <T>(name: string, parser: (value: string) => T, value: string): T | undefined => {
    try {
      return parser(value);
    } catch (error) {
      issues.push(`${name}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const keys = parse(names.ENCRYPTION_KEYS, parseKeyRing, values.ENCRYPTION_KEYS);
  const lookupKey = parse(names.LOOKUP_HASH_KEY, parseLookupKey, values.LOOKUP_HASH_KEY);
  if (keys && lookupKey && keys.some((entry) => entry.key.equals(lookupKey))) {
    issues.push(
      `${names.LOOKUP_HASH_KEY}: must be a key of its own, not one of ${names.ENCRYPTION_KEYS}`,
    );
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { keys: keys!, lookupKey: lookupKey! };
}

/**
 * The keys of an embedded installation, from DATA_DIR/keys.json; when there is none, new keys
 * and how to write them there (the first migration does, once it has seen the database has no
 * keys of its own: a lost file must be restored, not replaced).
 */
function embeddedKeys(dataDir: string): {
  file: string;
  encryptionKeys: string;
  lookupHashKey: string;
  save?: () => void;
} {
  const file = path.join(dataDir, 'keys.json');
  if (existsSync(file)) return { file, ...readKeysFile(file) };
  const generated = { encryptionKeys: `1:${newKey()}`, lookupHashKey: newKey() };
  const save = () => {
    mkdirSync(dataDir, { recursive: true });
    // Written whole under another name, then linked into place: never half a file, never over another.
    const part = `${file}.${randomBytes(6).toString('hex')}`;
    writeFileSync(part, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(part, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new ConfigError([`${file}: made by another process meanwhile; start again`]);
      throw error;
    } finally {
      unlinkSync(part);
    }
  };
  return { file, ...generated, save };
}

function readKeysFile(file: string): { encryptionKeys: string; lookupHashKey: string } {
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as {
      encryptionKeys?: unknown;
      lookupHashKey?: unknown;
    };
    if (typeof stored.encryptionKeys === 'string' && typeof stored.lookupHashKey === 'string') {
      return { encryptionKeys: stored.encryptionKeys, lookupHashKey: stored.lookupHashKey };
    }
  } catch {
    // Reported below, without quoting the file: it holds keys.
  }
  throw new ConfigError([
    `${file}: not the keys file this platform writes; restore it from your backup (without it the embedded data cannot be read)`,
  ]);
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
