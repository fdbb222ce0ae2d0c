import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { expireExports, markExportFailed, requeueExports, writeExportFile } from '../exports';

/** Tries of an export job before it is marked failed: each starts the file again from the beginning. */
export const EXPORT_ATTEMPTS = 3;

/**
 * `export`: writes a large staff export (its `staff_exports` row) into a file under
 * DATA_DIR/exports. A job whose worker died is taken up again by BullMQ once its lock lapses, and
 * writes its file again from the beginning; after the last try the export is marked failed, with
 * a message for the staff page.
 */
export const writeExportJob = defineJob({
  queue: 'exports',
  name: 'export',
  payload: z.object({ exportId: z.string().min(1).max(64) }),
  options: { attempts: EXPORT_ATTEMPTS, backoff: { type: 'exponential', delay: 10_000 } },
  // One export at a time per process: each is one long COPY.
  concurrency: 1,
  async perform(ctx: WorkerContext, { exportId }) {
    const outcome = await writeExportFile(ctx, exportId);
    ctx.logger.info({ exportId, outcome }, 'export job done');
  },
  async onFailed(ctx: WorkerContext, { payload, final }) {
    if (!payload || !final) return;
    await markExportFailed(
      ctx.db,
      payload.exportId,
      'The export could not be written. Please try again, or ask an admin to look at the logs.',
    );
  },
});

/** Queues the job that writes a large export's file; the export's id is the job's, so it is queued once. */
export async function requestExportFile(
  queues: Pick<Queues, 'add'>,
  exportId: string,
): Promise<void> {
  await queues.add(writeExportJob, { exportId }, { jobId: `export-${exportId}` });
}

/** Export files past their time removed, and exports whose jobs never finished marked failed. */
export const exportExpiry = defineSweep<Pick<AppContext, 'db' | 'config' | 'logger'>>({
  name: 'export expiry',
  async run(ctx) {
    const removed = await expireExports(ctx);
    if (removed > 0) ctx.logger.info({ removed }, 'expired export files removed');
  },
});

/** Exports still waiting after a while are queued again: their job may have been lost with Redis. */
export const exportRequeue = defineSweep<Pick<AppContext, 'db' | 'queues'>>({
  name: 'exports awaiting their file',
  async run(ctx) {
    await requeueExports({
      db: ctx.db,
      queueExportFile: (exportId) => requestExportFile(ctx.queues, exportId),
    });
  },
});
