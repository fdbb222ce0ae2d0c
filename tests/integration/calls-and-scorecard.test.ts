import path from 'node:path';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { banPlaces, callReports } from '../../src/db/schema';
import { projectPoint } from '../../src/graphics/district-map';
import { importCustomTargets } from '../../src/representatives/custom-targets';
import { importRepresentativeData } from '../../src/representatives/import';
import { saveBill, savePlace, saveStance } from '../../src/stances/store';
import { openSigningForm } from '../helpers/forms';
import { formFields, unescapeHtml as decode } from '../helpers/html';
import {
  createTestPlatform,
  eventually,
  withTargetOffices,
  type TestPlatform,
} from '../helpers/platform';
import { signInAs } from '../helpers/staff';
import { queryRows } from '../../src/db/client';
import { sql } from 'drizzle-orm';

/** The call page and the public scorecard, through the real app, as a browser without JavaScript uses them. */
const SLUG = 'ban-facial-recognition';
const CALL = `/campaigns/${SLUG}/call`;
const SCORECARD = `/campaigns/${SLUG}/scorecard`;
const HOUSE = 'T000001';
const SENATOR = 'T000003';
const ALASKA_HOUSE = 'T000005';
const STATE_SENATOR = 'ocd-person/11111111-1111-4111-8111-111111111111';

let t: TestPlatform;
let campaignId: number;
type Agent = ReturnType<typeof request.agent>;
interface ScorecardJson {
  places: unknown[];
  bills: Array<{ sponsors: unknown[] }>;
  officials: Array<{ id: string; stance: string }>;
}

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  const db = t.platform.db;
  const actor = 'command line' as const;
  await saveStance(
    db,
    campaignId,
    {
      personKey: HOUSE,
      stance: 'undecided',
      sourceKind: 'statement',
      sourceText: 'Has not said',
      published: true,
    },
    actor,
  );
  await saveStance(
    db,
    campaignId,
    { personKey: SENATOR, stance: 'opposes', sourceKind: 'vote', published: false },
    actor,
  );
  await saveStance(
    db,
    campaignId,
    { personKey: ALASKA_HOUSE, stance: 'supports', sourceKind: 'statement', published: true },
    actor,
  );
  const bill = await saveBill(
    db,
    campaignId,
    undefined,
    {
      jurisdiction: 'CO',
      number: 'SB 26-113',
      title: 'Ban on police facial recognition',
      status: 'in-committee',
      url: 'https://leg.example.gov/sb26-113',
      sponsors: [STATE_SENATOR],
      published: true,
    },
    actor,
  );
  expect(bill.ok).toBe(true);
  await saveBill(
    db,
    campaignId,
    undefined,
    {
      jurisdiction: 'US',
      number: 'H.R. 9',
      title: 'A draft not yet public',
      status: 'introduced',
      sponsors: [],
      published: false,
    },
    actor,
  );
  await savePlace(
    db,
    campaignId,
    undefined,
    {
      kind: 'city',
      name: 'Boulder',
      state: 'CO',
      passedOn: '2025-06-01',
      zip: '80020',
      published: true,
    },
    actor,
  );
  // A place with no ZIP code: listed, its state shaded, no marker.
  await savePlace(
    db,
    campaignId,
    undefined,
    { kind: 'county', name: 'Anchorage', state: 'AK', passedOn: '2024-09-01', published: true },
    actor,
  );
  await savePlace(
    db,
    campaignId,
    undefined,
    { kind: 'state', name: 'Vermont', state: 'VT', passedOn: '2024-05-30', published: false },
    actor,
  );
});
afterAll(() => t.close());

const reports = () =>
  t.platform.db.select().from(callReports).where(eq(callReports.campaignId, campaignId));

async function lookUp(agent: Agent, token: string, zip = '80010') {
  return agent.post(CALL).type('form').send({ _csrf: token, zip, city: 'Aurora, CO' }).expect(200);
}

/** The report form of the card of `name` on a results page. */
function reportForm(html: string, name: string): Array<[string, string]> {
  const card = html.split('<li class="card"').find((part) => part.includes(name));
  if (!card) throw new Error(`no card for ${name}`);
  return formFields(card.split('</form>')[0]!);
}

