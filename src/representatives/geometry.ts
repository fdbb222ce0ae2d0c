import RBush from 'rbush';

/**
 * District shapes, held compactly: coordinates are millionths of a degree (the precision the
 * Census files are published at) in one Int32Array per layer, and found through an R-tree over
 * polygon parts. A GeoJSON Polygon or MultiPolygon is encoded per district as
 * `[polygons, (rings, (points, x0, y0, x1, y1, …)…)…]` in an Int32Array, which is also how it is
 * stored in the database.
 */
const SCALE = 1e6;

type Ring = number[][];
export type GeoJsonGeometry =
  { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

export class GeometryError extends Error {}

export function encodeGeometry(geometry: GeoJsonGeometry): Int32Array {
  const polygons =
    geometry?.type === 'Polygon'
      ? [geometry.coordinates]
      : geometry?.type === 'MultiPolygon'
        ? geometry.coordinates
        : null;
  if (!Array.isArray(polygons) || polygons.length === 0)
    throw new GeometryError('geometry must be a non-empty Polygon or MultiPolygon');
  const out: number[] = [polygons.length];
  for (const polygon of polygons) {
    if (!Array.isArray(polygon) || polygon.length === 0)
      throw new GeometryError('a polygon has no rings');
    out.push(polygon.length);
    for (const ring of polygon) {
      if (!Array.isArray(ring) || ring.length < 4)
        throw new GeometryError('a ring has fewer than 4 positions');
      out.push(ring.length);
      for (const position of ring) {
        const [lng, lat] = (Array.isArray(position) ? position : []) as [unknown, unknown];
        if (
          typeof lng !== 'number' ||
          typeof lat !== 'number' ||
          !(Math.abs(lng) <= 180) ||
          !(Math.abs(lat) <= 90)
        ) {
          throw new GeometryError(
            `a position is not a longitude/latitude pair: ${JSON.stringify(position).slice(0, 60)}`,
          );
        }
        out.push(Math.round(lng * SCALE), Math.round(lat * SCALE));
      }
    }
  }
  return Int32Array.from(out);
}

/** Reads an encoded geometry back from the bytes the database returns (which need not be aligned). */
export function geometryFromBytes(bytes: Uint8Array): Int32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Int32Array(copy.buffer);
}

