import {
  encodeGeometry,
  geometryFromBytes,
  geometryToBytes,
  GeometryError,
  PolygonLayer,
  type GeoJsonGeometry,
} from '../../src/representatives/geometry';

type Ring = number[][];

/** A closed axis-aligned square ring, counter-clockwise, from its west-south and east-north corners. */
const square = (west: number, south: number, east: number, north: number): Ring => [
  [west, south],
  [east, south],
  [east, north],
  [west, north],
  [west, south],
];

const polygon = (...rings: Ring[]): GeoJsonGeometry => ({ type: 'Polygon', coordinates: rings });
const multiPolygon = (...polygons: Ring[][]): GeoJsonGeometry => ({
  type: 'MultiPolygon',
  coordinates: polygons,
});

/**
 * A star-shaped ring around (lng, lat) with `points - 1` distinct vertices, alternating between an
 * outer and an inner radius: its edges zig-zag, so which side of the boundary a point is on depends
 * on the exact edge, in every chunk of the ring.
 */
function starRing(lng: number, lat: number, points: number, outer: number, inner: number): Ring {
  const ring: Ring = [];
  const vertices = points - 1;
  for (let i = 0; i < vertices; i++) {
    const angle = (2 * Math.PI * i) / vertices;
    const radius = i % 2 === 0 ? outer : inner;
    ring.push([
      Number((lng + radius * Math.cos(angle)).toFixed(6)),
      Number((lat + radius * Math.sin(angle)).toFixed(6)),
    ]);
  }
  ring.push([...ring[0]!]);
  return ring;
}

/** The textbook even-odd test, over the same rounded coordinates, as an independent oracle. */
function referenceContains(rings: Ring[], lng: number, lat: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0; i < ring.length - 1; i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[i + 1]!;
      if (yi! > lat !== yj! > lat && lng < ((xj! - xi!) * (lat - yi!)) / (yj! - yi!) + xi!)
        inside = !inside;
    }
  }
  return inside;
}

