import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import request from 'supertest';
import { openDatabase, queryRows } from '../../src/db/client';
import { isServiceUnavailable } from '../../src/http/errors';
import { hiddenFields } from '../helpers/html';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';
import { Signers } from '../helpers/signers';
import { signInAs } from '../helpers/staff';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-services';

/**
 * PostgreSQL stopped under the running platform (cleanly, and as a crash), while supporters keep
 * signing: every request that needs the database gets a clear 503 (JSON for the API, an error page
 * for pages, /readyz says so), never a 500 and never a hang; the platform needs no restart: once
 * PostgreSQL is back, it answers again by itself, and the counts catch up.
 */
const SLUG = 'ban-facial-recognition';
/** Far longer than a request may take while the database is down (connections fail at once, or after DATABASE_CONNECT_TIMEOUT_MS). */
const ANSWER_WITHIN_MS = 20_000;

let postgres: ThrowawayPostgres;
let t: TestPlatform;
let server: Server;
let base: string;
let staff: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  postgres = await startThrowawayPostgres();
  t = await createTestPlatform({}, {}, { databaseServer: postgres.url });
  await t.startWorkers();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  staff = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
  await postgres?.close();
});

const sign = (email: string) =>
  request(base)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .timeout(ANSWER_WITHIN_MS)
    .send({ name: 'Outage Signer', email, zip: '10001' });

/** Every signature counted, and the public counter saying so. */
async function converged(): Promise<boolean> {
  const [row] = await queryRows<{ total: number; untallied: number }>(
    t.platform.db,
    sql`SELECT count(*)::int AS total, (count(*) FILTER (WHERE NOT tallied))::int AS untallied FROM signatures`,
  );
  const stats = await request(base).get(`/api/v1/campaigns/${SLUG}/stats`);
  return row!.untallied === 0 && stats.body.signatures === row!.total;
}

