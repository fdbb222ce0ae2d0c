import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { WorkerContext } from '../../src/context';
import { defineJob, defineSweep } from '../../src/queue/job';
import { startJobWorkers, startSweeps, type RunningJobWorkers } from '../../src/queue/workers';
import { workerContexts } from '../../src/worker-context';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';

/**
 * The one builder of every BullMQ worker (src/queue/workers.ts), on real Redis with job
 * definitions of the test's own: what every job gets alike, whatever its feature.
 */

let t: TestPlatform;
let running: RunningJobWorkers | undefined;
const performed: Array<{ note: string; attempt: number }> = [];
const failedCalls: Array<{ note: string | undefined; final: boolean; message: string }> = [];

/** A job that fails the way a database error does: the row's values in its message's `params`. */
const leakyJob = defineJob({
  queue: 'exports',
  name: 'leaky',
  payload: z.object({ note: z.string(), fail: z.enum(['never', 'database', 'unrecoverable']) }),
  options: { attempts: 2, backoff: { type: 'fixed', delay: 10 } },
  concurrency: 2,
  async perform(_ctx: WorkerContext, { note, fail }, job) {
    await Promise.resolve();
    performed.push({ note, attempt: job.attemptsMade + 1 });
    if (fail === 'database')
      throw new Error(
        'Failed query: insert into "signatures" values ($1, $2)\nparams: Leaky Signer,leaky@example.org',
      );
    if (fail === 'unrecoverable') throw new UnrecoverableError('these files will never import');
  },
  onFailed(_ctx: WorkerContext, { payload, final, error }) {
    failedCalls.push({ note: payload?.note, final, message: error.message });
  },
});

beforeAll(async () => {
  t = await createTestPlatform();
  running = await startJobWorkers(t.platform, [leakyJob], {
    contextFor: workerContexts(t.platform),
  });
});
afterAll(async () => {
  await running?.close();
  await t?.close();
});

const jobState = async (id: string) => t.platform.queues.get('exports').getJobState(id);

describe('every queue worker, built from job definitions', () => {
  it('performs a job with its parsed payload and the definition’s options', async () => {
    await t.platform.queues.add(leakyJob, { note: 'fine', fail: 'never' }, { jobId: 'fine' });
    await eventually(async () => (await jobState('fine')) === 'completed');
    expect(performed).toContainEqual({ note: 'fine', attempt: 1 });
    const job = await t.platform.queues.get('exports').getJob('fine');
    expect(job!.opts.attempts).toBe(2);
  });

  it('keeps no personal data from an error in Redis or the log, and tells onFailed once it is final', async () => {
    await t.platform.queues.add(leakyJob, { note: 'leaky', fail: 'database' }, { jobId: 'leaky' });
    await eventually(async () => (await jobState('leaky')) === 'failed');
    const job = await t.platform.queues.get('exports').getJob('leaky');
    expect(job!.attemptsMade).toBe(2);
    expect(job!.failedReason).toContain('params: [redacted]');
    expect(JSON.stringify(job!.stacktrace)).not.toContain('leaky@example.org');
    expect(job!.failedReason).not.toContain('leaky@example.org');
    await eventually(() =>
      Promise.resolve(failedCalls.filter((call) => call.note === 'leaky').length === 2),
    );
    expect(failedCalls.filter((call) => call.note === 'leaky').map((call) => call.final)).toEqual([
      false,
      true,
    ]);
    expect(t.logs()).toContain('export job failed');
    expect(t.logs()).not.toContain('leaky@example.org');
    expect(t.logs()).not.toContain('Leaky Signer');
  });

  it('does not retry an UnrecoverableError, whose name survives the scrubbing', async () => {
    await t.platform.queues.add(
      leakyJob,
      { note: 'hopeless', fail: 'unrecoverable' },
      { jobId: 'hopeless' },
    );
    await eventually(async () => (await jobState('hopeless')) === 'failed');
    const job = await t.platform.queues.get('exports').getJob('hopeless');
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toBe('these files will never import');
    expect(failedCalls).toContainEqual({
      note: 'hopeless',
      final: true,
      message: 'these files will never import',
    });
  });

  it('drops a job it cannot read (an unknown name, or a payload its schema refuses) without retrying it', async () => {
    const queue = t.platform.queues.get('exports');
    const unknown = await queue.add('from-another-version', {}, { attempts: 3 });
    const unreadable = await queue.add('leaky', { note: 42 }, { attempts: 3 });
    for (const job of [unknown, unreadable])
      await eventually(async () => (await jobState(job.id!)) === 'completed');
    expect(performed.map((entry) => entry.note)).not.toContain(42);
    expect(t.logs()).toContain('dropping an export job it cannot read');
  });
});

describe('the sweeps', () => {
  it('run at start, go on past one that fails, and stop running one that says it is done', async () => {
    const ran: string[] = [];
    const failing = defineSweep<unknown>({
      name: 'failing',
      run: () => Promise.reject(new Error('the database is away')),
    });
    const once = defineSweep<unknown>({
      name: 'once',
      run: () => {
        ran.push('once');
        return Promise.resolve('done' as const);
      },
    });
    const every = defineSweep<unknown>({
      name: 'every',
      run: () => {
        ran.push('every');
        return Promise.resolve();
      },
    });
    const sweeps = await startSweeps(
      t.platform,
      {},
      {
        everyMs: 60_000,
        maintenance: [failing, once, every],
        atStart: [every],
        afterReconnect: [once, every],
      },
    );
    await sweeps.close();
    expect(ran).toEqual(['once', 'every', 'every']);
    expect(t.logs()).toContain('"sweep":"failing"');
  });
});