describe('encodeGeometry', () => {
  it('encodes a Polygon as [polygons, rings, points, x0, y0, …] in millionths of a degree', () => {
    const encoded = encodeGeometry(polygon(square(-105.2, 39.6, -104.8, 40)));
    expect(Array.from(encoded)).toEqual([
      ...[1, 1, 5],
      ...[-105_200_000, 39_600_000, -104_800_000, 39_600_000, -104_800_000, 40_000_000],
      ...[-105_200_000, 40_000_000, -105_200_000, 39_600_000],
    ]);
  });

  it('encodes a MultiPolygon with holes part by part', () => {
    const encoded = encodeGeometry(
      multiPolygon([square(0, 0, 10, 10), square(4, 4, 6, 6)], [square(20, 0, 30, 10)]),
    );
    expect(encoded[0]).toBe(2);
    expect(encoded[1]).toBe(2); // first polygon: outer ring and one hole
    expect(encoded[2]).toBe(5);
    expect(encoded[3 + 10]).toBe(5); // the hole's point count follows the outer ring's 5 points
    expect(encoded[3 + 10 + 1 + 10]).toBe(1); // second polygon: one ring
    expect(encoded.length).toBe(1 + (1 + 1 + 10 + 1 + 10) + (1 + 1 + 10));
  });

  it('survives the trip through database bytes, even when they are not aligned', () => {
    const encoded = encodeGeometry(polygon(square(-150, 61, -149, 61.5)));
    const bytes = geometryToBytes(encoded);
    const unaligned = Buffer.alloc(bytes.byteLength + 1);
    unaligned.set(bytes, 1);
    expect(Array.from(geometryFromBytes(unaligned.subarray(1)))).toEqual(Array.from(encoded));
  });

  it.each([
    ['a Point', { type: 'Point', coordinates: [1, 2] }, /non-empty Polygon or MultiPolygon/],
    ['no geometry at all', null, /non-empty Polygon or MultiPolygon/],
    [
      'an empty MultiPolygon',
      { type: 'MultiPolygon', coordinates: [] },
      /non-empty Polygon or MultiPolygon/,
    ],
    [
      'a polygon without rings',
      { type: 'MultiPolygon', coordinates: [[]] },
      /a polygon has no rings/,
    ],
    [
      'a ring of three positions',
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [0, 0],
          ],
        ],
      },
      /fewer than 4 positions/,
    ],
    [
      'a longitude beyond 180',
      { type: 'Polygon', coordinates: [square(170, 0, 181, 1)] },
      /not a longitude\/latitude pair: \[181,0\]/,
    ],
    [
      'a latitude beyond 90',
      { type: 'Polygon', coordinates: [square(0, 80, 1, 91)] },
      /not a longitude\/latitude pair/,
    ],
    [
      'a text coordinate',
      {
        type: 'Polygon',
        coordinates: [
          [
            ['0', 0],
            [1, 0],
            [1, 1],
            ['0', 0],
          ],
        ],
      },
      /not a longitude\/latitude pair/,
    ],
    [
      'a null position',
      { type: 'Polygon', coordinates: [[[0, 0], [1, 0], null, [0, 0]]] },
      /not a longitude\/latitude pair: null/,
    ],
    [
      'a flat list of numbers as a ring',
      { type: 'Polygon', coordinates: [[0, 0, 1, 0, 1, 1, 0, 0]] },
      /not a longitude\/latitude pair: 0/,
    ],
    [
      'a NaN coordinate',
      {
        type: 'Polygon',
        coordinates: [
          [
            [Number.NaN, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
      /not a longitude\/latitude pair/,
    ],
  ])('rejects %s with a GeometryError', (_what, geometry, message) => {
    let thrown: unknown;
    try {
      encodeGeometry(geometry as GeoJsonGeometry);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GeometryError);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('PolygonLayer.find', () => {
  // A: a square with a square hole; B: a MultiPolygon whose second part fills A's hole (an
  // enclave, as Census districts have them); C: a square with an empty hole; D: no shape.
  const layer = new PolygonLayer(
    ['A', 'B', 'C', 'D'],
    [
      encodeGeometry(polygon(square(0, 0, 10, 10), square(4, 4, 6, 6))),
      encodeGeometry(multiPolygon([square(10, 0, 20, 10)], [square(4, 4, 6, 6)])),
      encodeGeometry(polygon(square(30, 0, 40, 10), square(33, 3, 37, 7))),
      null,
    ],
  );

  it('finds the district containing a point', () => {
    expect(layer.find(1, 1)).toBe('A');
    expect(layer.find(9.5, 5)).toBe('A');
    expect(layer.find(15, 5)).toBe('B');
    expect(layer.find(31, 9)).toBe('C');
  });

  it('finds nothing outside every district, including inside the bounding box of none', () => {
    expect(layer.find(-1, 5)).toBeUndefined();
    expect(layer.find(25, 5)).toBeUndefined();
    expect(layer.find(5, 11)).toBeUndefined();
    expect(layer.find(-120, 45)).toBeUndefined();
  });

  it('finds nothing in a hole, and the enclave district in a hole that another district fills', () => {
    expect(layer.find(35, 5)).toBeUndefined();
    expect(layer.find(5, 5)).toBe('B');
    expect(layer.find(4.1, 5.9)).toBe('B');
    expect(layer.find(3.9, 5)).toBe('A');
  });

  it('counts districts, parts and points (a district without a shape has none)', () => {
    expect(layer.stats).toMatchObject({ districts: 4, parts: 4, points: 30 });
    expect(layer.stats.bytes).toBeGreaterThan(0);
  });

  it.each([33, 34, 65, 301, 1000])(
    'agrees with the even-odd rule on a %i-point star ring (edges in chunks of 32)',
    (points) => {
      const outer = starRing(-100, 40, points, 1, 0.6);
      const hole = starRing(-100, 40, 41, 0.3, 0.2);
      const star = new PolygonLayer(['star'], [encodeGeometry(polygon(outer, hole))]);
      let inside = 0;
      let outside = 0;
      for (let i = 0; i < 4000; i++) {
        // A deterministic spread of points over the star's box, many of them close to its edges.
        const angle = (i * 2.399963) % (2 * Math.PI);
        const radius = 0.05 + ((i * 0.618034) % 1) * 1.05;
        const lng = Number((-100 + radius * Math.cos(angle)).toFixed(6));
        const lat = Number((40 + radius * Math.sin(angle)).toFixed(6));
        const expected = referenceContains([outer, hole], lng, lat);
        expect([lng, lat, star.find(lng, lat)]).toEqual([lng, lat, expected ? 'star' : undefined]);
        if (expected) inside++;
        else outside++;
      }
      expect(inside).toBeGreaterThan(500);
      expect(outside).toBeGreaterThan(500);
    },
  );

  it('tells apart points just inside and just outside a long ring, on every side', () => {
    const ring = starRing(10, 50, 401, 2, 2); // a 400-gon: a circle of radius 2°
    const circle = new PolygonLayer(['circle'], [encodeGeometry(polygon(ring))]);
    for (let i = 0; i < 360; i += 7) {
      const angle = (i * Math.PI) / 180;
      expect(circle.find(10 + 1.98 * Math.cos(angle), 50 + 1.98 * Math.sin(angle))).toBe('circle');
      expect(circle.find(10 + 2.01 * Math.cos(angle), 50 + 2.01 * Math.sin(angle))).toBeUndefined();
    }
  });
});

describe('PolygonLayer.nearest', () => {
  // Two squares at latitude 61 (where a degree of longitude is about 54 km), 0.1° of longitude apart.
  const layer = new PolygonLayer(
    ['west', 'east'],
    [
      encodeGeometry(polygon(square(-150, 61, -149, 61.5))),
      encodeGeometry(polygon(square(-148.9, 61, -148, 61.5))),
    ],
  );
  const kmPerDegreeLng = 111.32 * Math.cos((61.25 * Math.PI) / 180);

  it('finds the district whose boundary is within maxKm', () => {
    // 0.02° east of the west square: about 1.07 km from it and 4.3 km from the east square.
    expect(layer.find(-148.98, 61.25)).toBeUndefined();
    expect(0.02 * kmPerDegreeLng).toBeCloseTo(1.07, 2);
    expect(layer.nearest(-148.98, 61.25, 2)).toBe('west');
    expect(layer.nearest(-148.98, 61.25, 1.2)).toBe('west');
  });

  it('picks the nearer of two districts', () => {
    expect(layer.nearest(-148.93, 61.25, 5)).toBe('east');
    expect(layer.nearest(-148.97, 61.25, 5)).toBe('west');
  });

  it('measures distance to a corner, not only to a side', () => {
    // 0.01° east and 0.01° north of the west square's north-east corner: about 1.17 km away.
    expect(layer.nearest(-148.99, 61.51, 1.3)).toBe('west');
    expect(layer.nearest(-148.99, 61.51, 1.0)).toBeUndefined();
  });

  it('finds nothing beyond maxKm', () => {
    expect(layer.nearest(-148.98, 61.25, 1)).toBeUndefined();
    expect(layer.nearest(-151, 61.25, 5)).toBeUndefined();
    expect(layer.nearest(-140, 30, 5)).toBeUndefined();
  });
});
