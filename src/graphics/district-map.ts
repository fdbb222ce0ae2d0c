import { geoConicEqualArea, type GeoProjection } from 'd3-geo';
import type { FeatureCollection, MultiPolygon } from 'geojson';
import type {
  GeometryCollection,
  GeometryObject,
  MultiPolygon as TopoMultiPolygon,
  Polygon as TopoPolygon,
  Topology,
} from 'topojson-specification';
import { feature, merge } from 'topojson-client';
import { topology } from 'topojson-server';
import { presimplify, simplify } from 'topojson-simplify';
import { formatNumber, safeId } from './charts';
import { svgTemplate } from './svg';

/**
 * A choropleth of congressional districts, drawn on the server as SVG. The outline (every
 * district's path, projected and simplified) is built once per import of the representative data
 * and stored with it; each request only colours it from the counts. Each part of the country is
 * drawn in an Albers (conic equal-area) projection of its own, from d3-geo, fitted to its box:
 * the lower 48 in the main frame; Alaska, Hawaii, Puerto Rico, DC and the territories in insets.
 * The shapes are simplified as a topology (topojson), so a border two districts share is
 * simplified once and stays shared: no gaps or overlaps between neighbours. Each state's shape is
 * its districts dissolved in that same topology (the public scorecard draws those).
 */

// ---------------------------------------------------------------------------------------------
// The frame: where each part of the country is drawn

export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 640;

export interface ConicParameters {
  /** Central meridian and latitude of origin, degrees. */
  lng0: number;
  lat0: number;
  /** Standard parallels, degrees. */
  lat1: number;
  lat2: number;
}

export interface Inset {
  key: string;
  label: string;
  /** State FIPS codes drawn here; the lower 48 take every code no other inset claims. */
  states: string[];
  /** The area shown: west, south, east, north (degrees; west may be below -180 for Alaska). */
  bounds: [number, number, number, number];
  /** Where it goes in the SVG: x, y, width, height. */
  box: [number, number, number, number];
  projection?: ConicParameters;
  /** Drawn with a frame and its label (all but the lower 48). */
  framed: boolean;
}

const insetBox = (column: number): [number, number, number, number] => [
  440 + column * 86,
  560,
  78,
  58,
];

export const INSETS: readonly Inset[] = [
  {
    key: 'conus',
    label: 'Lower 48 states',
    states: [],
    framed: false,
    bounds: [-124.8, 24.4, -66.9, 49.4],
    box: [8, 6, 944, 540],
    projection: { lng0: -96, lat0: 37.5, lat1: 29.5, lat2: 45.5 },
  },
  {
    key: 'ak',
    label: 'Alaska',
    states: ['02'],
    framed: true,
    bounds: [-188, 51.2, -129.9, 71.5],
    box: [8, 436, 240, 172],
    projection: { lng0: -154, lat0: 50, lat1: 55, lat2: 65 },
  },
  {
    key: 'hi',
    label: 'Hawaii',
    states: ['15'],
    framed: true,
    bounds: [-160.3, 18.9, -154.8, 22.3],
    box: [258, 520, 150, 88],
    projection: { lng0: -157, lat0: 3, lat1: 8, lat2: 18 },
  },
  {
    key: 'dc',
    label: 'D.C.',
    states: ['11'],
    framed: true,
    bounds: [-77.12, 38.79, -76.91, 39.0],
    box: insetBox(0),
  },
  {
    key: 'pr',
    label: 'Puerto Rico',
    states: ['72'],
    framed: true,
    bounds: [-67.3, 17.88, -65.22, 18.53],
    box: insetBox(1),
  },
  {
    key: 'vi',
    label: 'Virgin Is.',
    states: ['78'],
    framed: true,
    bounds: [-65.09, 17.67, -64.56, 18.42],
    box: insetBox(2),
  },
  {
    key: 'gu',
    label: 'Guam',
    states: ['66'],
    framed: true,
    bounds: [144.6, 13.23, 144.97, 13.66],
    box: insetBox(3),
  },
  {
    key: 'mp',
    label: 'N. Mariana Is.',
    states: ['69'],
    framed: true,
    bounds: [145.1, 14.1, 145.85, 15.3],
    box: insetBox(4),
  },
  {
    key: 'as',
    label: 'Am. Samoa',
    states: ['60'],
    framed: true,
    bounds: [-170.85, -14.38, -169.42, -14.15],
    box: insetBox(5),
  },
];