export function geometryToBytes(encoded: Int32Array): Uint8Array {
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

interface PartBox {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  part: number;
}

/** Edges are grouped in chunks with their extent, so a ray test skips most of a long coastline. */
const CHUNK = 32;

export interface LayerStats {
  districts: number;
  parts: number;
  points: number;
  bytes: number;
}

/**
 * One layer of districts (congressional, state upper or state lower), ready for point queries.
 * Each polygon part (an outer ring and its holes) is one entry of the R-tree; inside a part the
 * even-odd rule over all its rings decides.
 */
export class PolygonLayer {
  private readonly coords: Int32Array;
  /** Per ring: first point, end point (exclusive), first chunk. */
  private readonly ringStart: Int32Array;
  private readonly ringEnd: Int32Array;
  private readonly ringChunk: Int32Array;
  /** Per chunk: minY, maxY, maxX of its edges. */
  private readonly chunks: Int32Array;
  /** Per part: first ring, end ring (exclusive), district index. */
  private readonly partRingStart: Int32Array;
  private readonly partRingEnd: Int32Array;
  private readonly partDistrict: Int32Array;
  private readonly tree = new RBush<PartBox>();

  constructor(
    readonly keys: readonly string[],
    geometries: ReadonlyArray<Int32Array | null>,
  ) {
    let points = 0;
    let rings = 0;
    let parts = 0;
    let chunks = 0;
    for (const geometry of geometries) {
      if (!geometry) continue;
      walk(geometry, {
        part: () => parts++,
        ring: (_offset, count) => {
          rings++;
          points += count;
          chunks += Math.ceil((count - 1) / CHUNK);
        },
      });
    }
    this.coords = new Int32Array(points * 2);
    this.ringStart = new Int32Array(rings);
    this.ringEnd = new Int32Array(rings);
    this.ringChunk = new Int32Array(rings);
    this.chunks = new Int32Array(chunks * 3);
    this.partRingStart = new Int32Array(parts);
    this.partRingEnd = new Int32Array(parts);
    this.partDistrict = new Int32Array(parts);

    const boxes: PartBox[] = [];
    let point = 0;
    let ring = 0;
    let part = -1;
    let chunk = 0;
    geometries.forEach((geometry, district) => {
      if (!geometry) return;
      walk(geometry, {
        part: () => {
          part++;
          this.partRingStart[part] = ring;
          this.partRingEnd[part] = ring;
          this.partDistrict[part] = district;
        },
        ring: (offset, count, isOuter) => {
          this.coords.set(geometry.subarray(offset, offset + count * 2), point * 2);
          this.ringStart[ring] = point;
          this.ringEnd[ring] = point + count;
          this.ringChunk[ring] = chunk;
          for (let first = point; first < point + count - 1; first += CHUNK) {
            const last = Math.min(first + CHUNK, point + count - 1);
            let minY = Infinity;
            let maxY = -Infinity;
            let maxX = -Infinity;
            for (let p = first; p <= last; p++) {
              const x = this.coords[p * 2]!;
              const y = this.coords[p * 2 + 1]!;
              if (y < minY) minY = y;
              if (y > maxY) maxY = y;
              if (x > maxX) maxX = x;
            }
            this.chunks[chunk * 3] = minY;
            this.chunks[chunk * 3 + 1] = maxY;
            this.chunks[chunk * 3 + 2] = maxX;
            chunk++;
          }
          if (isOuter) boxes.push({ ...this.ringBox(ring), part });
          point += count;
          ring++;
          this.partRingEnd[part] = ring;
        },
      });
    });
    this.tree.load(boxes);
  }

  get stats(): LayerStats {
    const typed = [
      this.coords,
      this.ringStart,
      this.ringEnd,
      this.ringChunk,
      this.chunks,
      this.partRingStart,
      this.partRingEnd,
      this.partDistrict,
    ];
    return {
      districts: this.keys.length,
      parts: this.partDistrict.length,
      points: this.coords.length / 2,
      bytes: typed.reduce((sum, array) => sum + array.byteLength, 0),
    };
  }

  /** The key of the district containing the point, if any. */
  find(lng: number, lat: number): string | undefined {
    const x = lng * SCALE;
    const y = lat * SCALE;
    for (const box of this.tree.search({ minX: x, minY: y, maxX: x, maxY: y })) {
      if (this.partContains(box.part, x, y)) return this.keys[this.partDistrict[box.part]!];
    }
    return undefined;
  }

  /**
   * The key of the district whose boundary is nearest to the point, within `maxKm`: for a point
   * just off a generalised coastline or on a line between districts.
   */
  nearest(lng: number, lat: number, maxKm: number): string | undefined {
    const x = lng * SCALE;
    const y = lat * SCALE;
    const kmPerUnitY = 111.32 / SCALE;
    const kmPerUnitX = kmPerUnitY * Math.max(0.05, Math.cos((lat * Math.PI) / 180));
    const reachX = maxKm / kmPerUnitX;
    const reachY = maxKm / kmPerUnitY;
    let best: number | undefined;
    let bestKm = maxKm;
    for (const box of this.tree.search({
      minX: x - reachX,
      minY: y - reachY,
      maxX: x + reachX,
      maxY: y + reachY,
    })) {
      for (let ring = this.partRingStart[box.part]!; ring < this.partRingEnd[box.part]!; ring++) {
        const end = this.ringEnd[ring]! - 1;
        for (let p = this.ringStart[ring]!; p < end; p++) {
          const km = segmentDistanceKm(x, y, this.coords, p, kmPerUnitX, kmPerUnitY);
          if (km < bestKm) {
            bestKm = km;
            best = this.partDistrict[box.part];
          }
        }
      }
    }
    return best === undefined ? undefined : this.keys[best];
  }

  private ringBox(ring: number) {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let p = this.ringStart[ring]!; p < this.ringEnd[ring]!; p++) {
      const px = this.coords[p * 2]!;
      const py = this.coords[p * 2 + 1]!;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
    }
    return { minX, minY, maxX, maxY };
  }

  /** Even-odd rule: a ray towards +x crosses the part's rings an odd number of times. */
  private partContains(part: number, x: number, y: number): boolean {
    const coords = this.coords;
    const chunks = this.chunks;
    let inside = false;
    for (let ring = this.partRingStart[part]!; ring < this.partRingEnd[part]!; ring++) {
      const start = this.ringStart[ring]!;
      const last = this.ringEnd[ring]! - 1;
      let chunk = this.ringChunk[ring]!;
      for (let first = start; first < last; first += CHUNK, chunk++) {
        if (y < chunks[chunk * 3]! || y > chunks[chunk * 3 + 1]! || x > chunks[chunk * 3 + 2]!)
          continue;
        const end = Math.min(first + CHUNK, last);
        for (let p = first; p < end; p++) {
          const yi = coords[p * 2 + 1]!;
          const yj = coords[p * 2 + 3]!;
          if (yi > y === yj > y) continue;
          const xi = coords[p * 2]!;
          const xj = coords[p * 2 + 2]!;
          if (x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
      }
    }
    return inside;
  }
}

function walk(
  geometry: Int32Array,
  visit: { part: () => void; ring: (offset: number, count: number, isOuter: boolean) => void },
): void {
  let i = 0;
  const polygons = geometry[i++]!;
  for (let polygon = 0; polygon < polygons; polygon++) {
    visit.part();
    const rings = geometry[i++]!;
    for (let ring = 0; ring < rings; ring++) {
      const count = geometry[i++]!;
      visit.ring(i, count, ring === 0);
      i += count * 2;
    }
  }
}

function segmentDistanceKm(
  x: number,
  y: number,
  coords: Int32Array,
  p: number,
  kx: number,
  ky: number,
): number {
  const ax = coords[p * 2]! * kx;
  const ay = coords[p * 2 + 1]! * ky;
  const bx = coords[p * 2 + 2]! * kx;
  const by = coords[p * 2 + 3]! * ky;
  const px = x * kx;
  const py = y * ky;
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSquared = dx * dx + dy * dy;
  const t =
    lengthSquared === 0
      ? 0
      : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / lengthSquared));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
