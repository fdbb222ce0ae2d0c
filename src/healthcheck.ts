import { Queue } from 'bullmq';
import { runCli } from './cli';
import { configFromProcess } from './config';
import { openDatabase } from './db/client';
import { redisOptionsFromUrl } from './queue/connection';
import { bullConnection } from './queue/jobs';

/**
 * `node dist/src/healthcheck.js [web|worker]`, for container health checks. `web` asks the local
 * server's /readyz; `worker` checks the database and that tally workers are connected to Redis.
 */
runCli('healthcheck', async () => {
  const role = process.argv[2] ?? 'web';
  const config = configFromProcess();
  if (role === 'web') {
    const res = await fetch(`http://127.0.0.1:${config.port}/readyz`, {
      signal: AbortSignal.timeout(4000),
    });
    if (!res.ok) throw new Error(`readyz answered ${res.status}`);
    return;
  }
  if (!config.redisUrl || !config.databaseUrl)
    throw new Error('the worker role needs DATABASE_URL and REDIS_URL');
  const database = await openDatabase(config);
  const queue = new Queue('tallies', {
    connection: bullConnection({
      ...redisOptionsFromUrl(config.redisUrl),
      maxRetriesPerRequest: 1,
    }),
    prefix: `${config.redisKeyPrefix}:bull`,
  });
  try {
    await database.ping();
    if ((await queue.getWorkersCount()) === 0) throw new Error('no tally worker is connected');
  } finally {
    await queue.close();
    await database.close();
  }
});
