import { existsSync } from 'node:fs';
import path from 'node:path';
import { findSourceFiles, readDistrictPolygons } from '../../src/representatives/sources';
import { districtLabel } from '../../src/representatives/labels';
import { buildMapOutline, INSETS, renderDistrictMap } from '../../src/graphics/district-map';

/**
 * The district map from the real public bundle (`REP_TEST_DATA_DIR` or `../shared/data`, where it
 * exists), read by the importer's own reader: every congressional district is drawn, inside the
 * frame, and the whole map stays small enough to send with the page.
 */
const SHARED_DATA =
  process.env.REP_TEST_DATA_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
const describeIfData = existsSync(path.join(SHARED_DATA, 'congress')) ? describe : describe.skip;

describeIfData('the district map on the full representative data', () => {
  it('draws every district, inside the frame, in well under 400 KB', () => {
    const districts = readDistrictPolygons(findSourceFiles(SHARED_DATA).cd, 'cd');
    expect(districts.length).toBeGreaterThanOrEqual(436);
    const outline = buildMapOutline(districts);

    expect(outline.districts.map((district) => district.geoid)).toEqual(
      districts.map((district) => district.geoid).sort(),
    );
    expect(outline.insets.map((inset) => inset.key).sort()).toEqual(
      INSETS.filter((inset) => inset.framed)
        .map((inset) => inset.key)
        .sort(),
    );
    // Simplified to about a pixel: a small share of the points read.
    expect(outline.points).toBeLessThan(outline.sourcePoints / 10);

    const outside: string[] = [];
    for (const district of outline.districts) {
      for (const ring of district.d.split('z').filter(Boolean)) {
        const numbers = (ring.match(/-?(?:\d+\.?\d*|\.\d+)/g) ?? []).map(Number);
        let x = numbers[0]!;
        let y = numbers[1]!;
        for (let i = 2; i <= numbers.length; i += 2) {
          if (!(x >= 0 && x <= outline.width && y >= 0 && y <= outline.height))
            outside.push(`${district.geoid} ${x},${y}`);
          x += numbers[i] ?? 0;
          y += numbers[i + 1] ?? 0;
        }
      }
    }
    expect(outside).toEqual([]);

    const counts = Object.fromEntries(
      outline.districts.map((district, index) => [district.geoid, index * 7]),
    );
    const { map } = renderDistrictMap(outline, {
      id: 'map',
      title: 'Signatures by congressional district',
      counts,
      describe: (geoid) => ({
        label: `${districtLabel(geoid)} · A Member Of Congress`,
        href: `#cd-${geoid}`,
      }),
    });
    expect(Buffer.byteLength(map)).toBeLessThan(400_000);
    expect(map).toContain('<title>CA-12 · A Member Of Congress: ');
    expect(map).toContain('<title>AK at-large · A Member Of Congress: ');
    expect(map).toContain('<title>DC (delegate seat) · A Member Of Congress: ');
    expect(map.match(/<title>/g)).toHaveLength(outline.districts.length);
  });
});
