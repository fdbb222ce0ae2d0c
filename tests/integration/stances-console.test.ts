import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import {
  auditLog,
  banBills,
  banPlaces,
  callScripts,
  officialStances,
  stanceLetterTemplates,
} from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { unescapeHtml as decode } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/** The console's stances, bills and places with bans, over HTTP as staff use them. */
const SLUG = 'ban-facial-recognition';
const BASE = `/staff/campaigns/${SLUG}`;
// In the fixture data: a House member, a senator, and a state senator (Open States).
const HOUSE = 'T000001';
const SENATOR = 'T000003';
const STATE_SENATOR = 'ocd-person/11111111-1111-4111-8111-111111111111';

let t: TestPlatform;
type Agent = Awaited<ReturnType<typeof signInAs>>['agent'];
let campaignId: number;

beforeAll(async () => {
  t = await createTestPlatform();
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
});
afterAll(() => t.close());

const stancesOf = () =>
  t.platform.db.select().from(officialStances).where(eq(officialStances.campaignId, campaignId));
const audited = (action: string) =>
  t.platform.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.campaignId, campaignId)));

describe('stances by hand', () => {
  it('records a stance with its source, audits it, and refuses bad values with field errors', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const page = await agent.get(`${BASE}/stances`).expect(200);
    expect(page.text).toContain("Officials' stances");

    await agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({
        _csrf: token,
        personKey: HOUSE,
        stance: 'undecided',
        sourceKind: 'statement',
        sourceUrl: 'https://testwell.house.example.gov/news/1',
        sourceText: 'Said she is studying the issue',
        statedOn: '2026-03-02',
        published: 'on',
      })
      .expect(303);
    const [saved] = (await stancesOf()).filter((row) => row.personKey === HOUSE);
    expect(saved).toMatchObject({
      stance: 'undecided',
      sourceKind: 'statement',
      statedOn: '2026-03-02',
      setByStaff: true,
      published: true,
    });
    expect(await audited('stance.set')).toHaveLength(1);

    // An unknown id, a stance that is not one, a day that does not exist: 400, each named, nothing written.
    const before = await stancesOf();
    const bad = await agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({ _csrf: token, personKey: 'T999999', stance: 'champion', sourceKind: 'vote' })
      .expect(400);
    expect(decode(bad.text)).toContain('There is no official T999999');
    const worse = await agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({
        _csrf: token,
        personKey: HOUSE,
        stance: 'loves-it',
        sourceKind: 'vote',
        statedOn: '2026-02-30',
      })
      .expect(400);
    expect(decode(worse.text)).toContain('Choose a stance');
    expect(decode(worse.text)).toContain('a day that exists');
    expect(worse.text).toContain('href="#stance-stance"');
    expect(await stancesOf()).toEqual(before);
  });

  it('refuses a change without the CSRF token, and a viewer', async () => {
    const { agent } = await signInAs(t.app, t.platform.db, 'organizer');
    await agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({ personKey: SENATOR, stance: 'opposes', sourceKind: 'vote' })
      .expect(403);
    const viewer = await signInAs(t.app, t.platform.db, 'viewer');
    await viewer.agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({ _csrf: viewer.token, personKey: SENATOR, stance: 'opposes', sourceKind: 'vote' })
      .expect(403);
    expect((await stancesOf()).some((row) => row.personKey === SENATOR)).toBe(false);
  });
});

describe('stances from CSV', () => {
  it('imports nothing from a CSV with unknown ids or bad values, naming each bad row', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const before = await stancesOf();
    const csv = [
      'id,stance,source,source_url,date,published',
      `${SENATOR},opposes,vote,https://example.gov/vote/12,2026-01-15,yes`,
      'T999999,supports,statement,,,yes',
      `${STATE_SENATOR},maybe,vote,,,`,
      `${SENATOR},supports,vote,,,`,
    ].join('\n');
    const page = await agent
      .post(`${BASE}/stances/import`)
      .type('form')
      .send({ _csrf: token, csv })
      .expect(400);
    const text = decode(page.text);
    expect(text).toContain('Nothing was imported: the CSV has 3 problems');
    expect(text).toMatch(/<td class="num">3<\/td><td>id<\/td><td>There is no official T999999/);
    expect(text).toMatch(/<td class="num">4<\/td><td>stance<\/td>/);
    expect(text).toMatch(/<td class="num">5<\/td><td>id<\/td><td>T000003 is also on line 2/);
    expect(await stancesOf()).toEqual(before);
  });

  it('imports a good CSV in one go, audited once', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const csv = [
      'id,stance,source,source_url,source_text,date,published',
      `${SENATOR},opposes,vote,https://example.gov/vote/12,Voted against the 2025 ban,2026-01-15,yes`,
      `${STATE_SENATOR},supports,statement,,,,`,
    ].join('\r\n');
    await agent.post(`${BASE}/stances/import`).type('form').send({ _csrf: token, csv }).expect(303);
    const rows = await stancesOf();
    expect(rows.find((row) => row.personKey === SENATOR)).toMatchObject({
      stance: 'opposes',
      sourceText: 'Voted against the 2025 ban',
      published: true,
    });
    expect(rows.find((row) => row.personKey === STATE_SENATOR)).toMatchObject({
      stance: 'supports',
      published: false,
    });
    const [entry] = await audited('stance.import');
    expect(entry?.details).toEqual({ stances: 2 });
  });
});

