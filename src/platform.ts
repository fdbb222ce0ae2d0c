import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { buildAbuseControls } from './abuse/controls';
import { CampaignDirectory } from './campaigns/directory';
import { ensureDemoCampaign } from './campaigns/demo';
import { PartnerOrigins } from './campaigns/partner-origins';
import type { Config } from './config';
import type { AppContext } from './context';
import { openDatabase } from './db/client';
import { OutageLog } from './http/outage-log';
import type { Logger } from './logger';
import { requestTally } from './petitions/jobs/tally-campaign';
import { prepareSignatureInsert } from './petitions/signature-store';
import { StatsCache } from './petitions/stats';
import { campaignsWithUntallied } from './petitions/tallies';
import { CampaignRequests, TallyRequests } from './petitions/tally-requests';
import { acquirePidLock } from './process-lock';
import { logConnectionErrors } from './queue/connection-errors';
import { redisOptionsFromUrl } from './queue/connection';
import { Queues } from './queue/jobs';
import { PartnerSources } from './privacy/consent';
import { FieldEncryption } from './db/field-encryption';
import { requestNoticeJob } from './privacy/jobs/send-notices';
import { startEmbeddedRedis } from './queue/redis-server';
import { RepresentativeDirectory } from './representatives/directory';
import { LetterTemplateStore } from './letters/template-store';
import { createGeocoder } from './representatives/geocoder';
import { DistrictMapCache } from './representatives/map-outline';
import { withTimeout } from './time-limit';
import { ApiTokenUsage } from './osdi/tokens';
import { requestWebhookDelivery } from './webhooks/jobs/deliver-webhooks';
import { WebhookWakeups } from './webhooks/wakeups';

/**
 * Every Redis connection (ours, the queues', the workers') tries again within 2 s once Redis is
 * back, as ioredis does by default; BullMQ's own default backs off to 20 s, which would leave
 * tally and delivery requests failing long after Redis returned.
 */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 2000);

/** How often each process checks for a newly imported representative data snapshot. */
const REPRESENTATIVES_REFRESH_MS = 30_000;
/** How often each process re-reads the partner sites allowed to call the JSON API. */
const PARTNER_ORIGINS_REFRESH_MS = 10_000;

export interface Platform extends AppContext {
  /** Connection options for BullMQ workers, which open their own blocking connections. */
  redisConnection: RedisOptions;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** Something the platform cannot run without has died (the embedded redis-server). */
  onFatal?: (error: Error) => void;
}

/**
 * Opens everything the platform runs on: the database (migrated, with the demo campaign), Redis
 * (the configured one, or a private redis-server in embedded mode) and the queues.
 */
