import { Worker, type Job } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { serializeError, type Logger } from '../logger';
import { withTimeout } from '../time-limit';
import { logConnectionErrors } from './connection-errors';
import { queueNoun, type AnyJob, type QueueName, type Sweep } from './job';
import { bullConnection } from './jobs';

/** What the builder needs of the platform, whatever context the jobs themselves are given. */
export interface WorkerHost {
  logger: Logger;
  redis: Redis;
  /** Connection options for the workers, which open their own blocking connections. */
  redisConnection: RedisOptions;
  queues: { prefix: string };
}

export interface JobWorkersOptions<Ctx> {
  /** The context a queue's jobs are given; `close` runs once that queue's worker has stopped. */
  contextFor(queue: QueueName): { ctx: Ctx; close?: () => void };
  /** Overrides the concurrency the queues' jobs ask for (benchmarks, tests). */
  concurrency?: Partial<Record<QueueName, number>>;
}

export interface RunningJobWorkers {
  workers: Worker[];
  /** Lets the jobs in hand finish (when Redis answers), then stops every worker. */
  close(): Promise<void>;
}

/** Errors BullMQ reads as instructions (move the job, wait): they pass through untouched. */
const CONTROL_ERRORS = new Set(['DelayedError', 'WaitingChildrenError', 'WaitingError']);

/**
 * BullMQ keeps a failed job's message in Redis: it keeps this copy, whose message has the query
 * parameters (supporters' names and addresses) a database error carries cut out. The name stays,
 * so BullMQ still knows an UnrecoverableError.
 */
function scrubbed(error: unknown): unknown {
  if (!(error instanceof Error) || CONTROL_ERRORS.has(error.name)) return error;
  const copy = new Error(String(serializeError(error).message), { cause: error });
  copy.name = error.name;
  return copy;
}

/**
 * Lets a worker finish the job in hand, when Redis answers. When it does not, the worker's fetch
 * loop is stuck reconnecting and a graceful close would wait forever (and BullMQ keeps the first
 * close: a forced one cannot follow), so it is closed by force from the start. An unfinished job
 * is not lost: its lock lapses and another worker takes it up; every job is written to be run again.
 */
async function closeWorker(worker: Worker, redisAnswers: boolean): Promise<void> {
  await worker.close(!redisAnswers).catch(() => undefined);
}

/**
 * Builds one BullMQ worker per queue from the job definitions given, all alike: a job is parsed
 * against its payload schema (one it cannot read is dropped with a warning: retrying cannot help),
 * performed, its error scrubbed before BullMQ stores it, its failure logged (scrubbed by the
 * logger's serializer) and handed to its `onFailed`, connection errors logged throttled, and every
 * worker closed the same way.
 */
