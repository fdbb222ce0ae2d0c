import { z } from 'zod';
import type { AppContext, WorkerContext } from '../../context';
import { defineJob, defineSweep } from '../../queue/job';
import type { Queues } from '../../queue/jobs';
import { assignMissingDistricts, campaignsWithUntallied, tallyCampaign } from '../tallies';

type TallyContext = Pick<
  AppContext,
  'db' | 'representatives' | 'webhookWakeups' | 'stats' | 'campaigns' | 'logger'
>;

/** Adds a campaign's untallied signatures to its counts, then refreshes its public counter. */
async function tally(ctx: TallyContext, campaignId: number): Promise<number> {
  const added = await tallyCampaign(ctx.db, campaignId, {
    districtsOf: (zip) => ctx.representatives.districtsOfZip(zip),
    // Signatures counted now raise their webhook events: their delivery is woken once committed.
    onRaised: (raised) => ctx.webhookWakeups.wake(raised),
  });
  if (added > 0) await ctx.stats.refresh(campaignId);
  return added;
}

/** `tally-campaign`: applies a campaign's committed, not yet counted signatures to its counts, in batches. */
export const tallyCampaignJob = defineJob({
  queue: 'tallies',
  name: 'tally-campaign',
  payload: z.object({ campaignId: z.number().int().positive() }),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
  concurrency: 4,
  async perform(ctx: WorkerContext, { campaignId }) {
    const added = await tally(ctx, campaignId);
    ctx.logger.debug({ campaignId, added }, 'tally applied');
  },
});

/**
 * Asks for a campaign's counts to be brought up to date. Requests coalesce: while one tally job
 * for the campaign runs, later requests leave exactly one more job waiting behind it, so every
 * committed signature is picked up by a job that starts after its commit.
 */
export async function requestTally(queues: Pick<Queues, 'add'>, campaignId: number): Promise<void> {
  await queues.add(
    tallyCampaignJob,
    { campaignId },
    { deduplication: { id: `tally-campaign:${campaignId}`, keepLastIfActive: true } },
  );
}

/** Tallies every campaign that has untallied signatures, e.g. after tally requests were lost with Redis. */
export async function sweepTallies(ctx: TallyContext): Promise<void> {
  for (const campaignId of await campaignsWithUntallied(ctx.db)) await tally(ctx, campaignId);
}

/** The sweep of signatures left uncounted (tally requests lost with Redis, or made while no worker ran). */
export const tallySweep = defineSweep<TallyContext>({ name: 'tallies', run: sweepTallies });

/** Every public counter from the count table (the tally sweep refreshes only the campaigns it tallied). */
export const counterRefresh = defineSweep<TallyContext>({
  name: 'public counters',
  async run(ctx) {
    for (const campaign of await ctx.campaigns.list()) await ctx.stats.refresh(campaign.id);
  },
});

/**
 * Fills the districts of signatures that have none, for every campaign, and refreshes their
 * counters: run when a snapshot is loaded (after an import, and at start).
 */
export async function assignDistrictsToSignatures(ctx: TallyContext): Promise<void> {
  if (!ctx.representatives.current) return;
  const districtsOf = (zip: string) => ctx.representatives.districtsOfZip(zip);
  for (const campaign of await ctx.campaigns.list()) {
    const filled = await assignMissingDistricts(ctx.db, campaign.id, districtsOf, (raised) =>
      ctx.webhookWakeups.wake(raised),
    );
    if (filled > 0) {
      await ctx.stats.refresh(campaign.id);
      ctx.logger.info(
        { campaign: campaign.slug, filled },
        'districts filled in for earlier signatures',
      );
    }
  }
}

/**
 * Fills in earlier signatures' districts now and each time a representative data snapshot is
 * loaded, one run at a time. `close` waits for the run in progress.
 */
export function fillDistrictsOnEachSnapshot(ctx: TallyContext): { close(): Promise<void> } {
  let assigning = Promise.resolve();
  const assign = () =>
    (assigning = assigning
      .then(() => assignDistrictsToSignatures(ctx))
      .catch((error: unknown) =>
        ctx.logger.error({ err: error }, 'filling in signature districts failed'),
      ));
  ctx.representatives.onChange(() => void assign());
  void assign();
  return { close: () => assigning };
}
