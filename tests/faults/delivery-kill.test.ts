import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { messageKey } from '../../src/delivery/deliver';
import { projectRoot } from '../../src/paths';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/**
 * A delivery worker killed (SIGKILL) in the middle of a batch of sends, and a new one started:
 * no letter is lost, and a letter can arrive twice only if its send was cut off mid-flight, in
 * which case its attempt is recorded as interrupted and both copies carry the same Message-ID.
 */
const SLUG = 'ban-facial-recognition';
const LOCK_SECONDS = 2;
let t: TestPlatform;
let sink: SmtpSink;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-kill-'));

beforeAll(async () => {
  sink = await startSmtpSink({ delayMs: 15 });
  t = await createTestPlatform({ SMTP_URL: sink.url, DELIVERY_LOCK_SECONDS: String(LOCK_SECONDS), DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000' });
  await importRepresentativeData(t.platform.db, path.join(__dirname, '..', 'fixtures', 'representatives'));
  await t.platform.representatives.refresh();
});
afterAll(async () => {
  await t.close();
  await sink.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A worker process, as production runs it: `node dist/src/main.js worker`, here from the sources through tsx. */
function startWorkerProcess(): ChildProcess {
  const { config } = t.platform;
  return spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'main.ts'), 'worker'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      REDIS_KEY_PREFIX: config.redisKeyPrefix,
      APP_SECRET: config.secret,
      SMTP_URL: sink.url,
      DELIVERY_LOCK_SECONDS: String(LOCK_SECONDS),
      DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000',
      REP_DATA_DIR: 'none',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

it('loses no letter and sends none twice without an interrupted attempt, when a worker is killed mid-batch', async () => {
  // 40 supporters, each writing to the 2 targets with an email address: 80 letters, no confirmations.
  for (let i = 0; i < 40; i++) {
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({ name: `Writer ${i}`, email: `writer${i}@example.org`, zip: '80010', wantsCopy: false })
      .expect(202);
  }
  const letterCount = () => sink.messages.filter((m) => m.headers.get('x-letter-id')).length;

  const first = startWorkerProcess();
  await eventually(async () => letterCount() >= 15, 60_000);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const sentBeforeKill = letterCount();
  expect(sentBeforeKill).toBeLessThan(80);

  const second = startWorkerProcess();
  try {
    await eventually(async () => {
      const [pending] = await queryRows<{ n: number }>(t.platform.db, sql`SELECT count(*)::int AS n FROM letters WHERE status <> 'delivered'`);
      return pending?.n === 0;
    }, 90_000);
  } finally {
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
  }

  const arrivals = new Map<string, Set<string>>();
  const counts = new Map<string, number>();
  for (const mail of sink.messages) {
    const key = String(mail.headers.get('x-letter-id') ?? '');
    if (!key) continue;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    arrivals.set(key, (arrivals.get(key) ?? new Set()).add(mail.messageId ?? ''));
  }
  const rows = await queryRows<{ idempotency_key: string; interrupted: number }>(
    t.platform.db,
    sql`SELECT l.idempotency_key, (SELECT count(*)::int FROM delivery_attempts d WHERE d.letter_id = l.id AND d.outcome = 'interrupted') AS interrupted
        FROM letters l`,
  );
  // The sink sees each letter's opaque key (X-Letter-Id), not the idempotency key itself.
  const letters = rows.map((row) => ({ ...row, idempotency_key: messageKey(row.idempotency_key) }));
  expect(letters).toHaveLength(80);
  // None missing.
  expect(letters.filter((l) => !counts.has(l.idempotency_key))).toEqual([]);
  // Twice only where an attempt was interrupted, and then as the same message.
  const twice = letters.filter((l) => (counts.get(l.idempotency_key) ?? 0) > 1);
  expect(twice.filter((l) => l.interrupted === 0)).toEqual([]);
  expect(twice.every((l) => arrivals.get(l.idempotency_key)!.size === 1)).toBe(true);
  expect([...counts.values()].every((n) => n <= 2)).toBe(true);
}, 180_000);
