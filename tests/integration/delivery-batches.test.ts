import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { queryRows } from '../../src/db/client';
import { letterDelivery, type DeliveryContext } from '../../src/delivery/deliver';
import { Mailer } from '../../src/delivery/mailer';
import { createLogger } from '../../src/logger';
import { openPlatform } from '../../src/platform';
import { importRepresentativeData } from '../../src/representatives/import';
import { deliverLetterJob } from '../../src/delivery/jobs/deliver-letter';
import { confirmActionJob } from '../../src/letters/jobs/confirm-action';
import { startJobWorkers } from '../../src/queue/workers';
import { workerContexts } from '../../src/worker-context';
import { createTestPlatform, goLive, eventually, type TestPlatform } from '../helpers/platform';
import { openedLetterActions } from '../helpers/sealed';
import { testRedisUrl } from '../helpers/services';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/**
 * Letters delivered together: the claims of the deliveries running at the same time go to the
 * database in one statement, and so do their results; yet each letter keeps its own outcome, a
 * letter is claimed once, a result is recorded only by the attempt's owner, and the counts agree
 * with the letters. On PostgreSQL, and on the embedded database (PGlite), which must accept the
 * same statements.
 */
const SLUG = 'ban-facial-recognition';
type Opened = Pick<TestPlatform, 'platform' | 'app' | 'close'>;