export async function openPlatform(
  config: Config,
  logger: Logger,
  options: PlatformOptions = {},
): Promise<Platform> {
  const closers: Array<[string, () => unknown]> = [];
  const close = async () => {
    for (const [name, closer] of closers.reverse()) {
      logger.debug({ closing: name }, 'closing');
      await withTimeout(Promise.resolve().then(closer), 10_000).catch((error: unknown) =>
        logger.warn({ err: error, closing: name }, 'close failed'),
      );
    }
  };
  try {
    let redisConnection: RedisOptions;
    if (config.redisUrl) {
      redisConnection = { ...redisOptionsFromUrl(config.redisUrl), retryStrategy: reconnectDelay };
    } else {
      const dir = path.join(config.dataDir, 'redis');
      mkdirSync(config.dataDir, { recursive: true });
      // Taken first: a second start on the same DATA_DIR must stop here, not touch our redis-server.
      const lock = await acquirePidLock(
        path.join(config.dataDir, 'redis.lock'),
        `The embedded Redis in ${dir}`,
        {
          onCompromised: (error) =>
            logger.warn({ err: error }, 'the embedded Redis lock was not refreshed in time'),
        },
      );
      closers.push(['redis lock', () => lock.release()]);
      const embedded = await startEmbeddedRedis(dir, logger, {
        onUnexpectedExit: (code) =>
          options.onFatal?.(new Error(`the embedded redis-server exited (code ${code})`)),
      });
      closers.push(['embedded redis-server', () => embedded.stop()]);
      redisConnection = { path: embedded.socketPath, retryStrategy: reconnectDelay };
    }

    const database = await openDatabase(config);
    closers.push(['database', () => database.close()]);
    const migrated = await database.migrate();
    if (migrated.keysFile) {
      logger.warn(
        { file: migrated.keysFile },
        "made the keys that encrypt supporters' data: keep a copy of this file apart from the database backups; without it the data cannot be read",
      );
    }
    if (migrated.sealedRows > 0)
      logger.info(
        { rows: migrated.sealedRows },
        'encrypted the personal data written before encryption at rest',
      );
    await ensureDemoCampaign(database.db);

    // Fail fast while Redis is away: rate limits let requests through and counts catch up later,
    // rather than requests waiting on a reconnect.
    const redis = new Redis({
      ...redisConnection,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    closers.push(['redis', () => redis.quit().catch(() => redis.disconnect())]);
    logConnectionErrors(redis, logger, 'app');
    await withTimeout(once(redis, 'ready'), 5000).catch(() =>
      logger.warn(
        'Redis is not reachable yet; signing goes on and counts catch up when it is back',
      ),
    );

    const queues = new Queues(
      { ...redisConnection, maxRetriesPerRequest: 1, enableOfflineQueue: false },
      `${config.redisKeyPrefix}:bull`,
    );
    closers.push(['queues', () => queues.close()]);
    queues.onError((queue, emitter) => logConnectionErrors(emitter, logger, `queue:${queue}`));
    const tallyRequests = new TallyRequests(
      (campaignId) => requestTally(queues, campaignId),
      logger,
    );
    closers.push(['tally requests', () => tallyRequests.flush()]);
    const noticeRequests = new CampaignRequests(
      (campaignId) => requestNoticeJob(queues, campaignId),
      logger,
      'notice',
    );
    closers.push(['signer email requests', () => noticeRequests.flush()]);
    const webhookWakeups = new WebhookWakeups(
      (subscriptionId) => requestWebhookDelivery(queues, subscriptionId),
      logger,
    );
    closers.push(['webhook wake-ups', () => webhookWakeups.flush()]);
    const apiTokenUsage = new ApiTokenUsage(database.db, logger);
    closers.push(['API token use', () => apiTokenUsage.close()]);
    // Tally requests fail while Redis is away (their signatures are committed all the same), and a
    // Redis that lost its data lost the jobs queued before: each time the queue's connection is
    // (back) up, ask again for every campaign that has signatures not yet counted.
    let closing = false;
    const requestMissedTallies = () => {
      if (closing) return;
      campaignsWithUntallied(database.db).then(
        (campaignIds) => campaignIds.forEach((campaignId) => tallyRequests.request(campaignId)),
        (error: unknown) =>
          logger.warn({ err: error }, 'could not look for signatures left uncounted'),
      );
    };
    queues.get('tallies').getBackend().on('ready', requestMissedTallies);
    closers.push([
      'missed tally requests',
      () => {
        closing = true;
        queues.get('tallies').getBackend().off('ready', requestMissedTallies);
      },
    ]);

    const representatives = new RepresentativeDirectory(database.db, logger);
    await representatives.refresh();
    const refreshTimer = setInterval(() => {
      representatives
        .refresh()
        .catch((error: unknown) =>
          logger.error({ err: error }, 'representative data refresh failed'),
        );
    }, REPRESENTATIVES_REFRESH_MS).unref();
    closers.push(['representative data refresh', () => clearInterval(refreshTimer)]);

    const partnerOrigins = new PartnerOrigins(database.db, config.partnerOrigins);
    await partnerOrigins.refresh();
    const partnerTimer = setInterval(() => {
      partnerOrigins
        .refresh()
        .catch((error: unknown) => logger.error({ err: error }, 'partner origins refresh failed'));
    }, PARTNER_ORIGINS_REFRESH_MS).unref();
    closers.push(['partner origins refresh', () => clearInterval(partnerTimer)]);

    const outages = new OutageLog(logger);
    closers.push(['outage log', () => outages.close()]);

    logger.info(
      { database: database.driver, redis: config.redisUrl ? 'external' : 'embedded' },
      'platform opened',
    );
    return {
      config,
      logger,
      outages,
      database,
      db: database.db,
      encryption: new FieldEncryption(config.encryption),
      redis,
      redisConnection: { ...redisConnection, maxRetriesPerRequest: null },
      queues,
      tallyRequests,
      noticeRequests,
      signatureInsert: prepareSignatureInsert(database.db),
      campaigns: new CampaignDirectory(database.db),
      stats: new StatsCache(database.db, redis, config.redisKeyPrefix),
      representatives,
      geocoder: createGeocoder(config.geocoder),
      letterTemplates: new LetterTemplateStore(database.db, logger),
      partnerOrigins,
      partnerSources: new PartnerSources(database.db),
      apiTokenUsage,
      districtMaps: new DistrictMapCache(database.db, logger),
      webhookWakeups,
      abuse: buildAbuseControls({ config, redis, logger }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
