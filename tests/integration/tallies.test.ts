import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, signatureCounts, signatures } from '../../src/db/schema';
import { rebuildTallies, tallyCampaign } from '../../src/petitions/tallies';
import { sweepTallies } from '../../src/petitions/jobs/tally-campaign';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { signatureValues } from '../helpers/sealed';

const slug = 'ban-facial-recognition';
const statsUrl = `/api/v1/campaigns/${slug}/stats`;
let t: TestPlatform;
let campaignId: number;

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug(slug))!.id;
});
afterAll(() => t.close());

const zips = ['94110', '10001', '60614', '73301', '02139'];
const states = ['CA', 'NY', 'IL', 'TX', 'MA'];
const sources = ['partner-a', 'partner-b', undefined];

/** What the counts must be, computed from the signatures themselves. */
async function exactCounts() {
  const rows = await queryRows<{ state: string | null; source: string | null; n: string }>(
    t.platform.db,
    sql`SELECT state, source, count(*) AS n FROM signatures WHERE campaign_id = ${campaignId} GROUP BY 1, 2`,
  );
  const byState: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  let total = 0;
  for (const row of rows) {
    const n = Number(row.n);
    total += n;
    if (row.state) byState[row.state] = (byState[row.state] ?? 0) + n;
    if (row.source) bySource[row.source] = (bySource[row.source] ?? 0) + n;
  }
  return { total, byState, bySource };
}

