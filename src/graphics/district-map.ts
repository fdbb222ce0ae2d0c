import { setImmediate as nextTurn } from 'node:timers/promises';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Database } from '../db/client';
import { repDistricts } from '../db/schema';
import type { Logger } from '../logger';
import { activeSnapshotId } from '../representatives/store';
import { escapeXml, formatNumber, safeId } from './charts';

/**
 * A choropleth of congressional districts, drawn on the server as SVG from the active snapshot's
 * polygons. The outline (projected, simplified paths) is built once per snapshot and cached; each
 * request only colours it from the counts. The lower 48 are drawn in an Albers equal-area conic
 * projection; Alaska, Hawaii, Puerto Rico, DC and the territories each in an inset of their own.
 */

// ---------------------------------------------------------------------------------------------
// Projection

export interface ConicParameters {
  /** Central meridian and latitude of origin, degrees. */
  lng0: number;
  lat0: number;
  /** Standard parallels, degrees. */
  lat1: number;
  lat2: number;
}

const RADIANS = Math.PI / 180;

/**
 * Albers equal-area conic on the unit sphere: x east, y north. Longitudes are taken relative to
 * the central meridian, wrapped to ±180°, so Alaska's Aleutians west of the antimeridian sit
 * next to the rest of Alaska.
 */
export function albers({
  lng0,
  lat0,
  lat1,
  lat2,
}: ConicParameters): (lng: number, lat: number) => [number, number] {
  const phi1 = lat1 * RADIANS;
  const phi2 = lat2 * RADIANS;
  const cone = (Math.sin(phi1) + Math.sin(phi2)) / 2;
  if (Math.abs(cone) < 1e-9) {
    // Parallels symmetric about the equator: the cone becomes the cylindrical equal-area projection.
    return (lng, lat) => [wrap(lng - lng0) * RADIANS, Math.sin(lat * RADIANS)];
  }
  const c = Math.cos(phi1) ** 2 + 2 * cone * Math.sin(phi1);
  const rho = (phi: number) => Math.sqrt(Math.max(0, c - 2 * cone * Math.sin(phi))) / cone;
  const rho0 = rho(lat0 * RADIANS);
  return (lng, lat) => {
    const r = rho(lat * RADIANS);
    const theta = cone * wrap(lng - lng0) * RADIANS;
    return [r * Math.sin(theta), rho0 - r * Math.cos(theta)];
  };
}

const wrap = (degrees: number) => ((((degrees + 180) % 360) + 360) % 360) - 180;

// ---------------------------------------------------------------------------------------------
// The frame: where each part of the country is drawn

export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 640;

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

export interface FittedInset {
  inset: Inset;
  /** Degrees to SVG pixels (y down). */
  project: (lng: number, lat: number) => [number, number];
}