const report = (agent: Agent, fields: Array<[string, string]>) =>
  agent.post(`${CALL}/report`).type('form').send(new URLSearchParams(fields).toString());

describe('GET and POST /campaigns/:slug/call', () => {
  it('asks where the caller lives, then shows each office with tel: links, its stance and a script', async () => {
    const { agent, token, page } = await openSigningForm(t.app, CALL);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('id="field-zip"');
    const results = await lookUp(agent, token);
    const text = decode(results.text);
    expect(results.headers['cache-control']).toBe('no-store');
    // Washington and district offices, from the data.
    expect(results.text).toContain('href="tel:2025550101"');
    expect(results.text).toContain('href="tel:3035550111"');
    expect(text).toContain('Washington office: call <span class="tel-number">202-555-0101</span>');
    // The House member's published stance, and none of the senator's unpublished one.
    expect(text).toContain('Undecided');
    expect(text).toContain('Why: Has not said');
    expect(text).not.toContain('Opposes the ban');
    // The script, for the level, merged: the office and the caller's place.
    expect(text).toContain(
      'I am calling to ask Representative Ada Testwell to support a federal ban',
    );
    expect(text).toContain('I live in Aurora, ZIP code 80010');
    expect(text).toContain('I am calling to ask Senator Hana Senate to support a statewide ban');
    for (const outcome of ['talked', 'voicemail', 'no-answer', 'did-not-call'])
      expect(results.text).toContain(`name="outcome" value="${outcome}"`);
  });

  it('answers a bad ZIP with a field error', async () => {
    const { agent, token } = await openSigningForm(t.app, CALL);
    const page = await agent.post(CALL).type('form').send({ _csrf: token, zip: '12' }).expect(400);
    expect(page.text).toContain('href="#field-zip"');
  });
});

describe('the call page for one official (a scorecard link)', () => {
  it("names the official, asks for the address all the same, and puts their office first if it is the caller's", async () => {
    const { agent, token, page } = await openSigningForm(t.app, `${CALL}?official=${SENATOR}`);
    expect(decode(page.text)).toContain('You chose to call Cora Senatorial.');
    expect(page.text).toContain(`name="official" value="${SENATOR}"`);
    expect(page.text).toContain('id="field-zip"');
    const results = await agent
      .post(CALL)
      .type('form')
      .send({ _csrf: token, zip: '80010', official: SENATOR })
      .expect(200);
    const first = results.text.split('<li class="card"')[1]!;
    expect(first).toContain('Cora Senatorial');
    // Carried with each report, so the order holds once a call is reported.
    expect(reportForm(results.text, 'Ada Testwell')).toContainEqual(['official', SENATOR]);
    expect(decode(results.text)).not.toContain('does not represent');
  });

  it('says so when the official does not represent the caller, and ignores an unknown id', async () => {
    const { agent, token } = await openSigningForm(t.app, `${CALL}?official=${ALASKA_HOUSE}`);
    const results = await agent
      .post(CALL)
      .type('form')
      .send({ _csrf: token, zip: '80010', official: ALASKA_HOUSE })
      .expect(200);
    expect(decode(results.text)).toContain(
      'Elin Northerly does not represent the place you entered.',
    );
    expect(results.text).not.toContain('Elin Northerly</h3>');
    // A ZIP code that spans districts: only the districts shown are known not to be theirs.
    const split = await agent
      .post(CALL)
      .type('form')
      .send({ _csrf: token, zip: '80020', official: ALASKA_HOUSE })
      .expect(200);
    expect(decode(split.text)).toContain(
      'Elin Northerly does not represent the districts shown for your ZIP code. If yours are other ones, choose them above',
    );
    const unknown = await request(t.app).get(`${CALL}?official=T999999`).expect(200);
    expect(unknown.text).not.toContain('You chose to call');
  });
});

