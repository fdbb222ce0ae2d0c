import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { withTimeout } from '../time-limit';

/** How many times a letter's delivery is tried before it is failed for good (delivery/deliver.ts records each). */
export const MAX_ATTEMPTS = 8;

/** BullMQ takes ioredis options; its own type only differs by an index signature. */
export const bullConnection = (options: RedisOptions): ConnectionOptions =>
  ({ ...options }) as ConnectionOptions;

/**
 * Every queue, its job names and their payloads, in one place. Workers in `workers/` wire a
 * processor to each; producers enqueue through `Queues`.
 */
export interface JobPayloads {
  tallies: {
    /** Apply untallied signatures of one campaign to its counts. */
    'tally-campaign': { campaignId: number };
  };
  representatives: {
    /** Import the representative data in `dir` as the new active snapshot. */
    'import-data': { dir: string; force?: boolean };
    /** Fetch the officials' files again and import them (REP_DATA_REFRESH's schedule, or staff's "Refresh now"). */
    'refresh-data': { trigger: 'schedule' | 'staff' };
  };
  delivery: {
    /** Send one letter (its outbox row) through its channel. */
    /** `to`: the email address it goes to, when the producer knows it (the throttle needs it); `minute`: its reserved slot. */
    'deliver-letter': { letterId: number; to?: string | null; minute?: number };
    /** Send a supporter whom their letters went to and the private link to their status page. */
    'confirm-action': { actionId: number };
  };
  exports: {
    /** Write a large staff export (its `staff_exports` row) into a file under DATA_DIR/exports. */
    export: { exportId: string };
  };
  supporters: {
    /** Send the signers of one campaign the emails they are owed (confirmation or verification link). */
    'send-notices': { campaignId: number };
    /** Mail a "your data" link, if we hold anything for the address sealed in `request`. */
    'send-data-link': { request: string; language?: string };
    /** The retention purge: erase personal data of campaigns closed long enough ago (repeats hourly). */
    'purge-expired': Record<string, never>;
  };
  webhooks: {
    /** Send a subscription's waiting events (src/webhooks/deliver-job.ts, which owns this job's schema and options). */
    'deliver-webhooks': { subscriptionId: number };
  };
}

export type QueueName = keyof JobPayloads;
export type JobName<Q extends QueueName> = keyof JobPayloads[Q] & string;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = JobPayloads[Q][N];

/** The job scheduler of the representative data refresh (REP_DATA_REFRESH). */
export const DATA_REFRESH_SCHEDULE = 'rep-data-refresh';

export const queueNames: readonly QueueName[] = [
  'tallies',
  'representatives',
  'delivery',
  'exports',
  'supporters',
  'webhooks',
];

/** Tries of an export job before it is marked failed: each starts the file again from the beginning. */
export const EXPORT_ATTEMPTS = 3;

/** How long adding a job may wait for Redis. */
const ADD_TIMEOUT_MS = 2000;

const defaultJobOptions: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

export class Queues {
  private readonly queues: { [Q in QueueName]: Queue };

  constructor(
    redis: RedisOptions,
    readonly prefix: string,
  ) {
    const connection = bullConnection(redis);
    this.queues = {
      tallies: new Queue('tallies', { connection, prefix, defaultJobOptions }),
      representatives: new Queue('representatives', { connection, prefix, defaultJobOptions }),
      delivery: new Queue('delivery', {
        connection,
        prefix,
        defaultJobOptions: { ...defaultJobOptions, backoff: { type: 'exponential', delay: 5000 } },
      }),
      exports: new Queue('exports', {
        connection,
        prefix,
        defaultJobOptions: {
          ...defaultJobOptions,
          attempts: EXPORT_ATTEMPTS,
          backoff: { type: 'exponential', delay: 10_000 },
        },
      }),
      supporters: new Queue('supporters', {
        connection,
        prefix,
        defaultJobOptions: { ...defaultJobOptions, backoff: { type: 'exponential', delay: 5000 } },
      }),
      // Retries of a delivery are the job's own (deliver-job.ts): BullMQ's retry only a job that failed on our side.
      webhooks: new Queue('webhooks', {
        connection,
        prefix,
        defaultJobOptions: {
          ...defaultJobOptions,
          attempts: 5,
          removeOnComplete: true,
          removeOnFail: { count: 1000 },
        },
      }),
    };
  }

  get(name: QueueName): Queue {
    return this.queues[name];
  }

