import { confirmActionJob, confirmationSweep } from '../src/letters/jobs/confirm-action';
import { deliverLetterJob, letterSweep } from '../src/delivery/jobs/deliver-letter';
import { tokenUseSummary } from '../src/osdi/sweeps';
import {
  counterRefresh,
  fillDistrictsOnEachSnapshot,
  tallyCampaignJob,
  tallySweep,
} from '../src/petitions/jobs/tally-campaign';
import { ipHashExpiry } from '../src/petitions/sweeps';
import type { Platform } from '../src/platform';
import { purgeExpiredJob, retentionSchedule } from '../src/privacy/jobs/purge-expired';
import { sendDataLinkJob } from '../src/privacy/jobs/send-data-link';
import { noticeSweep, sendNoticesJob } from '../src/privacy/jobs/send-notices';
import { startJobWorkers, startSweeps } from '../src/queue/workers';
import {
  importDataJob,
  importOnFirstStart,
  interruptedImports,
} from '../src/representatives/jobs/import-data';
import { dataRefreshSchedule, refreshDataJob } from '../src/representatives/jobs/refresh-data';
import { exportExpiry, exportRequeue, writeExportJob } from '../src/staff/jobs/write-export';
import { deliverWebhooksJob, webhookSweep } from '../src/webhooks/jobs/deliver-webhooks';
import { workerContexts } from '../src/worker-context';

/** Every job the worker processes run; each definition says its queue, options and work. */
export const allJobs = [
  tallyCampaignJob,
  importDataJob,
  refreshDataJob,
  deliverLetterJob,
  confirmActionJob,
  writeExportJob,
  sendNoticesJob,
  sendDataLinkJob,
  purgeExpiredJob,
  deliverWebhooksJob,
];

export interface RunningWorkers {
  close(): Promise<void>;
}

const MAINTENANCE_EVERY_MS = 60_000;

/**
 * Starts every queue's worker, and the duties each worker process runs on its own clock (not from
 * Redis, so they survive a Redis that lost its data). On a first start with representative data
 * at hand, queues its import.
 */
export async function startWorkers(platform: Platform): Promise<RunningWorkers> {
  const { logger } = platform;
  const jobs = await startJobWorkers(platform, allJobs, {
    contextFor: workerContexts(platform),
  });

  const sweeps = await startSweeps<Platform>(platform, platform, {
    everyMs: MAINTENANCE_EVERY_MS,
    maintenance: [
      tallySweep,
      letterSweep,
      confirmationSweep,
      noticeSweep,
      tokenUseSummary,
      webhookSweep,
      // The retention purge and the data refresh are BullMQ job schedulers, set once per process.
      retentionSchedule,
      dataRefreshSchedule,
      interruptedImports,
      ipHashExpiry,
      exportExpiry,
      exportRequeue,
    ],
    // Signatures may have been left untallied, or counts rebuilt, while no worker ran.
    atStart: [counterRefresh],
    // A Redis that lost its data lost the jobs; requests made while it was away failed; a tally
    // that ran meanwhile could not refresh its counter.
    afterReconnect: [
      tallySweep,
      counterRefresh,
      letterSweep,
      confirmationSweep,
      noticeSweep,
      tokenUseSummary,
      webhookSweep,
    ],
  });

  // Signatures counted before representative data existed get their districts once it does.
  const districts = fillDistrictsOnEachSnapshot(platform);
  await importOnFirstStart(platform).catch((error: unknown) =>
    logger.error({ err: error }, 'could not queue the first data import'),
  );

  return {
    async close() {
      await Promise.all([jobs.close(), sweeps.close(), districts.close()]);
    },
  };
}