describe.each(['fast', 'immediate'] as const)(
  'PostgreSQL stopped (%s shutdown) under the running platform',
  (mode) => {
    it('answers 503 while it is down, never 500 or a hang, and recovers by itself', async () => {
      const logsBefore = t.logs().length;
      await sign(`before-${mode}@example.org`).expect(202);
      // The form's hidden fields (CSRF and fill-time tokens), taken while the page could be made.
      const formAgent = request.agent(base);
      const form = hiddenFields((await formAgent.get(`/campaigns/${SLUG}`).expect(200)).text);

      const signers = new Signers(base, `outage-${mode}`, { timeoutMs: ANSWER_WITHIN_MS });
      signers.startApi(0);
      signers.startApi(1);
      // Transactions in flight when the server goes, as the workers run them: each error they meet
      // must be one the platform answers as "unavailable".
      let transacting = true;
      const transactionErrors: unknown[] = [];
      const transactions = Array.from({ length: 6 }, async () => {
        while (transacting) {
          await t.platform.db
            .transaction(async (tx) => {
              await tx.execute(sql`SELECT pg_sleep(0.002)`);
              await tx.execute(sql`SELECT 1`);
            })
            .catch((error: unknown) => {
              transactionErrors.push(error);
              return new Promise((resolve) => setTimeout(resolve, 20));
            });
        }
      });
      let down = false;
      try {
        await eventually(async () => signers.acknowledged >= 20, 30_000);
        await postgres.stop(mode);
        down = true;
        const atStop = signers.outcomes.length;

        // The JSON API: 503 with a machine-readable error, and when to try again.
        const api = await sign(`during-${mode}@example.org`).expect(503);
        expect(api.body).toEqual({
          error: 'unavailable',
          message: expect.stringMatching(/unavailable/i),
        });
        expect(api.headers['retry-after']).toMatch(/^\d+$/);

        // Pages: the error page, with its status.
        const signed = await formAgent
          .post(`/campaigns/${SLUG}/sign`)
          .timeout(ANSWER_WITHIN_MS)
          .type('form')
          .send({
            ...form,
            name: 'Form Signer',
            email: `form-during-${mode}@example.org`,
            zip: '10001',
          })
          .expect(503);
        expect(signed.text).toContain('Briefly unavailable');
        const home = await request(base).get('/').timeout(ANSWER_WITHIN_MS).expect(503);
        expect(home.headers['content-type']).toMatch(/text\/html/);
        expect(home.text).toContain('Briefly unavailable');
        // The staff console (its session is in Redis, its account in the database).
        const staffPage = await staff.agent.get('/staff').timeout(ANSWER_WITHIN_MS).expect(503);
        expect(staffPage.text).toContain('Briefly unavailable');

        // Health: the process is up, not ready.
        await request(base).get('/healthz').expect(200);
        const ready = await request(base).get('/readyz').timeout(ANSWER_WITHIN_MS).expect(503);
        expect(ready.body).toMatchObject({
          status: 'unavailable',
          database: 'unreachable',
          redis: 'ok',
        });

        // The signers were refused meanwhile too, not left waiting.
        await eventually(
          async () =>
            signers.outcomes.slice(atStop).filter((outcome) => outcome.status === 503).length >= 10,
          30_000,
        );

        await postgres.start();
        down = false;
        // No restart of the platform: the pool connects again by itself.
        await eventually(
          async () => (await sign(`after-${mode}-${Date.now()}@example.org`)).status === 202,
          30_000,
        );
        await request(base).get('/readyz').expect(200);
        await request(base).get('/').expect(200);
        await staff.agent.get('/staff').expect(200);
        const atReturn = signers.acknowledged;
        await eventually(async () => signers.acknowledged >= atReturn + 20, 30_000);
      } finally {
        if (down) await postgres.start();
        await signers.stop();
        transacting = false;
        await Promise.all(transactions);
      }

      // The log: a line as the outage started and one per interval with a count, per kind of
      // outage, not one per 503 (each 503's access line is at debug level, below the tests' info).
      const answered503 = signers.outcomes.filter((outcome) => outcome.status === 503).length + 4;
      const logLines = () =>
        t
          .logs()
          .slice(logsBefore)
          .split('\n')
          .filter(Boolean)
          .map(
            (line) =>
              JSON.parse(line) as {
                level: number;
                msg: string;
                outage?: string;
                failed?: number;
                res?: { statusCode?: number };
              },
          );
      expect(logLines().filter((line) => line.res?.statusCode === 503)).toEqual([]);
      // Every 503 is counted once the last interval's line is out.
      const counted = () =>
        logLines().reduce((sum, line) => sum + (line.outage ? (line.failed ?? 1) : 0), 0);
      await eventually(async () => counted() >= answered503, 30_000);
      const outageLines = logLines().filter((line) => line.outage);
      expect(outageLines.length).toBeLessThan(answered503 / 5);

      expect(transactionErrors.length).toBeGreaterThan(0);
      expect(transactionErrors.filter((error) => !isServiceUnavailable(error)).map(String)).toEqual(
        [],
      );

      // Every answer was a signature or a 503: no 500, no request left without an answer.
      expect(
        signers.outcomes.filter((outcome) => outcome.status !== 202 && outcome.status !== 503),
      ).toEqual([]);
      expect(signers.outcomes.some((outcome) => outcome.status === 503)).toBe(true);
      // Every acknowledged signature is in the database.
      const acknowledged = signers.acknowledgedEmails();
      // Addresses are sealed at rest: each is found by its keyed hash, as the platform finds it.
      const acknowledgedHashes = acknowledged.map((email) =>
        t.platform.encryption.emailHash(email).toString('hex'),
      );
      const [stored] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM signatures
          WHERE email_hash IN (SELECT decode(jsonb_array_elements_text(${JSON.stringify(acknowledgedHashes)}::jsonb), 'hex'))`,
      );
      expect(stored!.n).toBe(acknowledged.length);
      // And each opens, with the platform's keys, to the address that was acknowledged.
      const storedEmails = new Set((await openedSignatures(t.platform)).map((row) => row.email));
      expect(acknowledged.filter((email) => !storedEmails.has(email))).toEqual([]);
      // The tally jobs that failed during the outage are retried, and the counts converge.
      await eventually(converged, 120_000);
      // No connection was left checked out by work the outage cut short: once the platform is idle,
      // every connection of the pool is back in it, so the pool keeps its full size.
      const pool = (t.platform.db as unknown as { $client: pg.Pool }).$client;
      await eventually(
        async () => pool.totalCount === pool.idleCount && pool.waitingCount === 0,
        30_000,
      );
    }, 300_000);
  },
);

describe('a database server that accepts connections and never answers', () => {
  it('fails a query within the connection timeout, as unavailable, instead of hanging', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-silent-'));
    const database = await openDatabase({
      databaseUrl: `postgres://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/postgres`,
      dataDir,
    });
    try {
      const failure = await database.ping().then(
        () => new Error('the query was answered'),
        (error: unknown) => error,
      );
      expect(isServiceUnavailable(failure)).toBe(true);
    } finally {
      await database.close().catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
