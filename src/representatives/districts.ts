import type { Channel, DataSource, DistrictLayer, OfficeKind } from '../db/schema';
import { PolygonLayer, type LayerStats } from './geometry';
import type { StoredSnapshot } from './store';
import type { DistrictRecord, OfficialRecord, ZctaRecord } from './sources';
import { fiftyStates, houseSeatOf, uspsByFips } from './us-states';

/**
 * The active snapshot, in memory and ready for lookups: a polygon index per district layer, the
 * ZIP table, and the officials keyed by the seat they hold. Built once per snapshot; a lookup
 * only reads it.
 */

export interface DistrictRef {
  geoid: string;
  state: string;
  name: string;
}

export interface CongressionalDistrict extends DistrictRef {
  /** 0 for an at-large seat or a non-voting delegate's. */
  district: number;
  atLarge: boolean;
  delegate: boolean;
}

export interface StateDistrict extends DistrictRef {
  /** The district as the legislature names it (two seat names for Idaho's A/B seats). */
  seats: string[];
}

export interface DistrictSet {
  congressional: CongressionalDistrict | null;
  stateUpper: StateDistrict | null;
  stateLower: StateDistrict | null;
}

export interface Official {
  office: OfficeKind | 'custom';
  name: string | null;
  title?: string;
  party: string | null;
  state: string;
  district: string | null;
  vacant: boolean;
  /** For a vacant seat: what the data says about it. */
  note?: string;
  ids: Record<string, string>;
  channels: Channel[];
  /** The last day of the current term, as the data records it (`YYYY-MM-DD`), when it does. */
  termEnd?: string | null;
  source: { name: string; snapshotDate: string | null } | null;
}

/** The GEOIDs of one place's districts, per layer. */
export interface DistrictKeys {
  cd: string | null;
  sldu: string | null;
  sldl: string | null;
}

export interface ZipEntry {
  zcta: string;
  cd: string[];
  sldu: string[];
  sldl: string[];
  /** The districts at the ZIP's centre when it spans several (or its only ones). */
  primary: DistrictKeys;
}

const seatKey = (office: OfficeKind, state: string, district: string | null) =>
  `${office}:${state}:${district ?? ''}`;
const districtKey = (layer: DistrictLayer, geoid: string) => `${layer}:${geoid}`;
const STATEWIDE_SEAT = /^(at-large|chairman)$/i;

export class RepresentativeData {
  readonly snapshotId: number;
  readonly importedAt: Date;
  readonly sources: DataSource[];
  readonly counts: Record<string, number>;
  private readonly layers: Record<DistrictLayer, PolygonLayer>;
  private readonly districts = new Map<string, DistrictRecord>();
  private readonly zips = new Map<string, ZipEntry>();
  private readonly seats = new Map<string, Official[]>();
  /** Legislators elected statewide (DC Council at-large, Puerto Rico's at-large seats). */
  private readonly statewide = new Map<string, Official[]>();

  constructor(snapshot: StoredSnapshot) {
    this.snapshotId = snapshot.id;
    this.importedAt = snapshot.importedAt;
    this.sources = snapshot.sources;
    this.counts = snapshot.counts;
    const byLayer: Record<DistrictLayer, DistrictRecord[]> = { cd: [], sldu: [], sldl: [] };
    for (const district of snapshot.districts) {
      this.districts.set(districtKey(district.layer, district.geoid), district);
      byLayer[district.layer].push(district);
    }
    const layer = (records: DistrictRecord[]) =>
      new PolygonLayer(
        records.map((record) => record.geoid),
        records.map((record) => record.geometry),
      );
    this.layers = { cd: layer(byLayer.cd), sldu: layer(byLayer.sldu), sldl: layer(byLayer.sldl) };
    // The polygons are now in the layers; the records keep only what the answers need.
    for (const district of snapshot.districts) district.geometry = null;

    for (const zcta of snapshot.zctas) this.zips.set(zcta.zcta, zipEntry(zcta));
    const seated = new Set(
      [...byLayer.sldu, ...byLayer.sldl].flatMap((district) =>
        district.seats.map((seat) =>
          seatKey(
            seat.chamber === 'lower' ? 'state-lower' : 'state-upper',
            district.state,
            seat.district,
          ),
        ),
      ),
    );
    for (const record of snapshot.officials) {
      const official = this.official(record);
      const key = seatKey(
        record.office,
        record.state,
        record.office === 'us-house' || record.office.startsWith('state-') ? record.district : null,
      );
      if (
        record.office.startsWith('state-') &&
        !seated.has(key) &&
        STATEWIDE_SEAT.test(record.district ?? '')
      ) {
        push(this.statewide, record.state, official);
      } else {
        push(this.seats, key, official);
      }
    }
  }

  get layerStats(): Record<DistrictLayer, LayerStats> {
    return { cd: this.layers.cd.stats, sldu: this.layers.sldu.stats, sldl: this.layers.sldl.stats };
  }

  /** The oldest date among the sources of officials: how old the data may be. */
  get dataAsOf(): string | null {
    return this.sources
      .map((source) => source.snapshotDate)
      .reduce<string | null>((a, b) => (a && (!b || a < b) ? a : b), null);
  }

  zip(zcta: string): ZipEntry | undefined {
    return this.zips.get(zcta);
  }