/** Standard parallels at a sixth of the way in from each edge, the usual rule for a small area. */
function parametersFor([west, south, east, north]: Inset['bounds']): ConicParameters {
  const span = north - south;
  return {
    lng0: (west + east) / 2,
    lat0: (south + north) / 2,
    lat1: south + span / 6,
    lat2: north - span / 6,
  };
}

/**
 * The Albers projection of these parameters. Rotating by the central meridian wraps longitudes
 * around it, so Alaska's Aleutians west of the antimeridian sit next to the rest of Alaska.
 */
export function albers({ lng0, lat0, lat1, lat2 }: ConicParameters): GeoProjection {
  return geoConicEqualArea()
    .parallels([lat1, lat2])
    .rotate([-lng0, 0])
    .center([0, lat0])
    .precision(0);
}

export interface FittedInset {
  inset: Inset;
  /** Degrees to SVG pixels (y down). */
  project: (lng: number, lat: number) => [number, number];
}

/** An inset's projection, scaled and centred so that its bounds (traced along their edges) fill its box. */
export function fitInset(inset: Inset): FittedInset {
  const [west, south, east, north] = inset.bounds;
  // Parallels project to arcs: the edges are traced point by point, not as great circles.
  const edges: Array<[number, number]> = [];
  const STEPS = 32;
  for (let i = 0; i <= STEPS; i++) {
    const lng = west + ((east - west) * i) / STEPS;
    const lat = south + ((north - south) * i) / STEPS;
    edges.push([lng, south], [lng, north], [west, lat], [east, lat]);
  }
  const [x, y, width, height] = inset.box;
  const pad = inset.framed ? 3 : 0;
  const projection = albers(inset.projection ?? parametersFor(inset.bounds)).fitExtent(
    [
      [x + pad, y + pad],
      [x + width - pad, y + height - pad],
    ],
    { type: 'MultiPoint', coordinates: edges },
  );
  return {
    inset,
    project: (lng, lat) => projection([lng, lat]) ?? [NaN, NaN],
  };
}

const insetByState = new Map(
  INSETS.flatMap((inset) => inset.states.map((state) => [state, inset.key] as const)),
);

/** The inset a district is drawn in, from its GEOID's state FIPS code. */
export const insetOf = (geoid: string): string => insetByState.get(geoid.slice(0, 2)) ?? 'conus';

let fittedInsets: ReadonlyMap<string, FittedInset> | undefined;

/**
 * A point (a place's ZIP centre) where the outline draws it: projected in the inset of its state
 * (by FIPS code), the same fit the outline was built with (the fits depend only on `INSETS`, which
 * `OUTLINE_VERSION` follows). None when it falls outside that inset's box.
 */
export function projectPoint(stateFips: string, lng: number, lat: number): [number, number] | null {
  fittedInsets ??= new Map(INSETS.map((inset) => [inset.key, fitInset(inset)]));
  const fit = fittedInsets.get(insetOf(stateFips))!;
  const [x, y] = fit.project(lng, lat);
  const [boxX, boxY, width, height] = fit.inset.box;
  if (!(x >= boxX && x <= boxX + width && y >= boxY && y <= boxY + height)) return null;
  return [Math.round(x * PRECISION) / PRECISION, Math.round(y * PRECISION) / PRECISION];
}

// ---------------------------------------------------------------------------------------------
// The outline: every district's path, projected and simplified

