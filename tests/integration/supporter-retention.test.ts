import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, letterActions, letterCounts, letters, signatures } from '../../src/db/schema';
import { rebuildTallies, tallyCampaign } from '../../src/petitions/tallies';
import { purgeExpiredCampaigns } from '../../src/privacy/erasure';
import { purgeExpiredJob } from '../../src/privacy/jobs/purge-expired';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import {
  letterActionValues,
  letterValues,
  openedLetterActions,
  openedSignatures,
  signatureValues,
} from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/** Retention: staff closing a campaign dates it; its supporters' data is erased a set number of days later, by a repeatable job. */
let t: TestPlatform;
let organizer: Awaited<ReturnType<typeof signInAs>>;
const DAYS = 30;

beforeAll(async () => {
  t = await createTestPlatform({ RETENTION_DAYS_AFTER_CLOSE: String(DAYS) });
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(() => t.close());

const campaignRow = async (slug: string) =>
  (await t.platform.db.select().from(campaigns).where(eq(campaigns.slug, slug)))[0]!;
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
const settingsForm = (
  campaign: Awaited<ReturnType<typeof campaignRow>>,
  token: string,
  overrides: Record<string, unknown>,
) => ({
  _csrf: token,
  title: campaign.title,
  slug: campaign.slug,
  summary: campaign.summary,
  petitionText: campaign.petitionText,
  goal: String(campaign.goal),
  status: campaign.status,
  subjectMax: String(campaign.letterLimits.subjectMax),
  bodyMax: String(campaign.letterLimits.bodyMax),
  targetOffices: campaign.targetOffices,
  ...overrides,
});

async function newCampaign(slug: string) {
  const [campaign] = await t.platform.db
    .insert(campaigns)
    .values({ slug, title: `Campaign ${slug}`, summary: 'S.', petitionText: 'P.', goal: 100 })
    .returning();
  const id = campaign!.id;
  await t.platform.db.insert(signatures).values(
    Array.from({ length: 5 }, (_, i) =>
      signatureValues(t.platform.encryption, {
        campaignId: id,
        email: `${slug}-${i}@example.org`,
        name: `Signer ${slug} ${i}`,
        zip: '10001',
        state: 'NY',
        source: i % 2 ? 'p' : null,
      }),
    ),
  );
  // A letter delivered (stays counted) and one still queued (withdrawn: it will never go).
  const [action] = await t.platform.db
    .insert(letterActions)
    .values(
      letterActionValues(t.platform.encryption, {
        campaignId: id,
        statusToken: `${slug}-token-${'x'.repeat(20)}`.slice(0, 32),
        name: `Writer ${slug}`,
        email: `writer-${slug}@example.org`,
        zip: '10001',
        note: `note of ${slug}`,
      }),
    )
    .returning();
  for (const [target, status] of [
    ['t:1', 'delivered'],
    ['t:2', 'queued'],
  ] as const) {
    await t.platform.db.insert(letters).values(
      letterValues(t.platform.encryption, {
        actionId: action!.id,
        campaignId: id,
        idempotencyKey: `${action!.id}:${target}`,
        targetKey: target,
        office: 'custom',
        targetName: 'Official',
        targetTitle: 'Council member',
        channel: 'hand' as const,
        subject: 'Please',
        body: `Dear Official, from Writer ${slug}`,
        status,
        countedStatus: status,
      }),
    );
    await t.platform.db
      .insert(letterCounts)
      .values({ campaignId: id, dimension: 'target', key: target, status, count: 1 });
  }
  await tallyCampaign(t.platform.db, id);
  return id;
}

const personalRows = async (campaignId: number) => {
  const [row] = await queryRows<{ n: string }>(
    t.platform.db,
    sql`SELECT (SELECT count(*) FROM signatures WHERE campaign_id = ${campaignId}) + (SELECT count(*) FROM letter_actions WHERE campaign_id = ${campaignId})
             + (SELECT count(*) FROM letters WHERE campaign_id = ${campaignId}) AS n`,
  );
  return Number(row!.n);
};
const countsOf = async (campaignId: number) => {
  const counts = await t.platform.stats.refresh(campaignId);
  return { total: counts.signatures, byState: counts.byState, bySource: counts.bySource };
};
const letterCountsOf = (campaignId: number) =>
  queryRows<{ key: string; status: string; count: string }>(
    t.platform.db,
    sql`SELECT key, status, count FROM letter_counts WHERE campaign_id = ${campaignId} ORDER BY key`,
  );

describe('closing a campaign in the staff editor', () => {
  it('dates the closing (and reopening clears it); the settings page also switches verification on', async () => {
    await newCampaign('editor');
    let campaign = await campaignRow('editor');
    expect(campaign.closedAt).toBeNull();
    const page = await organizer.agent.get('/staff/campaigns/editor/edit').expect(200);
    expect(page.text).toContain('Ask signers to confirm their email address');
    expect(page.text).toContain(`erased ${DAYS} days after it closes`);
    await organizer.agent
      .post('/staff/campaigns/editor/edit')
      .type('form')
      .send(
        settingsForm(campaign, csrfTokenOf(page.text), {
          status: 'closed',
          requireVerification: 'on',
        }),
      )
      .expect(303);
    campaign = await campaignRow('editor');
    expect(campaign).toMatchObject({ status: 'closed', requireVerification: true });
    expect(campaign.closedAt).toBeInstanceOf(Date);
    expect(Math.abs(campaign.closedAt!.getTime() - Date.now())).toBeLessThan(60_000);
    // Saving other changes keeps the date; reopening clears it.
    const closedAt = campaign.closedAt;
    await organizer.agent
      .post('/staff/campaigns/editor/edit')
      .type('form')
      .send(settingsForm(campaign, organizer.token, { goal: '200', requireVerification: 'on' }))
      .expect(303);
    expect((await campaignRow('editor')).closedAt).toEqual(closedAt);
    await organizer.agent
      .post('/staff/campaigns/editor/edit')
      .type('form')
      .send(settingsForm(campaign, organizer.token, { status: 'open' }))
      .expect(303);
    expect(await campaignRow('editor')).toMatchObject({
      status: 'open',
      closedAt: null,
      requireVerification: false,
    });
    await organizer.agent
      .post('/staff/campaigns/editor/edit')
      .type('form')
      .send(
        settingsForm(campaign, organizer.token, { status: 'open', requireVerification: 'maybe' }),
      )
      .expect(400);
  });
});

describe('the retention purge', () => {
  it('erases nothing before the retention period is over, nor in open campaigns', async () => {
    const recent = await newCampaign('recent');
    const open = await newCampaign('still-open');
    await t.platform.db
      .update(campaigns)
      .set({ status: 'closed', closedAt: daysAgo(DAYS - 1) })
      .where(eq(campaigns.id, recent));
    await t.platform.db
      .update(campaigns)
      .set({ closedAt: daysAgo(DAYS + 10) })
      .where(eq(campaigns.id, open));
    expect(await purgeExpiredCampaigns(t.platform, DAYS)).toEqual([]);
    expect(await personalRows(recent)).toBe(8);
    expect(await personalRows(open)).toBe(8);
  });

  it('is a repeatable job that erases a campaign closed long enough ago, keeping its counts exactly', async () => {
    const old = await newCampaign('old');
    const other = await newCampaign('other');
    await t.platform.db
      .update(campaigns)
      .set({ status: 'closed', closedAt: daysAgo(DAYS + 1) })
      .where(eq(campaigns.id, old));
    const before = await countsOf(old);
    expect(before.total).toBe(5);
    const lettersBefore = await letterCountsOf(old);

    await t.startWorkers();
    const schedulers = await t.platform.queues.get('supporters').getJobSchedulers();
    expect(
      schedulers.map((scheduler) => ({
        key: scheduler.key,
        name: scheduler.name,
        every: Number(scheduler.every),
      })),
    ).toEqual([{ key: 'retention-purge', name: 'purge-expired', every: 3600_000 }]);
    // The scheduler's first run comes at once; running it again (as every hour) is harmless.
    await t.platform.queues.add(purgeExpiredJob, {});
    await eventually(async () => (await personalRows(old)) === 0);

    const emails = [
      ...(await openedSignatures(t.platform)),
      ...(await openedLetterActions(t.platform)),
    ].map((row) => row.email);
    expect(emails.length).toBeGreaterThan(0);
    expect(
      emails.filter((email) => email.startsWith('old-') || email.startsWith('writer-old@')),
    ).toEqual([]);
    expect(await countsOf(old)).toEqual(before);
    await rebuildTallies(t.platform.db, old);
    expect(await countsOf(old)).toEqual(before);
    expect(
      (await request(t.app).get('/api/v1/campaigns/old/stats').expect(200)).body.signatures,
    ).toBe(5);
    // The delivered letter stays counted; the one that was still waiting is withdrawn.
    expect(lettersBefore.map((row) => [row.key, row.status, Number(row.count)])).toEqual([
      ['t:1', 'delivered', 1],
      ['t:2', 'queued', 1],
    ]);
    expect(
      (await letterCountsOf(old)).map((row) => [row.key, row.status, Number(row.count)]),
    ).toEqual([
      ['t:1', 'delivered', 1],
      ['t:2', 'queued', 0],
    ]);
    // Other campaigns keep everything.
    expect(await personalRows(other)).toBe(8);
  });
});
