import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeGeometry, type GeoJsonGeometry } from '../../src/representatives/geometry';
import {
  albers,
  buildMapOutline,
  colourClasses,
  colourOf,
  fitInset,
  INSETS,
  insetOf,
  MAP_HEIGHT,
  MAP_WIDTH,
  NO_DATA,
  PALETTE,
  projectPoint,
  renderDistrictMap,
} from '../../src/graphics/district-map';
import { renderStateMap, STATUS_STYLE, type BanStatus } from '../../src/graphics/state-map';

/** The rings of our path data (`M x y l dx dy … z`), as absolute points. */
function ringsOf(d: string): Array<Array<[number, number]>> {
  return d
    .split('z')
    .filter((part) => part.startsWith('M'))
    .map((part) => {
      const numbers = (part.match(/-?(?:\d+\.?\d*|\.\d+)/g) ?? []).map(Number);
      const ring: Array<[number, number]> = [[numbers[0]!, numbers[1]!]];
      for (let i = 2; i < numbers.length; i += 2) {
        const [x, y] = ring[ring.length - 1]!;
        ring.push([x + numbers[i]!, y + numbers[i + 1]!]);
      }
      return ring;
    });
}

const inside = ([x, y]: [number, number], [bx, by, bw, bh]: readonly number[]) =>
  x >= bx! && x <= bx! + bw! && y >= by! && y <= by! + bh!;
const fitted = Object.fromEntries(INSETS.map((inset) => [inset.key, fitInset(inset)]));

describe('the Albers equal-area projection (d3-geo)', () => {
  const lower48 = albers({ lng0: -96, lat0: 37.5, lat1: 29.5, lat2: 45.5 });
  const at = (lng: number, lat: number) => lower48([lng, lat])!;

  it('puts the origin at its translation, north up and east to the right', () => {
    const [x0, y0] = at(-96, 37.5);
    const [tx, ty] = lower48.translate();
    expect(Math.abs(x0 - tx)).toBeLessThan(1e-9);
    expect(Math.abs(y0 - ty)).toBeLessThan(1e-9);
    expect(at(-96, 45)[1]).toBeLessThan(y0);
    expect(at(-80, 37.5)[0]).toBeGreaterThan(x0);
  });

  it('keeps areas: 1° cells project to areas in proportion to theirs on the sphere, wherever they are', () => {
    const cellArea = (west: number, south: number) => {
      // The cell's outline, densely sampled (parallels project to arcs).
      const points: Array<[number, number]> = [];
      const steps = 200;
      for (let i = 0; i <= steps; i++) points.push(at(west + i / steps, south));
      for (let i = 0; i <= steps; i++) points.push(at(west + 1 - i / steps, south + 1));
      let twice = 0;
      for (let i = 0; i < points.length; i++) {
        const [x1, y1] = points[i]!;
        const [x2, y2] = points[(i + 1) % points.length]!;
        twice += x1 * y2 - x2 * y1;
      }
      return Math.abs(twice) / 2;
    };
    const sphere = (south: number) =>
      (Math.PI / 180) *
      (Math.sin(((south + 1) * Math.PI) / 180) - Math.sin((south * Math.PI) / 180));
    const ratios = (
      [
        [-120, 25],
        [-96, 37],
        [-70, 48],
        [-150, 60],
      ] as const
    ).map(([west, south]) => cellArea(west, south) / sphere(south));
    for (const ratio of ratios) expect(ratio / ratios[0]!).toBeCloseTo(1, 5);
  });

  it('wraps longitudes around the central meridian, so the Aleutians stay next to Alaska', () => {
    const alaska = albers({ lng0: -154, lat0: 50, lat1: 55, lat2: 65 });
    const [x1, y1] = alaska([172.9, 52.9])!;
    const [x2, y2] = alaska([172.9 - 360, 52.9])!;
    expect(x1).toBeCloseTo(x2, 9);
    expect(y1).toBeCloseTo(y2, 9);
    expect(x1).toBeLessThan(alaska([-150, 61])![0]);
  });
});