/** The platform on PGlite under a data directory of its own, with the tests' Redis (under a key prefix of its own). */
async function openEmbedded(env: Record<string, string>): Promise<Opened> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-batches-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    REDIS_URL: testRedisUrl,
    REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    APP_SECRET: 'test-secret-test-secret-test-secret-0123',
    SIGN_RATE_LIMIT: '100000',
    REP_DATA_DIR: 'none',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const platform = await openPlatform(config, createLogger(config.logLevel));
  return {
    platform,
    app: buildApp(platform),
    async close() {
      const keys = await platform.redis.keys(`${config.redisKeyPrefix}:*`);
      if (keys.length > 0) await platform.redis.del(...keys);
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let sink: SmtpSink;
/** Runs once while the next message reaches the sink, before the sink answers its sender. */
let duringNextSend: (() => Promise<void>) | undefined;

beforeAll(async () => {
  sink = await startSmtpSink({
    beforeAccept: async () => {
      const during = duringNextSend;
      duringNextSend = undefined;
      await during?.();
    },
  });
});
afterAll(async () => {
  await sink.close();
});

describe.each([
  ['PostgreSQL', createTestPlatform],
  ['PGlite', openEmbedded],
] as const)('on %s', (_database, open) => {
  let t: Opened;
  let mailer: Mailer;

  beforeAll(async () => {
    t = await open({ SMTP_URL: sink.url });
    await goLive(t.platform);
    await importRepresentativeData(
      t.platform.db,
      path.join(__dirname, '..', 'fixtures', 'representatives'),
    );
    await t.platform.representatives.refresh();
    mailer = Mailer.fromConfig(t.platform.config);
    // Opening PGlite (its WebAssembly PostgreSQL, the migrations) and importing take a minute on a busy two-core machine.
  }, 180_000);
  afterAll(async () => {
    mailer?.close();
    await t?.close();
  });

  const context = (lockSeconds = t.platform.config.delivery.lockSeconds): DeliveryContext => ({
    db: t.platform.db,
    encryption: t.platform.encryption,
    mailer,
    rehearsalFiles: mailer,
    config: { delivery: { ...t.platform.config.delivery, lockSeconds } },
  });

  /** Supporters in ZIP 80010 each write to its two offices with an email address; their letters' ids. */
  async function writeLetters(names: string[]): Promise<number[]> {
    for (const name of names) {
      await request(t.app)
        .post(`/api/v1/campaigns/${SLUG}/letters`)
        .send({
          name,
          email: `${name.toLowerCase().replace(/\W/g, '')}@example.org`,
          zip: '80010',
          wantsCopy: false,
        })
        .expect(202);
    }
    // Names are sealed in the database: the writers are picked out by their opened names.
    const actionIds = (await openedLetterActions(t.platform))
      .filter((action) => names.includes(action.name))
      .map((action) => action.id);
    const rows = await queryRows<{ id: number }>(
      t.platform.db,
      sql`SELECT l.id FROM letters l WHERE l.action_id IN ${actionIds.length > 0 ? actionIds : [0]} ORDER BY l.id`,
    );
    expect(rows).toHaveLength(2 * names.length);
    return rows.map((row) => Number(row.id));
  }

  interface LetterState {
    id: number;
    status: string;
    last_error: string | null;
    attempts: number;
    outcomes: string[];
  }

  /** Each letter's status, and its attempts' outcomes in order (`open` while in flight). */
  async function states(ids: number[]): Promise<LetterState[]> {
    const rows = await queryRows<LetterState>(
      t.platform.db,
      sql`SELECT l.id, l.status, l.last_error, l.attempts,
                 coalesce(array_agg(coalesce(d.outcome, 'open') ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS outcomes
          FROM letters l LEFT JOIN delivery_attempts d ON d.letter_id = l.id
          WHERE l.id IN ${ids} GROUP BY l.id ORDER BY l.id`,
    );
    return rows.map((row) => ({ ...row, id: Number(row.id) }));
  }

  /** The count rows that are not zero, next to the same counts taken from the letters themselves. */
  async function countsAndTruth() {
    const counted = await queryRows<{ dimension: string; key: string; status: string; n: number }>(
      t.platform.db,
      sql`SELECT dimension, key, status, count::int AS n FROM letter_counts WHERE count <> 0 ORDER BY 1, 2, 3`,
    );
    const truth = await queryRows<{ dimension: string; key: string; status: string; n: number }>(
      t.platform.db,
      sql`SELECT d.dimension, d.key, l.status, count(*)::int AS n
          FROM letters l JOIN letter_actions a ON a.id = l.action_id
          CROSS JOIN LATERAL (VALUES ('target', l.target_key), ('congressional', a.congressional_district)) AS d(dimension, key)
          WHERE d.key IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    return { counted, truth };
  }

  const letterMessages = () => sink.messages.filter((mail) => mail.headers.get('x-letter-id'));

  it('claims the letters asked for together in one statement, and records each letter its own outcome', async () => {
    const ids = await writeLetters(['Ada One', 'Ben Two', 'Cy Three', 'Di Four']);
    const deliver = letterDelivery(context());
    const sentBefore = letterMessages().length;
    sink.failNext(1, 550);

    const results = await Promise.all(ids.map((id) => deliver(id)));

    expect([...results].sort()).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'failed',
    ]);
    const letters = await states(ids);
    // One attempt each, all started by the same statement (their start is its transaction's time).
    expect(letters.every((letter) => letter.outcomes.length === 1)).toBe(true);
    const [claimStatements] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(DISTINCT started_at)::int AS n FROM delivery_attempts WHERE letter_id IN ${ids}`,
    );
    expect(claimStatements?.n).toBe(1);
    // Each letter has the outcome of its own send, as the caller was told.
    letters.forEach((letter) => expect(letter.status).toBe(results[ids.indexOf(letter.id)]));
    const failed = letters.filter((letter) => letter.status === 'failed');
    expect(failed).toEqual([
      expect.objectContaining({ last_error: 'SMTP 550', attempts: 1, outcomes: ['failed'] }),
    ]);
    expect(
      letters
        .filter((letter) => letter.status === 'delivered')
        .every((letter) => letter.outcomes[0] === 'delivered' && !letter.last_error),
    ).toBe(true);
    expect(letterMessages().length - sentBefore).toBe(7);

    const { counted, truth } = await countsAndTruth();
    expect(counted).toEqual(truth);
  });

  it('leaves a letter refused for now to be retried while the rest of its batch is delivered, and then delivers it', async () => {
    const ids = await writeLetters(['Eve Five', 'Flo Six']);
    const deliver = letterDelivery(context());
    sink.failNext(1, 451);

    const results = await Promise.all(ids.map((id) => deliver(id)));

    expect([...results].sort()).toEqual(['delivered', 'delivered', 'delivered', 'retrying']);
    const retrying = ids[results.indexOf('retrying')]!;
    expect((await states([retrying]))[0]).toMatchObject({
      status: 'retrying',
      last_error: 'SMTP 451',
      outcomes: ['retry'],
    });
    const whileRetrying = await countsAndTruth();
    expect(whileRetrying.counted).toEqual(whileRetrying.truth);

    expect(await deliver(retrying)).toBe('delivered');
    expect((await states([retrying]))[0]).toMatchObject({
      status: 'delivered',
      last_error: null,
      attempts: 2,
      outcomes: ['retry', 'delivered'],
    });
    const { counted, truth } = await countsAndTruth();
    expect(counted).toEqual(truth);
  });

  it('claims a letter asked for twice at once only once', async () => {
    const [first, second] = await writeLetters(['Gil Seven']);
    const deliver = letterDelivery(context());
    const sentBefore = letterMessages().length;

    const results = await Promise.all([deliver(first!), deliver(first!), deliver(second!)]);

    expect([...results.slice(0, 2)].sort()).toEqual(['delivered', 'skipped']);
    expect(results[2]).toBe('delivered');
    expect((await states([first!]))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      outcomes: ['delivered'],
    });
    expect(letterMessages().length - sentBefore).toBe(2);
  });

  it('takes over, next to a batch, a letter whose worker died during its send, and leaves one in flight alone', async () => {
    const [abandoned, inFlight, ...waiting] = await writeLetters(['Hal Eight', 'Ida Nine']);
    // As a claim leaves a letter: `sending`, with an open attempt; a dead worker's is old.
    for (const [id, startedAt] of [
      [abandoned!, sql`now() - interval '1 hour'`],
      [inFlight!, sql`now()`],
    ] as const) {
      await t.platform.db.execute(
        sql`UPDATE letters SET status = 'sending', attempts = 1 WHERE id = ${id}::bigint`,
      );
      await t.platform.db.execute(
        sql`INSERT INTO delivery_attempts (letter_id, started_at) VALUES (${id}::bigint, ${startedAt})`,
      );
    }
    const deliver = letterDelivery(context());

    const results = await Promise.all([abandoned!, inFlight!, ...waiting].map((id) => deliver(id)));

    expect(results).toEqual(['delivered', 'skipped', 'delivered', 'delivered']);
    const [taken, untouched] = await states([abandoned!, inFlight!]);
    expect(taken).toMatchObject({
      status: 'delivered',
      attempts: 2,
      outcomes: ['interrupted', 'delivered'],
    });
    expect(untouched).toMatchObject({ status: 'sending', attempts: 1, outcomes: ['open'] });

    // Let the one in flight finish as its worker would have, for the counts.
    await t.platform.db.execute(
      sql`UPDATE delivery_attempts SET outcome = 'interrupted' WHERE letter_id = ${inFlight!}::bigint`,
    );
    await t.platform.db.execute(
      sql`UPDATE letters SET status = 'queued' WHERE id = ${inFlight!}::bigint`,
    );
    expect(await deliver(inFlight!)).toBe('delivered');
    const { counted, truth } = await countsAndTruth();
    expect(counted).toEqual(truth);
  });

  it('records nothing over a letter that another worker took over during the send, and counts it once', async () => {
    const [letterId, otherLetterId] = await writeLetters(['Jo Ten']);
    const slowWorker = letterDelivery(context());
    // Another worker, for which an attempt half a second old is one whose worker died.
    const otherWorker = letterDelivery(context(1));
    duringNextSend = async () => {
      await eventually(async () => {
        const [row] = await queryRows<{ old: boolean }>(
          t.platform.db,
          sql`SELECT bool_and(started_at < now() - interval '600 milliseconds') AS old FROM delivery_attempts WHERE letter_id = ${letterId!}::bigint`,
        );
        return row?.old === true;
      });
      expect(await otherWorker(letterId!)).toBe('delivered');
    };

    // Its send went through, but the record is the other worker's.
    expect(await slowWorker(letterId!)).toBe('delivered');

    expect((await states([letterId!]))[0]).toMatchObject({
      status: 'delivered',
      attempts: 2,
      outcomes: ['interrupted', 'delivered'],
    });
    // The supporter's other letter, so that no letter is left waiting for the next test.
    expect(await slowWorker(otherLetterId!)).toBe('delivered');
    const { counted, truth } = await countsAndTruth();
    expect(counted).toEqual(truth);
  });

  it('delivers through the worker, many jobs at a time, each letter once with its own outcome', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `Kit Worker ${i}`);
    const ids = await writeLetters(names);
    sink.failNext(2, 550);
    const sentBefore = letterMessages().length;
    const running = await startJobWorkers(t.platform, [deliverLetterJob, confirmActionJob], {
      contextFor: workerContexts(t.platform),
      concurrency: { delivery: 16 },
    });
    try {
      await eventually(async () =>
        (await states(ids)).every(
          (letter) => letter.status === 'delivered' || letter.status === 'failed',
        ),
      );
    } finally {
      await running.close();
    }
    const letters = await states(ids);
    expect(letters.filter((letter) => letter.status === 'failed')).toHaveLength(2);
    expect(letters.every((letter) => letter.attempts === 1 && letter.outcomes.length === 1)).toBe(
      true,
    );
    expect(letterMessages().length - sentBefore).toBe(22);
    const { counted, truth } = await countsAndTruth();
    expect(counted).toEqual(truth);
  });
});