/** Scales and centres an inset's projected bounds (traced along their edges) in its box. */
export function fitInset(inset: Inset): FittedInset {
  const projection = albers(inset.projection ?? parametersFor(inset.bounds));
  const [west, south, east, north] = inset.bounds;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const STEPS = 32;
  for (let i = 0; i <= STEPS; i++) {
    const lng = west + ((east - west) * i) / STEPS;
    const lat = south + ((north - south) * i) / STEPS;
    for (const [x, y] of [
      projection(lng, south),
      projection(lng, north),
      projection(west, lat),
      projection(east, lat),
    ]) {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const [boxX, boxY, boxWidth, boxHeight] = inset.box;
  const pad = inset.framed ? 3 : 0;
  const scale = Math.min(
    (boxWidth - 2 * pad) / (maxX - minX),
    (boxHeight - 2 * pad) / (maxY - minY),
  );
  const offsetX = boxX + (boxWidth - scale * (maxX - minX)) / 2;
  const offsetY = boxY + (boxHeight - scale * (maxY - minY)) / 2;
  return {
    inset,
    project: (lng, lat) => {
      const [x, y] = projection(lng, lat);
      return [offsetX + (x - minX) * scale, offsetY + (maxY - y) * scale];
    },
  };
}

const insetByState = new Map(
  INSETS.flatMap((inset) => inset.states.map((state) => [state, inset.key] as const)),
);

/** The inset a district is drawn in, from its GEOID's state FIPS code. */
export const insetOf = (geoid: string): string => insetByState.get(geoid.slice(0, 2)) ?? 'conus';

// ---------------------------------------------------------------------------------------------
// Simplification, in pixels

/** Points closer than this to the last point kept are dropped. */
export const MIN_STEP_PX = 1;
/** Then Douglas–Peucker: a point is kept only if leaving it out moves the line more than this. */
export const TOLERANCE_PX = 0.5;

/**
 * Simplifies a closed ring given as pixel coordinates `[x0, y0, x1, y1, …]` (first point equal to
 * the last): first drops points within `minStep` of the previous point kept, then drops points
 * within `tolerance` of the line through their neighbours (Douglas–Peucker). The result is closed
 * too; it has fewer than 4 points when the ring shrank to nothing at this scale.
 */
export function simplifyRing(
  points: ArrayLike<number>,
  minStep = MIN_STEP_PX,
  tolerance = TOLERANCE_PX,
): number[] {
  const count = points.length >> 1;
  if (count < 2) return Array.from(points);
  // Radial distance
  const kept: number[] = [points[0]!, points[1]!];
  const minSquared = minStep * minStep;
  for (let i = 1; i < count - 1; i++) {
    const x = points[i * 2]!;
    const y = points[i * 2 + 1]!;
    const dx = x - kept[kept.length - 2]!;
    const dy = y - kept[kept.length - 1]!;
    if (dx * dx + dy * dy >= minSquared) kept.push(x, y);
  }
  kept.push(points[(count - 1) * 2]!, points[(count - 1) * 2 + 1]!);
  const keptCount = kept.length >> 1;
  if (keptCount <= 3) return kept;

  // Douglas–Peucker over the closed ring: split it at the point farthest from the start, so both
  // halves have distinct ends.
  let far = 0;
  let farDistance = -1;
  for (let i = 1; i < keptCount - 1; i++) {
    const d = (kept[i * 2]! - kept[0]!) ** 2 + (kept[i * 2 + 1]! - kept[1]!) ** 2;
    if (d > farDistance) {
      farDistance = d;
      far = i;
    }
  }
  const marks = new Uint8Array(keptCount);
  marks[0] = marks[far] = marks[keptCount - 1] = 1;
  const toleranceSquared = tolerance * tolerance;
  const stack: Array<[number, number]> = [
    [0, far],
    [far, keptCount - 1],
  ];
  while (stack.length > 0) {
    const [first, last] = stack.pop()!;
    let index = -1;
    let maxDistance = toleranceSquared;
    for (let i = first + 1; i < last; i++) {
      const d = segmentDistanceSquared(kept, i, first, last);
      if (d > maxDistance) {
        maxDistance = d;
        index = i;
      }
    }
    if (index >= 0) {
      marks[index] = 1;
      stack.push([first, index], [index, last]);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < keptCount; i++) if (marks[i]) out.push(kept[i * 2]!, kept[i * 2 + 1]!);
  return out;
}

function segmentDistanceSquared(points: number[], p: number, a: number, b: number): number {
  const ax = points[a * 2]!;
  const ay = points[a * 2 + 1]!;
  let dx = points[b * 2]! - ax;
  let dy = points[b * 2 + 1]! - ay;
  let x = ax;
  let y = ay;
  if (dx !== 0 || dy !== 0) {
    const t = ((points[p * 2]! - ax) * dx + (points[p * 2 + 1]! - ay) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = points[b * 2]!;
      y = points[b * 2 + 1]!;
    } else if (t > 0) {
      x += dx * t;
      y += dy * t;
    }
  }
  dx = points[p * 2]! - x;
  dy = points[p * 2 + 1]! - y;
  return dx * dx + dy * dy;
}

// ---------------------------------------------------------------------------------------------
// The outline: every district's path, projected and simplified

export interface DistrictOutline {
  geoid: string;
  inset: string;
  /** SVG path data. */
  d: string;
}

export interface MapOutline {
  width: number;
  height: number;
  /** The insets that have districts, for their frames and labels. */
  insets: Array<{ key: string; label: string; frame: [number, number, number, number] }>;
  districts: DistrictOutline[];
  /** Points in the paths, and the points read: how much the simplification took away. */
  points: number;
  sourcePoints: number;
}

/** Path coordinates are written in tenths of a pixel. */
const PRECISION = 10;

/** Coordinates are stored in millionths of a degree (see representatives/geometry.ts). */
const MICRODEGREES = 1e-6;

/** Builds the outline one district at a time, so the raw polygons never all sit in memory. */
export class MapOutlineBuilder {
  private readonly fitted = new Map(INSETS.map((inset) => [inset.key, fitInset(inset)]));
  private readonly districts: DistrictOutline[] = [];
  private readonly used = new Set<string>();
  private points = 0;
  private sourcePoints = 0;

  /** Adds one district from its encoded geometry (`[polygons, (rings, (points, x, y…)…)…]`, microdegrees). */
  add(geoid: string, geometry: Int32Array): void {
    const inset = insetOf(geoid);
    const fit = this.fitted.get(inset)!;
    const [frameX, frameY, frameWidth, frameHeight] = fit.inset.box;
    const rings: number[][] = [];
    let largest: number[] | undefined;
    let largestSize = -1;
    let i = 0;
    const polygons = geometry[i++] ?? 0;
    for (let polygon = 0; polygon < polygons; polygon++) {
      const ringCount = geometry[i++]!;
      for (let ring = 0; ring < ringCount; ring++) {
        const count = geometry[i++]!;
        this.sourcePoints += count;
        const projected = new Float64Array(count * 2);
        let minX = Infinity;
        let minY = Infinity;
        let maxX = -Infinity;
        let maxY = -Infinity;
        for (let p = 0; p < count; p++) {
          const [x, y] = fit.project(
            geometry[i + p * 2]! * MICRODEGREES,
            geometry[i + p * 2 + 1]! * MICRODEGREES,
          );
          projected[p * 2] = x;
          projected[p * 2 + 1] = y;
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
        i += count * 2;
        // Parts wholly outside the inset's box (Hawaii's far north-western islets) are left out.
        if (
          maxX < frameX ||
          minX > frameX + frameWidth ||
          maxY < frameY ||
          minY > frameY + frameHeight
        )
          continue;
        const size = Math.max(maxX - minX, maxY - minY);
        if (size > largestSize) {
          largestSize = size;
          largest = Array.from(projected);
        }
        // Specks under a pixel add bytes and nothing to see.
        if (size < 1) continue;
        const simplified = simplifyRing(projected);
        if (simplified.length >= 8) rings.push(simplified);
      }
    }
    // A district smaller than a pixel everywhere is still drawn, as a dot, so that it can be found.
    if (rings.length === 0 && largest) rings.push(dot(largest));
    if (rings.length === 0) return;
    this.used.add(inset);
    let d = '';
    for (const ring of rings) {
      d += pathOf(ring);
      this.points += (ring.length >> 1) - 1;
    }
    this.districts.push({ geoid, inset, d });
  }

  finish(): MapOutline {
    this.districts.sort((a, b) => a.geoid.localeCompare(b.geoid));
    return {
      width: MAP_WIDTH,
      height: MAP_HEIGHT,
      insets: INSETS.filter((inset) => inset.framed && this.used.has(inset.key)).map((inset) => ({
        key: inset.key,
        label: inset.label,
        frame: inset.box,
      })),
      districts: this.districts,
      points: this.points,
      sourcePoints: this.sourcePoints,
    };
  }
}

export function buildMapOutline(
  shapes: Iterable<{ geoid: string; geometry: Int32Array | null }>,
): MapOutline {
  const builder = new MapOutlineBuilder();
  for (const shape of shapes) if (shape.geometry) builder.add(shape.geoid, shape.geometry);
  return builder.finish();
}

/** A small square around a ring's centre, for a district too small to see. */
function dot(ring: number[]): number[] {
  let x = 0;
  let y = 0;
  const count = ring.length >> 1;
  for (let p = 0; p < count; p++) {
    x += ring[p * 2]!;
    y += ring[p * 2 + 1]!;
  }
  x /= count;
  y /= count;
  const r = 1;
  return [x - r, y - r, x + r, y - r, x + r, y + r, x - r, y + r, x - r, y - r];
}

/** A closed ring as compact path data: an absolute start, then relative steps in tenths of a pixel. */
function pathOf(ring: number[]): string {
  const count = (ring.length >> 1) - 1; // the last point repeats the first: `z` closes the ring
  let previousX = Math.round(ring[0]! * PRECISION);
  let previousY = Math.round(ring[1]! * PRECISION);
  let out = `M${decimal(previousX)}${joined(previousY)}`;
  let first = true;
  for (let p = 1; p < count; p++) {
    const x = Math.round(ring[p * 2]! * PRECISION);
    const y = Math.round(ring[p * 2 + 1]! * PRECISION);
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
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="district-map" id="${base}" viewBox="0 0 ${outline.width} ${outline.height}" ` +
      `role="img" aria-labelledby="${base}-title ${base}-desc" font-family="system-ui, sans-serif" font-size="12">`,
    `<title id="${base}-title">${escapeXml(options.title)}</title><desc id="${base}-desc">${escapeXml(description)}</desc>`,
  ];
  for (const inset of outline.insets) {
    const [x, y, width, height] = inset.frame;
    out.push(
      `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="none" stroke="#b8c1cc" stroke-width="1"/>` +
        `<text x="${x + 3}" y="${y + height + 12}" font-size="11" fill="#4a5866">${escapeXml(inset.label)}</text>`,
    );
  }
  out.push(
    '<g class="districts" stroke="#ffffff" stroke-width="0.5" stroke-linejoin="round" fill-rule="evenodd">',
  );
  for (const district of outline.districts) {
    const count = options.counts[district.geoid] ?? 0;
    const { label } = options.describe(district.geoid);
    const title = `${label}: ${formatNumber(count)} ${count === 1 ? 'signature' : 'signatures'}`;
    out.push(
      `<path d="${district.d}" fill="${colourOf(count, classes)}" data-geoid="${escapeXml(district.geoid)}"><title>${escapeXml(title)}</title></path>`,
    );
  }
  out.push('</g></svg>');
  return { map: out.join(''), legend: mapLegend(classes, `${base}-legend`), classes };
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
  const items = [
    { colour: NO_DATA, text: 'None' },
    ...classes.map((range) => ({ colour: range.colour, text: rangeText(range) })),
  ];
  return (
    `<div class="map-legend" id="${safeId(id)}"><p class="map-legend-title">Signatures per district</p><ul>` +
    items
      .map(
        (item) =>
          `<li><svg class="swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">` +
          `<rect x=".5" y=".5" width="15" height="15" fill="${item.colour}" stroke="#8593a3"/></svg>${escapeXml(item.text)}</li>`,
      )
      .join('') +
    '</ul></div>'
  );
}

// ---------------------------------------------------------------------------------------------
// Built once per snapshot

/** Reads the snapshot's congressional districts a page at a time and builds their outline. */
export async function loadMapOutline(db: Database, snapshotId: number): Promise<MapOutline> {
  const builder = new MapOutlineBuilder();
  let after = '';
  for (;;) {
    const rows = await db
      .select({ geoid: repDistricts.geoid, geometry: repDistricts.geometry })
      .from(repDistricts)
      .where(
        and(
          eq(repDistricts.snapshotId, snapshotId),
          eq(repDistricts.layer, 'cd'),
          gt(repDistricts.geoid, after),
        ),
      )
      .orderBy(asc(repDistricts.geoid))
      .limit(50);
    for (const row of rows) {
      if (!row.geometry) continue;
      const copy = new Uint8Array(row.geometry.byteLength);
      copy.set(row.geometry);
      builder.add(row.geoid, new Int32Array(copy.buffer));
    }
    if (rows.length < 50) break;
    after = rows[rows.length - 1]!.geoid;
    // Other requests (and, embedded, other queries on the one connection) go on between pages.
    await nextTurn();
  }
  return builder.finish();
}

/**
 * The outline of the active snapshot, built on first use and again after an import activates a
 * new snapshot; requests meanwhile share the one build.
 */
export class DistrictMapCache {
  private cached: { snapshotId: number; outline: Promise<MapOutline> } | undefined;

  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
  ) {}

  async outline(): Promise<MapOutline | null> {
    const snapshotId = await activeSnapshotId(this.db);
    if (snapshotId === null) return null;
    if (this.cached?.snapshotId !== snapshotId) {
      const started = performance.now();
      const outline = loadMapOutline(this.db, snapshotId).then((built) => {
        this.logger?.info(
          {
            snapshot: snapshotId,
            districts: built.districts.length,
            points: built.points,
            ms: Math.round(performance.now() - started),
          },
          'district map built',
        );
        return built;
      });
      const entry = { snapshotId, outline };
      this.cached = entry;
      outline.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
    }
    return this.cached.outline;
  }
}
