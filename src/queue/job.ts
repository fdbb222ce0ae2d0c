import type { Job, JobsOptions } from 'bullmq';
import type { z } from 'zod';

/** The queues, by name: each is a BullMQ queue (its Redis keys carry the name, so names never change). */
export const queueNames = [
  'tallies',
  'representatives',
  'delivery',
  'exports',
  'supporters',
  'webhooks',
] as const;

export type QueueName = (typeof queueNames)[number];

/** How a queue's jobs are called in log lines ("dropping a tally job it cannot read"). */
export const queueNoun: Record<QueueName, string> = {
  tallies: 'tally',
  representatives: 'representatives',
  delivery: 'delivery',
  exports: 'export',
  supporters: 'supporters',
  webhooks: 'webhooks',
};

/** What every job keeps in Redis after it ends, unless its definition says otherwise. */
const KEPT_AFTER_END: JobsOptions = {
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/** A job that failed, as `onFailed` is told of it. */
export interface JobFailure<Payload> {
  /** Undefined when the job's data does not match the payload schema. */
  payload: Payload | undefined;
  job: Job;
  /** The error with its message scrubbed of query parameters (see startJobWorkers). */
  error: Error;
  /** True when BullMQ will not try the job again. */
  final: boolean;
}

/**
 * One background job: its queue and name, its payload's schema (producers' types come from it),
 * its options, what it does (`perform`) and what happens when it fails (`onFailed`). Each lives in
 * a file of its own, `src/<feature>/jobs/<job-name>.ts`; `startJobWorkers` runs them.
 *
 * `Ctx` is what `perform` is given (the worker context, src/context.ts); this module does not
 * know it, so that `queue/` imports no feature.
 */
export interface JobDefinition<Ctx, Schema extends z.ZodType> {
  queue: QueueName;
  name: string;
  payload: Schema;
  /** What each job is enqueued with (attempts, backoff, what is kept after it ends); a producer may add to them. */
  options: JobsOptions;
  /** Jobs of this queue one worker process runs at once (the queue's worker takes the largest its jobs ask). */
  concurrency: number;
  /**
   * How long a running job's lock lasts before BullMQ thinks its worker dead, and how often it
   * looks for such jobs (BullMQ's defaults, 30 s each, when unset). Jobs of one queue must agree.
   */
  lock?(ctx: Ctx): { durationMs: number; stalledCheckMs?: number };
  perform(ctx: Ctx, payload: z.infer<Schema>, job: Job, token: string | undefined): Promise<void>;
  /** After the builder has logged the failure (scrubbed), whatever the job must do of its own. */
  onFailed?(ctx: Ctx, failure: JobFailure<z.infer<Schema>>): void | Promise<void>;
  /** Runs once before the queue's worker takes its first job (resuming work a dead process left, say). */
  beforeStart?(ctx: Ctx): Promise<void>;
}

/** Gives a job definition its defaults; the type of `perform`'s payload comes from `payload`. */
export function defineJob<Ctx, Schema extends z.ZodType>(
  definition: JobDefinition<Ctx, Schema>,
): JobDefinition<Ctx, Schema> {
  return { ...definition, options: { ...KEPT_AFTER_END, ...definition.options } };
}

/** Any job definition, for lists of them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list holds jobs of different contexts and payloads
export type AnyJob<Ctx = any> = JobDefinition<Ctx, z.ZodType>;

/** A duty the worker processes run on their own clock (not from Redis): named, in its feature. */
export interface Sweep<Ctx> {
  name: string;
  /**
   * Does the work; resolves `'done'` when it need not run again in this process (a schedule that
   * has been set in Redis, say).
   */
  run(ctx: Ctx): Promise<void | 'done'>;
}

export const defineSweep = <Ctx>(sweep: Sweep<Ctx>): Sweep<Ctx> => sweep;
