import { existsSync } from 'node:fs';
import path from 'node:path';
import { RepresentativeData, type Official } from '../../src/representatives/districts';
import { importRepresentativeData } from '../../src/representatives/import';
import { lookupRepresentatives } from '../../src/representatives/lookup';
import { loadActiveSnapshot, type StoredSnapshot } from '../../src/representatives/store';
import { fiftyStates, uspsByFips } from '../../src/representatives/us-states';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * The importer and the lookup against the real public bundle in `../shared/data` (see its README):
 * every member of Congress can be found from some point of their district or state, and well-known
 * places land in the right district. Runs where the bundle exists (`REP_TEST_DATA_DIR`, which
 * `.ci/run` sets when it finds the bundle, or `../shared/data`); CI has it.
 */
const SHARED_DATA =
  process.env.REP_TEST_DATA_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
const hasSharedData = existsSync(path.join(SHARED_DATA, 'congress'));
const describeIfData = hasSharedData ? describe : describe.skip;

const FIFTY_STATES = [...fiftyStates];

/** Candidate points inside a district's polygon parts, best first: midpoints of scanline runs, largest part first. */
function* interiorCandidates(geometry: Int32Array): Generator<{ lng: number; lat: number }> {
  type Part = Array<Array<[number, number]>>;
  const parts: Part[] = [];
  let i = 0;
  const polygons = geometry[i++]!;
  for (let p = 0; p < polygons; p++) {
    const rings = geometry[i++]!;
    const part: Part = [];
    for (let r = 0; r < rings; r++) {
      const count = geometry[i++]!;
      const ring: Array<[number, number]> = [];
      for (let k = 0; k < count; k++) ring.push([geometry[i + k * 2]!, geometry[i + k * 2 + 1]!]);
      i += count * 2;
      part.push(ring);
    }
    parts.push(part);
  }
  const area = (ring: Array<[number, number]>) => {
    let sum = 0;
    for (let k = 0; k < ring.length - 1; k++)
      sum += ring[k]![0] * ring[k + 1]![1] - ring[k + 1]![0] * ring[k]![1];
    return Math.abs(sum / 2);
  };
  parts.sort((a, b) => area(b[0]!) - area(a[0]!));
  const fractions = [0.5, 0.25, 0.75, 0.375, 0.625, 0.125, 0.875, 0.3125, 0.6875, 0.0625, 0.9375];
  for (const part of parts) {
    const ys = part[0]!.map(([, y]) => y);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    for (const fraction of fractions) {
      const y = minY + (maxY - minY) * fraction + 0.37; // off any vertex's latitude
      const xs: number[] = [];
      for (const ring of part) {
        for (let k = 0; k < ring.length - 1; k++) {
          const [xi, yi] = ring[k]!;
          const [xj, yj] = ring[k + 1]!;
          if (yi > y !== yj > y) xs.push(xi + ((xj - xi) * (y - yi)) / (yj - yi));
        }
      }
      xs.sort((a, b) => a - b);
      const runs: Array<[number, number]> = [];
      for (let k = 0; k + 1 < xs.length; k += 2) runs.push([xs[k]!, xs[k + 1]!]);
      runs.sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
      for (const [from, to] of runs.slice(0, 3)) yield { lng: (from + to) / 2 / 1e6, lat: y / 1e6 };
    }
  }
}