/** Coordinates are snapped to a grid of this many steps per pixel before the topology is built. */
export const GRID_PER_PX = 10;
/**
 * Visvalingam's rule, on the shared borders of the topology: a point stays only if the triangle it
 * makes with its neighbours is at least this large, in square pixels.
 */
export const MIN_AREA_PX2 = 1;

export interface DistrictOutline {
  geoid: string;
  inset: string;
  /** SVG path data. */
  d: string;
}

export interface StateOutline {
  /** Census FIPS code, the first two digits of its districts' GEOIDs. */
  fips: string;
  inset: string;
  /** SVG path data: the state's districts dissolved, inner borders gone. */
  d: string;
}

export interface MapOutline {
  /** Which layout and simplification made it: an outline stored by another one is built again. */
  version: number;
  width: number;
  height: number;
  /** The insets that have districts, for their frames and labels. */
  insets: Array<{ key: string; label: string; frame: [number, number, number, number] }>;
  districts: DistrictOutline[];
  /** Each state (DC and territories too) that has districts, dissolved from them. */
  states: StateOutline[];
  /** Points in the paths, and the points read: how much the simplification took away. */
  points: number;
  sourcePoints: number;
}

/** Raise it whenever the frame, the projections or the simplification change. */
export const OUTLINE_VERSION = 3;

/** Path coordinates are written in tenths of a pixel. */
const PRECISION = 10;

/** Coordinates are stored in millionths of a degree (see representatives/geometry.ts). */
const MICRODEGREES = 1e-6;

type Ring = Array<[number, number]>;
type Polygon = Ring[];

/**
 * Builds the outline from the congressional districts' encoded geometries (`[polygons, (rings,
 * (points, x, y…)…)…]` in microdegrees, see representatives/geometry.ts): each inset's districts
 * are projected into its box, joined into one topology (a border two districts share becomes one
 * arc), simplified arc by arc, and written as compact path data.
 */
export function buildMapOutline(
  shapes: Iterable<{ geoid: string; geometry: Int32Array | null }>,
): MapOutline {
  const fitted = new Map(INSETS.map((inset) => [inset.key, fitInset(inset)]));
  const byInset = new Map<string, Array<{ geoid: string; polygons: Polygon[] }>>();
  let sourcePoints = 0;
  for (const { geoid, geometry } of shapes) {
    if (!geometry) continue;
    const inset = insetOf(geoid);
    const fit = fitted.get(inset)!;
    const { polygons, points } = projectGeometry(geometry, fit);
    sourcePoints += points;
    if (polygons.length === 0) continue;
    const list = byInset.get(inset) ?? [];
    list.push({ geoid, polygons });
    byInset.set(inset, list);
  }

  const districts: DistrictOutline[] = [];
  const states: StateOutline[] = [];
  let points = 0;
  for (const [inset, members] of byInset) {
    const [, , width, height] = fitted.get(inset)!.inset.box;
    const collection: FeatureCollection<MultiPolygon> = {
      type: 'FeatureCollection',
      features: members.map(({ geoid, polygons }) => ({
        type: 'Feature',
        id: geoid,
        properties: {},
        geometry: { type: 'MultiPolygon', coordinates: polygons },
      })),
    };
    const topo = topology(
      { districts: collection },
      Math.ceil(Math.max(width, height) * GRID_PER_PX),
    ) as Topology<{ districts: GeometryCollection }>;
    const simplified = simplify(presimplify(topo), MIN_AREA_PX2) as Topology<{
      districts: GeometryCollection;
    }>;
    const shapesOut = feature(simplified, simplified.objects.districts);
    for (const shape of shapesOut.features) {
      const geometry = shape.geometry;
      const polygons: Polygon[] =
        geometry?.type === 'MultiPolygon'
          ? (geometry.coordinates as Polygon[])
          : geometry?.type === 'Polygon'
            ? [geometry.coordinates as Polygon]
            : [];
      const rings = drawnRings(polygons);
      let d = '';
      for (const ring of rings) {
        d += pathOf(ring);
        points += ring.length - 1;
      }
      districts.push({ geoid: String(shape.id), inset, d });
    }
    // Each state: its districts merged in the simplified topology, so its border is the very
    // arcs its districts' outer edges are drawn with.
    const byState = new Map<string, Array<TopoPolygon | TopoMultiPolygon>>();
    for (const geometry of simplified.objects.districts.geometries) {
      if (!isAreal(geometry)) continue;
      const fips = String(geometry.id).slice(0, 2);
      const list = byState.get(fips) ?? [];
      list.push(geometry);
      byState.set(fips, list);
    }
    for (const [fips, geometries] of byState) {
      const merged = merge(simplified, geometries);
      let d = '';
      for (const ring of drawnRings(merged.coordinates as Polygon[])) d += pathOf(ring);
      if (d !== '') states.push({ fips, inset, d });
    }
  }
  districts.sort((a, b) => a.geoid.localeCompare(b.geoid));
  states.sort((a, b) => a.fips.localeCompare(b.fips));
  const used = new Set(districts.map((district) => district.inset));
  return {
    version: OUTLINE_VERSION,
    width: MAP_WIDTH,
    height: MAP_HEIGHT,
    insets: INSETS.filter((inset) => inset.framed && used.has(inset.key)).map((inset) => ({
      key: inset.key,
      label: inset.label,
      frame: inset.box,
    })),
    districts,
    states,
    points,
    sourcePoints,
  };
}