export async function startJobWorkers<Ctx>(
  host: WorkerHost,
  jobs: ReadonlyArray<AnyJob<Ctx>>,
  options: JobWorkersOptions<Ctx>,
): Promise<RunningJobWorkers> {
  const { logger } = host;
  const byQueue = new Map<QueueName, Array<AnyJob<Ctx>>>();
  for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);

  const started: Array<{ worker: Worker; close?: () => void }> = [];
  for (const [queue, definitions] of byQueue) {
    const { ctx, close } = options.contextFor(queue);
    const byName = new Map(definitions.map((definition) => [definition.name, definition]));
    const locks = definitions.map((definition) => definition.lock?.(ctx));
    const lock = locks[0];
    if (locks.some((other) => other?.durationMs !== lock?.durationMs))
      throw new Error(`the jobs of the ${queue} queue ask for different lock durations`);
    const noun = queueNoun[queue];
    const article = /^[aeiou]/.test(noun) ? 'an' : 'a';

    const worker = new Worker(
      queue,
      async (job: Job, token?: string) => {
        const definition = byName.get(job.name);
        const payload = definition?.payload.safeParse(job.data);
        if (!definition || !payload?.success) {
          logger.warn(
            { job: job.name, id: job.id },
            `dropping ${article} ${noun} job it cannot read`,
          );
          return;
        }
        try {
          await definition.perform(ctx, payload.data, job, token);
        } catch (error) {
          throw scrubbed(error);
        }
      },
      {
        connection: bullConnection(host.redisConnection),
        prefix: host.queues.prefix,
        concurrency:
          options.concurrency?.[queue] ??
          Math.max(...definitions.map((definition) => definition.concurrency)),
        ...(lock ? { lockDuration: lock.durationMs } : {}),
        ...(lock?.stalledCheckMs ? { stalledInterval: lock.stalledCheckMs } : {}),
        autorun: false,
      },
    );
    worker.on('failed', (job, error) => {
      if (!job || CONTROL_ERRORS.has(error.name)) return;
      const definition = byName.get(job.name);
      const final =
        error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      // `err` goes through the logger's serializer, which cuts query parameters out of database errors.
      (final ? logger.error : logger.warn).call(
        logger,
        { err: error, job: job.name, id: job.id, attempts: job.attemptsMade },
        `${noun} job failed`,
      );
      if (!definition?.onFailed) return;
      const payload = definition.payload.safeParse(job.data);
      Promise.resolve(
        definition.onFailed(ctx, {
          payload: payload.success ? payload.data : undefined,
          job,
          error,
          final,
        }),
      ).catch((failure: unknown) =>
        logger.error({ err: failure, job: job.name, id: job.id }, `${noun} job's onFailed failed`),
      );
    });
    logConnectionErrors(worker, logger, `worker:${queue}`);
    started.push({ worker, close });

    for (const definition of definitions) await definition.beforeStart?.(ctx);
    worker
      .run()
      .catch((error: unknown) => logger.error({ err: error, queue }, 'a queue worker stopped'));
  }

  return {
    workers: started.map(({ worker }) => worker),
    async close() {
      const redisAnswers = await withTimeout(host.redis.ping(), 1000).then(
        () => true,
        () => false,
      );
      await Promise.all(
        started.map(async ({ worker, close }) => {
          await closeWorker(worker, redisAnswers);
          close?.();
        }),
      );
    },
  };
}

/** When the duties run, each list in order; a duty's failure is logged and the next goes on. */
export interface SweepPlan<Ctx> {
  /** Every `everyMs`, and once at start. */
  maintenance: ReadonlyArray<Sweep<Ctx>>;
  /** Once at start, after the maintenance. */
  atStart: ReadonlyArray<Sweep<Ctx>>;
  /** Each time Redis is back after an outage (it may have lost its data, and requests failed meanwhile). */
  afterReconnect: ReadonlyArray<Sweep<Ctx>>;
  everyMs: number;
}

export interface RunningSweeps {
  /** Stops the clock and waits for the sweeps in progress. */
  close(): Promise<void>;
}

/**
 * Runs the duties each worker process keeps on its own clock (not from Redis, so they survive a
 * Redis that lost its data). Runs the maintenance and the start duties before it returns.
 */
export async function startSweeps<Ctx>(
  host: Pick<WorkerHost, 'logger' | 'redis'>,
  ctx: Ctx,
  plan: SweepPlan<Ctx>,
): Promise<RunningSweeps> {
  const { logger } = host;
  const done = new Set<Sweep<Ctx>>();
  const runAll = async (sweeps: ReadonlyArray<Sweep<Ctx>>, when: string) => {
    for (const sweep of sweeps) {
      if (done.has(sweep)) continue;
      try {
        if ((await sweep.run(ctx)) === 'done') done.add(sweep);
      } catch (error) {
        logger.error({ err: error, sweep: sweep.name }, `${when} failed`);
      }
    }
  };

  let maintenance: Promise<void> | undefined;
  const maintain = () =>
    (maintenance ??= runAll(plan.maintenance, 'maintenance').finally(() => {
      maintenance = undefined;
    }));

  await maintain();
  await runAll(plan.atStart, 'start-up duty');
  const timer = setInterval(() => void maintain(), plan.everyMs).unref();

  let catchingUp = Promise.resolve();
  const catchUpAfterReconnect = () => {
    catchingUp = catchingUp.then(() =>
      runAll(plan.afterReconnect, 'catching up after Redis returned'),
    );
  };
  host.redis.on('ready', catchUpAfterReconnect);

  return {
    async close() {
      clearInterval(timer);
      host.redis.off('ready', catchUpAfterReconnect);
      await Promise.all([maintenance, catchingUp]);
    },
  };
}
