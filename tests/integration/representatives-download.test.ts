import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { create as createTar } from 'tar';
import {
  DOWNLOADS,
  DownloadError,
  downloadRepresentativeData,
  sourceUrl,
} from '../../src/representatives/download';
import { importRepresentativeData } from '../../src/representatives/import';
import { activeSnapshotId } from '../../src/representatives/store';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * `data:import --download` against a local mirror that serves the fixture data in the publishers'
 * own shapes: a GitHub archive of the Open States tree, per-state district files, the nested
 * state-leg-zips JSON and plain ZCTA centroids. Without a crosswalk or a centroid lookup table,
 * the importer matches districts to seats and finds each ZIP's centre district itself.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
const fixture = (file: string) => readFileSync(path.join(FIXTURES, file));
const csv = (file: string) => parse<Record<string, string>>(fixture(file), { columns: true });

async function mirrorContent(): Promise<Map<string, Buffer>> {
  const archiveRoot = mkdtempSync(path.join(os.tmpdir(), 'frb-archive-'));
  const archive = path.join(archiveRoot, 'people-main.tar.gz');
  await createTar(
    { gzip: true, file: archive, cwd: path.join(FIXTURES, 'state_legislators'), portable: true },
    ['openstates-people'],
  );
  const archiveBytes = readFileSync(archive);
  rmSync(archiveRoot, { recursive: true, force: true });

  const states: Record<
    string,
    { chambers: Record<string, { districts: Record<string, { zips: string[] }> }> }
  > = {};
  for (const row of csv('zip_to_district/zcta_to_sld_2024.csv')) {
    const chambers = (states[row.state_fips!] ??= { chambers: {} }).chambers;
    const districts = (chambers[row.chamber!] ??= { districts: {} }).districts;
    (districts[row.sld_geoid!.slice(2).replace(/^0+/, '')] ??= { zips: [] }).zips.push(row.zcta!);
  }
  const centroids = csv('zip_to_district/zcta_centroid_point_lookup.csv')
    .map((row) => `${row.zcta},${row.centroid_lat},${row.centroid_lng}`)
    .join('\n');
  const emptyLayer = Buffer.from('{"type":"FeatureCollection","features":[]}');

  const content = new Map<string, Buffer>();
  for (const { url, to } of DOWNLOADS) {
    const key = new URL(url).host + new URL(url).pathname;
    if (to.endsWith('legislators-current.yaml'))
      content.set(key, fixture('congress/legislators-current.yaml'));
    else if (to.endsWith('legislators-district-offices.yaml'))
      content.set(key, fixture('congress/legislators-district-offices.yaml'));
    else if (to.endsWith('.tar.gz')) content.set(key, archiveBytes);
    else if (to.includes('cd119')) content.set(key, fixture('boundaries/cd119_500k.geojson'));
    else if (to.endsWith('CO_upper.json'))
      content.set(key, fixture('boundaries/sldu_2024.geojson'));
    else if (to.endsWith('CO_lower.json'))
      content.set(key, fixture('boundaries/sldl_2024.geojson'));
    else if (to.startsWith('boundaries/')) content.set(key, emptyLayer);
    else if (to.endsWith('zccd.csv'))
      content.set(key, fixture('zip_to_district/zcta_to_cd119.csv'));
    else if (to.endsWith('.json')) content.set(key, Buffer.from(JSON.stringify({ states })));
    else if (to.endsWith('zctas_2018.csv'))
      content.set(key, Buffer.from(`geoid,latitude,longitude\n${centroids}\n`));
  }
  return content;
}

let t: TestPlatform;
let server: Server;
let mirror: string;
let failing: string | undefined;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'frb-download-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  const content = await mirrorContent();
  server = createServer((req, res) => {
    const body = content.get(decodeURIComponent(req.url ?? '').slice(1));
    if (failing && req.url?.endsWith(failing)) res.writeHead(500).end('upstream trouble');
    else if (body) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await t.close();
});

describe('data:import --download', () => {
  it('maps each publisher URL under the mirror', () => {
    expect(sourceUrl('https://raw.githubusercontent.com/a/b/c.csv', 'http://mirror.example/')).toBe(
      'http://mirror.example/raw.githubusercontent.com/a/b/c.csv',
    );
    expect(sourceUrl('https://raw.githubusercontent.com/a/b/c.csv', undefined)).toBe(
      'https://raw.githubusercontent.com/a/b/c.csv',
    );
  });

  it('downloads every file and imports them, matching seats and ZIP centres without the derived tables', async () => {
    const dir = tempDir();
    const steps: string[] = [];
    await downloadRepresentativeData(dir, { mirror, progress: (file) => steps.push(file) });
    expect(steps).toHaveLength(DOWNLOADS.length + 1);
    for (const { to } of DOWNLOADS) expect(existsSync(path.join(dir, to))).toBe(true);

    const outcome = await importRepresentativeData(t.platform.db, dir);
    expect(outcome.counts).toMatchObject({
      usHouse: 3,
      usSenate: 3,
      stateUpperDistricts: 2,
      stateLowerDistricts: 3,
      zctas: 4,
    });
    await t.platform.representatives.refresh();

    // 80020's default comes from the centroid point, found in the polygons: CO-2, senate 2, house 3.
    const ambiguous = await request(t.app).get('/api/v1/representatives?zip=80020').expect(200);
    expect(ambiguous.body.ambiguous).toBe(true);
    expect(ambiguous.body.districts).toMatchObject({
      congressional: { geoid: '0802' },
      stateUpper: { geoid: '08002', seats: ['2'] },
      stateLower: { geoid: '08003', seats: ['3'] },
    });
    // Seats matched by number: district 3's two members, and district 1 from a point.
    const houseMembers = ambiguous.body.officials.filter(
      (o: { office: string }) => o.office === 'state-lower',
    );
    expect(houseMembers.map((o: { district: string }) => o.district)).toEqual(['3', '3']);
    const point = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
    expect(
      point.body.officials.map(
        (o: { office: string; district: string | null }) => `${o.office}:${o.district ?? ''}`,
      ),
    ).toEqual(
      expect.arrayContaining(['us-house:1', 'state-upper:1', 'state-lower:1', 'governor:']),
    );
  });

  it('stops at a file the mirror cannot serve, leaves no partial file, and imports nothing', async () => {
    const before = await activeSnapshotId(t.platform.db);
    const dir = tempDir();
    failing = 'zccd.csv';
    try {
      await expect(downloadRepresentativeData(dir, { mirror })).rejects.toThrow(DownloadError);
      await expect(downloadRepresentativeData(dir, { mirror })).rejects.toThrow(
        /zccd\.csv: HTTP 500/,
      );
    } finally {
      failing = undefined;
    }
    const written = readdirSync(path.join(dir, 'zip_to_district'), { withFileTypes: true }).map(
      (entry) => entry.name,
    );
    expect(written.filter((name) => name.endsWith('.part'))).toEqual([]);
    expect(written).not.toContain('zccd.csv');
    expect(await activeSnapshotId(t.platform.db)).toBe(before);
  });
});