const isAreal = (geometry: GeometryObject): geometry is TopoPolygon | TopoMultiPolygon =>
  geometry.type === 'Polygon' || geometry.type === 'MultiPolygon';

/**
 * One district's polygons in pixels. Rings wholly outside the inset's box (Hawaii's far
 * north-western islets) are left out, and a polygon goes with its outer ring.
 */
function projectGeometry(
  geometry: Int32Array,
  fit: FittedInset,
): { polygons: Polygon[]; points: number } {
  const [frameX, frameY, frameWidth, frameHeight] = fit.inset.box;
  const polygons: Polygon[] = [];
  let points = 0;
  let i = 0;
  const polygonCount = geometry[i++] ?? 0;
  for (let polygon = 0; polygon < polygonCount; polygon++) {
    const ringCount = geometry[i++]!;
    const rings: Polygon = [];
    let outerShown = true;
    for (let ring = 0; ring < ringCount; ring++) {
      const count = geometry[i++]!;
      points += count;
      const projected: Ring = new Array<[number, number]>(count);
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let p = 0; p < count; p++) {
        const point = fit.project(
          geometry[i + p * 2]! * MICRODEGREES,
          geometry[i + p * 2 + 1]! * MICRODEGREES,
        );
        projected[p] = point;
        if (point[0] < minX) minX = point[0];
        if (point[0] > maxX) maxX = point[0];
        if (point[1] < minY) minY = point[1];
        if (point[1] > maxY) maxY = point[1];
      }
      i += count * 2;
      const outside =
        !(maxX >= frameX && minX <= frameX + frameWidth) ||
        !(maxY >= frameY && minY <= frameY + frameHeight);
      if (ring === 0) outerShown = !outside;
      if (outerShown && !outside) rings.push(projected);
    }
    if (rings.length > 0) polygons.push(rings);
  }
  return { polygons, points };
}

/**
 * The rings worth drawing: specks under a pixel add bytes and nothing to see, but a district that
 * is smaller than a pixel everywhere is still drawn, as a dot, so that it can be found.
 */
function drawnRings(polygons: Polygon[]): Ring[] {
  const rings: Ring[] = [];
  let largest: Ring | undefined;
  let largestSize = -1;
  for (const polygon of polygons) {
    for (const ring of polygon) {
      const size = extent(ring);
      if (size > largestSize) {
        largestSize = size;
        largest = ring;
      }
      if (size >= 1 && ring.length >= 4) rings.push(ring);
    }
  }
  if (rings.length === 0 && largest && largest.length > 0) rings.push(dot(largest));
  return rings;
}

