import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataSource, DistrictLayer } from '../db/schema';
import { buildMapOutline, type MapOutline } from '../graphics/district-map';
import { PolygonLayer } from './geometry';
import {
  dataSource,
  readCentroids,
  readCongress,
  readCrosswalk,
  readDistrictPolygons,
  readOpenStates,
  readZctaCd,
  readZctaCentroidPoints,
  readZctaSld,
  type Centroid,
  type DistrictRecord,
  type OfficialRecord,
  type SourceFiles,
  type ZctaRecord,
} from './sources';

/** Everything one import brings, normalised, before it is written. */
export interface Snapshot {
  sources: DataSource[];
  officials: OfficialRecord[];
  districts: DistrictRecord[];
  zctas: ZctaRecord[];
  counts: Record<string, number>;
  /** The congressional districts drawn for the staff dashboard's map, simplified once here. */
  mapOutline: MapOutline;
}

export type ProgressReporter = (step: string, done: number, total: number) => void;

const STEPS = [
  'Congress',
  'Open States people',
  'congressional districts',
  'state senate districts',
  'state house districts',
  'ZIP tables',
  'district map',
];

/**
 * Reads every source file into one snapshot, with the officials in office on `asOf` (today by
 * default). Nothing is written: a malformed file stops it here,
 * with the file, the record and the reason.
 */
export async function buildSnapshot(
  files: SourceFiles,
  options: { asOf?: string; progress?: ProgressReporter },
): Promise<Snapshot> {
  const progress = options.progress ?? (() => undefined);
  let step = 0;
  // Each step reads a file at once; between steps the process serves requests and jobs.
  const next = async (name: string) => {
    progress(name, step++, STEPS.length);
    await nextTurn();
  };

  await next('Congress');
  const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
  const congress = readCongress(files.congress, files.districtOffices, 0, asOf);
  await next('Open States people');
  const states = await readOpenStates(files.openstates, 1, asOf);

  await next('congressional districts');
  const districts = readDistrictPolygons(files.cd, 'cd');
  await next('state senate districts');
  const upper = files.sldu ? readDistrictPolygons(files.sldu, 'sldu') : [];
  await next('state house districts');
  const lower = files.sldl ? readDistrictPolygons(files.sldl, 'sldl') : [];
  const crosswalk = files.crosswalk
    ? readCrosswalk(files.crosswalk)
    : new Map<string, Array<{ chamber: string; district: string }>>();
  const seatNames = seatsByState(states.officials);
  for (const district of [...upper, ...lower]) {
    district.seats =
      crosswalk.get(`${district.layer}:${district.geoid}`) ?? guessSeats(district, seatNames);
  }
  districts.push(...upper, ...lower);

  await next('ZIP tables');
  const zctas = readZctas(files, districts);
  await next('district map');
  const mapOutline = buildMapOutline(districts.filter((district) => district.layer === 'cd'));
  progress('done', STEPS.length, STEPS.length);

  const officials = [...congress.officials, ...states.officials];
  const count = (office: string) =>
    officials.filter((official) => official.office === office).length;
  return {
    sources: [
      dataSource(
        'congress-legislators',
        'unitedstates/congress-legislators',
        'https://github.com/unitedstates/congress-legislators',
        congress.newestChange,
      ),
      dataSource(
        'openstates-people',
        'Open States (openstates/people)',
        'https://github.com/openstates/people',
        states.newestChange,
      ),
    ],
    officials,
    districts,
    zctas,
    mapOutline,
    counts: {
      usHouse: count('us-house'),
      usSenate: count('us-senate'),
      stateUpper: count('state-upper'),
      stateLower: count('state-lower'),
      governors: count('governor'),
      congressionalDistricts: districts.filter((d) => d.layer === 'cd').length,
      stateUpperDistricts: upper.length,
      stateLowerDistricts: lower.length,
      zctas: zctas.length,
      openstatesFiles: states.files,
    },
  };
}

