import type { AppContext, WorkerContext } from './context';
import { Mailer } from './delivery/mailer';
import type { RedisOptions } from 'ioredis';
import type { QueueName } from './queue/job';

/**
 * The context of each queue's jobs, for `startJobWorkers`: the platform's, with a mailer of the
 * queue's own (made on first use, closed with the queue's worker) and what its jobs keep.
 */
export function workerContexts(
  platform: AppContext & { redisConnection: RedisOptions },
): (queue: QueueName) => { ctx: WorkerContext; close: () => void } {
  return () => {
    let mailer: Mailer | undefined;
    const kept = new Map<string, unknown>();
    const ctx: WorkerContext = {
      ...platform,
      get mailer() {
        return (mailer ??= Mailer.fromConfig(platform.config));
      },
      kept<T>(key: string, make: () => T): T {
        if (!kept.has(key)) kept.set(key, make());
        return kept.get(key) as T;
      },
    };
    return { ctx, close: () => mailer?.close() };
  };
}
