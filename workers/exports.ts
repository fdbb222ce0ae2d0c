import { Worker } from 'bullmq';
import { z } from 'zod';
import type { Platform } from '../src/platform';
import { logConnectionErrors } from '../src/queue/connection-errors';
import { bullConnection, EXPORT_ATTEMPTS } from '../src/queue/jobs';
import { markExportFailed, writeExportFile } from '../src/staff/exports';

const exportJob = z.object({ exportId: z.string().min(1).max(64) });

/**
 * The exports queue's worker: writes large staff exports into files. A job whose worker died is
 * taken up again by BullMQ once its lock lapses, and writes its file again from the beginning;
 * after the last try the export is marked failed, with a message for the staff page.
 */
export function startExportWorker(platform: Platform): Worker {
  const { logger } = platform;
  const worker = new Worker(
    'exports',
    async (job) => {
      const data = exportJob.safeParse(job.data);
      if (job.name !== 'export' || !data.success) {
        logger.warn({ job: job.name, id: job.id }, 'dropping an export job it cannot read');
        return;
      }
      const outcome = await writeExportFile(platform, data.data.exportId);
      logger.info({ exportId: data.data.exportId, outcome }, 'export job done');
    },
    // One export at a time per process: each is one long COPY.
    {
      connection: bullConnection(platform.redisConnection),
      prefix: platform.queues.prefix,
      concurrency: 1,
    },
  );
  worker.on('failed', (job, error) => {
    const exportId = exportJob.safeParse(job?.data).data?.exportId;
    const attempts = job?.opts.attempts ?? EXPORT_ATTEMPTS;
    logger.error({ err: error, exportId, attempts: job?.attemptsMade }, 'export job failed');
    if (exportId && job && job.attemptsMade >= attempts) {
      markExportFailed(
        platform.db,
        exportId,
        'The export could not be written. Please try again, or ask an admin to look at the logs.',
      ).catch((markError: unknown) =>
        logger.error({ err: markError, exportId }, 'could not mark the export failed'),
      );
    }
  });
  logConnectionErrors(worker, logger, 'worker:exports');
  return worker;
}