function extent(ring: Ring): number {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of ring) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return Math.max(maxX - minX, maxY - minY);
}

/** A small square around a ring's centre, for a district too small to see. */
function dot(ring: Ring): Ring {
  let x = 0;
  let y = 0;
  for (const point of ring) {
    x += point[0];
    y += point[1];
  }
  x /= ring.length;
  y /= ring.length;
  const r = 1;
  return [
    [x - r, y - r],
    [x + r, y - r],
    [x + r, y + r],
    [x - r, y + r],
    [x - r, y - r],
  ];
}

/** A closed ring as compact path data: an absolute start, then relative steps in tenths of a pixel. */
function pathOf(ring: Ring): string {
  const count = ring.length - 1; // the last point repeats the first: `z` closes the ring
  let previousX = Math.round(ring[0]![0] * PRECISION);
  let previousY = Math.round(ring[0]![1] * PRECISION);
  let out = `M${decimal(previousX)}${joined(previousY)}`;
  let first = true;
  for (let p = 1; p < count; p++) {
    const x = Math.round(ring[p]![0] * PRECISION);
    const y = Math.round(ring[p]![1] * PRECISION);
    if (x === previousX && y === previousY) continue;
    out += `${first ? `l${decimal(x - previousX)}` : joined(x - previousX)}${joined(y - previousY)}`;
    first = false;
    previousX = x;
    previousY = y;
  }
  return `${out}z`;
}

/** Tenths as a short decimal: 123 → "12.3", -5 → "-.5", 40 → "4". */
function decimal(tenths: number): string {
  const abs = Math.abs(tenths);
  const whole = Math.floor(abs / PRECISION);
  const fraction = abs % PRECISION;
  const text =
    fraction === 0 ? String(whole) : whole === 0 ? `.${fraction}` : `${whole}.${fraction}`;
  return tenths < 0 ? `-${text}` : text;
}

/** A number after another one: a minus sign separates them by itself, otherwise a space does. */
function joined(tenths: number): string {
  const text = decimal(tenths);
  return text.startsWith('-') ? text : ` ${text}`;
}

// ---------------------------------------------------------------------------------------------
// Colouring per request

/** A sequential scale, light to dark; districts with no signatures are grey. */
export const PALETTE = ['#cfe3f3', '#93c0e3', '#5597cb', '#2a6aa8', '#12355b'];
export const NO_DATA = '#e4e7eb';

export interface ColourClass {
  min: number;
  max: number;
  colour: string;
}

/**
 * Up to five classes over the positive counts, split at their quantiles (so each colour covers
 * about as many districts), with the breaks rounded to two significant figures.
 */
export function colourClasses(values: number[], classes = PALETTE.length): ColourClass[] {
  const positive = values.filter((value) => value > 0).sort((a, b) => a - b);
  if (positive.length === 0) return [];
  const max = positive[positive.length - 1]!;
  const uppers: number[] = [];
  for (let k = 1; k < classes; k++) {
    const quantile = positive[Math.max(0, Math.floor((k * positive.length) / classes) - 1)]!;
    const upper = roundTwoFigures(quantile);
    if (upper >= 1 && upper < max && upper > (uppers[uppers.length - 1] ?? 0)) uppers.push(upper);
  }
  uppers.push(max);
  const colours = paletteFor(uppers.length);
  return uppers.map((upper, index) => ({
    min: index === 0 ? 1 : uppers[index - 1]! + 1,
    max: upper,
    colour: colours[index]!,
  }));
}

function roundTwoFigures(value: number): number {
  if (value < 100) return Math.round(value);
  const power = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Math.round(value / power) * power;
}

/** `count` colours spread over the palette, always ending on its darkest. */
function paletteFor(count: number): string[] {
  if (count === 1) return [PALETTE[3]!];
  return Array.from(
    { length: count },
    (_, index) => PALETTE[Math.round((index * (PALETTE.length - 1)) / (count - 1))]!,
  );
}