describe('POST /campaigns/:slug/call/report', () => {
  it('counts one call to an office the lookup offered, with the districts and no phone number', async () => {
    const { agent, token } = await openSigningForm(t.app, CALL);
    const results = await lookUp(agent, token);
    const fields = reportForm(results.text, 'Ada Testwell');
    expect(fields).toContainEqual(['target', `us-house:${HOUSE}`]);
    const answered = await report(agent, [...fields, ['outcome', 'voicemail']]).expect(200);
    expect(decode(answered.text)).toContain(
      'Thank you: your call to Ada Testwell is counted (I left a voicemail).',
    );
    const rows = await reports();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      targetKey: `us-house:${HOUSE}`,
      office: 'us-house',
      targetName: 'Ada Testwell',
      targetState: 'CO',
      targetDistrict: '1',
      outcome: 'voicemail',
      congressionalDistrict: '0801',
    });
    // Nothing of the caller: no column holds a number or a ZIP code.
    expect(JSON.stringify(rows[0])).not.toMatch(/555|80010/);
  });

  it('refuses an office the lookup did not offer, and an outcome that is not one, writing nothing', async () => {
    const { agent, token } = await openSigningForm(t.app, CALL);
    const results = await lookUp(agent, token);
    const fields = reportForm(results.text, 'Ada Testwell').filter(([name]) => name !== 'target');
    const before = (await reports()).length;
    const elsewhere = await report(agent, [
      ...fields,
      ['target', `us-house:${ALASKA_HOUSE}`],
      ['outcome', 'talked'],
    ]).expect(400);
    expect(decode(elsewhere.text)).toContain(
      'You can report a call only to an office the lookup showed you.',
    );
    await report(agent, [
      ...fields,
      ['target', `us-house:${HOUSE}`],
      ['outcome', 'hung-up'],
    ]).expect(400);
    await report(agent, [...fields, ['target', `us-house:${HOUSE}`]]).expect(400);
    expect((await reports()).length).toBe(before);
  });

  it('counts nothing from a filled-in hidden field or without the CSRF token', async () => {
    const { agent, token } = await openSigningForm(t.app, CALL);
    const results = await lookUp(agent, token);
    const fields = reportForm(results.text, 'Ada Testwell');
    const before = (await reports()).length;
    await report(agent, [
      ...fields,
      ['website', 'http://spam.example'],
      ['outcome', 'talked'],
    ]).expect(200);
    await report(request.agent(t.app), [
      ...fields.filter(([name]) => name !== '_csrf'),
      ['outcome', 'talked'],
    ]).expect(403);
    expect((await reports()).length).toBe(before);
    // The filled-in hidden field is counted for the abuse report, by its form.
    const [today] = await t.platform.abuse.recorded(campaignId);
    expect(today!.counts['calls-form.honeypot']).toBe(1);
  });
});