  /** Hands each queue to `listen` so its connection errors can be logged. */
  onError(listen: (name: QueueName, queue: Queue) => void): void {
    for (const name of queueNames) listen(name, this.queues[name]);
  }

  /**
   * Adds a job. While Redis is away a queue waits for it to come back, so this gives up after
   * ADD_TIMEOUT_MS instead: a request that queued work after committing it answers at once, and
   * the sweeps queue again whatever could not be queued.
   */
  async add<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    name: N,
    data: JobPayload<Q, N>,
    options?: JobsOptions,
  ): Promise<void> {
    await withTimeout(this.queues[queue].add(name, data, options), ADD_TIMEOUT_MS);
  }

  /**
   * Asks for a campaign's counts to be brought up to date. Requests coalesce: while one tally job
   * for the campaign runs, later requests leave exactly one more job waiting behind it, so every
   * committed signature is picked up by a job that starts after its commit.
   */
  async requestTally(campaignId: number): Promise<void> {
    await this.add(
      'tallies',
      'tally-campaign',
      { campaignId },
      {
        deduplication: { id: `tally-campaign:${campaignId}`, keepLastIfActive: true },
      },
    );
  }

  /** Queues a letter for delivery; a letter already waiting is not queued twice. */
  async requestDelivery(letterId: number, to?: string | null): Promise<void> {
    await this.add(
      'delivery',
      'deliver-letter',
      { letterId, to },
      { attempts: MAX_ATTEMPTS, deduplication: { id: `letter:${letterId}` } },
    );
  }

  /** Queues a supporter's confirmation email. */
  async requestConfirmation(actionId: number): Promise<void> {
    await this.add(
      'delivery',
      'confirm-action',
      { actionId },
      { attempts: 5, deduplication: { id: `confirm:${actionId}` } },
    );
  }

  /** Queues the job that writes a large export's file; the export's id is the job's, so it is queued once. */
  async requestExport(exportId: string): Promise<void> {
    await this.add('exports', 'export', { exportId }, { jobId: `export-${exportId}` });
  }

  /** Asks for a campaign's owed signer emails to be sent; coalesces like tally requests. */
  async requestNotices(campaignId: number): Promise<void> {
    await this.add(
      'supporters',
      'send-notices',
      { campaignId },
      {
        deduplication: { id: `send-notices:${campaignId}`, keepLastIfActive: true },
      },
    );
  }

  /** Queues a "your data" email; the job (a sealed address) is removed from Redis once done or given up. */
  async requestDataLink(request: string, language?: string): Promise<void> {
    await this.add(
      'supporters',
      'send-data-link',
      { request, ...(language ? { language } : {}) },
      { attempts: 5, removeOnComplete: true, removeOnFail: true },
    );
  }

  /** Schedules the retention purge every `everyMs` (kept in Redis; set again at each worker start). */
  async scheduleRetention(everyMs: number): Promise<void> {
    await this.queues.supporters.upsertJobScheduler(
      'retention-purge',
      { every: everyMs },
      { name: 'purge-expired', data: {} },
    );
  }

  /**
   * Schedules the representative data refresh every `everyMs` (kept in Redis; set again at each
   * worker start), or removes the schedule (null). The first run comes one period after the
   * schedule is first set, not at once: a new installation has just imported its data.
   */
  async scheduleDataRefresh(everyMs: number | null): Promise<void> {
    const queue = this.queues.representatives;
    if (everyMs === null) {
      await queue.removeJobScheduler(DATA_REFRESH_SCHEDULE);
      return;
    }
    await queue.upsertJobScheduler(
      DATA_REFRESH_SCHEDULE,
      { every: everyMs, startDate: Date.now() + everyMs },
      { name: 'refresh-data', data: { trigger: 'schedule' }, opts: { attempts: 1 } },
    );
  }

  /** Asks for a refresh of the representative data now; while one is waiting, asking again adds none. */
  async requestDataRefresh(): Promise<void> {
    await this.add(
      'representatives',
      'refresh-data',
      { trigger: 'staff' },
      { attempts: 1, deduplication: { id: 'refresh-data-now' } },
    );
  }

  /** Closes the queues; with Redis away, gives up after `timeoutMs` and drops the connections. */
  async close(timeoutMs = 3000): Promise<void> {
    const queues = Object.values(this.queues);
    const timedOut = await withTimeout(
      Promise.all(queues.map((queue) => queue.close())),
      timeoutMs,
    ).then(
      () => false,
      () => true,
    );
    if (timedOut) await Promise.all(queues.map((queue) => queue.disconnect()));
  }
}
