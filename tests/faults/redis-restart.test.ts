import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';
import { Signers } from '../helpers/signers';
import { signInAs } from '../helpers/staff';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-services';

/**
 * Redis killed (SIGKILL) and started again while supporters keep signing, through the JSON API and
 * the page's form. Signing never stops (Redis is not on its path), every acknowledged signature is
 * in the database, and the counts, public counter included, converge to the truth on their own,
 * without waiting for the workers' minute sweep: the platform re-asks for tallies when Redis is back.
 * Once with a Redis that comes back empty (no persistence: every queued job lost), once with its
 * append-only file (jobs and counters survive).
 */
const SLUG = 'ban-facial-recognition';

describe.each([
  { label: 'empty', appendOnly: false, what: 'that comes back empty' },
  { label: 'aof', appendOnly: true, what: 'that comes back with its append-only file' },
])('Redis killed and restarted while people sign, a Redis $what', ({ label, appendOnly }) => {
  let redis: ThrowawayRedis;
  let t: TestPlatform;
  let server: Server;
  let base: string;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    redis = await startThrowawayRedis({ appendOnly });
    t = await createTestPlatform({ REDIS_URL: redis.url, FORM_MIN_FILL_SECONDS: '0' });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    staff = await signInAs(t.app, t.platform.db, 'organizer');
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
    await redis?.close();
  });

  /** The signatures in the database: how many, and how many are not counted yet. */
  const truth = async () => {
    const [row] = await queryRows<{ total: number; untallied: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS total, (count(*) FILTER (WHERE NOT tallied))::int AS untallied FROM signatures`,
    );
    return row!;
  };
  /** Every signature counted, and the public counter saying so. */
  const converged = async () => {
    const { total, untallied } = await truth();
    const stats = await request(base).get(`/api/v1/campaigns/${SLUG}/stats`);
    return untallied === 0 && stats.body.signatures === total;
  };

  it('keeps every acknowledged signature, and the counts converge to the truth', async () => {
    const before = new Signers(base, `${label}-a`);
    for (let id = 0; id < 3; id++) before.startApi(id);
    before.startForm(0);
    let workersStartedAt: number;
    try {
      await eventually(async () => before.acknowledged >= 100, 60_000);
      // The workers' minute sweep first comes round a minute from now.
      await t.startWorkers();
      workersStartedAt = Date.now();
      await redis.kill();
      const atKill = before.acknowledged;
      // Signing goes on with Redis down, for a few seconds (long enough for reconnection attempts
      // to back off); the platform says it is not ready.
      const killedAt = Date.now();
      await eventually(
        async () => before.acknowledged >= atKill + 200 && Date.now() - killedAt > 4000,
        60_000,
      );
      const notReady = await request(base).get('/readyz').expect(503);
      expect(notReady.body).toMatchObject({ database: 'ok', redis: 'unreachable' });
      // The public pages do not need Redis; the staff console keeps its sessions there: a clear 503.
      await request(base).get(`/campaigns/${SLUG}`).expect(200);
      expect(
        (await request(base).get(`/api/v1/campaigns/${SLUG}/stats`).expect(200)).body.signatures,
      ).toBeGreaterThan(0);
      const staffPage = await staff.agent.get('/staff').expect(503);
      expect(staffPage.text).toContain('Briefly unavailable');
    } finally {
      await before.stop();
    }

    // Redis returns and nobody signs any more: no new signature asks for a tally, yet the
    // signatures whose requests (or jobs) were lost are counted, without waiting for the workers'
    // minute sweep (the deadline ends before it would come round).
    await redis.start();
    await eventually(async () => (await request(base).get('/readyz')).status === 200, 30_000);
    const beforeSweep = workersStartedAt + 55_000 - Date.now();
    expect(beforeSweep).toBeGreaterThan(20_000);
    await eventually(converged, beforeSweep);
    // Staff carry on (signed in again where Redis came back empty).
    const staffAgain = await staff.agent.get('/staff');
    expect(staffAgain.status).toBe(appendOnly ? 200 : 303);

    // And signing goes on as before.
    const after = new Signers(base, `${label}-b`);
    for (let id = 0; id < 3; id++) after.startApi(id);
    after.startForm(0);
    try {
      await eventually(async () => after.acknowledged >= 100, 60_000);
    } finally {
      await after.stop();
    }

    // Every request was answered as a signature is: never an error, Redis or not.
    const outcomes = [...before.outcomes, ...after.outcomes];
    expect(outcomes.filter((outcome) => outcome.status !== 202 && outcome.status !== 303)).toEqual(
      [],
    );

    // Every acknowledged signature is committed.
    const acknowledged = [...before.acknowledgedEmails(), ...after.acknowledgedEmails()];
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
    await eventually(converged, 60_000);
    expect((await truth()).total).toBe(acknowledged.length);

    // Counted exactly once, in every dimension.
    const mismatches = await queryRows(
      t.platform.db,
      sql`WITH truth AS (
            SELECT 'total' AS dimension, '' AS key, count(*)::bigint AS n FROM signatures
            UNION ALL SELECT 'state', state, count(*) FROM signatures WHERE state IS NOT NULL GROUP BY state
            UNION ALL SELECT 'source', source, count(*) FROM signatures WHERE source IS NOT NULL GROUP BY source)
          SELECT t.dimension, t.key, t.n, c.count FROM truth t
          FULL JOIN (SELECT dimension, key, count FROM signature_counts WHERE dimension IN ('total', 'state', 'source')) c
            ON c.dimension = t.dimension AND c.key = t.key
          WHERE t.n IS DISTINCT FROM c.count`,
    );
    expect(mismatches).toEqual([]);
  }, 300_000);
});