describe('the scorecard', () => {
  it('shows only what staff published: places, bills and officials by stance, with write and call links, cacheable', async () => {
    const page = await request(t.app).get(SCORECARD).expect(200);
    expect(page.headers['cache-control']).toBe('public, max-age=300');
    expect(page.headers.vary).toMatch(/Accept-Language/);
    const text = decode(page.text);
    expect(text).toContain('Boulder, CO');
    expect(text).toContain('Passed June 1, 2025');
    expect(text).not.toContain('Vermont, VT');
    expect(text).toContain('District of Columbia: No ban yet');
    // Counted in words that agree with the numbers (Vermont's ban is not published).
    expect(text).toContain(
      '0 states have a statewide ban; 2 more have bans in cities or counties.',
    );
    expect(text).toContain('<h3 class="name">CO SB 26-113</h3>');
    expect(text).toContain('1 sponsor: Hana Senate');
    expect(text).not.toContain('H.R. 9');
    expect(text).toContain('Ada Testwell');
    expect(text).toContain('Elin Northerly');
    // The sponsor of a published bill is a champion.
    expect(text).toMatch(/Champions<\/h3>[\s\S]*Hana Senate/);
    expect(text).not.toContain('Cora Senatorial');
    // Each card's letter and call links name its official.
    expect(text).toContain(`href="/campaigns/${SLUG}/letters?official=${HOUSE}"`);
    expect(text).toContain(`href="/campaigns/${SLUG}/call?official=${HOUSE}"`);
    expect(text).toContain(
      `href="/campaigns/${SLUG}/letters?official=${encodeURIComponent(STATE_SENATOR)}"`,
    );
    expect(text).toContain(
      `href="/campaigns/${SLUG}/call?official=${encodeURIComponent(STATE_SENATOR)}"`,
    );
    // The map of the states, drawn on the server from the imported districts, with no script on
    // the page: each state filled by where the ban stands, named, and a marker at Boulder's ZIP.
    expect(page.text).toMatch(/<svg [^>]*class="state-map"[^>]*role="img"/);
    const states = [
      ...page.text.matchAll(/<path d="[^"]+" fill="([^"]+)" data-status="(\w+)"><title>([^<]+)</g),
    ].map((match) => [decode(match[3]!), match[2], match[1]]);
    expect(states).toEqual([
      ['Alaska: Ban in a city or county', 'local', 'url(#state-map-hatch)'],
      ['Colorado: Ban in a city or county', 'local', 'url(#state-map-hatch)'],
      ['District of Columbia: No ban yet', 'none', '#e4e7eb'],
    ]);
    const markers = [
      ...page.text.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="\d+"><title>([^<]+)</g),
    ];
    expect(markers.map((match) => decode(match[3]!))).toEqual(['Boulder, CO (City)']);
    const [x, y] = projectPoint('08', -104.7, 39.8)!;
    expect(Number(markers[0]![1])).toBeCloseTo(x, 1);
    expect(Number(markers[0]![2])).toBeCloseTo(y, 1);
    // The legend says in words what each fill and the marker mean; the list names every place.
    expect(text).toMatch(/<\/svg> Ban in a city or county<\/li>/);
    expect(text).toMatch(/<\/svg> A city or county with a ban<\/li>/);
    expect(text).toContain('Anchorage, AK');
    const article = page.text.split('<article class="scorecard">')[1]!.split('</article>')[0]!;
    expect(article).not.toContain('<script');
  });

  it('draws no map before any representative data is imported, and still lists the places', async () => {
    const bare = await createTestPlatform();
    try {
      const id = (await bare.platform.campaigns.bySlug(SLUG))!.id;
      await savePlace(
        bare.platform.db,
        id,
        undefined,
        { kind: 'city', name: 'Boulder', state: 'CO', passedOn: '2025-06-01', published: true },
        'command line',
      );
      const page = await request(bare.app).get(SCORECARD).expect(200);
      expect(page.text).not.toContain('class="state-map"');
      expect(decode(page.text)).toContain('Boulder, CO');
    } finally {
      await bare.close();
    }
  });

  it('lists an official whose office the campaign does not write to or call, without write and call links', async () => {
    await withTargetOffices(
      t.platform,
      SLUG,
      (office) => office !== 'state-upper',
      async () => {
        const text = decode((await request(t.app).get(SCORECARD).expect(200)).text);
        expect(text).toContain('Hana Senate');
        expect(text).not.toContain(`official=${encodeURIComponent(STATE_SENATOR)}`);
        expect(text).toContain(`href="/campaigns/${SLUG}/call?official=${HOUSE}"`);
      },
    );
  });

  it('filters officials by state, and speaks Spanish', async () => {
    const colorado = decode((await request(t.app).get(`${SCORECARD}?state=co`).expect(200)).text);
    expect(colorado).toContain('Ada Testwell');
    expect(colorado).not.toContain('Elin Northerly');
    const spanish = decode(
      (await request(t.app).get(SCORECARD).set('Accept-Language', 'es').expect(200)).text,
    );
    expect(spanish).toContain('Dónde está la prohibición');
    expect(spanish).toContain('Indeciso/a');
    expect(spanish).toContain('Colorado: Prohibición en una ciudad o condado');
    // States by their Spanish names.
    expect(spanish).toMatch(/Distrito de Columbia: \S/);
    expect(spanish).not.toContain('District of Columbia');
    expect(spanish).toContain('Una ciudad o condado con prohibición');
    expect(spanish).toContain('>Alaska</text>');
  });

  it('gives the same published data as JSON', async () => {
    const answer = await request(t.app).get(`/api/v1/campaigns/${SLUG}/scorecard`).expect(200);
    const body = answer.body as ScorecardJson;
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
    expect(body.places).toEqual([
      {
        kind: 'city',
        name: 'Boulder',
        state: 'CO',
        zip: '80020',
        passedOn: '2025-06-01',
        url: null,
      },
      {
        kind: 'county',
        name: 'Anchorage',
        state: 'AK',
        zip: null,
        passedOn: '2024-09-01',
        url: null,
      },
    ]);
    expect(body.bills).toHaveLength(1);
    expect(body.bills[0]!.sponsors[0]).toMatchObject({
      id: STATE_SENATOR,
      name: 'Hana Senate',
    });
    const stances = Object.fromEntries(body.officials.map((o) => [o.id, o.stance]));
    expect(stances).toEqual({
      [HOUSE]: 'undecided',
      [ALASKA_HOUSE]: 'supports',
      [STATE_SENATOR]: 'champion',
    });
    const alaska = await request(t.app)
      .get(`/api/v1/campaigns/${SLUG}/scorecard?state=AK`)
      .expect(200);
    expect((alaska.body as ScorecardJson).officials.map((o) => o.id)).toEqual([ALASKA_HOUSE]);
    await request(t.app).get('/api/v1/campaigns/no-such-campaign/scorecard').expect(404);
  });
});

