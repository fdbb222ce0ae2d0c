import { campaignsWithUntallied, tallyCampaign } from '../src/petitions/tallies';
import type { Platform } from '../src/platform';
import { startTallyWorker } from './tally';

export interface RunningWorkers {
  close(): Promise<void>;
}

const SWEEP_EVERY_MS = 60_000;

/** Starts every worker, schedules the periodic sweep, and catches up counts left from before. */
export async function startWorkers(platform: Platform): Promise<RunningWorkers> {
  const workers = [startTallyWorker(platform)];
  await platform.queues
    .get('tallies')
    .upsertJobScheduler('tally-sweep', { every: SWEEP_EVERY_MS }, { name: 'tally-sweep', data: {} });

  // Counts may have been rebuilt, or signatures left untallied, while no worker ran.
  const untallied = new Set(await campaignsWithUntallied(platform.db));
  for (const campaign of await platform.campaigns.list()) {
    if (untallied.has(campaign.id)) await tallyCampaign(platform.db, campaign.id);
    await platform.stats.refresh(campaign.id);
  }

  return {
    async close() {
      // Waits for the jobs in progress to finish.
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}
