import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { messageKey } from '../../src/delivery/deliver';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { startWorkerProcess } from '../helpers/worker-process';

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
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    DELIVERY_LOCK_SECONDS: String(LOCK_SECONDS),
    DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
});
afterAll(async () => {
  await t.close();
  await sink.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A worker process as production runs it, with this test's mail sink and short delivery lock. */
const startDeliveryWorker = () =>
  startWorkerProcess(t.platform.config, dataDir, {
    SMTP_URL: sink.url,
    DELIVERY_LOCK_SECONDS: String(LOCK_SECONDS),
    DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000',
    LOG_LEVEL: 'warn',
  });

it('loses no letter and sends none twice without an interrupted attempt, when a worker is killed mid-batch', async () => {
  // 40 supporters, each writing to the 2 targets with an email address: 80 letters, no confirmations.
  for (let i = 0; i < 40; i++) {
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({
        name: `Writer ${i}`,
        email: `writer${i}@example.org`,
        zip: '80010',
        wantsCopy: false,
      })
      .expect(202);
  }
  const letterCount = () => sink.messages.filter((m) => m.headers.get('x-letter-id')).length;

  const first = startDeliveryWorker();
  await eventually(async () => letterCount() >= 15, 60_000);
  await first.kill();
  const sentBeforeKill = letterCount();
  expect(sentBeforeKill).toBeLessThan(80);

  const second = startDeliveryWorker();
  try {
    await eventually(async () => {
      const [pending] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM letters WHERE status <> 'delivered'`,
      );
      return pending?.n === 0;
    }, 90_000);
  } finally {
    await second.stop();
  }

  const arrivals = new Map<string, Set<string>>();
  const counts = new Map<string, number>();
  for (const mail of sink.messages) {
    const key = (mail.headers.get('x-letter-id') as string | undefined) ?? '';
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
