import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { partners, signatures } from '../../src/db/schema';
import { changeLetterStatus } from '../../src/letters/letter-store';
import { reportSelfSent } from '../../src/letters/letter-status';
import { tallyCampaign } from '../../src/petitions/tallies';
import { importRepresentativeData } from '../../src/representatives/import';
import { campaignDashboard, type Dashboard } from '../../src/staff/dashboard';
import { recordCallReport, type CallReportInput } from '../../src/stances/store';
import { callToAda } from '../helpers/calls';
import { DistrictMapCache } from '../../src/representatives/map-outline';
import { createTestPlatform, goLive, eventually, type TestPlatform } from '../helpers/platform';
import { signatureValues } from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { signInAs } from '../helpers/staff';

/**
 * The campaign dashboard through the real app: signatures signed through the API (and some from
 * earlier days), letters written and delivered, failed and kept for hand delivery by the real
 * workers, the fixture representative data; every number on it checked against the database.
 */
const SLUG = 'ban-facial-recognition';
const PAGE = `/staff/campaigns/${SLUG}`;
let t: TestPlatform;
let sink: SmtpSink;
let campaignId: number;
let viewer: Awaited<ReturnType<typeof signInAs>>;

const sign = (email: string, zip: string, source?: string) =>
  request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({ name: 'Dash Signer', email, zip, source })
    .expect(202);
const writeLetters = (email: string, extra: Record<string, unknown> = {}) =>
  request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send({ name: 'Dash Writer', email, zip: '80010', wantsCopy: false, ...extra })
    .expect(202);
