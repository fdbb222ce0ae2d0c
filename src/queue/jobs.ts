import { Queue, type ConnectionOptions, type JobsOptions, type RepeatOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import type { z } from 'zod';
import { withTimeout } from '../time-limit';
import { queueNames, type JobDefinition, type QueueName } from './job';

export { queueNames, type QueueName };

/** BullMQ takes ioredis options; its own type only differs by an index signature. */
export const bullConnection = (options: RedisOptions): ConnectionOptions =>
  ({ ...options }) as ConnectionOptions;

/** How long adding a job may wait for Redis. */
const ADD_TIMEOUT_MS = 2000;

/**
 * The queues producers enqueue on. Each job's options live in its definition
 * (`src/<feature>/jobs/<job-name>.ts`); producers enqueue through `add` with that definition.
 */
export class Queues {
  private readonly queues: { [Q in QueueName]: Queue };

  constructor(
    redis: RedisOptions,
    readonly prefix: string,
  ) {
    const connection = bullConnection(redis);
    this.queues = Object.fromEntries(
      queueNames.map((name) => [name, new Queue(name, { connection, prefix })]),
    ) as { [Q in QueueName]: Queue };
  }

  get(name: QueueName): Queue {
    return this.queues[name];
  }

  /** Hands each queue to `listen` so its connection errors can be logged. */
  onError(listen: (name: QueueName, queue: Queue) => void): void {
    for (const name of queueNames) listen(name, this.queues[name]);
  }

  /**
   * Adds a job, with its definition's options and then `options`. While Redis is away a queue
   * waits for it to come back, so this gives up after ADD_TIMEOUT_MS instead: a request that
   * queued work after committing it answers at once, and the sweeps queue again whatever could
   * not be queued.
   */
  async add<S extends z.ZodType>(
    job: JobDefinition<unknown, S>,
    payload: z.input<S>,
    options?: JobsOptions,
  ): Promise<void> {
    await withTimeout(
      this.queues[job.queue].add(job.name, payload, { ...job.options, ...options }),
      ADD_TIMEOUT_MS,
    );
  }

  /** Sets (or replaces) a job scheduler that adds `job` with `payload` on `repeat` (kept in Redis). */
  async schedule<S extends z.ZodType>(
    job: JobDefinition<unknown, S>,
    schedulerId: string,
    repeat: Omit<RepeatOptions, 'key'>,
    payload: z.input<S>,
    options?: Omit<JobsOptions, 'jobId' | 'repeat' | 'delay' | 'deduplication'>,
  ): Promise<void> {
    // What only a single job can have (its id, a delay, a deduplication) is not the scheduler's.
    const opts: JobsOptions = { ...job.options, ...options };
    delete opts.jobId;
    delete opts.delay;
    delete opts.deduplication;
    await this.queues[job.queue].upsertJobScheduler(schedulerId, repeat, {
      name: job.name,
      data: payload,
      opts,
    });
  }

  /** Removes a job scheduler set by `schedule`. */
  async unschedule(queue: QueueName, schedulerId: string): Promise<void> {
    await this.queues[queue].removeJobScheduler(schedulerId);
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