export const colourOf = (count: number, classes: ColourClass[]): string =>
  count > 0
    ? ((classes.find((range) => count <= range.max) ?? classes[classes.length - 1])?.colour ??
      NO_DATA)
    : NO_DATA;

export interface MapOptions {
  /** Unique on the page. */
  id: string;
  title: string;
  /** Signatures per district GEOID. */
  counts: Record<string, number>;
  /**
   * How a district is named in its title ("CO-1 · Ada Testwell"). No links: the map is one image
   * (`role="img"`), and hundreds of tab stops on tiny districts helped nobody; the table below it
   * is the way in for keyboards and screen readers.
   */
  describe: (geoid: string) => { label: string };
}

export interface RenderedMap {
  /** The map itself. */
  map: string;
  /** Its legend, as HTML, to go next to it. */
  legend: string;
  classes: ColourClass[];
}

const mapTemplate = svgTemplate<{
  id: string;
  width: number;
  height: number;
  title: string;
  description: string;
  insets: InsetFrame[];
  districts: Array<{ d: string; fill: string; geoid: string; title: string }>;
}>('district-map');

/** An inset's frame as the map templates draw it, with its label under its lower-left corner. */
export interface InsetFrame {
  x: number;
  y: number;
  width: number;
  height: number;
  labelX: number;
  labelY: number;
  label: string;
}

/** The outline's inset frames, each labelled by `label` (its key and its English label). */
export const insetFrames = (
  outline: MapOutline,
  label: (inset: MapOutline['insets'][number]) => string,
): InsetFrame[] =>
  outline.insets.map((inset) => {
    const [x, y, width, height] = inset.frame;
    return { x, y, width, height, labelX: x + 3, labelY: y + height + 12, label: label(inset) };
  });

const legendTemplate = svgTemplate<{
  id: string;
  items: Array<{ colour: string; text: string }>;
}>('map-legend');

/** The outline coloured by the counts: each district with its title (name and count), and the inset frames. */
export function renderDistrictMap(outline: MapOutline, options: MapOptions): RenderedMap {
  const classes = colourClasses(
    outline.districts.map((district) => options.counts[district.geoid] ?? 0),
  );
  const withSignatures = outline.districts.filter(
    (district) => (options.counts[district.geoid] ?? 0) > 0,
  ).length;
  const base = safeId(options.id);
  const description =
    `${outline.districts.length} congressional districts, ${withSignatures} with signatures. ` +
    (classes.length > 0
      ? `Darker is more: ${classes.map((range) => rangeText(range)).join('; ')}. `
      : '') +
    'The table below lists the same counts.';
  const map = mapTemplate({
    id: base,
    width: outline.width,
    height: outline.height,
    title: options.title,
    description,
    insets: insetFrames(outline, (inset) => inset.label),
    districts: outline.districts.map((district) => {
      const count = options.counts[district.geoid] ?? 0;
      const { label } = options.describe(district.geoid);
      return {
        d: district.d,
        fill: colourOf(count, classes),
        geoid: district.geoid,
        title: `${label}: ${formatNumber(count)} ${count === 1 ? 'signature' : 'signatures'}`,
      };
    }),
  });
  return { map, legend: mapLegend(classes, `${base}-legend`), classes };
}

const rangeText = (range: ColourClass) =>
  range.min === range.max
    ? formatNumber(range.min)
    : `${formatNumber(range.min)}–${formatNumber(range.max)}`;

/**
 * The classes as a list of swatches (HTML, each swatch a tiny SVG with its colour as an attribute,
 * since the CSP allows no inline styles), with the grey of "no signatures" first. As HTML it wraps
 * and keeps its text size on a phone, where the map itself is drawn small.
 */
export function mapLegend(classes: ColourClass[], id: string): string {
  return legendTemplate({
    id: safeId(id),
    items: [
      { colour: NO_DATA, text: 'None' },
      ...classes.map((range) => ({ colour: range.colour, text: rangeText(range) })),
    ],
  });
}