describe('a place’s ZIP code in the staff console', () => {
  const PLACES = `/staff/campaigns/${SLUG}/ban-places`;
  const place = (fields: Record<string, string>) => ({
    kind: 'city',
    name: 'Golden',
    state: 'CO',
    passedOn: '2025-01-02',
    published: 'on',
    ...fields,
  });
  const golden = () => t.platform.db.select().from(banPlaces).where(eq(banPlaces.name, 'Golden'));

  it('refuses a ZIP code the data does not hold, one in another state, and one for a statewide ban, writing nothing', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'admin');
    const refused = async (fields: Record<string, string>, message: string) => {
      const page = await agent
        .post(PLACES)
        .type('form')
        .send({ _csrf: token, ...place(fields) })
        .expect(400);
      expect(page.text).toContain('href="#place-zip"');
      expect(page.text).toContain('id="error-place-zip"');
      expect(decode(page.text)).toContain(message);
    };
    await refused({ zip: '99999' }, 'The representative data cannot place ZIP code 99999');
    await refused({ zip: '99501' }, 'ZIP code 99501 is not in CO');
    await refused({ zip: '8001' }, 'Enter a 5-digit ZIP code');
    await refused({ kind: 'state', name: 'Colorado', zip: '80010' }, 'leave the ZIP code empty');
    expect(await golden()).toEqual([]);
  });

  it('keeps a ZIP code the data holds, and shows it in the list', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'admin');
    await agent
      .post(PLACES)
      .type('form')
      .send({ _csrf: token, ...place({ zip: ' 80010 ' }) })
      .expect(303);
    expect(await golden()).toEqual([expect.objectContaining({ zip: '80010', state: 'CO' })]);
    const page = decode((await agent.get(`/staff/campaigns/${SLUG}/stances`).expect(200)).text);
    expect(page).toMatch(/Golden, CO[\s\S]*?<td>city<\/td><td>80010<\/td>/);
    await t.platform.db.delete(banPlaces).where(eq(banPlaces.name, 'Golden'));
  });
});

