import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { IMPORT_LOCK } from '../../src/representatives/store';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

/**
 * A worker process killed (SIGKILL) during the first-start import of the representative data:
 * the import job is left active in Redis, under a lock that would keep it there for two minutes
 * while every lookup answers 503. A worker process started next finds the job's import lock free
 * in the database (the dead process's connection, and its lock, are gone), puts the job back in
 * the queue before taking any, and runs it at once: the data is imported, and what the killed
 * import had written is cleared. That it was this and not BullMQ's stalled-job check (which only
 * acts once the lock has lapsed) shows in the job: it was never counted as stalled.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
/** The lock the import takes to switch to its new snapshot: held here, it stops the import just before the switch. */
const SWITCH_LOCK = 4_216_002;

let t: TestPlatform;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-import-kill-'));
const processes: WorkerProcess[] = [];

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(async () => {
  for (const worker of processes) await worker.kill();
  await t.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const snapshots = () =>
  queryRows<{ id: number; active: boolean }>(
    t.platform.db,
    sql`SELECT id, active FROM rep_snapshots ORDER BY id`,
  );

it('resumes at once, in the next worker process, an import whose process was killed', async () => {
  const { config } = t.platform;
  const env = { REP_DATA_DIR: FIXTURES };
  await request(t.app).get('/api/v1/representatives?zip=80010').expect(503);

  const blocker = new pg.Client({ connectionString: config.databaseUrl });
  await blocker.connect();
  let job: Job | undefined;
  try {
    const blockerPid = Number((await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await blocker.query('SELECT pg_advisory_lock($1)', [SWITCH_LOCK]);

    // A first start with data at hand: the import is queued and runs until it waits to switch.
    const first = startWorkerProcess(config, dataDir, env);
    processes.push(first);
    await first.started;
    await eventually(async () => {
      const [waiting] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> ${blockerPid}::int`,
      );
      return waiting!.n > 0;
    }, 60_000);
    [job] = await t.platform.queues.get('representatives').getActive();
    expect(job?.name).toBe('import-data');
    // Its rows are written, not yet switched to.
    expect(await snapshots()).toEqual([{ id: expect.anything(), active: false }]);

    await first.kill();
    // The dead process's import lock goes with its connection.
    await eventually(async () => {
      const [held] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ${IMPORT_LOCK}::int AND granted`,
      );
      return held!.n === 0;
    });
    await blocker.query('SELECT pg_advisory_unlock($1)', [SWITCH_LOCK]);
  } finally {
    await blocker.end();
  }

  // Its job is still active, its lock still held in Redis for most of two minutes.
  expect(await job!.getState()).toBe('active');
  const lockKey = `${t.platform.queues.get('representatives').toKey(job!.id!)}:lock`;
  expect(await t.platform.redis.pttl(lockKey)).toBeGreaterThan(0);

  const second = startWorkerProcess(config, dataDir, env);
  processes.push(second);
  await second.started;
  await eventually(async () => (await job!.getState()) === 'completed', 60_000);
  const done = await t.platform.queues.get('representatives').getJob(job!.id!);
  expect(done!.attemptsStarted).toBe(2);
  // Put back by the worker that started, not found stalled once its lock had lapsed.
  expect(done!.stalledCounter).toBe(0);
  expect(second.output()).toContain('resuming a representative data import whose worker stopped');

  // One snapshot: the one imported; what the killed import wrote is gone.
  expect(await snapshots()).toEqual([{ id: expect.anything(), active: true }]);
  await t.platform.representatives.refresh();
  const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
  expect(lookup.body.officials.map((official: { name: string | null }) => official.name)).toContain(
    'Hana Senate',
  );
  await second.stop();
}, 240_000);