describe('the map frame', () => {
  const places: Array<[string, string, number, number]> = [
    ['conus', 'Seattle', -122.33, 47.61],
    ['conus', 'Denver', -104.99, 39.74],
    ['conus', 'Key West', -81.78, 24.56],
    ['conus', 'Bangor', -68.77, 44.8],
    ['conus', 'San Diego', -117.16, 32.72],
    ['ak', 'Anchorage', -149.9, 61.22],
    ['ak', 'Attu (west of 180°)', 173.2, 52.9],
    ['ak', 'Utqiagvik', -156.79, 71.29],
    ['hi', 'Honolulu', -157.86, 21.31],
    ['hi', 'Hilo', -155.09, 19.72],
    ['dc', 'the Capitol', -77.009, 38.89],
    ['pr', 'San Juan', -66.1, 18.47],
    ['vi', 'Charlotte Amalie', -64.93, 18.34],
    ['gu', 'Hagåtña', 144.75, 13.48],
    ['mp', 'Saipan', 145.75, 15.19],
    ['as', 'Pago Pago', -170.7, -14.28],
  ];

  it.each(places)('draws %s (%s) inside its box, within the SVG', (key, _name, lng, lat) => {
    const point = fitted[key]!.project(lng, lat);
    expect(inside(point, fitted[key]!.inset.box)).toBe(true);
    expect(inside(point, [0, 0, MAP_WIDTH, MAP_HEIGHT])).toBe(true);
  });

  it('keeps the lower 48 the right way round', () => {
    const at = (lng: number, lat: number) => fitted.conus!.project(lng, lat);
    expect(at(-122.33, 47.61)[1]).toBeLessThan(at(-118.24, 34.05)[1]); // Seattle above Los Angeles
    expect(at(-74, 40.71)[0]).toBeGreaterThan(at(-87.63, 41.88)[0]); // New York right of Chicago
  });

  it('does not let insets overlap one another', () => {
    const framed = INSETS.filter((inset) => inset.framed);
    for (const a of framed) {
      for (const b of framed) {
        if (a === b) continue;
        const [ax, ay, aw, ah] = a.box;
        const [bx, by, bw, bh] = b.box;
        expect(ax + aw <= bx || bx + bw <= ax || ay + ah <= by || by + bh <= ay).toBe(true);
      }
    }
  });

  it('assigns districts to insets by their state', () => {
    expect(
      ['0801', '0200', '1501', '1198', '7298', '7898', '6698', '6998', '6098', '3612'].map(insetOf),
    ).toEqual(['conus', 'ak', 'hi', 'dc', 'pr', 'vi', 'gu', 'mp', 'as', 'conus']);
  });
});