describe('counts per office', () => {
  it('shows, per office the campaign targets, its district, signatures from its constituents and calls reported, on the dashboard, as JSON and as CSV', async () => {
    await t.startWorkers();
    for (const email of ['one@example.org', 'two@example.org'])
      await request(t.app)
        .post(`/api/v1/campaigns/${SLUG}/signatures`)
        .send({ name: 'A Constituent', email, zip: '80010' })
        .expect(202);
    await eventually(async () => {
      const [row] = await queryRows<{ count: number }>(
        t.platform.db,
        sql`SELECT count::int AS count FROM signature_counts
             WHERE campaign_id = ${campaignId} AND dimension = 'congressional' AND key = '0801'`,
      );
      return row?.count === 2;
    });
    const { agent } = await signInAs(t.app, t.platform.db, 'viewer');
    const dashboard = decode((await agent.get(`/staff/campaigns/${SLUG}`).expect(200)).text);
    expect(dashboard).toContain('Per office');
    expect(dashboard).toMatch(
      /Ada Testwell<br><span class="hint">[^<]*<\/span><\/th><td class="nowrap">CO-1<\/td><td class="num">2<\/td><td class="num">0<\/td><td class="num">1<\/td><td class="num">0<\/td>/,
    );
    // An office no letter or call reached, listed for its constituents' signatures.
    expect(dashboard).toMatch(
      /Hana Senate<br><span class="hint">State Senator<\/span><\/th><td class="nowrap">CO senate district 1<\/td><td class="num">2<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num">0<\/td>/,
    );
    // The call counts for the caller's district, beside its signatures and letters.
    expect(dashboard).toMatch(
      /<tr id="cd-0801"><th scope="row" class="nowrap">CO-1<\/th><td class="num">2<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num">1<\/td>/,
    );
    const json = (await agent.get(`/staff/campaigns/${SLUG}/dashboard.json`).expect(200)).body as {
      offices: Array<Record<string, unknown>>;
    };
    expect(json.offices).toContainEqual(
      expect.objectContaining({
        targetKey: `us-house:${HOUSE}`,
        seat: 'CO-1',
        signatures: 2,
        lettersDelivered: 0,
        calls: 1,
      }),
    );
    expect(json.offices).toContainEqual(
      expect.objectContaining({
        targetKey: `state-upper:${STATE_SENATOR}`,
        seat: 'CO senate district 1',
        signatures: 2,
        calls: 0,
      }),
    );
    const csv = await agent.get(`/staff/campaigns/${SLUG}/offices.csv`).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'target,name,office,state,district,seat,signatures_from_constituents,letters_delivered,calls_reported,calls_talked_to_staff',
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^"us-house:T000001","Ada Testwell",.*,"CO","1","CO-1",2,0,1,0$/),
    );
    expect(lines).toContainEqual(
      `"state-upper:${STATE_SENATOR}","Hana Senate","State Senator","CO","1","CO senate district 1",2,0,0,0`,
    );
  });
});

describe("counts per office: the campaign's own targets", () => {
  it("counts signatures where a target's constituents can be counted (everyone, a state, a district), not for a city", async () => {
    const imported = await importCustomTargets(
      t.platform.db,
      campaignId,
      'Colorado offices',
      [
        'Name,Title,Email,Phone,Postal_Address,Represents',
        'Pat Statewide,Attorney General,,(303) 555-0101,,state:CO',
        'Quinn Everyone,Coalition chair,,(303) 555-0102,,everyone',
        'Ria District,District liaison,,(303) 555-0103,,congressional:0801',
        'Sol City,Council Member,,(303) 555-0104,,"city:Aurora, CO"',
      ].join('\n'),
    );
    expect(imported).toEqual({ ok: true, imported: 4 });
    const { agent } = await signInAs(t.app, t.platform.db, 'viewer');
    const json = (await agent.get(`/staff/campaigns/${SLUG}/dashboard.json`).expect(200)).body as {
      offices: Array<{ name: string; seat: string; signatures: number | null }>;
    };
    const byName = Object.fromEntries(json.offices.map((row) => [row.name, row]));
    expect(byName['Pat Statewide']).toMatchObject({ seat: 'CO', signatures: 2 });
    expect(byName['Quinn Everyone']).toMatchObject({ seat: 'Everyone', signatures: 2 });
    expect(byName['Ria District']).toMatchObject({ seat: 'CO-1', signatures: 2 });
    expect(byName['Sol City']).toMatchObject({ seat: 'Aurora, CO', signatures: null });
    const dashboard = decode((await agent.get(`/staff/campaigns/${SLUG}`).expect(200)).text);
    expect(dashboard).toContain(
      '<th scope="row">Sol City<br><span class="hint">Council Member</span></th><td class="nowrap">Aurora, CO</td><td class="num">—</td>',
    );
  });
});
