import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { signatures } from '../../src/db/schema';
import { TALLY_BATCH_SIZE } from '../../src/petitions/tallies';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { signatureValues } from '../helpers/sealed';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { requestTally } from '../../src/petitions/jobs/tally-campaign';

/**
 * A worker process killed (SIGKILL) in the middle of a tally job, between two of its batches: the
 * batch in hand leaves no trace (each batch is one transaction), the job is taken up again by
 * another worker (BullMQ finds it stalled), and in the end every signature is counted exactly once.
 * (Delivery has its own kill test: tests/faults/delivery-kill.test.ts.)
 */
const SLUG = 'ban-facial-recognition';
const STATES = ['NY', 'IL', 'CA', 'CO', 'WA'];
/** Five full batches and a bit: the job is killed while it holds the second. */
const SIGNATURES = 5 * TALLY_BATCH_SIZE + 123;

let t: TestPlatform;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-tally-kill-'));
const processes: WorkerProcess[] = [];

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(async () => {
  for (const worker of processes) await worker.kill();
  await t.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const counted = async () => {
  const [row] = await queryRows<{ tallied: number; total: number }>(
    t.platform.db,
    sql`SELECT (SELECT count(*) FROM signatures WHERE tallied)::int AS tallied,
               coalesce((SELECT count FROM signature_counts WHERE dimension = 'total' AND key = ''), 0)::int AS total`,
  );
  return row!;
};

it('retries a tally job whose worker was killed mid-job, and counts each signature once', async () => {
  const { config } = t.platform;
  const campaign = await t.platform.campaigns.bySlug(SLUG);
  const first = startWorkerProcess(config, dataDir);
  processes.push(first);
  // Its start-up catch-up is done (there was nothing to count): what follows is the job's work.
  await first.started;

  // All at once (one transaction), sealed as the platform writes them.
  const rows = Array.from({ length: SIGNATURES }, (_, index) => {
    const g = index + 1;
    return signatureValues(t.platform.encryption, {
      campaignId: campaign!.id,
      email: `signer${g}@example.org`,
      name: `Signer ${g}`,
      zip: '10001',
      state: STATES[g % STATES.length]!,
    });
  });
  await t.platform.db.transaction(async (tx) => {
    for (let from = 0; from < rows.length; from += 1000)
      await tx.insert(signatures).values(rows.slice(from, from + 1000));
  });

  // A row of the job's second batch, locked by another session: the job commits its first batch,
  // then waits inside its second, where it is killed.
  const blocker = new pg.Client({ connectionString: config.databaseUrl });
  await blocker.connect();
  try {
    const blockerPid = Number((await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await blocker.query('BEGIN');
    // (Found first, then locked: FOR UPDATE with OFFSET would lock the rows it skips too.)
    await blocker.query(
      'SELECT id FROM signatures WHERE id = (SELECT id FROM signatures ORDER BY id OFFSET $1 LIMIT 1) FOR UPDATE',
      [TALLY_BATCH_SIZE + 10],
    );
    await requestTally(t.platform.queues, campaign!.id);

    await eventually(async () => {
      const [waiting] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> ${blockerPid}::int`,
      );
      return waiting!.n > 0 && (await counted()).tallied === TALLY_BATCH_SIZE;
    }, 60_000);
    const [job] = await t.platform.queues.get('tallies').getActive();
    expect(job).toBeDefined();

    await first.kill();
    await blocker.query('ROLLBACK');

    // The batch in hand when the worker died left nothing behind: counts and marks agree.
    expect(await counted()).toEqual({ tallied: TALLY_BATCH_SIZE, total: TALLY_BATCH_SIZE });

    const second = startWorkerProcess(config, dataDir);
    processes.push(second);
    await second.started;

    // The killed job is found stalled, run again, and completes.
    await eventually(async () => (await job!.getState()) === 'completed', 150_000);
    const rerun = await t.platform.queues.get('tallies').getJob(job!.id!);
    expect(rerun!.attemptsStarted).toBeGreaterThanOrEqual(2);

    // Every signature counted exactly once, in every dimension, and the public counter says so.
    await eventually(async () => (await counted()).tallied === SIGNATURES, 60_000);
    expect(await counted()).toEqual({ tallied: SIGNATURES, total: SIGNATURES });
    const byState = await queryRows<{ key: string; count: number }>(
      t.platform.db,
      sql`SELECT key, count::int FROM signature_counts WHERE dimension = 'state' ORDER BY key`,
    );
    const expected = STATES.map((state, index) => ({
      key: state,
      count: Array.from({ length: SIGNATURES }, (_, g) => g + 1).filter(
        (g) => g % STATES.length === index,
      ).length,
    })).sort((a, b) => a.key.localeCompare(b.key));
    expect(byState).toEqual(expected);
    await eventually(
      async () =>
        (await request(t.app).get(`/api/v1/campaigns/${SLUG}/stats`)).body.signatures ===
        SIGNATURES,
      30_000,
    );
    await second.stop();
  } finally {
    await blocker.end().catch(() => undefined);
  }
}, 300_000);