describe('stances from a CSV file', () => {
  const upload = (agent: Agent, token: string | undefined, csv: string, pasted?: string) => {
    let post = agent.post(`${BASE}/stances/import`);
    if (token !== undefined) post = post.field('_csrf', token);
    if (pasted !== undefined) post = post.field('csv', pasted);
    return post.attach('file', Buffer.from(csv), 'stances.csv');
  };

  it('imports nothing from a file with a bad row, naming the row, and imports a good file', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const page = await agent.get(`${BASE}/stances`).expect(200);
    expect(page.text).toContain('enctype="multipart/form-data"');
    expect(page.text).toMatch(/<input id="csv-file" name="file" type="file"/);
    const before = await stancesOf();
    const bad = await upload(
      agent,
      token,
      [
        'id,stance,source,published',
        `${HOUSE},champion,statement,yes`,
        'T999999,supports,vote,',
      ].join('\n'),
    ).expect(400);
    const text = decode(bad.text);
    expect(text).toContain('Nothing was imported: the file has 1 problem');
    expect(text).toContain('href="#csv-file"');
    expect(text).toMatch(/<td class="num">3<\/td><td>id<\/td><td>There is no official T999999/);
    expect(await stancesOf()).toEqual(before);

    await upload(
      agent,
      token,
      [
        'id,stance,source,source_text,published',
        `${HOUSE},champion,statement,From a file,yes`,
      ].join('\r\n'),
    ).expect(303);
    expect((await stancesOf()).find((row) => row.personKey === HOUSE)).toMatchObject({
      stance: 'champion',
      sourceText: 'From a file',
      published: true,
    });
  });

  it('takes a file or pasted text, not both, and refuses an upload without its CSRF token', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const before = await stancesOf();
    const csv = ['id,stance,source', `${SENATOR},undecided,other`].join('\n');
    const both = await upload(agent, token, csv, csv).expect(400);
    expect(decode(both.text)).toContain('Upload a file or paste CSV text, not both.');
    const neither = await agent
      .post(`${BASE}/stances/import`)
      .field('_csrf', token)
      .field('csv', '')
      .expect(400);
    expect(decode(neither.text)).toContain('Choose a CSV file, or paste the CSV text.');
    await upload(agent, undefined, csv).expect(403);
    expect(await stancesOf()).toEqual(before);
  });
});

describe('bills and their sponsors', () => {
  it("makes a bill's sponsors champions unless staff set their stance, and follows the bill's changes", async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const bill = {
      _csrf: token,
      jurisdiction: 'co',
      number: 'SB 26-113',
      title: 'Ban on police facial recognition',
      status: 'in-committee',
      url: 'https://leg.example.gov/sb26-113',
      // The senator's stance was set by staff (opposes): it stands.
      sponsors: `${STATE_SENATOR}, ${SENATOR}`,
      published: 'on',
    };
    await agent.post(`${BASE}/bills`).type('form').send(bill).expect(303);
    const [saved] = await t.platform.db
      .select()
      .from(banBills)
      .where(eq(banBills.campaignId, campaignId));
    expect(saved).toMatchObject({ jurisdiction: 'CO', sponsors: [STATE_SENATOR, SENATOR] });
    let rows = await stancesOf();
    // The state senator's stance was set by staff too (supports, from the CSV): it stands as well.
    expect(rows.find((row) => row.personKey === SENATOR)?.stance).toBe('opposes');
    expect(rows.find((row) => row.personKey === STATE_SENATOR)?.stance).toBe('supports');

    // Cleared by staff: the bill speaks for the state senator now.
    await agent
      .post(`${BASE}/stances`)
      .type('form')
      .send({ _csrf: token, action: 'clear', personKey: STATE_SENATOR })
      .expect(303);
    rows = await stancesOf();
    expect(rows.find((row) => row.personKey === STATE_SENATOR)).toMatchObject({
      stance: 'champion',
      sourceKind: 'bill',
      sourceText: 'Sponsor of CO SB 26-113',
      billId: saved!.id,
      setByStaff: false,
      published: true,
    });

    // Removing the bill removes what followed from it.
    await agent
      .post(`${BASE}/bills`)
      .type('form')
      .send({ _csrf: token, id: String(saved!.id), action: 'delete' })
      .expect(303);
    rows = await stancesOf();
    expect(rows.find((row) => row.personKey === STATE_SENATOR)).toBeUndefined();
    expect(rows.find((row) => row.personKey === SENATOR)?.stance).toBe('opposes');
    expect((await audited('bill.add')).length).toBe(1);
    expect((await audited('bill.delete')).length).toBe(1);
    expect((await audited('stance.clear')).length).toBe(1);
  });

  it('refuses a bill with unknown sponsors or no title, writing nothing', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
    const page = await agent
      .post(`${BASE}/bills`)
      .type('form')
      .send({
        _csrf: token,
        jurisdiction: 'US',
        number: 'H.R. 1',
        title: '',
        status: 'introduced',
        sponsors: 'T999998',
      })
      .expect(400);
    expect(decode(page.text)).toContain('Enter the title.');
    const unknown = await agent
      .post(`${BASE}/bills`)
      .type('form')
      .send({
        _csrf: token,
        jurisdiction: 'US',
        number: 'H.R. 1',
        title: 'Facial Recognition Ban Act',
        status: 'introduced',
        sponsors: 'T999998',
      })
      .expect(400);
    expect(decode(unknown.text)).toContain('T999998');
    expect(
      await t.platform.db.select().from(banBills).where(eq(banBills.campaignId, campaignId)),
    ).toEqual([]);
  });
});

