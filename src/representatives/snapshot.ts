import type { DataSource } from '../db/schema';
import {
  dataSource,
  readCentroids,
  readCongress,
  readCrosswalk,
  readDistrictPolygons,
  readOpenStates,
  readZctaCd,
  readZctaSld,
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
}

export type ProgressReporter = (step: string, done: number, total: number) => void;

const STEPS = ['Congress', 'Open States people', 'congressional districts', 'state senate districts', 'state house districts', 'ZIP tables'];

/**
 * Reads every source file into one snapshot. Nothing is written: a malformed file stops it here,
 * with the file, the record and the reason.
 */
export async function buildSnapshot(files: SourceFiles, options: { asOf?: string; progress?: ProgressReporter }): Promise<Snapshot> {
  const progress = options.progress ?? (() => undefined);
  let step = 0;
  const next = (name: string) => progress(name, step++, STEPS.length);

  next('Congress');
  const congress = readCongress(files.congress, files.districtOffices, 0, options.asOf);
  next('Open States people');
  const states = await readOpenStates(files.openstates, 1, options.asOf);

  next('congressional districts');
  const districts = readDistrictPolygons(files.cd, 'cd');
  next('state senate districts');
  const upper = files.sldu ? readDistrictPolygons(files.sldu, 'sldu') : [];
  next('state house districts');
  const lower = files.sldl ? readDistrictPolygons(files.sldl, 'sldl') : [];
  const crosswalk = files.crosswalk ? readCrosswalk(files.crosswalk) : new Map<string, Array<{ chamber: string; district: string }>>();
  for (const district of [...upper, ...lower]) {
    // Without a crosswalk entry, the seat is the Census code without its zero padding ("007" → "7").
    district.seats = crosswalk.get(`${district.layer}:${district.geoid}`) ?? [
      { chamber: district.layer === 'sldu' ? 'upper' : 'lower', district: district.geoid.slice(2).replace(/^0+(?=.)/, '') },
    ];
  }
  districts.push(...upper, ...lower);

  next('ZIP tables');
  const zctas = readZctas(files, new Set(districts.filter((d) => d.layer === 'cd').map((d) => d.geoid)));
  progress('done', STEPS.length, STEPS.length);

  const officials = [...congress.officials, ...states.officials];
  const count = (office: string) => officials.filter((official) => official.office === office).length;
  return {
    sources: [
      dataSource('congress-legislators', 'unitedstates/congress-legislators', 'https://github.com/unitedstates/congress-legislators', congress.newestChange),
      dataSource('openstates-people', 'Open States (openstates/people)', 'https://github.com/openstates/people', states.newestChange),
    ],
    officials,
    districts,
    zctas,
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

function readZctas(files: SourceFiles, cdGeoids: ReadonlySet<string>): ZctaRecord[] {
  const cd = readZctaCd(files.zctaCd, cdGeoids);
  const sld = files.zctaSld ? readZctaSld(files.zctaSld) : { sldu: new Map<string, string[]>(), sldl: new Map<string, string[]>() };
  const centroids = files.centroids ? readCentroids(files.centroids) : new Map();
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