  /** The ZIP codes in the data, those inside one congressional district first (for samples, like a template preview). */
  *zipCodes(): Generator<string> {
    for (const [zcta, entry] of this.zips) if (entry.cd.length === 1) yield zcta;
    for (const [zcta, entry] of this.zips) if (entry.cd.length !== 1) yield zcta;
  }

  /** The districts a signature with this ZIP code is counted in (for a ZIP spanning several: those at its centre). */
  primaryDistricts(zcta: string): DistrictKeys | undefined {
    return this.zips.get(zcta)?.primary;
  }

  /** The districts containing a point, or, just off a coastline or a line, the nearest. */
  districtsAt(lng: number, lat: number): DistrictKeys | null {
    const cd = this.layers.cd.find(lng, lat) ?? this.layers.cd.nearest(lng, lat, 5);
    if (!cd) return null;
    const inState = (geoid: string | undefined) =>
      geoid && geoid.startsWith(cd.slice(0, 2)) ? geoid : null;
    return {
      cd,
      sldu: inState(this.layers.sldu.find(lng, lat) ?? this.layers.sldu.nearest(lng, lat, 2)),
      sldl: inState(this.layers.sldl.find(lng, lat) ?? this.layers.sldl.nearest(lng, lat, 2)),
    };
  }

  hasDistrict(layer: DistrictLayer, geoid: string): boolean {
    return this.districts.has(districtKey(layer, geoid));
  }

  describe(keys: DistrictKeys): DistrictSet {
    const cd = keys.cd ? this.districts.get(districtKey('cd', keys.cd)) : undefined;
    const state = (layer: DistrictLayer, geoid: string | null): StateDistrict | null => {
      const district = geoid ? this.districts.get(districtKey(layer, geoid)) : undefined;
      return district
        ? {
            geoid: district.geoid,
            state: district.state,
            name: district.name,
            seats: district.seats.map((seat) => seat.district),
          }
        : null;
    };
    return {
      congressional: cd ? congressional(cd) : null,
      stateUpper: state('sldu', keys.sldu),
      stateLower: state('sldl', keys.sldl),
    };
  }

  /**
   * Everyone who represents a place with these districts: House member (or delegate), both
   * senators, state senator(s), state representative(s), statewide legislators and the governor.
   * A seat with nobody in it is listed as vacant.
   */
  officialsFor(keys: DistrictKeys): Official[] {
    const districts = this.describe(keys);
    const state =
      districts.congressional?.state ?? districts.stateUpper?.state ?? districts.stateLower?.state;
    if (!state) return [];
    const found: Official[] = [];
    const fill = (office: OfficeKind, district: string | null, expected: number) => {
      const holders = this.seats.get(seatKey(office, state, district)) ?? [];
      found.push(...holders);
      for (let missing = holders.length; missing < expected; missing++)
        found.push(vacancy(office, state, district, VACANCY_NOTE[office]));
    };
    if (districts.congressional) fill('us-house', String(districts.congressional.district), 1);
    fill('us-senate', null, fiftyStates.has(state) ? 2 : 0);
    for (const layer of ['stateUpper', 'stateLower'] as const) {
      const district = districts[layer];
      const office = layer === 'stateUpper' ? 'state-upper' : 'state-lower';
      for (const seat of district?.seats ?? []) fill(office, seat, 1);
    }
    found.push(...(this.statewide.get(state) ?? []));
    fill('governor', null, fiftyStates.has(state) ? 1 : 0);
    return found;
  }

  private official(record: OfficialRecord): Official {
    const source = this.sources[record.source];
    return {
      office: record.office,
      name: record.name,
      party: record.party,
      state: record.state,
      district: record.district,
      vacant: false,
      ids: record.ids,
      channels: record.channels,
      termEnd: record.termEnd,
      source: source ? { name: source.name, snapshotDate: source.snapshotDate } : null,
    };
  }
}

function zipEntry(zcta: ZctaRecord): ZipEntry {
  const pick = (list: string[], centroid: string | null) =>
    centroid && list.includes(centroid) ? centroid : (list[0] ?? null);
  return {
    zcta: zcta.zcta,
    cd: zcta.cd,
    sldu: zcta.sldu,
    sldl: zcta.sldl,
    primary: {
      cd: pick(zcta.cd, zcta.centroidCd),
      sldu: pick(zcta.sldu, zcta.centroidSldu),
      sldl: pick(zcta.sldl, zcta.centroidSldl),
    },
  };
}

function congressional(district: DistrictRecord): CongressionalDistrict {
  const code = district.geoid.slice(2);
  return {
    geoid: district.geoid,
    state: uspsByFips.get(district.geoid.slice(0, 2)) ?? district.state,
    name: district.name,
    district: houseSeatOf(district.geoid),
    atLarge: code === '00',
    delegate: code === '98',
  };
}

/**
 * Open States updates governors' records less promptly than legislators': a governor missing
 * there is more likely a record not yet renewed than an empty office.
 */
const VACANCY_NOTE: Record<OfficeKind, string> = {
  'us-house': 'The seat is vacant in our data.',
  'us-senate': 'The seat is vacant in our data.',
  'state-upper': 'The seat is vacant in our data.',
  'state-lower': 'The seat is vacant in our data.',
  governor:
    'Our data has no current record for this office; it may not have been updated since the last election.',
};

function vacancy(
  office: OfficeKind,
  state: string,
  district: string | null,
  note: string,
): Official {
  return {
    office,
    name: null,
    party: null,
    state,
    district,
    vacant: true,
    note,
    ids: {},
    channels: [],
    source: null,
  };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
