import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { OUTLINE_VERSION } from '../../src/graphics/district-map';
import { importRepresentativeData } from '../../src/representatives/import';
import { loadMapOutline } from '../../src/representatives/map-outline';
import { DataError } from '../../src/representatives/sources';
import { loadActiveSnapshot } from '../../src/representatives/store';
import { openSigningForm } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
const SLUG = 'ban-facial-recognition';
const PAGE = `/campaigns/${SLUG}/representatives`;
const API = '/api/v1/representatives';

/** What the fixture holds, as the importer should count it. */
const FIXTURE_COUNTS = {
  usHouse: 3, // CO-1, AK at-large, the DC delegate (CO-2's former member's term is over)
  usSenate: 3, // two for CO, one for AK
  stateUpper: 1,
  stateLower: 4, // districts 1 and 2, and the two members of district 3 (the retired member is not current)
  governors: 1,
  congressionalDistricts: 4,
  stateUpperDistricts: 2, // the ZZZ water area is not a district
  stateLowerDistricts: 3,
  zctas: 4,
  openstatesFiles: 8,
};

let t: TestPlatform;
const tempDirs: string[] = [];

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  await t.close();
});

const db = () => t.platform.db;

/** Imports the fixture unless it is already the active snapshot, and has the app load it. */
async function fixtureLoaded() {
  const outcome = await importRepresentativeData(db(), FIXTURES);
  await t.platform.representatives.refresh();
  return outcome;
}

/** A copy of the fixture tree in a temporary directory, changed by `edit`. */
function brokenFixture(edit: (dir: string) => void): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'frb-rep-data-'));
  tempDirs.push(dir);
  cpSync(FIXTURES, dir, { recursive: true });
  edit(dir);
  return dir;
}

/** An edit for `brokenFixture`: replaces `from` (which must be there) with `to` in one file. */
const replaceIn = (file: string, from: string, to: string) => (dir: string) => {
  const text = readFileSync(path.join(dir, file), 'utf8');
  expect(text).toContain(from);
  writeFileSync(path.join(dir, file), text.replace(from, to));
};

/** Row counts per snapshot id, across every table of representative data. */
async function storedRows() {
  const rows = await queryRows<{ kind: string; snapshot_id: number; rows: number }>(
    db(),
    sql`SELECT 'snapshots' AS kind, id AS snapshot_id, 1 AS rows FROM rep_snapshots
        UNION ALL SELECT 'officials', snapshot_id, count(*)::int FROM rep_officials GROUP BY snapshot_id
        UNION ALL SELECT 'districts', snapshot_id, count(*)::int FROM rep_districts GROUP BY snapshot_id
        UNION ALL SELECT 'zctas', snapshot_id, count(*)::int FROM rep_zctas GROUP BY snapshot_id
        ORDER BY 1, 2`,
  );
  return rows.map((row) => ({
    table: row.kind,
    snapshotId: Number(row.snapshot_id),
    rows: Number(row.rows),
  }));
}

async function activeSnapshot() {
  const rows = await queryRows<{ id: number; imported_at: Date; content_hash: string }>(
    db(),
    sql`SELECT id, imported_at, content_hash FROM rep_snapshots WHERE active`,
  );
  expect(rows).toHaveLength(1);
  return {
    id: Number(rows[0]!.id),
    importedAt: new Date(rows[0]!.imported_at).toISOString(),
    contentHash: rows[0]!.content_hash,
  };
}

const lookup = (query: Record<string, string>) => request(t.app).get(API).query(query);

/** Officials as `office district name` lines (`VACANT` for an empty seat), in the order the lookup lists them. */
const roster = (
  officials: Array<{
    office: string;
    district: string | null;
    name: string | null;
    vacant: boolean;
  }>,
) => officials.map((o) => `${o.office} ${o.district ?? '-'} ${o.vacant ? 'VACANT' : o.name}`);

describe('with no representative data imported', () => {
  it('answers a lookup with 503 and says how to import the data', async () => {
    const res = await lookup({ zip: '80010' }).expect(503);
    expect(res.body.error).toBe('data_unavailable');
    expect(res.body.message).toMatch(/not loaded yet.*npm run data:import/);
  });

  it('still answers a malformed query with 400 and its field errors', async () => {
    const res = await lookup({ zip: '12' }).expect(400);
    expect(res.body).toEqual({ errors: { zip: 'Please enter a 5-digit ZIP code.' } });
  });

  it('shows the "not loaded yet" notice on the page, with how to import', async () => {
    const page = await request(t.app).get(PAGE).expect(200);
    expect(page.text).toContain('Find your representatives');
    expect(page.text).toContain('Representative data is not loaded yet');
    expect(page.text).toContain('npm run data:import -- --from &lt;dir&gt;');
    // The lookup form would only answer 503 now, so the page does not offer it.
    expect(page.text).not.toContain('class="lookup-form"');
  });

  it('answers the page form with 503 and the notice', async () => {
    const { agent, token } = await openSigningForm(t.app, `/campaigns/${SLUG}`);
    const res = await agent
      .post(PAGE)
      .type('form')
      .send({ _csrf: token, zip: '80010' })
      .expect(503);
    expect(res.text).toContain('Representative data is not loaded yet');
  });
});

