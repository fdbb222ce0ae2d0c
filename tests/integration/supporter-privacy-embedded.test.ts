import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { ensureDemoCampaign, DEMO_CAMPAIGN_SLUG } from '../../src/campaigns/demo';
import { loadConfig } from '../../src/config';
import { openDatabase, queryRows, type DatabaseHandle } from '../../src/db/client';
import { campaigns, partners } from '../../src/db/schema';
import { Mailer } from '../../src/delivery/mailer';
import { createLogger } from '../../src/logger';
import { signPetition, type SignContext } from '../../src/petitions/sign-petition';
import { prepareSignatureInsert } from '../../src/petitions/signature-store';
import { requestTally } from '../../src/petitions/jobs/tally-campaign';
import { StatsCache } from '../../src/petitions/stats';
import { rebuildTallies, tallyCampaign } from '../../src/petitions/tallies';
import { CampaignRequests, TallyRequests } from '../../src/petitions/tally-requests';
import { activeConsents, PartnerSources, withdrawConsents } from '../../src/privacy/consent';
import { personalData } from '../../src/privacy/data-rights';
import {
  erasePerson,
  purgeExpiredCampaigns,
  removeSignature,
  verifySignature,
} from '../../src/privacy/erasure';
import { FieldEncryption } from '../../src/db/field-encryption';
import { sendPendingNotices } from '../../src/privacy/notices';
import { requestNoticeJob } from '../../src/privacy/jobs/send-notices';
import { redisOptionsFromUrl } from '../../src/queue/connection';
import { Queues } from '../../src/queue/jobs';
import { testRedisUrl } from '../helpers/services';

