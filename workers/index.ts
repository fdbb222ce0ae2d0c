import { eraseExpiredIpHashes } from '../src/petitions/ip-hash-retention';
import type { Platform } from '../src/platform';
import type { Worker } from 'bullmq';
import { withTimeout } from '../src/time-limit';
import {
  assignDistrictsToSignatures,
  importOnFirstStart,
  startRepresentativesWorker,
} from './representatives';
import { startDeliveryWorker } from './delivery';
import { startExportWorker } from './exports';
import { expireExports, requeueExports } from '../src/staff/exports';
import { startTallyWorker, sweepTallies } from './tally';
import { startSupportersWorker } from './supporters';
import { startWebhooksWorker } from './webhooks';

export interface RunningWorkers {
  close(): Promise<void>;
}

const MAINTENANCE_EVERY_MS = 60_000;

/**
 * Lets a worker finish the job in hand, when Redis answers. When it does not, the worker's fetch
 * loop is stuck reconnecting and a graceful close would wait forever (and BullMQ keeps the first
 * close: a forced one cannot follow), so it is closed by force from the start. An unfinished job
 * is not lost: its lock lapses, another worker takes it up, and tallying is idempotent.
 */
async function closeWorker(worker: Worker, redisAnswers: boolean): Promise<void> {
  await worker.close(!redisAnswers).catch(() => undefined);
}

/**
 * Starts every queue worker, and the maintenance each worker process runs on its own clock (not
 * from Redis, so it survives a Redis that lost its data): the tally sweep, signers' emails and
 * IP-hash expiry, export files' expiry and export jobs lost with Redis, the representative data
 * refresh's schedule and imports whose process died. On a first start with representative data at
 * hand, queues its import.
 */
export async function startWorkers(platform: Platform): Promise<RunningWorkers> {
  const { logger } = platform;
  const delivery = startDeliveryWorker(platform);
  const supporters = startSupportersWorker(platform);
  // Resumes an import left by a process that died before it takes jobs, so it awaits that.
  const representatives = await startRepresentativesWorker(platform);
  const webhooks = startWebhooksWorker(platform);
  const workers = [
    startTallyWorker(platform),
    representatives.worker,
    delivery.worker,
    startExportWorker(platform),
    supporters.worker,
    webhooks.worker,
  ];

  let maintenance: Promise<void> | undefined;
  const maintain = () =>
    (maintenance ??= (async () => {
      await sweepTallies(platform);
      await delivery.sweep();
      await supporters.sweep();
      await webhooks.sweep();
      // The retention purge is a repeatable BullMQ job (hourly, across all worker processes); set once per process.
      await supporters.scheduleRetention();
      // So is the representative data refresh (REP_DATA_REFRESH); and imports whose worker died are resumed.
      await representatives.maintain();
      const erased = await eraseExpiredIpHashes(platform.db, platform.config.ipHashRetentionDays);
      if (erased > 0) logger.info({ erased }, 'expired IP hashes erased');
      const removed = await expireExports(platform);
      if (removed > 0) logger.info({ removed }, 'expired export files removed');
      await requeueExports(platform);
    })()
      .catch((error: unknown) => logger.error({ err: error }, 'maintenance failed'))
      .finally(() => {
        maintenance = undefined;
      }));

  // Every public counter from the count table (the sweep refreshes only the campaigns it tallied).
  const refreshCounters = async () => {
    for (const campaign of await platform.campaigns.list())
      await platform.stats.refresh(campaign.id);
  };

  // Signatures may have been left untallied, or counts rebuilt, while no worker ran: catch up,
  // then refresh every public counter.
  await maintain();
  await refreshCounters();
  const timer = setInterval(maintain, MAINTENANCE_EVERY_MS).unref();

  // Redis is back after an outage: the tally requests made meanwhile failed, and a Redis that lost
  // its data lost the jobs queued before it. Catch up now, not at the next sweep. The counters are
  // refreshed too: a tally that ran while Redis was away could not refresh its campaign's, and a
  // Redis that kept its data (append-only file) would go on serving the count from before.
  let catchingUp = Promise.resolve();
  const catchUpAfterReconnect = () => {
    catchingUp = catchingUp
      .then(() => sweepTallies(platform))
      .then(refreshCounters)
      // Letters and signer emails whose jobs failed to queue meanwhile go now, not at the next sweep.
      .then(() => delivery.sweep())
      .then(() => supporters.sweep())
      .then(() => webhooks.sweep())
      .catch((error: unknown) =>
        logger.error({ err: error }, 'catching up after Redis returned failed'),
      );
  };
  platform.redis.on('ready', catchUpAfterReconnect);

  // Signatures counted before representative data existed get their districts once it does.
  let assigning = Promise.resolve();
  const assignDistricts = () =>
    (assigning = assigning
      .then(() => assignDistrictsToSignatures(platform))
      .catch((error: unknown) =>
        logger.error({ err: error }, 'filling in signature districts failed'),
      ));
  platform.representatives.onChange(assignDistricts);
  void assignDistricts();
  await importOnFirstStart(platform).catch((error: unknown) =>
    logger.error({ err: error }, 'could not queue the first data import'),
  );

  return {
    async close() {
      clearInterval(timer);
      platform.redis.off('ready', catchUpAfterReconnect);
      const redisAnswers = await withTimeout(platform.redis.ping(), 1000).then(
        () => true,
        () => false,
      );
      // Waits for the jobs and the maintenance in progress to finish.
      await Promise.all([
        ...workers.map((worker) => closeWorker(worker, redisAnswers)),
        maintenance,
        assigning,
        catchingUp,
      ]);
      delivery.mailer.close();
      supporters.mailer.close();
      webhooks.mailer.close();
    },
  };
}