describe('importRepresentativeData', () => {
  it('imports the fixture tree as the active snapshot and counts what it holds', async () => {
    const steps: string[] = [];
    const outcome = await importRepresentativeData(db(), FIXTURES, {
      progress: (step) => steps.push(step),
    });
    expect(outcome).toMatchObject({ unchanged: false, counts: FIXTURE_COUNTS });
    expect(steps).toEqual([
      'Congress',
      'Open States people',
      'congressional districts',
      'state senate districts',
      'state house districts',
      'ZIP tables',
      'district map',
      'done',
      'saving',
    ]);

    const active = await activeSnapshot();
    expect(active.id).toBe(outcome.snapshotId);
    expect(await storedRows()).toEqual([
      { table: 'districts', snapshotId: outcome.snapshotId, rows: 9 },
      { table: 'officials', snapshotId: outcome.snapshotId, rows: 12 },
      { table: 'snapshots', snapshotId: outcome.snapshotId, rows: 1 },
      { table: 'zctas', snapshotId: outcome.snapshotId, rows: 4 },
    ]);

    const snapshot = (await loadActiveSnapshot(db()))!;
    expect(snapshot.sources.map((source) => [source.name, source.snapshotDate])).toEqual([
      ['congress-legislators', '2025-01-03'],
      ['openstates-people', '2025-01-08'],
    ]);
    const people = snapshot.officials
      .map((o) => `${o.office} ${o.state} ${o.district ?? '-'} ${o.name}`)
      .sort();
    expect(people).toEqual([
      'governor CO - Nia Governor',
      'state-lower CO 1 Ivan Lower',
      'state-lower CO 2 Jo Second',
      'state-lower CO 3 Lee Pair',
      'state-lower CO 3 Mo Pair',
      'state-upper CO 1 Hana Senate',
      'us-house AK 0 Elin Northerly',
      'us-house CO 1 Ada Testwell',
      'us-house DC 0 Gail Capitoline',
      'us-senate AK - Finn Tundra',
      'us-senate CO - Cora Senatorial',
      'us-senate CO - Dev Upperhouse',
    ]);
    const ada = snapshot.officials.find((o) => o.personId === 'T000001')!;
    expect(ada).toMatchObject({
      party: 'Democrat',
      ids: { bioguide: 'T000001', govtrack: '900001' },
      source: 0,
    });
    expect(ada.channels).toEqual([
      { type: 'cwc', office: 'HCO01' },
      { type: 'website', url: 'https://testwell.house.example.gov' },
      { type: 'phone', number: '202-555-0101', label: 'Washington office' },
      {
        type: 'postal',
        address: '1 Longworth House Office Building Washington DC 20515-0601',
        label: 'Washington office',
      },
      { type: 'phone', number: '303-555-0111', label: 'Denver office' },
      { type: 'postal', address: '100 Test Street, 200, Denver, CO 80202', label: 'Denver office' },
    ]);
    // Senators are addressed in CWC by state and class: class 2 is `…01`, class 3 `…02`; terms keep their end.
    const senators = snapshot.officials.filter((o) => o.office === 'us-senate' && o.state === 'CO');
    expect(senators.map((o) => [o.name, o.channels[0], o.termEnd])).toEqual([
      ['Cora Senatorial', { type: 'cwc', office: 'SCO01' }, '2027-01-03'],
      ['Dev Upperhouse', { type: 'cwc', office: 'SCO02' }, '2029-01-03'],
    ]);
    const hana = snapshot.officials.find((o) => o.name === 'Hana Senate')!;
    expect(hana).toMatchObject({
      personId: 'ocd-person/11111111-1111-4111-8111-111111111111',
      party: 'Democratic',
      source: 1,
    });
    expect(hana.channels).toContainEqual({
      type: 'email',
      address: 'hana.senate@coleg.example.gov',
    });
    expect(hana.channels).toContainEqual({
      type: 'postal',
      address: '200 E. Colfax Ave., Denver, CO 80203',
      label: 'Capitol office',
    });

    const districts = snapshot.districts.map(
      (d) =>
        `${d.layer} ${d.geoid} ${d.state} ${d.name} ${d.seats.map((s) => s.district).join('+')}`,
    );
    expect(districts.sort()).toEqual([
      'cd 0200 AK Congressional District (at Large) ',
      'cd 0801 CO Congressional District 1 ',
      'cd 0802 CO Congressional District 2 ',
      'cd 1198 DC Delegate District (at Large) ',
      'sldl 08001 CO State House District 1 1',
      'sldl 08002 CO State House District 2 2',
      'sldl 08003 CO State House District 3 3',
      'sldu 08001 CO State Senate District 1 1',
      'sldu 08002 CO State Senate District 2 2',
    ]);
    expect(
      snapshot.districts.every((d) => d.geometry instanceof Int32Array && d.geometry.length > 0),
    ).toBe(true);
    expect(snapshot.zctas.find((z) => z.zcta === '20001')).toMatchObject({
      cd: ['1198'],
      centroidCd: '1198',
    });
    expect(snapshot.zctas.find((z) => z.zcta === '80020')).toMatchObject({
      cd: ['0801', '0802'],
      sldu: ['08001', '08002'],
      sldl: ['08002', '08003'],
      centroidCd: '0802',
    });
  });

  it('stores the district map drawn at import, and draws it again for a snapshot that has none', async () => {
    const id = (await activeSnapshot()).id;
    const stored = await loadMapOutline(db(), id);
    expect(stored.version).toBe(OUTLINE_VERSION);
    expect(stored.districts.map((district) => district.geoid)).toEqual([
      '0200',
      '0801',
      '0802',
      '1198',
    ]);
    // Each state's shape, dissolved from its districts: the scorecard's map.
    expect(stored.states.map((state) => state.fips)).toEqual(['02', '08', '11']);
    // As a snapshot imported before maps were kept: drawn from its districts, and kept this time.
    await db().execute(sql`UPDATE rep_snapshots SET map_outline = NULL WHERE id = ${id}`);
    expect(await loadMapOutline(db(), id)).toEqual(stored);
    // An outline of an earlier layout (version 2 had no states) is drawn again.
    await db().execute(
      sql`UPDATE rep_snapshots SET map_outline = jsonb_build_object('version', 2, 'districts', '[]'::jsonb) WHERE id = ${id}`,
    );
    expect(await loadMapOutline(db(), id)).toEqual(stored);
    const [kept] = await queryRows<{ version: number }>(
      db(),
      sql`SELECT (map_outline->>'version')::int AS version FROM rep_snapshots WHERE id = ${id}`,
    );
    expect(kept?.version).toBe(OUTLINE_VERSION);
  });

  it('changes nothing when the same files are imported again', async () => {
    const before = await activeSnapshot();
    const rows = await storedRows();
    const outcome = await importRepresentativeData(db(), FIXTURES);
    expect(outcome).toMatchObject({
      snapshotId: before.id,
      unchanged: true,
      counts: FIXTURE_COUNTS,
    });
    expect(await activeSnapshot()).toEqual(before);
    expect(await storedRows()).toEqual(rows);
  });

  it('replaces the snapshot whole on a forced re-import: one active snapshot, the old rows gone', async () => {
    const before = await activeSnapshot();
    await t.platform.representatives.refresh();
    expect(t.platform.representatives.current?.snapshotId).toBe(before.id);

    // Readers that load the active snapshot while the import runs see the old one or the new one, whole.
    let importing = true;
    const loads: Array<{ id: number; officials: number; districts: number; zctas: number }> = [];
    const reader = (async () => {
      while (importing) {
        const snapshot = (await loadActiveSnapshot(db()))!;
        const { id, officials, districts, zctas } = snapshot;
        loads.push({
          id,
          officials: officials.length,
          districts: districts.length,
          zctas: zctas.length,
        });
      }
    })();
    const outcome = await importRepresentativeData(db(), FIXTURES, { force: true }).finally(() => {
      importing = false;
    });
    await reader;

    expect(outcome).toMatchObject({ unchanged: false, counts: FIXTURE_COUNTS });
    expect(outcome.snapshotId).not.toBe(before.id);
    expect((await activeSnapshot()).id).toBe(outcome.snapshotId);
    expect(await storedRows()).toEqual([
      { table: 'districts', snapshotId: outcome.snapshotId, rows: 9 },
      { table: 'officials', snapshotId: outcome.snapshotId, rows: 12 },
      { table: 'snapshots', snapshotId: outcome.snapshotId, rows: 1 },
      { table: 'zctas', snapshotId: outcome.snapshotId, rows: 4 },
    ]);
    expect(loads.length).toBeGreaterThan(0);
    for (const load of loads) {
      expect([before.id, outcome.snapshotId]).toContain(load.id);
      expect(load).toMatchObject({ officials: 12, districts: 9, zctas: 4 });
    }

    // The app swaps in the new snapshot on its next refresh.
    await t.platform.representatives.refresh();
    expect(t.platform.representatives.current?.snapshotId).toBe(outcome.snapshotId);
  });

  it('serialises two imports at once: both finish, one snapshot stays active', async () => {
    const outcomes = await Promise.all([
      importRepresentativeData(db(), FIXTURES, { force: true }),
      importRepresentativeData(db(), FIXTURES, { force: true }),
    ]);
    const active = await activeSnapshot();
    expect(outcomes.map((outcome) => outcome.snapshotId)).toContain(active.id);
    expect((await storedRows()).filter((row) => row.snapshotId !== active.id)).toEqual([]);
  });

  it('reads roles as of a given date: the asOf option brings back a role that ended later', async () => {
    const outcome = await importRepresentativeData(db(), FIXTURES, {
      force: true,
      asOf: '2023-06-01',
    });
    // Kit Retired held House district 2 until 2024-01-09; the former CO-2 member's term ended 2023-01-03.
    expect(outcome.counts).toEqual({ ...FIXTURE_COUNTS, stateLower: 5 });
    const snapshot = (await loadActiveSnapshot(db()))!;
    expect(
      snapshot.officials
        .filter((o) => o.office === 'state-lower' && o.district === '2')
        .map((o) => o.name)
        .sort(),
    ).toEqual(['Jo Second', 'Kit Retired']);
    expect(snapshot.officials.some((o) => o.personId === 'T000002')).toBe(false);

    const restored = await importRepresentativeData(db(), FIXTURES, { force: true });
    expect(restored.counts).toEqual(FIXTURE_COUNTS);
  });
});