const tokenOf = (statusUrl: string) => new URL(statusUrl).pathname.split('/').pop()!;
const statusOf = async (statusUrl: string) =>
  (
    await request(t.app)
      .get(`/api/v1${new URL(statusUrl).pathname}`)
      .expect(200)
  ).body as { letters: Array<{ status: string }> };

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ SMTP_URL: sink.url });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  await t.platform.db
    .insert(partners)
    .values({ campaignId, name: 'Friends of <Privacy> & "Co"', sourceCode: 'partner-x' });
  await t.platform.db
    .insert(partners)
    .values({ campaignId, name: 'Quiet Partner', sourceCode: 'quiet' });
  await t.startWorkers();

  // Today, through the API: CO-1 (80010), CO-2 at 80020's centre, Alaska, DC, and a ZIP with no district in the data.
  await sign('a1@example.org', '80010', 'partner-x');
  await sign('a2@example.org', '80010', 'partner-x');
  await sign('b1@example.org', '80020', 'flyer');
  await sign('c1@example.org', '99501');
  await sign('d1@example.org', '20001', 'partner-x');
  await sign('e1@example.org', '10001');
  // Earlier days, as if signed then.
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
  await t.platform.db.insert(signatures).values(
    [
      {
        campaignId,
        email: 'old1@example.org',
        name: 'Old',
        zip: '80010',
        state: 'CO',
        createdAt: daysAgo(3),
      },
      {
        campaignId,
        email: 'old2@example.org',
        name: 'Old',
        zip: '80020',
        state: 'CO',
        source: 'flyer',
        createdAt: daysAgo(3),
      },
      {
        campaignId,
        email: 'old3@example.org',
        name: 'Old',
        zip: '99501',
        state: 'AK',
        createdAt: daysAgo(20),
      },
    ].map((row) => signatureValues(t.platform.encryption, row)),
  );
  await tallyCampaign(t.platform.db, campaignId, {
    districtsOf: (zip) => t.platform.representatives.districtsOfZip(zip),
  });

  // Letters: two delivered by email, one kept for hand delivery, two refused for good by the server.
  const delivered = await writeLetters('w1@example.org');
  await eventually(async () =>
    (await statusOf(delivered.body.statusUrl)).letters.every(
      (letter) => letter.status === 'delivered',
    ),
  );
  const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
  const house = lookup.body.officials.find(
    (official: { office: string }) => official.office === 'us-house',
  );
  await writeLetters('w2@example.org', { targets: [`us-house:${house.ids.bioguide}`] });
  sink.failNext(10, 550);
  const failed = await writeLetters('w3@example.org');
  await eventually(async () =>
    (await statusOf(failed.body.statusUrl)).letters.every((letter) => letter.status === 'failed'),
  );
  sink.failNext(0, 550);
  // One letter its writer sent themselves (the senator publishes a contact form), one held (its office changed hands).
  const selfSent = await writeLetters('w2@example.org', { targets: ['us-senate:T000003'] });
  expect(
    await reportSelfSent(t.platform, tokenOf(selfSent.body.statusUrl), 'us-senate:T000003'),
  ).toEqual({ outcome: 'reported' });
  const held = await writeLetters('w2@example.org', { targets: ['us-senate:T000004'] });
  const [heldLetter] = await queryRows<{ id: number }>(
    t.platform.db,
    sql`SELECT l.id::int AS id FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE a.status_token = ${tokenOf(held.body.statusUrl)}`,
  );
  expect(await changeLetterStatus(t.platform.db, heldLetter!.id, 'hand-delivery', 'held')).toBe(
    true,
  );

  // Calls supporters reported to Ada Testwell: talked to staff (from CO-1), a voicemail (from
  // CO-2), and one they did not make (not counted).
  const call = (report: Pick<CallReportInput, 'outcome' | 'congressionalDistrict'>) =>
    recordCallReport(t.platform.db, callToAda(campaignId, report));
  await call({ outcome: 'talked', congressionalDistrict: '0801' });
  await call({ outcome: 'voicemail', congressionalDistrict: '0802' });
  await call({ outcome: 'did-not-call', congressionalDistrict: '0801' });

  // Letters sign the petition too; wait until every signature is counted.
  await eventually(async () => {
    const [untallied] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM signatures WHERE NOT tallied`,
    );
    return untallied?.n === 0;
  });
  viewer = await signInAs(t.app, t.platform.db, 'viewer');
}, 60_000);

afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** What the numbers must be, straight from the signatures and letters. */
async function truth() {
  const db = t.platform.db;
  const group = async (column: string) =>
    Object.fromEntries(
      (
        await queryRows<{ key: string; n: number }>(
          db,
          sql`SELECT ${sql.raw(column)} AS key, count(*)::int AS n FROM signatures WHERE campaign_id = ${campaignId} AND ${sql.raw(column)} IS NOT NULL GROUP BY 1`,
        )
      ).map((row) => [row.key, row.n]),
    );
  const [total] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM signatures WHERE campaign_id = ${campaignId}`,
  );
  const letters = await queryRows<{
    target_key: string;
    cd: string | null;
    status: string;
    n: number;
  }>(
    db,
    sql`SELECT l.target_key, a.congressional_district AS cd, l.status, count(*)::int AS n
        FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE l.campaign_id = ${campaignId} GROUP BY 1, 2, 3`,
  );
  return {
    total: total!.n,
    byState: await group('state'),
    byDistrict: await group('congressional_district'),
    bySource: await group('source'),
    byDay: await group(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`),
    letters,
  };
}

describe('GET /staff/campaigns/:slug/dashboard.json', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    dashboard = (
      await viewer.agent.get(`${PAGE}/dashboard.json`).expect(200).expect('content-type', /json/)
    ).body as Dashboard;
  });

  it('counts signatures as the database does: in all, by state, district, source and day', async () => {
    const exact = await truth();
    expect(exact.total).toBe(12);
    expect(dashboard.signatures.total).toBe(exact.total);
    expect(Object.fromEntries(dashboard.byState.map((row) => [row.code, row.signatures]))).toEqual(
      exact.byState,
    );
    expect(
      Object.fromEntries(
        dashboard.byDistrict
          .filter((row) => row.signatures > 0)
          .map((row) => [row.geoid, row.signatures]),
      ),
    ).toEqual(exact.byDistrict);
    expect(
      Object.fromEntries(
        dashboard.bySource
          .filter((row) => row.signatures > 0)
          .map((row) => [row.code, row.signatures]),
      ),
    ).toEqual(exact.bySource);
    expect(dashboard.signatures.withoutDistrict).toBe(
      exact.total - Object.values(exact.byDistrict).reduce((a, b) => a + b, 0),
    );

    expect(dashboard.series.bucket).toBe('day');
    expect(dashboard.series.total).toBe(exact.total);
    const seriesByDay = Object.fromEntries(
      dashboard.series.points
        .filter((point) => point.count > 0)
        .map((point) => [point.start, point.count]),
    );
    expect(seriesByDay).toEqual(exact.byDay);
    const today = dashboard.generatedAt.slice(0, 10);
    const weekAgo = new Date(Date.parse(`${today}T00:00:00Z`) - 6 * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const lastSeven = Object.entries(exact.byDay)
      .filter(([day]) => day >= weekAgo && day <= today)
      .reduce((sum, [, n]) => sum + n, 0);
    expect(dashboard.signatures.lastSevenDays).toBe(lastSeven);
    expect(dashboard.signatures.lastSevenDays).toBe(exact.total - 1); // all but the one from 20 days ago
    expect(dashboard.signatures.today).toBe(exact.byDay[today]);
    expect(dashboard.signatures).toMatchObject({ goal: 100_000, percent: 0 });
  });

  it('names states, districts with their members, and partners', () => {
    expect(dashboard.byState.find((row) => row.code === 'CO')).toMatchObject({ name: 'Colorado' });
    const districts = Object.fromEntries(dashboard.byDistrict.map((row) => [row.geoid, row]));
    expect(districts['0801']).toMatchObject({
      label: 'CO-1',
      member: 'Ada Testwell',
      vacant: false,
    });
    expect(districts['0802']).toMatchObject({ label: 'CO-2', member: null, vacant: true });
    expect(districts['0200']).toMatchObject({ label: 'AK at-large', member: 'Elin Northerly' });
    expect(districts['1198']).toMatchObject({
      label: 'DC (delegate seat)',
      member: 'Gail Capitoline',
    });
    expect(dashboard.bySource).toEqual(
      expect.arrayContaining([
        { code: 'partner-x', partner: 'Friends of <Privacy> & "Co"', signatures: 3 },
        { code: 'flyer', partner: null, signatures: 2 },
        { code: 'quiet', partner: 'Quiet Partner', signatures: 0 },
      ]),
    );
  });

  it('counts letters per target and per district as the letters table does', async () => {
    const exact = await truth();
    const field = (status: string) =>
      status === 'hand-delivery'
        ? 'handDelivery'
        : status === 'self-sent'
          ? 'selfSent'
          : status === 'sending'
            ? 'queued'
            : status;
    const perTarget: Record<string, Record<string, number>> = {};
    const perDistrict: Record<string, Record<string, number>> = {};
    for (const row of exact.letters) {
      const target = (perTarget[row.target_key] ??= {});
      target[field(row.status)] = (target[field(row.status)] ?? 0) + row.n;
      if (row.cd) {
        const district = (perDistrict[row.cd] ??= {});
        district[field(row.status)] = (district[field(row.status)] ?? 0) + row.n;
      }
    }
    const nonZero = (counts: Record<string, number>) =>
      Object.fromEntries(Object.entries(counts).filter(([key, n]) => key !== 'total' && n > 0));
    expect(
      Object.fromEntries(
        dashboard.letters.byTarget.map((row) => [row.key, nonZero({ ...row.letters })]),
      ),
    ).toEqual(perTarget);
    expect(
      Object.fromEntries(
        dashboard.byDistrict
          .filter((row) => row.letters.total > 0)
          .map((row) => [row.geoid, nonZero({ ...row.letters })]),
      ),
    ).toEqual(perDistrict);
    expect(dashboard.letters.totals).toEqual({
      delivered: 2,
      queued: 0,
      retrying: 0,
      failed: 2,
      handDelivery: 1,
      held: 1,
      selfSent: 1,
      rehearsed: 0,
      total: 7,
    });
    const names = Object.fromEntries(
      dashboard.letters.byTarget.map((row) => [row.name, row.title]),
    );
    expect(names).toEqual({
      'Hana Senate': 'State Senator, CO district 1',
      'Nia Governor': 'Governor, CO',
      'Ada Testwell': 'U.S. Representative, CO-1',
      'Cora Senatorial': 'U.S. Senator, CO',
      'Dev Upperhouse': 'U.S. Senator, CO',
    });
  });

  it('counts calls reported per caller\'s congressional district, "did not call" aside', () => {
    const calls = Object.fromEntries(
      dashboard.byDistrict.filter((row) => row.calls > 0).map((row) => [row.geoid, row.calls]),
    );
    expect(calls).toEqual({ '0801': 1, '0802': 1 });
  });

  it("lists per office its constituents' signatures, the letters delivered to it and the calls reported", async () => {
    const exact = await truth();
    const offices = Object.fromEntries(dashboard.offices.map((row) => [row.targetKey, row]));
    // Letters delivered, per office, as the letters table has them; some were.
    const delivered: Record<string, number> = {};
    for (const row of exact.letters)
      if (row.status === 'delivered')
        delivered[row.target_key] = (delivered[row.target_key] ?? 0) + row.n;
    expect(Object.keys(delivered).length).toBeGreaterThan(0);
    for (const [target, count] of Object.entries(delivered)) {
      expect(offices[target]?.lettersDelivered).toBe(count);
      expect(count).toBeGreaterThan(0);
    }
    for (const row of dashboard.offices)
      expect(row.lettersDelivered).toBe(delivered[row.targetKey] ?? 0);

    expect(offices['us-house:T000001']).toMatchObject({
      name: 'Ada Testwell',
      title: 'U.S. Representative',
      state: 'CO',
      district: '1',
      seat: 'CO-1',
      signatures: exact.byDistrict['0801'],
      calls: 2,
      callsTalked: 1,
    });
    for (const senator of ['us-senate:T000003', 'us-senate:T000004'])
      expect(offices[senator]).toMatchObject({ seat: 'CO', signatures: exact.byState.CO });
    // Offices whose constituents signed and that no letter or call reached are listed too.
    expect(offices['us-house:T000005']).toEqual({
      targetKey: 'us-house:T000005',
      name: 'Elin Northerly',
      office: 'us-house',
      title: 'U.S. Representative',
      state: 'AK',
      district: '0',
      seat: 'AK at-large',
      signatures: exact.byDistrict['0200'],
      lettersDelivered: 0,
      calls: 0,
      callsTalked: 0,
    });
    expect(exact.byDistrict['0200']).toBe(2);
    expect(offices['us-senate:T000006']).toMatchObject({
      name: 'Finn Tundra',
      seat: 'AK',
      signatures: exact.byState.AK,
      lettersDelivered: 0,
      calls: 0,
    });
    expect(offices['us-house:T000007']).toMatchObject({
      name: 'Gail Capitoline',
      seat: 'DC (delegate seat)',
      signatures: exact.byDistrict['1198'],
      lettersDelivered: 0,
    });
    // Every House member and senator of a place with signatures, and only those.
    expect(
      dashboard.offices
        .filter((row) => row.office === 'us-house' || row.office === 'us-senate')
        .map((row) => row.targetKey)
        .sort(),
    ).toEqual([
      'us-house:T000001',
      'us-house:T000005',
      'us-house:T000007',
      'us-senate:T000003',
      'us-senate:T000004',
      'us-senate:T000006',
    ]);
    // Each state legislator's count is their district's.
    const legislators = dashboard.offices.filter((row) => row.office.startsWith('state-'));
    expect(legislators.length).toBeGreaterThan(0);
    for (const row of legislators) expect(row.signatures).toBeGreaterThan(0);
  });

  it('shows every queue with its job counts', () => {
    expect(dashboard.queues.map((queue) => queue.name)).toEqual(
      expect.arrayContaining(['tallies', 'representatives', 'delivery']),
    );
    for (const queue of dashboard.queues) {
      expect(queue).toMatchObject({
        available: true,
        waiting: expect.any(Number),
        active: expect.any(Number),
        failed: expect.any(Number),
      });
    }
    const delivery = dashboard.queues.find((queue) => queue.name === 'delivery');
    expect(delivery && delivery.available && delivery.completed).toBeGreaterThan(0);
  });

  it('answers an unknown campaign with 404', async () => {
    const res = await viewer.agent
      .get('/staff/campaigns/no-such-campaign/dashboard.json')
      .expect(404);
    expect(res.body).toEqual({
      error: 'not_found',
      message: 'There is no campaign at this address.',
    });
  });
});

describe('GET /staff/campaigns/:slug', () => {
  let html: string;
  beforeAll(async () => {
    html = (await viewer.agent.get(PAGE).expect(200).expect('content-type', /html/)).text;
  });

  it('puts the headline numbers at the top', () => {
    const headline = html.slice(
      html.indexOf('class="dash-headline"'),
      html.indexOf('</ul>', html.indexOf('class="dash-headline"')),
    );
    const stat = (label: string) =>
      new RegExp(`${label}</span>\\s*<strong class="dash-stat-value">([^<]+)</strong>`).exec(
        headline,
      )?.[1];
    expect(stat('Signatures')).toBe('12');
    expect(stat('Last 7 days')).toBe('11');
    expect(stat('Letters delivered')).toBe('2');
    expect(stat('Letters failed')).toBe('2');
    expect(headline).toContain('of 7 written; 1 more sent by supporters themselves');
  });

  it('counts held letters and those supporters sent themselves apart from those delivered', () => {
    const panel = html.slice(html.indexOf('id="h-letters"'), html.indexOf('id="h-queues"'));
    expect(panel).toContain(
      '<li class="dash-warn"><strong>1</strong> held (office changed hands)</li>',
    );
    expect(panel).toContain('<li><strong>1</strong> sent by supporters themselves</li>');
    expect(panel).toMatch(
      /<th scope="row">Cora Senatorial<br><span class="hint">U\.S\. Senator, CO<\/span><\/th>(<td class="num">0<\/td>){5}<td class="num">0<\/td><td class="num">1<\/td><td class="num">1<\/td>/,
    );
    expect(panel).toMatch(
      /<th scope="row">Dev Upperhouse<br>[^]*?<td class="num dash-warn">1<\/td><td class="num">0<\/td><td class="num">1<\/td>/,
    );
    // A viewer is not shown the way to the delivery page, which organizers use.
    expect(html).not.toContain('/delivery"');
  });

  it("counts calls beside signatures and letters per district, and shows each office's district", () => {
    expect(html).toContain(
      '<caption class="visually-hidden">Signatures, letters and calls by congressional district</caption>',
    );
    expect(html).toMatch(
      /<tr id="cd-0802"><th scope="row" class="nowrap">CO-2<\/th><td class="num">2<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num">1<\/td>/,
    );
    const panel = html.slice(html.indexOf('id="h-offices"'), html.indexOf('id="h-queues"'));
    expect(panel).toContain('<th scope="col">District or state</th>');
    // An office with only its constituents' signatures.
    expect(panel).toContain(
      '<th scope="row">Elin Northerly<br><span class="hint">U.S. Representative</span></th><td class="nowrap">AK at-large</td><td class="num">2</td><td class="num">0</td><td class="num">0</td><td class="num">0</td>',
    );
    expect(panel).toMatch(
      /<th scope="row">Ada Testwell<br><span class="hint">U\.S\. Representative<\/span><\/th><td class="nowrap">CO-1<\/td><td class="num">6<\/td><td class="num">\d+<\/td><td class="num">2<\/td><td class="num">1<\/td>/,
    );
  });

  it('draws the map with the fixture districts, each titled with its count', () => {
    const map = /<svg [^>]*class="district-map"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(map).toContain('role="img"');
    const titles = [...map.matchAll(/data-geoid="(\d+)"><title>([^<]*)<\/title>/g)].map((match) => [
      match[1],
      match[2],
    ]);
    expect(Object.fromEntries(titles)).toEqual({
      '0200': 'AK at-large · Elin Northerly: 2 signatures',
      '0801': 'CO-1 · Ada Testwell: 6 signatures',
      '0802': 'CO-2: 2 signatures',
      '1198': 'DC (delegate seat) · Gail Capitoline: 1 signature',
    });
    // The map is one image (nothing in it takes focus); each district has its row in the table.
    expect(map).not.toMatch(/<a\b|tabindex/);
    expect(html).toContain('<tr id="cd-0801">');
  });

  it('has the charts and tables, escapes names from data, and uses no inline style or other origin', () => {
    expect(html).toContain('id="chart-signatures"');
    expect(html).toContain('id="chart-states"');
    expect(html).toContain('id="chart-sources"');
    expect(html).toContain('Friends of &lt;Privacy&gt; &amp; &quot;Co&quot;');
    expect(html).not.toContain('Friends of <Privacy>');
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain(
      '<th scope="row">Hana Senate<br><span class="hint">State Senator, CO district 1</span></th>',
    );
    for (const queue of ['tallies', 'representatives', 'delivery'])
      expect(html).toContain(`<th scope="row">${queue}</th>`);
  });

  it('names no supporter', () => {
    expect(html).not.toMatch(/@example\.org|Dash Signer|Dash Writer/);
  });

  it('builds the map once per snapshot, and again after a new import', async () => {
    const maps = new DistrictMapCache(t.platform.db);
    const first = await maps.outline();
    expect(first?.districts.map((district) => district.geoid)).toEqual([
      '0200',
      '0801',
      '0802',
      '1198',
    ]);
    expect(await maps.outline()).toBe(first);
    await importRepresentativeData(
      t.platform.db,
      path.join(__dirname, '..', 'fixtures', 'representatives'),
      { force: true },
    );
    const second = await maps.outline();
    expect(second).not.toBe(first);
    expect(second?.districts).toEqual(first?.districts);
  });

  it('answers an unknown campaign with a 404 page', async () => {
    const res = await viewer.agent.get('/staff/campaigns/no-such-campaign').expect(404);
    expect(res.text).toContain('Campaign not found');
  });

  it('sends a visitor who is not signed in to the login page', async () => {
    const res = await request(t.app).get(PAGE).expect(303);
    expect(res.headers.location).toBe(`/staff/login?next=${encodeURIComponent(PAGE)}`);
    await request(t.app).get(`${PAGE}/dashboard.json`).expect(303);
  });
});

describe('with Redis unreachable', () => {
  let offline: TestPlatform;
  beforeAll(async () => {
    offline = await createTestPlatform({ REDIS_URL: 'redis://127.0.0.1:1/0' });
  });
  afterAll(() => offline?.close());

  it('shows the queues as unavailable instead of failing', async () => {
    const campaign = (await offline.platform.campaigns.bySlug(SLUG))!;
    await offline.platform.db.insert(signatures).values(
      signatureValues(offline.platform.encryption, {
        campaignId: campaign.id,
        email: 'off@example.org',
        name: 'Off',
        zip: '80010',
        state: 'CO',
      }),
    );
    await tallyCampaign(offline.platform.db, campaign.id);
    const dashboard = await campaignDashboard(offline.platform, campaign);
    expect(dashboard.signatures.total).toBe(1);
    expect(dashboard.queues.length).toBeGreaterThanOrEqual(3);
    expect(dashboard.queues.every((queue) => !queue.available)).toBe(true);
  });
});