describe('places with bans', () => {
  it('adds a place, refuses a bad one, and audits', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'admin');
    await agent
      .post(`${BASE}/ban-places`)
      .type('form')
      .send({
        _csrf: token,
        kind: 'city',
        name: 'Boulder',
        state: 'co',
        passedOn: '2025-06-01',
        url: 'https://boulder.example.gov/ban',
        published: 'on',
      })
      .expect(303);
    const bad = await agent
      .post(`${BASE}/ban-places`)
      .type('form')
      .send({ _csrf: token, kind: 'planet', name: 'Mars', state: 'XX', passedOn: 'soon' })
      .expect(400);
    const text = decode(bad.text);
    expect(text).toContain('Choose city, county or state.');
    expect(text).toContain('two-letter code');
    const places = await t.platform.db
      .select()
      .from(banPlaces)
      .where(eq(banPlaces.campaignId, campaignId));
    expect(places).toEqual([
      expect.objectContaining({ name: 'Boulder', state: 'CO', passedOn: '2025-06-01' }),
    ]);
    expect(await audited('ban-place.add')).toHaveLength(1);
    const page = await agent.get(`${BASE}/stances`).expect(200);
    expect(csrfTokenOf(page.text)).toBeTruthy();
    expect(page.text).toContain('Boulder, CO');
  });
});

describe('letters and call scripts by stance', () => {
  it('saves a text of its own for a level, stance and language, shows it, and removes it again', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'admin');
    const texts = (kind: 'letter' | 'call', stance: string) =>
      `${BASE}/stance-texts?kind=${kind}&level=state&stance=${stance}&language=es`;
    const send = (kind: 'letter' | 'call', stance: string, fields: Record<string, string>) =>
      agent
        .post(`${BASE}/stance-texts`)
        .type('form')
        .send({ _csrf: token, kind, level: 'state', stance, language: 'es', ...fields });

    await send('call', 'opposes', {
      body: 'Hola, llamo por {{campaign.title}}.\r\nGracias.',
      action: 'save',
    }).expect(303);
    await send('letter', 'undecided', {
      subject: 'Le pedimos prohibirlo',
      body: 'Estimado/a {{target.name}}:\n\n{{supporter.name}}',
      action: 'save',
    }).expect(303);
    // Saved again: the same row, changed.
    await send('call', 'opposes', {
      body: 'Hola otra vez, {{target.name}}.',
      action: 'save',
    }).expect(303);

    const scripts = await t.platform.db
      .select()
      .from(callScripts)
      .where(eq(callScripts.campaignId, campaignId));
    expect(scripts).toEqual([
      expect.objectContaining({
        level: 'state',
        stance: 'opposes',
        language: 'es',
        body: 'Hola otra vez, {{target.name}}.',
      }),
    ]);
    const letters = await t.platform.db
      .select()
      .from(stanceLetterTemplates)
      .where(eq(stanceLetterTemplates.campaignId, campaignId));
    expect(letters).toEqual([
      expect.objectContaining({
        level: 'state',
        stance: 'undecided',
        language: 'es',
        subject: 'Le pedimos prohibirlo',
      }),
    ]);
    expect(decode((await agent.get(texts('call', 'opposes')).expect(200)).text)).toContain(
      "This campaign's own script.",
    );
    expect(await audited('call-script.save')).toHaveLength(2);
    expect(await audited('template.stance.save')).toHaveLength(1);

    await send('call', 'opposes', { action: 'reset' }).expect(303);
    await send('letter', 'undecided', { action: 'reset' }).expect(303);
    expect(
      await t.platform.db.select().from(callScripts).where(eq(callScripts.campaignId, campaignId)),
    ).toEqual([]);
    expect(
      await t.platform.db
        .select()
        .from(stanceLetterTemplates)
        .where(eq(stanceLetterTemplates.campaignId, campaignId)),
    ).toEqual([]);
    expect(await audited('call-script.reset')).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ level: 'state', stance: 'opposes', language: 'es' }),
      }),
    ]);
    expect(await audited('template.stance.reset')).toHaveLength(1);
    expect(decode((await agent.get(texts('letter', 'undecided')).expect(200)).text)).toContain(
      'No letter of its own for',
    );
  });
});