describe('a malformed input stops the import with the file, the record and the reason, and keeps the previous snapshot', () => {
  const CONGRESS = 'congress/legislators-current.yaml';
  const PEOPLE = 'state_legislators/openstates-people/data/co/legislature';
  const JO = 'Jo-Second-33333333-3333-4333-8333-333333333333.yml';
  const IVAN = 'Ivan-Lower-22222222-2222-4222-8222-222222222222.yml';
  const SENATE_2_SQUARE =
    '{ "type": "Polygon", "coordinates": [[[-104.8, 39.6], [-104.4, 39.6], [-104.4, 40.0], [-104.8, 40.0], [-104.8, 39.6]]] }';
  const cases: Array<
    [string, (dir: string) => void, { file: RegExp; record: RegExp; reason: RegExp }]
  > = [
    [
      'a malformed GEOID in the district polygons',
      replaceIn('boundaries/cd119_500k.geojson', '"GEOID": "0802"', '"GEOID": "08X"'),
      {
        file: /boundaries\/cd119_500k\.geojson$/,
        record: /^feature 2 \(GEOID 08X\)$/,
        reason: /GEOID is missing or malformed/,
      },
    ],
    [
      'a state FIPS code that does not exist',
      replaceIn('boundaries/sldl_2024.geojson', '"GEOID": "08003"', '"GEOID": "99003"'),
      {
        file: /boundaries\/sldl_2024\.geojson$/,
        record: /^feature 3 \(GEOID 99003\)$/,
        reason: /unknown state FIPS code 99/,
      },
    ],
    [
      'a feature without a geometry',
      replaceIn(
        'boundaries/sldu_2024.geojson',
        `"geometry": ${SENATE_2_SQUARE}`,
        '"geometry": null',
      ),
      {
        file: /boundaries\/sldu_2024\.geojson$/,
        record: /^feature 2 \(GEOID 08002\)$/,
        reason: /non-empty Polygon or MultiPolygon/,
      },
    ],
    [
      'a position that is not a longitude/latitude pair',
      replaceIn('boundaries/cd119_500k.geojson', '[-150.0, 61.5]', '[-150.0, 161.5]'),
      {
        file: /boundaries\/cd119_500k\.geojson$/,
        record: /^feature 3 \(GEOID 0200\)$/,
        reason: /not a longitude\/latitude pair: \[-150,161\.5\]/,
      },
    ],
    [
      'broken YAML in an Open States person file',
      replaceIn(`${PEOPLE}/${JO}`, 'name: Jo Second', 'name: [Jo Second'),
      {
        file: new RegExp(`openstates-people:data/co/legislature/${JO.replace(/\./g, '\\.')}$`),
        record: /^file$/,
        reason: /cannot be parsed/,
      },
    ],
    [
      'an Open States legislator role without a district',
      replaceIn(`${PEOPLE}/${IVAN}`, "  district: '1'\n", ''),
      {
        file: /state_legislators\/openstates-people$/,
        record: new RegExp(`^data/co/legislature/${IVAN.replace(/\./g, '\\.')}$`),
        reason: /a lower role has no district/,
      },
    ],
    [
      'broken YAML in the congress-legislators file',
      replaceIn(CONGRESS, '    first: Cora', '    first: "Cora'),
      {
        file: /congress\/legislators-current\.yaml$/,
        record: /^file$/,
        reason: /cannot be parsed/,
      },
    ],
    [
      'a member of Congress with a state code that does not exist',
      replaceIn(CONGRESS, '    state: AK\n    district: 0', '    state: XK\n    district: 0'),
      {
        file: /congress\/legislators-current\.yaml$/,
        record: /^legislator 5 \(T000005\)$/,
        reason: /terms\.0\.state: not a state code/,
      },
    ],
    [
      'the same member of Congress twice',
      replaceIn(CONGRESS, '    bioguide: T000007', '    bioguide: T000001'),
      {
        file: /congress\/legislators-current\.yaml$/,
        record: /^legislator 7 \(T000001\)$/,
        reason: /bioguide id appears twice/,
      },
    ],
    [
      'a ZCTA that is not 5 digits',
      replaceIn('zip_to_district/zcta_to_cd119.csv', '08,CO,80020,2', '08,CO,8002A,2'),
      {
        file: /zip_to_district\/zcta_to_cd119\.csv$/,
        record: /^line 4$/,
        reason: /ZCTA "8002A" is not 5 digits/,
      },
    ],
    [
      'a state legislative GEOID that is malformed',
      replaceIn('zip_to_district/zcta_to_sld_2024.csv', '08,CO,lower,08003', '08,CO,lower,8003'),
      {
        file: /zip_to_district\/zcta_to_sld_2024\.csv$/,
        record: /^line 7$/,
        reason: /GEOID "8003" is malformed/,
      },
    ],
    [
      'a CSV without a required column',
      replaceIn(
        'zip_to_district/zcta_to_cd119.csv',
        'state_fips,state_abbr,zcta,cd',
        'state_fips,state_abbr,zip,cd',
      ),
      {
        file: /zip_to_district\/zcta_to_cd119\.csv$/,
        record: /^header$/,
        reason: /missing column zcta/,
      },
    ],
    [
      'a missing required file',
      (dir) => rmSync(path.join(dir, CONGRESS)),
      {
        file: /frb-rep-data-[^/]+$/,
        record: /^directory$/,
        reason: /missing congress-legislators legislators-current\.yaml/,
      },
    ],
  ];

  beforeAll(fixtureLoaded);

  it.each(cases)('%s', async (_what, edit, expected) => {
    const before = await activeSnapshot();
    const rows = await storedRows();
    const dir = brokenFixture(edit);

    for (const force of [false, true]) {
      const failure = await importRepresentativeData(db(), dir, { force }).then(
        () => {
          throw new Error('the import succeeded');
        },
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(DataError);
      const error = failure as DataError;
      expect(error.file).toMatch(expected.file);
      expect(error.record).toMatch(expected.record);
      expect(error.reason).toMatch(expected.reason);
      expect(error.message).toBe(`${error.file}: ${error.record}: ${error.reason}`);
    }

    expect(await activeSnapshot()).toEqual(before);
    expect(await storedRows()).toEqual(rows);
    await t.platform.representatives.refresh();
    expect(t.platform.representatives.current?.snapshotId).toBe(before.id);
    await lookup({ zip: '80010' }).expect(200);
  });
});

describe('GET /api/v1/representatives', () => {
  beforeAll(fixtureLoaded);

  it('finds every official of a point in CO-1, with its districts', async () => {
    const res = await lookup({ lat: '39.65', lng: '-105.15' }).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      precision: 'point',
      ambiguous: false,
      candidates: [],
      districts: {
        congressional: {
          geoid: '0801',
          state: 'CO',
          name: 'Congressional District 1',
          district: 1,
          atLarge: false,
          delegate: false,
        },
        stateUpper: { geoid: '08001', state: 'CO', name: 'State Senate District 1', seats: ['1'] },
        stateLower: { geoid: '08001', state: 'CO', name: 'State House District 1', seats: ['1'] },
      },
      data: { asOf: '2025-01-03' },
    });
    expect(res.body.zip).toBeUndefined();
    expect(roster(res.body.officials)).toEqual([
      'us-house 1 Ada Testwell',
      'us-senate - Cora Senatorial',
      'us-senate - Dev Upperhouse',
      'state-upper 1 Hana Senate',
      'state-lower 1 Ivan Lower',
      'governor - Nia Governor',
    ]);
    expect(res.body.officials[0]).toMatchObject({
      party: 'Democrat',
      vacant: false,
      ids: { bioguide: 'T000001' },
      source: { name: 'congress-legislators', snapshotDate: '2025-01-03' },
    });
  });

  it('reports a vacant House seat (CO-2), a vacant state senate seat, and both members of a multi-member district', async () => {
    const res = await lookup({ lat: '39.8', lng: '-104.6' }).expect(200);
    expect(res.body.districts.congressional).toMatchObject({ geoid: '0802', district: 2 });
    expect(roster(res.body.officials)).toEqual([
      'us-house 2 VACANT',
      'us-senate - Cora Senatorial',
      'us-senate - Dev Upperhouse',
      'state-upper 2 VACANT',
      'state-lower 3 Lee Pair',
      'state-lower 3 Mo Pair',
      'governor - Nia Governor',
    ]);
    expect(res.body.officials[0]).toEqual({
      office: 'us-house',
      name: null,
      party: null,
      state: 'CO',
      district: '2',
      vacant: true,
      note: 'The seat is vacant in our data.',
      ids: {},
      channels: [],
      source: null,
    });
  });

  it('finds the district whose second polygon fills a hole in another district', async () => {
    const res = await lookup({ lat: '39.8', lng: '-105.02' }).expect(200);
    expect(res.body.districts.congressional.geoid).toBe('0802');
    expect(res.body.districts.stateUpper.geoid).toBe('08001');
    expect(res.body.districts.stateLower.geoid).toBe('08001');
  });

  it('lists no state legislators for a point in a water area (ZZZ)', async () => {
    const res = await lookup({ lat: '39.8', lng: '-104.2' }).expect(200);
    expect(res.body.districts).toMatchObject({
      congressional: { geoid: '0802' },
      stateUpper: null,
      stateLower: null,
    });
    expect(roster(res.body.officials)).toEqual([
      'us-house 2 VACANT',
      'us-senate - Cora Senatorial',
      'us-senate - Dev Upperhouse',
      'governor - Nia Governor',
    ]);
  });

  it('finds an at-large seat, and a state with one senator has one vacant senate seat', async () => {
    for (const query of [{ lat: '61.25', lng: '-149.5' }, { zip: '99501' }] as Array<
      Record<string, string>
    >) {
      const res = await lookup(query).expect(200);
      expect(res.body.districts.congressional).toEqual({
        geoid: '0200',
        state: 'AK',
        name: 'Congressional District (at Large)',
        district: 0,
        atLarge: true,
        delegate: false,
      });
      expect(roster(res.body.officials)).toEqual([
        'us-house 0 Elin Northerly',
        'us-senate - Finn Tundra',
        'us-senate - VACANT',
        'governor - VACANT',
      ]);
    }
  });

  it("finds DC's delegate, with no senators or governor reported vacant", async () => {
    for (const query of [{ lat: '38.8899', lng: '-77.0091' }, { zip: '20001' }] as Array<
      Record<string, string>
    >) {
      const res = await lookup(query).expect(200);
      expect(res.body.districts.congressional).toMatchObject({
        geoid: '1198',
        state: 'DC',
        district: 0,
        atLarge: false,
        delegate: true,
      });
      expect(roster(res.body.officials)).toEqual(['us-house 0 Gail Capitoline']);
    }
  });

  it('places a point just off a coastline in the nearest district, and a point in the ocean nowhere', async () => {
    const coast = await lookup({ lat: '61.25', lng: '-148.98' }).expect(200);
    expect(coast.body.districts.congressional.geoid).toBe('0200');
    const ocean = await lookup({ lat: '30', lng: '-140' }).expect(404);
    expect(ocean.body).toEqual({
      error: 'not_found',
      message: 'That place is not inside any US congressional district.',
    });
  });

  it('looks up a ZIP inside one district without ambiguity', async () => {
    const res = await lookup({ zip: '80010' }).expect(200);
    expect(res.body).toMatchObject({
      precision: 'zip',
      ambiguous: false,
      candidates: [],
      zip: '80010',
    });
    expect(res.body.districts.congressional.geoid).toBe('0801');
    expect(roster(res.body.officials)[0]).toBe('us-house 1 Ada Testwell');
  });

  it('answers a ZIP that spans districts with every candidate, the district at its centre by default', async () => {
    const res = await lookup({ zip: '80020-1234' }).expect(200);
    expect(res.body).toMatchObject({ precision: 'zip', ambiguous: true, zip: '80020' });
    // The table lists CO-1 first; the centroid is in CO-2, so CO-2 is the default.
    expect(res.body.districts.congressional.geoid).toBe('0802');
    expect(res.body.districts.stateUpper.geoid).toBe('08002');
    expect(res.body.districts.stateLower.geoid).toBe('08003');
    type Candidate = {
      congressional: { geoid: string };
      stateUpper: { geoid: string };
      stateLower: { geoid: string };
      default: boolean;
    };
    const candidates = (res.body.candidates as Candidate[]).map(
      (c) => `${c.congressional.geoid} ${c.stateUpper.geoid} ${c.stateLower.geoid} ${c.default}`,
    );
    expect(candidates[0]).toBe('0802 08002 08003 true');
    expect(candidates.slice(1).every((c) => c.endsWith(' false'))).toBe(true);
    expect([...candidates].sort()).toEqual([
      '0801 08001 08002 false',
      '0801 08001 08003 false',
      '0801 08002 08002 false',
      '0801 08002 08003 false',
      '0802 08001 08002 false',
      '0802 08001 08003 false',
      '0802 08002 08002 false',
      '0802 08002 08003 true',
    ]);
    expect(roster(res.body.officials)[0]).toBe('us-house 2 VACANT');
  });

  it("takes the constituent's choice among a ZIP's districts, and refuses a district the ZIP does not have", async () => {
    const chosen = await lookup({ zip: '80020', cd: '0801', sldl: '08002' }).expect(200);
    expect(chosen.body.ambiguous).toBe(true);
    expect(chosen.body.districts.congressional.geoid).toBe('0801');
    expect(chosen.body.districts.stateUpper.geoid).toBe('08002');
    expect(chosen.body.districts.stateLower.geoid).toBe('08002');
    expect(roster(chosen.body.officials)).toEqual([
      'us-house 1 Ada Testwell',
      'us-senate - Cora Senatorial',
      'us-senate - Dev Upperhouse',
      'state-upper 2 VACANT',
      'state-lower 2 Jo Second',
      'governor - Nia Governor',
    ]);

    const foreign = await lookup({ zip: '80020', cd: '0200', sldl: '08002' }).expect(400);
    expect(foreign.body).toEqual({
      errors: { cd: "That district is not one of ZIP code 80020's." },
    });
  });

  it('uses the ZIP in an address when no geocoder is configured', async () => {
    const res = await lookup({ address: '1 Test Street, Denver, CO 80010' }).expect(200);
    expect(res.body).toMatchObject({ precision: 'zip', geocoding: 'zip-in-address', zip: '80010' });
    expect(res.body.districts.congressional.geoid).toBe('0801');
    const unplaced = await lookup({ address: '1 Test Street, Denver' }).expect(400);
    expect(Object.keys(unplaced.body.errors)).toEqual(['address']);
  });

  it('answers a ZIP it has no districts for with 404', async () => {
    const res = await lookup({ zip: '12345' }).expect(404);
    expect(res.body.error).toBe('not_found');
    expect(res.body.message).toMatch(/no districts for ZIP code 12345/);
  });

  it.each([
    [{ zip: '8001' }, { zip: 'Please enter a 5-digit ZIP code.' }],
    [{ zip: 'ABCDE' }, { zip: 'Please enter a 5-digit ZIP code.' }],
    [{}, { zip: 'Please enter your ZIP code or street address.' }],
    [{ lat: '91', lng: '0' }, { lat: 'Latitude must be a number from -90 to 90.' }],
    [{ lat: '39.7', lng: 'west' }, { lng: 'Longitude must be a number from -180 to 180.' }],
    [{ lat: '39.7' }, { lng: 'Give both latitude and longitude.' }],
    [{ zip: '80020', cd: '8-1' }, { cd: 'Not a congressional district.' }],
    [{ zip: '80020', sldl: '08' }, { sldl: 'Not a state house district.' }],
    [{ address: 'x' }, { address: 'Please enter a street address with its city or ZIP code.' }],
  ])('answers the malformed query %j with 400 and its field errors', async (query, errors) => {
    const res = await lookup(query as Record<string, string>).expect(400);
    expect(res.body).toEqual({ errors });
  });

  it('answers an unknown campaign with 404', async () => {
    await lookup({ zip: '80010', campaign: 'no-such-campaign' }).expect(404);
  });
});