describe('tallies', () => {
  it('converge to the exact counts after 500 concurrent signatures with duplicates', async () => {
    await t.startWorkers();
    // 500 requests, 350 distinct people: every seventh person signs more than once, in a different case.
    const requests = Array.from({ length: 500 }, (_, i) => {
      const person = i % 350;
      const email = i >= 350 ? `Person${person}@Example.org` : `person${person}@example.org`;
      return request(t.app)
        .post(`/api/v1/campaigns/${slug}/signatures`)
        .send({
          name: `Person ${person}`,
          email,
          zip: zips[person % 5],
          source: sources[person % 3],
        });
    });
    const responses = await Promise.all(requests);
    expect(responses.map((res) => res.status)).toEqual(Array(500).fill(202));

    const exact = await exactCounts();
    expect(exact.total).toBe(350);

    await eventually(async () => (await request(t.app).get(statsUrl)).body.signatures === 350);
    const stats = (await request(t.app).get(statsUrl).expect(200)).body;
    expect(stats).toMatchObject({
      signatures: 350,
      goal: 100_000,
      byState: exact.byState,
      bySource: exact.bySource,
    });
    expect(Object.keys(stats.byState).sort()).toEqual([...states].sort());
    expect(stats.byState.CA).toBe(70);
    expect(new Date(stats.updatedAt).getTime()).not.toBeNaN();

    const untallied = await t.platform.db
      .select()
      .from(signatures)
      .where(eq(signatures.tallied, false));
    expect(untallied).toHaveLength(0);
  });

  it('serves the public counter from the cache, not from the tables', async () => {
    const before = (await request(t.app).get(statsUrl)).body.signatures;
    await t.platform.db
      .update(signatureCounts)
      .set({ count: 1 })
      .where(eq(signatureCounts.dimension, 'total'));
    expect((await request(t.app).get(statsUrl)).body.signatures).toBe(before);
  });

  it('rebuild recomputes the exact counts from the signatures', async () => {
    // Corrupt the counts, then leave a signature untallied, as after a lost Redis.
    await t.platform.db.update(signatureCounts).set({ count: 999 });
    await t.platform.db.insert(signatures).values(
      signatureValues(t.platform.encryption, {
        campaignId,
        email: 'late@example.org',
        name: 'Late',
        zip: '94110',
        state: 'CA',
      }),
    );
    const total = await rebuildTallies(t.platform.db, campaignId);
    expect(total).toBe(351);
    const counts = await t.platform.stats.refresh(campaignId);
    const exact = await exactCounts();
    expect(counts.signatures).toBe(exact.total);
    expect(counts.byState).toEqual(exact.byState);
    expect(counts.bySource).toEqual(exact.bySource);
  });

  it('never lets a page view put older counts over newer ones in the cache', async () => {
    const key = `${t.platform.config.redisKeyPrefix}:stats:v3:${campaignId}`;
    const current = await t.platform.stats.refresh(campaignId);
    // A newer entry, as the worker would write after the next batch:
    const newer = {
      ...current,
      signatures: current.signatures + 5,
      version: current.version + 1000,
    };
    await t.platform.redis.set(key, JSON.stringify(newer));
    await t.platform.stats.refresh(campaignId); // reads the (older) table
    expect((await t.platform.stats.get(campaignId)).signatures).toBe(newer.signatures);
    await t.platform.redis.del(key);
  });

  it('brings the public counter back down when signatures are removed and counts rebuilt', async () => {
    const other = await t.platform.db
      .insert(campaigns)
      .values({ slug: 'emptied', title: 'Emptied', summary: 's', petitionText: 'p', goal: 10 })
      .returning();
    const id = other[0]!.id;
    await t.platform.db.insert(signatures).values(
      signatureValues(t.platform.encryption, {
        campaignId: id,
        email: 'gone@example.org',
        name: 'Gone',
        zip: '10001',
        state: 'NY',
      }),
    );
    await rebuildTallies(t.platform.db, id);
    expect((await t.platform.stats.refresh(id)).signatures).toBe(1);
    await t.platform.db.delete(signatures).where(eq(signatures.campaignId, id));
    await rebuildTallies(t.platform.db, id);
    await t.platform.stats.refresh(id);
    expect(
      (await request(t.app).get('/api/v1/campaigns/emptied/stats').expect(200)).body,
    ).toMatchObject({ signatures: 0, byState: {} });
  });

  it('drops a job it cannot read instead of retrying it', async () => {
    const queue = t.platform.queues.get('tallies');
    const job = await queue.add('tally-sweep', {});
    await eventually(async () => (await queue.getJobState(job.id!)) === 'completed');
    expect((await queue.getJob(job.id!))!.attemptsMade).toBeLessThanOrEqual(1);
    expect(t.logs()).toContain('dropping a tally job it cannot read');
  });

  it('the periodic sweep counts signatures whose tally request was lost', async () => {
    await t.platform.db.insert(signatures).values(
      signatureValues(t.platform.encryption, {
        campaignId,
        email: 'lost@example.org',
        name: 'Lost',
        zip: '10001',
        state: 'NY',
      }),
    );
    await sweepTallies(t.platform);
    expect((await t.platform.stats.get(campaignId)).signatures).toBe(352);
    expect((await t.platform.stats.get(campaignId)).byState.NY).toBe(
      (await exactCounts()).byState.NY,
    );
  });
  it('counts signatures per UTC day, in batches and after a rebuild', async () => {
    const dayCounts = async (id: number) =>
      Object.fromEntries(
        (
          await queryRows<{ key: string; count: string }>(
            t.platform.db,
            sql`SELECT key, count FROM signature_counts WHERE campaign_id = ${id} AND dimension = 'day' ORDER BY key`,
          )
        ).map((row) => [row.key, Number(row.count)]),
      );
    const exactDays = async (id: number) =>
      Object.fromEntries(
        (
          await queryRows<{ day: string; n: number }>(
            t.platform.db,
            sql`SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n
                FROM signatures WHERE campaign_id = ${id} GROUP BY 1`,
          )
        ).map((row) => [row.day, row.n]),
      );
    // The signatures of the tests above, all counted by now.
    expect(await dayCounts(campaignId)).toEqual(await exactDays(campaignId));

    const [other] = await t.platform.db
      .insert(campaigns)
      .values({ slug: 'by-day', title: 'By day', summary: 's', petitionText: 'p', goal: 10 })
      .returning();
    const id = other!.id;
    const at = (iso: string, email: string) =>
      signatureValues(t.platform.encryption, {
        campaignId: id,
        email,
        name: 'Day',
        zip: '10001',
        state: 'NY',
        createdAt: new Date(iso),
      });
    await t.platform.db.insert(signatures).values([
      at('2026-01-01T00:00:00.000Z', 'first-moment@example.org'),
      at('2026-01-01T23:59:59.999Z', 'last-moment@example.org'),
      // 23:30 in New York on New Year's Day is already January 2nd in UTC.
      at('2026-01-01T23:30:00-05:00', 'new-york@example.org'),
      at('2026-01-02T12:00:00Z', 'noon@example.org'),
      at('2026-03-15T08:00:00+09:00', 'tokyo@example.org'),
    ]);
    await tallyCampaign(t.platform.db, id, { batchSize: 2 });
    const expected = { '2026-01-01': 2, '2026-01-02': 2, '2026-03-14': 1 };
    expect(await dayCounts(id)).toEqual(expected);
    expect(await exactDays(id)).toEqual(expected);

    // A rebuild from the signatures gives the same days, over corrupted counts, with one more signature.
    await t.platform.db
      .update(signatureCounts)
      .set({ count: 999 })
      .where(eq(signatureCounts.campaignId, id));
    await t.platform.db
      .insert(signatures)
      .values(at('2026-03-14T23:59:59Z', 'late-day@example.org'));
    expect(await rebuildTallies(t.platform.db, id)).toBe(6);
    expect(await dayCounts(id)).toEqual({ ...expected, '2026-03-14': 2 });
    expect(await dayCounts(campaignId)).toEqual(await exactDays(campaignId));
  });
});