describeIfData('the shared representative data (../shared/data)', () => {
  let t: TestPlatform;
  let snapshot: StoredSnapshot;
  let data: RepresentativeData;
  /** One point inside each congressional district, by this test's own scanline, and what the lookup said of it. */
  const interior = new Map<string, { lng: number; lat: number }>();
  const unreachable: string[] = [];

  beforeAll(async () => {
    t = await createTestPlatform();
    const outcome = await importRepresentativeData(t.platform.db, SHARED_DATA);
    expect(outcome.unchanged).toBe(false);
    snapshot = (await loadActiveSnapshot(t.platform.db))!;
    // RepresentativeData keeps the polygons in its index and drops them from the records: keep them here.
    const shapes = snapshot.districts
      .filter((d) => d.layer === 'cd')
      .map((d) => ({ geoid: d.geoid, geometry: d.geometry! }));
    data = new RepresentativeData(snapshot);
    for (const { geoid, geometry } of shapes) {
      // The first candidate is the middle of the widest inside run of the largest part: inside by
      // construction, whatever the lookup says.
      const point = interiorCandidates(geometry).next().value;
      const found = point && data.districtsAt(point.lng, point.lat)?.cd;
      if (point && found === geoid) interior.set(geoid, point);
      else unreachable.push(`${geoid} (lookup said ${found})`);
    }
  }, 180_000);
  afterAll(() => t?.close());

  const officialsAt = (point: { lng: number; lat: number }): Official[] =>
    data.officialsFor(data.districtsAt(point.lng, point.lat)!);
  const cdGeoid = (state: string, district: string) => {
    const fips = [...uspsByFips].find(([, usps]) => usps === state)?.[0];
    const number = district.padStart(2, '0');
    return number === '00' && !data.hasDistrict('cd', `${fips}00`)
      ? `${fips}98`
      : `${fips}${number}`;
  };

  it('imports every layer of the bundle', () => {
    expect(snapshot.counts.congressionalDistricts).toBe(441);
    expect(snapshot.counts.usHouse).toBeGreaterThan(425);
    expect(snapshot.counts.usSenate).toBeGreaterThan(95);
    expect(snapshot.counts.stateUpper! + snapshot.counts.stateLower!).toBeGreaterThan(7000);
    expect(snapshot.counts.stateUpperDistricts).toBeGreaterThan(1900);
    expect(snapshot.counts.stateLowerDistricts).toBeGreaterThan(4500);
    expect(snapshot.counts.zctas).toBeGreaterThan(33_000);
  });

  it('finds, from a point inside each congressional district, that district', () => {
    expect(unreachable).toEqual([]);
    expect(interior.size).toBe(441);
  });

  it('reaches every current House member from a point inside their district', () => {
    const house = snapshot.officials.filter((o) => o.office === 'us-house');
    const missed = house.flatMap((member) => {
      const point = interior.get(cdGeoid(member.state, member.district!));
      const found =
        point &&
        officialsAt(point).some(
          (o) => o.office === 'us-house' && o.ids.bioguide === member.personId,
        );
      return found ? [] : [`${member.name} (${member.state}-${member.district})`];
    });
    expect(missed).toEqual([]);
    expect(house.length).toBeGreaterThan(425);
  });

  it('reaches every senator from a point in their state', () => {
    const senators = snapshot.officials.filter((o) => o.office === 'us-senate');
    const missed = senators.flatMap((senator) => {
      const geoid = [...interior.keys()].find(
        (key) => uspsByFips.get(key.slice(0, 2)) === senator.state,
      );
      const found =
        geoid &&
        officialsAt(interior.get(geoid)!).some(
          (o) => o.office === 'us-senate' && o.ids.bioguide === senator.personId,
        );
      return found ? [] : [`${senator.name} (${senator.state})`];
    });
    expect(missed).toEqual([]);
    expect(senators.length).toBeGreaterThan(95);
  });

  it('reaches every state legislator from some district, but for the gaps the public data is known to have', () => {
    const seats = new Set(
      snapshot.districts.flatMap((d) =>
        d.seats.map(
          (seat) =>
            `${d.state}:${d.layer === 'sldl' ? 'state-lower' : 'state-upper'}:${seat.district}`,
        ),
      ),
    );
    const unreachable: Record<string, string[]> = {};
    for (const official of snapshot.officials) {
      if (official.office !== 'state-upper' && official.office !== 'state-lower') continue;
      if (
        seats.has(`${official.state}:${official.office}:${official.district}`) ||
        /^(at-large|chairman)$/i.test(official.district ?? '')
      )
        continue;
      (unreachable[official.state] ??= []).push(official.district ?? '');
    }
    // DC's wards and Puerto Rico's districts have no polygons; New Hampshire's floterial districts
    // overlay the base districts; Maine's two tribal representatives have no district.
    expect(Object.keys(unreachable).sort()).toEqual(['DC', 'ME', 'NH', 'PR']);
    expect(unreachable.DC!.every((district) => /^Ward \d$/.test(district))).toBe(true);
    expect(unreachable.ME!.every((district) => /Tribe|Band/.test(district))).toBe(true);
    expect(unreachable.NH!.every((district) => /^[A-Z][a-z]+ \d+$/.test(district))).toBe(true);
    expect(unreachable.PR!.every((district) => /^\d+$/.test(district))).toBe(true);

    // Legislators elected at large have no district: DC's are found from a point in DC.
    const statewide = snapshot.officials.filter(
      (o) => o.state === 'DC' && /^at-large$/i.test(o.district ?? ''),
    );
    expect(statewide.length).toBeGreaterThan(0);
    const dcPoint = interior.get('1198')!;
    for (const member of statewide)
      expect(officialsAt(dcPoint).map((o) => o.ids.openstates)).toContain(member.personId);
  });

  it('lists two senators for each of the 50 states, a missing one as a vacancy', () => {
    expect(FIFTY_STATES).toHaveLength(50);
    for (const state of FIFTY_STATES) {
      const inSnapshot = snapshot.officials.filter(
        (o) => o.office === 'us-senate' && o.state === state,
      ).length;
      const districts = [...interior.keys()].filter(
        (key) => uspsByFips.get(key.slice(0, 2)) === state,
      );
      expect([state, districts.length > 0]).toEqual([state, true]);
      for (const geoid of districts) {
        const senate = officialsAt(interior.get(geoid)!).filter((o) => o.office === 'us-senate');
        expect([state, geoid, senate.length]).toEqual([state, geoid, 2]);
        expect([state, geoid, senate.filter((o) => o.vacant).length]).toEqual([
          state,
          geoid,
          2 - inSnapshot,
        ]);
        expect(senate.every((o) => o.state === state)).toBe(true);
      }
    }
  });

  it.each([
    ['the US Capitol', '1198', 38.8899, -77.0091],
    ['the Empire State Building', '3612', 40.748817, -73.985428],
    ['the Space Needle', '5307', 47.6205, -122.3493],
    ['the Texas Capitol', '4837', 30.2747, -97.7404],
    ['Charlotte', '3712', 35.2271, -80.8431],
    ['San Juan', '7298', 18.4655, -66.1057],
  ])('places %s in district %s', (_place, geoid, lat, lng) => {
    expect(data.districtsAt(lng, lat)?.cd).toBe(geoid);
  });

  it.each([
    ['CA', '14', '0614'],
    ['FL', '20', '1220'],
    ['GA', '13', '1313'],
    ['TX', '23', '4823'],
  ])('reports %s-%s as a vacant House seat', (state, district, geoid) => {
    expect(cdGeoid(state, district)).toBe(geoid);
    expect(
      snapshot.officials.some(
        (o) => o.office === 'us-house' && o.state === state && o.district === district,
      ),
    ).toBe(false);
    const house = officialsAt(interior.get(geoid)!).filter((o) => o.office === 'us-house');
    expect(house).toEqual([
      expect.objectContaining({ office: 'us-house', state, district, vacant: true, name: null }),
    ]);
  });

  it('answers a ZIP that spans districts with all of them, marked ambiguous, the centre as default', async () => {
    const outcome = await lookupRepresentatives({ data }, { zip: '35005' });
    if (!outcome.ok) throw new Error(`lookup failed: ${JSON.stringify(outcome)}`);
    expect(outcome.result.ambiguous).toBe(true);
    const cds = new Set(
      outcome.result.candidates.map((candidate) => candidate.congressional?.geoid),
    );
    expect([...cds].sort()).toEqual(['0106', '0107']);
    expect(outcome.result.candidates[0]!.default).toBe(true);
    expect(outcome.result.districts.congressional?.geoid).toBe(
      outcome.result.candidates[0]!.congressional?.geoid,
    );

    // Every ZIP that spans congressional districts: each of its districts is offered, the centre's first.
    const problems: string[] = [];
    const multi = snapshot.zctas.filter((z) => z.cd.length > 1);
    for (const zcta of multi) {
      const answer = await lookupRepresentatives({ data }, { zip: zcta.zcta });
      if (!answer.ok) {
        problems.push(`${zcta.zcta}: ${answer.status}`);
        continue;
      }
      const offered = new Set(
        answer.result.candidates.map((candidate) => candidate.congressional?.geoid),
      );
      const expectedDefault =
        zcta.centroidCd && zcta.cd.includes(zcta.centroidCd) ? zcta.centroidCd : zcta.cd[0];
      if (!answer.result.ambiguous) problems.push(`${zcta.zcta}: not marked ambiguous`);
      if (zcta.cd.some((geoid) => !offered.has(geoid)))
        problems.push(`${zcta.zcta}: offers ${[...offered].join(',')} of ${zcta.cd.join(',')}`);
      const chosen = answer.result.districts.congressional?.geoid;
      if (chosen !== expectedDefault)
        problems.push(`${zcta.zcta}: default is ${chosen}, not ${expectedDefault}`);
    }
    expect(problems).toEqual([]);
    expect(multi.length).toBeGreaterThan(7000);
  });
});
