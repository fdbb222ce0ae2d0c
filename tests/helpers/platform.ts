import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import pg from 'pg';
import { buildApp, type AppOptions } from '../../src/app';
import { loadConfig, type Environment } from '../../src/config';
import { createLogger } from '../../src/logger';
import { openPlatform, type Platform } from '../../src/platform';
import { DEMO_CAMPAIGN_SLUG } from '../../src/campaigns/demo';
import { setDeliveryMode } from '../../src/campaigns/editor';
import { campaigns, type TargetOffice } from '../../src/db/schema';
import { formatKeyRing } from '../../src/db/field-encryption';
import { startWorkers, type RunningWorkers } from '../../workers';
import { testDatabaseUrl, testRedisUrl } from './services';

export interface TestPlatform {
  platform: Platform;
  app: Express;
  /** Every log line written so far, as text (to check that no personal data is logged). */
  logs(): string;
  startWorkers(): Promise<RunningWorkers>;
  close(): Promise<void>;
}

/**
 * The real platform on a database of its own (created here, dropped by `close`) and a Redis key
 * prefix of its own, built by the same `openPlatform` that `npm start` uses.
 */
export async function createTestPlatform(
  env: Environment = {},
  appOptions: AppOptions = {},
  /** `databaseServer`: a PostgreSQL of the test's own to create the database on (the fault tests stop theirs). */
  services: { databaseServer?: string } = {},
): Promise<TestPlatform> {
  const server = services.databaseServer ?? testDatabaseUrl;
  const id = randomBytes(6).toString('hex');
  const databaseName = `frb_test_${id}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${databaseName}`);
  await admin.end();
  const databaseUrl = new URL(server);
  databaseUrl.pathname = `/${databaseName}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-test-'));

  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl.toString(),
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: testRedisUrl,
    REDIS_KEY_PREFIX: `test-${id}`,
    APP_SECRET: 'test-secret-test-secret-test-secret-0123',
    // Keys of this platform's own, as a deployment's would be (every process on its database must be given the same).
    ENCRYPTION_KEYS: formatKeyRing([{ id: 1, key: randomBytes(32) }]),
    LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
    SIGN_RATE_LIMIT: '100000',
    STAFF_LOGIN_RATE_LIMIT: '100000',
    // Tests post forms the moment they load and reuse addresses: the abuse tests turn these back on.
    SIGN_EMAIL_RATE_LIMIT: '100000',
    LETTER_EMAIL_RATE_LIMIT: '100000',
    FORM_MIN_FILL_SECONDS: '0',
    LOG_LEVEL: 'info',
    REP_DATA_DIR: 'none',
    // Tests never fetch the officials from their publishers; the refresh tests serve them locally.
    REP_DATA_REFRESH: 'off',
    ...env,
  });
  let logText = '';
  const logger = createLogger(
    config.logLevel,
    new Writable({
      write(chunk, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    }),
  );
  const platform = await openPlatform(config, logger);
  const workers: RunningWorkers[] = [];

  return {
    platform,
    app: buildApp(platform, appOptions),
    logs: () => logText,
    async startWorkers() {
      const running = await startWorkers(platform);
      workers.push(running);
      return running;
    },
    async close() {
      for (const running of workers) await running.close();
      if (platform.redis.status === 'ready') {
        const keys = await platform.redis.keys(`${config.redisKeyPrefix}:*`);
        if (keys.length > 0) await platform.redis.del(...keys);
      }
      await platform.close();
      const cleanup = new pg.Client({ connectionString: server });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
      await cleanup.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Switches a campaign to live delivery, as an admin does in the console (campaigns, the demo's
 * included, start in rehearsal): for tests of letters reaching the offices.
 */
export async function goLive(
  platform: Pick<Platform, 'db' | 'campaigns'>,
  slug = DEMO_CAMPAIGN_SLUG,
): Promise<void> {
  const campaign = await platform.campaigns.bySlug(slug);
  if (!campaign) throw new Error(`no campaign ${slug}`);
  await setDeliveryMode(platform.db, campaign, 'live', 'command line');
  platform.campaigns.forget(slug);
}

/**
 * Runs `during` with the campaign's target offices narrowed to those `keep` keeps, then puts them
 * back (as staff would in the campaign settings).
 */
export async function withTargetOffices(
  platform: Pick<Platform, 'db' | 'campaigns'>,
  slug: string,
  keep: (office: TargetOffice) => boolean,
  during: () => Promise<void>,
): Promise<void> {
  const campaign = await platform.campaigns.bySlug(slug);
  if (!campaign) throw new Error(`no campaign ${slug}`);
  const set = async (targetOffices: TargetOffice[]) => {
    await platform.db.update(campaigns).set({ targetOffices }).where(eq(campaigns.slug, slug));
    platform.campaigns.forget(slug);
  };
  await set(campaign.targetOffices.filter(keep));
  try {
    await during();
  } finally {
    await set(campaign.targetOffices);
  }
}

/** Polls until `check` returns true (for work done by queue workers), failing after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