function readZctas(files: SourceFiles, districts: DistrictRecord[]): ZctaRecord[] {
  const cd = readZctaCd(
    files.zctaCd,
    new Set(districts.filter((d) => d.layer === 'cd').map((d) => d.geoid)),
  );
  const sld = files.zctaSld
    ? readZctaSld(files.zctaSld)
    : { sldu: new Map<string, string[]>(), sldl: new Map<string, string[]>() };
  const centroids = files.centroids
    ? readCentroids(files.centroids)
    : files.zctaCentroids
      ? centroidDistricts(readZctaCentroidPoints(files.zctaCentroids), districts)
      : new Map<string, Centroid>();
  const codes = new Set([...cd.keys(), ...sld.sldu.keys(), ...sld.sldl.keys()]);
  return [...codes].sort().map((zcta) => {
    const centroid = centroids.get(zcta);
    return {
      zcta,
      cd: cd.get(zcta) ?? [],
      sldu: sld.sldu.get(zcta) ?? [],
      sldl: sld.sldl.get(zcta) ?? [],
      centroidCd: centroid?.cd ?? null,
      centroidSldu: centroid?.sldu ?? null,
      centroidSldl: centroid?.sldl ?? null,
      lat: centroid?.lat ?? null,
      lng: centroid?.lng ?? null,
    };
  });
}

/** The districts at each ZIP's centre point, found in the polygons just read (when no lookup table was given). */
function centroidDistricts(
  points: Map<string, { lat: number; lng: number }>,
  districts: DistrictRecord[],
): Map<string, Centroid> {
  const layer = (name: DistrictLayer) => {
    const records = districts.filter((district) => district.layer === name);
    return new PolygonLayer(
      records.map((record) => record.geoid),
      records.map((record) => record.geometry),
    );
  };
  const layers = { cd: layer('cd'), sldu: layer('sldu'), sldl: layer('sldl') };
  const centroids = new Map<string, Centroid>();
  for (const [zcta, { lat, lng }] of points) {
    centroids.set(zcta, {
      lat,
      lng,
      cd: layers.cd.find(lng, lat) ?? null,
      sldu: layers.sldu.find(lng, lat) ?? null,
      sldl: layers.sldl.find(lng, lat) ?? null,
    });
  }
  return centroids;
}

type SeatNames = Map<string, string[]>;

/** Every district name the legislators use, per state and chamber (`CO:lower`). */
function seatsByState(officials: OfficialRecord[]): SeatNames {
  const names: SeatNames = new Map();
  for (const official of officials) {
    if (
      !official.district ||
      (official.office !== 'state-upper' && official.office !== 'state-lower')
    )
      continue;
    const key = `${official.state}:${official.office === 'state-lower' ? 'lower' : 'upper'}`;
    const list = names.get(key) ?? [];
    if (!list.includes(official.district)) list.push(official.district);
    names.set(key, list);
  }
  return names;
}

const comparable = (name: string) =>
  name
    .toLowerCase()
    .replace(
      /\b(state|senate|senatorial|house|assembly|representative|legislative|district|and)\b/g,
      ' ',
    )
    .replace(/\b0+(\d)/g, '$1')
    .replace(/[^a-z0-9]+/g, '');

/**
 * Without a crosswalk entry, a district's seats are the legislators' districts with the same
 * number ("007" → "7", or "7A" and "7B") or, for named districts, the same name once punctuation
 * and filler words are set aside; failing both, the number.
 */
function guessSeats(
  district: DistrictRecord,
  seatNames: SeatNames,
): Array<{ chamber: string; district: string }> {
  const chamber = district.layer === 'sldu' ? 'upper' : 'lower';
  const number = district.geoid.slice(2).replace(/^0+(?=.)/, '');
  const known = seatNames.get(`${district.state}:${chamber}`) ?? [];
  // Idaho elects two representatives per district, as seats "7A" and "7B".
  const numbered = known.filter(
    (name) =>
      name === number || (/^\d+$/.test(number) && new RegExp(`^${number}[A-Z]$`).test(name)),
  );
  if (numbered.length > 0) return numbered.sort().map((seat) => ({ chamber, district: seat }));
  const byName = known.find((name) => comparable(name) === comparable(district.name));
  return [{ chamber, district: byName ?? number }];
}