describe('the "Find your representatives" page', () => {
  beforeAll(fixtureLoaded);

  async function openPage() {
    const { agent, token, page } = await openSigningForm(t.app, PAGE);
    const post = (fields: Record<string, string>) =>
      agent
        .post(PAGE)
        .type('form')
        .send({ _csrf: token, ...fields });
    return { agent, token, page, post };
  }

  it('shows the form, and no notice, once data is loaded', async () => {
    const { page } = await openPage();
    expect(page.text).toContain('class="lookup-form"');
    expect(page.text).toContain('name="zip"');
    expect(page.text).toContain('Officials as of January 3, 2025');
    expect(page.text).not.toContain('Representative data is not loaded yet');
  });

  it('shows a card per official for a ZIP in one district, without district choices', async () => {
    const { post } = await openPage();
    const res = await post({ zip: '80010' }).expect(200);
    expect(res.text).toContain('CO-1 · State Senate District 1 · State House District 1');
    expect(res.text).toContain('U.S. Representative, CO-1');
    expect(res.text).toContain('Ada Testwell <span class="party">(Democrat)</span>');
    expect(res.text).toContain(
      'Phone (Washington office): <a href="tel:202-555-0101">202-555-0101</a>',
    );
    expect(res.text).toContain(
      'Phone (Denver office): <a href="tel:303-555-0111">303-555-0111</a>',
    );
    expect(res.text).toContain('State Senator, CO district 1');
    expect(res.text).toContain('Hana Senate');
    expect(res.text).toContain('href="mailto:hana.senate@coleg.example.gov"');
    expect(res.text).toContain('Governor, CO');
    expect((res.text.match(/<li class="card/g) ?? []).length).toBe(6);
    expect(res.text).not.toContain('Your ZIP code spans more than one district');
    expect(res.text).not.toContain('type="radio"');
  });

  it("shows the district choices for a ZIP that spans districts, the centre's checked, and a vacant seat", async () => {
    const { post } = await openPage();
    const res = await post({ zip: '80020' }).expect(200);
    expect(res.text).toContain('Your ZIP code spans more than one district');
    expect(res.text).toContain('<input type="hidden" name="zip" value="80020">');
    const radios = [
      ...res.text.matchAll(
        /<input type="radio" id="[^"]+" name="(\w+)" value="(\w+)"( checked)?>/g,
      ),
    ].map(([, name, value, checked]) => `${name}=${value}${checked ? ' checked' : ''}`);
    expect(radios).toEqual([
      'cd=0801',
      'cd=0802 checked',
      'sldu=08001',
      'sldu=08002 checked',
      'sldl=08002',
      'sldl=08003 checked',
    ]);
    expect(res.text).toContain('<label for="choice-cd-0801">CO-1</label>');
    expect(res.text).toContain('<label for="choice-sldu-08001">State Senate District 1</label>');
    expect(res.text).toContain('card card-vacant');
    expect(res.text).toContain('Vacant seat');
    expect(res.text).toContain('Lee Pair');
    expect(res.text).toContain('Mo Pair');
  });

  it('shows the districts the constituent chose', async () => {
    const { post } = await openPage();
    const res = await post({ zip: '80020', cd: '0801', sldu: '08001', sldl: '08002' }).expect(200);
    expect(res.text).toContain('id="choice-cd-0801" name="cd" value="0801" checked');
    expect(res.text).toContain('id="choice-cd-0802" name="cd" value="0802">');
    expect(res.text).toContain('Ada Testwell');
    expect(res.text).toContain('Hana Senate');
    expect(res.text).toContain('Jo Second');
    expect(res.text).not.toContain('Vacant seat');
  });

  it('answers invalid input with 400, the message next to the field, and the value kept', async () => {
    const { post } = await openPage();
    const res = await post({ zip: '800' }).expect(400);
    expect(res.text).toContain(
      '<p class="field-error" id="error-zip">Please enter a 5-digit ZIP code.</p>',
    );
    expect(res.text).toContain('value="800"');
    expect(res.text).toContain('aria-invalid="true"');
  });

  it('answers an unknown ZIP with 404 and the reason on the page', async () => {
    const { post } = await openPage();
    const res = await post({ zip: '12345' }).expect(404);
    expect(res.text).toContain('We have no districts for ZIP code 12345');
  });

  it('answers a lookup whose CSRF token is gone or forged (a restored tab): a lookup changes nothing', async () => {
    const { agent } = await openPage();
    const res = await agent
      .post(PAGE)
      .type('form')
      .send({ _csrf: 'forged', zip: '80010' })
      .expect(200);
    expect(res.text).toContain('Your representatives');
  });
});