/**
 * The privacy work's SQL on PGlite (PostgreSQL 18, the embedded database of `npm start`): signing
 * with consents, the email claim, verification, "this wasn't me", unsubscribing, the data
 * download, erasure and the retention purge, with the counts checked after a rebuild.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-privacy-embedded-'));
const prefix = `test-${randomBytes(6).toString('hex')}`;
let database: DatabaseHandle;
let redis: Redis;
let queues: Queues;
let ctx: SignContext & { stats: StatsCache };
let campaignId: number;

beforeAll(async () => {
  database = await openDatabase({ databaseUrl: undefined, dataDir });
  await database.migrate();
  await ensureDemoCampaign(database.db);
  const [campaign] = await queryRows<{ id: number }>(
    database.db,
    sql`SELECT id FROM campaigns WHERE slug = ${DEMO_CAMPAIGN_SLUG}`,
  );
  campaignId = Number(campaign!.id);
  await database.db.update(campaigns).set({ requireVerification: true });
  await database.db.insert(partners).values({ campaignId, name: 'Friends', sourceCode: 'friends' });
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    APP_SECRET: 'test-secret-test-secret-test-secret-0123',
    REDIS_KEY_PREFIX: prefix,
  });
  const logger = createLogger('silent');
  redis = new Redis(redisOptionsFromUrl(testRedisUrl));
  queues = new Queues(redisOptionsFromUrl(testRedisUrl), `${prefix}:bull`);
  ctx = {
    db: database.db,
    encryption: new FieldEncryption(config.encryption),
    config,
    logger,
    redis,
    tallyRequests: new TallyRequests((id) => requestTally(queues, id), logger),
    noticeRequests: new CampaignRequests((id) => requestNoticeJob(queues, id), logger, 'notice'),
    partnerSources: new PartnerSources(database.db),
    signatureInsert: prepareSignatureInsert(database.db),
    stats: new StatsCache(database.db, redis, prefix),
  };
}, 60_000);

afterAll(async () => {
  await ctx?.tallyRequests.flush();
  await ctx?.noticeRequests.flush();
  await queues?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const campaign = async () => (await database.db.select().from(campaigns))[0]!;
const idOf = async (email: string) =>
  Number(
    (
      await queryRows<{ id: number }>(
        database.db,
        sql`SELECT id FROM signatures WHERE email_hash = ${ctx.encryption.emailHash(email)}::bytea`,
      )
    )[0]!.id,
  );

it('keeps consents, verification, removal and erasure exact on PGlite', async () => {
  const people = ['ann', 'ben', 'cat', 'dan'].map((name) => ({
    name: `${name} embedded`,
    email: `${name}@example.org`,
    zip: '10001',
    source: 'friends',
    optIn: true,
    partnerOptIn: true,
  }));
  for (const person of people)
    expect(
      await signPetition(ctx, await campaign(), person, { ip: '127.0.0.1', channel: 'form' }),
    ).toEqual({ outcome: 'signed' });
  const [consents] = await queryRows<{ n: number }>(
    database.db,
    sql`SELECT count(*)::int AS n FROM consents WHERE withdrawn_at IS NULL`,
  );
  expect(Number(consents!.n)).toBe(8);

  // The workers' claim of the owed emails: every one written (to files: no SMTP_URL), each once.
  const mailDir = path.join(dataDir, 'mail');
  const mailer = new Mailer({ smtpUrl: undefined, mailDir });
  expect(await sendPendingNotices(ctx, mailer, campaignId)).toBe(4);
  expect(await sendPendingNotices(ctx, mailer, campaignId)).toBe(0);
  mailer.close();
  const mails = readdirSync(mailDir).map((file) => readFileSync(path.join(mailDir, file), 'utf8'));
  expect(mails).toHaveLength(4);
  for (const mail of mails)
    expect(mail).toMatch(/List-Unsubscribe-Post: List-Unsubscribe=One-Click/);

  expect(await verifySignature(ctx, await idOf('ann@example.org'))).toBe('verified');
  await tallyCampaign(database.db, campaignId);
  expect(await verifySignature(ctx, await idOf('ben@example.org'))).toBe('verified');
  expect(await verifySignature(ctx, await idOf('ben@example.org'))).toBe('already');
  expect(await ctx.stats.refresh(campaignId)).toMatchObject({
    signatures: 4,
    verified: 2,
    bySource: { friends: 4 },
  });

  expect(await removeSignature(ctx, await idOf('cat@example.org'))).toBe(campaignId);
  expect(await ctx.stats.refresh(campaignId)).toMatchObject({ signatures: 3, verified: 2 });

  expect(await withdrawConsents(ctx, 'dan@example.org', campaignId)).toBe(2);
  expect(await activeConsents(ctx, 'dan@example.org', null)).toEqual([]);
  const data = await personalData(ctx, 'ann@example.org');
  expect(data.signatures).toEqual([
    expect.objectContaining({
      name: 'ann embedded',
      verifiedAt: expect.any(String),
      consents: [expect.anything(), expect.anything()],
    }),
  ]);

  expect(await erasePerson(ctx, 'ann@example.org')).toEqual({ signatures: 1, letterActions: 0 });
  const after = await ctx.stats.refresh(campaignId);
  expect(after).toMatchObject({ signatures: 3, verified: 2, bySource: { friends: 3 } });
  await rebuildTallies(database.db, campaignId);
  expect(await ctx.stats.refresh(campaignId)).toMatchObject({
    signatures: 3,
    verified: 2,
    bySource: { friends: 3 },
    byState: after.byState,
  });

  await database.db
    .update(campaigns)
    .set({ status: 'closed', closedAt: new Date(Date.now() - 100 * 86_400_000) });
  expect(await purgeExpiredCampaigns(ctx, 90)).toEqual([
    { slug: DEMO_CAMPAIGN_SLUG, signatures: 2, letterActions: 0 },
  ]);
  const [left] = await queryRows<{ n: number }>(
    database.db,
    sql`SELECT (SELECT count(*) FROM signatures) + (SELECT count(*) FROM consents) AS n`,
  );
  expect(Number(left!.n)).toBe(0);
  await rebuildTallies(database.db, campaignId);
  expect(await ctx.stats.refresh(campaignId)).toMatchObject({
    signatures: 3,
    verified: 2,
    bySource: { friends: 3 },
  });
}, 60_000);