describe('simplification as a topology', () => {
  /** Two districts side by side in Colorado whose shared border wiggles (a few pixels at this scale). */
  const border: number[][] = [];
  for (let i = 0; i <= 80; i++)
    border.push([-104 + 0.2 * Math.sin(i * 0.7) * Math.sin(i * 0.13), 39 + i / 80]);
  const west: GeoJsonGeometry = {
    type: 'Polygon',
    coordinates: [[[-105, 39], ...border, [-105, 40], [-105, 39]]],
  };
  const east: GeoJsonGeometry = {
    type: 'Polygon',
    coordinates: [[[-103, 39], [-103, 40], ...[...border].reverse(), [-103, 39]]],
  };
  const outline = buildMapOutline([
    { geoid: '0807', geometry: encodeGeometry(west) },
    { geoid: '0808', geometry: encodeGeometry(east) },
  ]);
  const points = (geoid: string) =>
    new Set(
      ringsOf(outline.districts.find((district) => district.geoid === geoid)!.d)
        .flat()
        .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`),
    );

  it('draws the border two districts share with the same points on both sides: no slivers, no gaps', () => {
    const a = points('0807');
    const b = points('0808');
    const [left] = fitted.conus!.project(-104.25, 39.5);
    const [right] = fitted.conus!.project(-103.75, 39.5);
    const onBorder = (set: Set<string>) =>
      [...set].filter((point) => {
        const x = Number(point.split(',')[0]);
        return x > left && x < right;
      });
    expect(onBorder(a).length).toBeGreaterThan(4);
    expect(onBorder(a).sort()).toEqual(onBorder(b).sort());
  });

  it('dissolves the districts of a state into its shape: one ring, with no border inside it', () => {
    expect(outline.states.map((state) => [state.fips, state.inset])).toEqual([['08', 'conus']]);
    const rings = ringsOf(outline.states[0]!.d);
    expect(rings).toHaveLength(1);
    // The shared border's points between its ends are gone; the outer corners stay.
    const [left] = fitted.conus!.project(-104.25, 39.5);
    const [right] = fitted.conus!.project(-103.75, 39.5);
    const [, top] = fitted.conus!.project(-104, 40);
    const [, bottom] = fitted.conus!.project(-104, 39);
    const inner = rings[0]!.filter(
      ([x, y]) => x > left && x < right && y > top + 1 && y < bottom - 1,
    );
    expect(inner).toEqual([]);
    const [westX] = fitted.conus!.project(-105, 39.5);
    const [eastX] = fitted.conus!.project(-103, 39.5);
    const xs = rings[0]!.map(([x]) => x);
    // Parallels are arcs: the corners lie within a pixel or two of the edges' middles.
    expect(Math.abs(Math.min(...xs) - westX)).toBeLessThan(2);
    expect(Math.abs(Math.max(...xs) - eastX)).toBeLessThan(2);
  });

  it('drops points that change the shape by less than the tolerance', () => {
    expect(outline.points).toBeLessThan(outline.sourcePoints);
    // A dense straight edge keeps only its ends.
    const edge: number[][] = [];
    for (let i = 0; i <= 100; i++) edge.push([-105 + i / 100, 39]);
    const square: GeoJsonGeometry = {
      type: 'Polygon',
      coordinates: [[...edge, [-104, 40], [-105, 40], [-105, 39]]],
    };
    const simplified = buildMapOutline([{ geoid: '0801', geometry: encodeGeometry(square) }]);
    expect(ringsOf(simplified.districts[0]!.d)[0]!.length).toBeLessThanOrEqual(5);
  });
});

describe('buildMapOutline and renderDistrictMap on the fixture districts', () => {
  const file = path.join(
    __dirname,
    '..',
    'fixtures',
    'representatives',
    'boundaries',
    'cd119_500k.geojson',
  );
  const features = (
    JSON.parse(readFileSync(file, 'utf8')) as {
      features: Array<{ properties: { GEOID: string }; geometry: GeoJsonGeometry }>;
    }
  ).features;
  const outline = buildMapOutline([
    ...features.map((feature) => ({
      geoid: feature.properties.GEOID,
      geometry: encodeGeometry(feature.geometry),
    })),
    { geoid: '0803', geometry: null },
  ]);

  it('has every district with geometry, in its inset, with its holes', () => {
    expect(outline.districts.map((district) => [district.geoid, district.inset])).toEqual([
      ['0200', 'ak'],
      ['0801', 'conus'],
      ['0802', 'conus'],
      ['1198', 'dc'],
    ]);
    expect(outline.insets.map((inset) => inset.key)).toEqual(['ak', 'dc']);
    const byGeoid = Object.fromEntries(
      outline.districts.map((district) => [district.geoid, ringsOf(district.d)]),
    );
    expect(byGeoid['0801']).toHaveLength(2); // the outer ring and its hole
    expect(byGeoid['0802']).toHaveLength(2); // two parts
    for (const district of outline.districts) {
      for (const ring of byGeoid[district.geoid]!) {
        for (const point of ring)
          expect(inside(point, fitted[district.inset]!.inset.box)).toBe(true);
      }
    }
    // Colorado's square is drawn where Colorado is.
    const denver = fitted.conus!.project(-104.99, 39.74);
    const [[first]] = byGeoid['0801']! as [[[number, number]]];
    expect(Math.abs(first[0] - denver[0])).toBeLessThan(15);
    expect(Math.abs(first[1] - denver[1])).toBeLessThan(15);
  });

  it('has each state with districts as one shape, DC included, in its inset', () => {
    expect(outline.states.map((state) => [state.fips, state.inset])).toEqual([
      ['02', 'ak'],
      ['08', 'conus'],
      ['11', 'dc'],
    ]);
    for (const state of outline.states) {
      const rings = ringsOf(state.d);
      expect(rings.length).toBeGreaterThan(0);
      for (const ring of rings)
        for (const point of ring) expect(inside(point, fitted[state.inset]!.inset.box)).toBe(true);
    }
    // Colorado is its two districts dissolved: fewer rings than theirs together (0801 has a hole
    // that a part of 0802 fills; their shared borders go).
    const districtRings = outline.districts
      .filter((district) => district.geoid.startsWith('08'))
      .flatMap((district) => ringsOf(district.d));
    const stateRings = ringsOf(outline.states.find((state) => state.fips === '08')!.d);
    expect(stateRings.length).toBeGreaterThan(0);
    expect(stateRings.length).toBeLessThan(districtRings.length);
  });

  it('projects a point (a ZIP code’s centre) as the outline does, in its state’s inset, or not at all outside it', () => {
    const denver = fitted.conus!.project(-104.99, 39.74);
    const projected = projectPoint('08', -104.99, 39.74)!;
    expect(projected[0]).toBeCloseTo(denver[0], 1);
    expect(projected[1]).toBeCloseTo(denver[1], 1);
    const capitol = projectPoint('11', -77.009, 38.89)!;
    expect(inside(capitol, fitted.dc!.inset.box)).toBe(true);
    // Denver is not in Hawaii's box.
    expect(projectPoint('15', -104.99, 39.74)).toBeNull();
  });

  it('draws the states by ban status, hatched for a local ban, with markers, titles and a legend in words', () => {
    const statuses: Record<string, BanStatus> = { '08': 'local', '11': 'statewide' };
    const { map: svg, legend } = renderStateMap(outline, {
      id: 'scorecard map',
      title: 'Where <bans> are',
      description: 'One statewide, one local.',
      describeState: (fips) =>
        fips === '99'
          ? undefined
          : {
              status: statuses[fips] ?? 'none',
              label: `State ${fips} & co: ${statuses[fips] ?? 'none'}`,
            },
      insetLabel: (key) => `Inset ${key}`,
      markers: [{ x: 300.5, y: 250, label: 'Boulder, CO <City>' }],
      legend: { statewide: 'Statewide', local: 'Local', none: 'None', marker: 'A place' },
    });
    expect(svg).toMatch(
      /^<svg [^>]*role="img"[^>]*aria-labelledby="scorecard-map-title scorecard-map-desc"/,
    );
    expect(svg).toContain('<title id="scorecard-map-title">Where &lt;bans&gt; are</title>');
    const fill = (status: string) =>
      [
        ...svg.matchAll(
          new RegExp(`fill="([^"]+)" data-status="${status}"><title>([^<]*)</title>`, 'g'),
        ),
      ].map((match) => [match[2], match[1]]);
    expect(fill('statewide')).toEqual([
      ['State 11 &amp; co: statewide', STATUS_STYLE.statewide.fill],
    ]);
    expect(fill('local')).toEqual([['State 08 &amp; co: local', 'url(#scorecard-map-hatch)']]);
    expect(fill('none')).toEqual([['State 02 &amp; co: none', STATUS_STYLE.none.fill]]);
    expect(svg).toContain('<pattern id="scorecard-map-hatch"');
    expect(svg).toContain(
      '<circle cx="300.5" cy="250" r="8"><title>Boulder, CO &lt;City&gt;</title></circle>',
    );
    expect(svg).toContain('>Inset ak</text>');
    expect(svg).not.toMatch(/<a\b|tabindex|style=/);
    expect([...legend.matchAll(/<\/svg> ([^<]*)<\/li>/g)].map((match) => match[1])).toEqual([
      'Statewide',
      'Local',
      'None',
      'A place',
    ]);
    expect(legend).toContain('fill="url(#scorecard-map-legend-hatch)"');
    expect(legend).toContain('<circle');
    expect(legend).not.toContain('style=');
  });

  it('colours each district by its count, titles it, links nothing (one image; the table is the way in), and escapes what comes from data', () => {
    const { map: svg, legend } = renderDistrictMap(outline, {
      id: 'map',
      title: 'Signatures by district <all>',
      counts: { '0801': 12, '0802': 1, '0200': 0 },
      describe: (geoid) => ({
        label: geoid === '0801' ? 'CO-1 · Ada "Test" <Well> & Co' : `District ${geoid}`,
      }),
    });
    expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*aria-labelledby="map-title map-desc"/);
    expect(svg).toContain('<title id="map-title">Signatures by district &lt;all&gt;</title>');
    expect(svg).toContain(
      '<title>CO-1 · Ada &quot;Test&quot; &lt;Well&gt; &amp; Co: 12 signatures</title>',
    );
    expect(svg).toContain('<title>District 0802: 1 signature</title>');
    expect(svg).toContain('<title>District 0200: 0 signatures</title>');
    const fill = (geoid: string) =>
      new RegExp(`fill="([^"]+)" data-geoid="${geoid}"`).exec(svg)?.[1];
    expect(fill('0200')).toBe(NO_DATA);
    expect(fill('1198')).toBe(NO_DATA);
    expect(fill('0801')).toBe(PALETTE[PALETTE.length - 1]);
    expect(fill('0802')).not.toBe(NO_DATA);
    expect(svg).not.toMatch(/<a\b|tabindex/);
    expect(svg).toContain('>Alaska</text>');
    expect(svg).not.toContain('style=');
    expect(legend).toContain('Signatures per district');
    expect(
      [...legend.matchAll(/<rect [^>]*fill="([^"]+)"[^>]*\/><\/svg>([^<]*)<\/li>/g)].map(
        (match) => [match[2], match[1]],
      ),
    ).toEqual([
      ['None', NO_DATA],
      ['1', fill('0802')],
      ['2–12', fill('0801')],
    ]);
    expect(legend).not.toContain('style=');
  });
});

describe('colourClasses', () => {
  it('splits the counts at rounded quantiles, from 1 to the largest', () => {
    const values = [0, 0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];
    const classes = colourClasses(values);
    expect(classes).toHaveLength(5);
    expect(classes[0]!.min).toBe(1);
    expect(classes.at(-1)!.max).toBe(1597);
    for (let i = 1; i < classes.length; i++) expect(classes[i]!.min).toBe(classes[i - 1]!.max + 1);
    expect(classes.map((range) => range.colour)).toEqual(PALETTE);
    expect(classes.map((range) => range.max)).toEqual([3, 13, 55, 230, 1597]);
    expect(colourOf(0, classes)).toBe(NO_DATA);
    expect(colourOf(14, classes)).toBe(PALETTE[2]);
  });

  it('uses fewer classes when there are few distinct counts, and none for no counts', () => {
    expect(colourClasses([1, 1, 1])).toEqual([{ min: 1, max: 1, colour: PALETTE[3] }]);
    expect(colourClasses([1, 2]).map((range) => [range.min, range.max])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(colourClasses([0, 0])).toEqual([]);
  });
});
