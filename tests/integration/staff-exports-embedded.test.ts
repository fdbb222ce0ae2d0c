import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import { ensureDemoCampaign, DEMO_CAMPAIGN_SLUG } from '../../src/campaigns/demo';
import { openDatabase, queryRows, type DatabaseHandle } from '../../src/db/client';
import { signatures } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { tallyCampaign } from '../../src/petitions/tallies';
import { FieldEncryption, KEY_BYTES, type EncryptionKeys } from '../../src/db/field-encryption';
import { RepresentativeDirectory } from '../../src/representatives/directory';
import type { RepresentativeData } from '../../src/representatives/districts';
import { importRepresentativeData } from '../../src/representatives/import';
import { placeLabel } from '../../src/representatives/labels';
import { exportCsv, exportFilePath, expireExports, writeExportFile } from '../../src/staff/exports';
import { recordCallReport } from '../../src/stances/store';
import { callToAda } from '../helpers/calls';
import { PGLITE_PAGE_ROWS } from '../../src/petitions/signature-exports';
import { openedSignatures, signatureValues } from '../helpers/sealed';

/**
 * The exports on PGlite (the embedded database of `npm start`), which cannot stream COPY: the
 * signature export is copied in keyset pages. More than two pages of signatures, checked row by
 * row against the table; a count export with its members; the job's file and its expiry.
 */
type Csv = Array<Record<string, string>>;
const parseCsv = (text: string): Csv => parse<Csv[number]>(text, { columns: true });
const neutral = (value: string | null) =>
  value === null ? '' : value.replace(/(^|[,;])([ "]*)([=+\-@\t\r])/g, "$1$2'$3");

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-exports-embedded-'));
let database: DatabaseHandle;
let data: RepresentativeData;
let campaignId: number;
const total = 2 * PGLITE_PAGE_ROWS + 123;
/** The keys the supporters' data is sealed with here, as the platform would have them. */
const keys: EncryptionKeys = {
  keys: [{ id: 1, key: randomBytes(KEY_BYTES) }],
  lookupKey: randomBytes(KEY_BYTES),
};
const encryption = new FieldEncryption(keys);

beforeAll(async () => {
  database = await openDatabase({ databaseUrl: undefined, dataDir, encryption: keys });
  await database.migrate();
  await ensureDemoCampaign(database.db);
  const [campaign] = await queryRows<{ id: number }>(
    database.db,
    sql`SELECT id FROM campaigns WHERE slug = ${DEMO_CAMPAIGN_SLUG}`,
  );
  campaignId = campaign!.id;
  await importRepresentativeData(
    database.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  const directory = new RepresentativeDirectory(database.db, createLogger('silent'));
  data = (await directory.refresh())!;
  const signer = (g: number) =>
    signatureValues(encryption, {
      campaignId,
      email: `embedded-${g}@example.org`,
      name: [`=SUM(${g})`, `-${g}`, `@${g}`, `Name, "${g}"`, `Signer ${g}`, `Signer ${g}`][g % 6]!,
      zip: ['80010', '80020', '99501', '20001', '80999'][g % 5]!,
      state: g % 5 === 2 ? 'AK' : g % 5 === 3 ? 'DC' : 'CO',
      source: g % 4 === 0 ? 'partner-x' : null,
      optIn: g % 3 === 0,
    });
  for (let first = 1; first <= total; first += 4000) {
    await database.db
      .insert(signatures)
      .values(
        Array.from({ length: Math.min(4000, total - first + 1) }, (_, index) =>
          signer(first + index),
        ),
      );
  }
  await tallyCampaign(database.db, campaignId, {
    districtsOf: (zip) => directory.districtsOfZip(zip),
  });
}, 120_000);

afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function collect(
  kind: Parameters<typeof exportCsv>[2],
): Promise<{ text: string; rows: number }> {
  const copy = exportCsv(database, encryption, kind, campaignId);
  const chunks: Buffer[] = [];
  for await (const chunk of copy.stream) chunks.push(chunk as Buffer);
  return { text: Buffer.concat(chunks).toString('utf8'), rows: await copy.rows };
}

async function expectedSignatures(): Promise<Csv> {
  const rows = await openedSignatures(
    { db: database.db, encryption },
    eq(signatures.campaignId, campaignId),
  );
  return rows.map((row) => {
    const districts = data.describe({
      cd: row.congressionalDistrict,
      sldu: row.stateUpperDistrict,
      sldl: row.stateLowerDistrict,
    });
    return {
      name: neutral(row.name),
      email: row.optIn ? neutral(row.email) : '',
      zip: row.zip,
      state: row.state ?? '',
      congressional_district: districts.congressional
        ? placeLabel({ congressional: districts.congressional, stateUpper: null, stateLower: null })
        : '',
      state_senate_geoid: row.stateUpperDistrict ?? '',
      state_house_geoid: row.stateLowerDistrict ?? '',
      source: row.source ?? '',
      opted_in: row.optIn ? 'yes' : 'no',
      signed_at: `${new Date(row.createdAt).toISOString().slice(0, 19)}Z`,
    };
  });
}

it('exports signatures in pages, with one header, every row once, as the table holds them', async () => {
  const { text, rows } = await collect('signatures');
  expect(rows).toBe(total);
  expect(text.split('\n', 1)[0]).toBe(
    'name,email,zip,state,congressional_district,state_senate_geoid,state_house_geoid,source,opted_in,signed_at',
  );
  expect(text.match(/^name,email,/gm)).toHaveLength(1);
  const parsed = parseCsv(text);
  expect(parsed).toHaveLength(total);
  expect(parsed).toEqual(await expectedSignatures());
  expect(parsed.filter((row) => row.name!.startsWith("'=SUM(")).length).toBeGreaterThan(0);
  for (const row of parsed) expect(row.name).not.toMatch(/^[=+\-@]/);
}, 60_000);

it('counts signatures and calls by congressional district with the members, as the lookup names them', async () => {
  await recordCallReport(database.db, callToAda(campaignId));
  const { text } = await collect('congressional');
  const counts = await queryRows<{ key: string; count: string }>(
    database.db,
    sql`SELECT congressional_district AS key, count(*) AS count FROM signatures
        WHERE campaign_id = ${campaignId} AND congressional_district IS NOT NULL GROUP BY 1 ORDER BY 1`,
  );
  expect(parseCsv(text)).toEqual(
    counts.map(({ key, count }) => {
      const district = data.describe({ cd: key, sldu: null, sldl: null }).congressional!;
      const members = data
        .officialsFor({ cd: key, sldu: null, sldl: null })
        .filter((o) => o.office === 'us-house' && !o.vacant);
      return {
        state: district.state,
        district: placeLabel({ congressional: district, stateUpper: null, stateLower: null }),
        representative: members.map((o) => o.name).join('; '),
        party: members.map((o) => o.party ?? '').join('; '),
        signatures: String(Number(count)),
        calls_reported: key === '0801' ? '1' : '0',
        geoid: key,
      };
    }),
  );
});

it.each([
  ['state-upper', 'state-upper', 'legislators'],
  ['state-lower', 'state-lower', 'legislators'],
  ['state', 'state', 'state_name'],
  ['source', 'source', 'partner'],
] as const)('exports the %s counts, one row per counted key', async (kind, dimension, column) => {
  const { text, rows } = await collect(kind);
  const [counted] = await queryRows<{ n: string | number }>(
    database.db,
    sql`SELECT count(*) AS n FROM signature_counts WHERE campaign_id = ${campaignId} AND dimension = ${dimension} AND count > 0`,
  );
  const parsed = parseCsv(text);
  // The source export ends with the signatures that came with no source code.
  expect(parsed).toHaveLength(Number(counted!.n) + (kind === 'source' ? 1 : 0));
  expect(rows).toBe(parsed.length);
  expect(parsed[0]).toHaveProperty(column);
  expect(parsed.reduce((sum, row) => sum + Number(row.signatures), 0)).toBeGreaterThan(0);
});

it('writes a job file, then removes it when it expires', async () => {
  const id = 'EEEEEEEEEEEEEEEEEEEEEEEE';
  await database.db.execute(sql`
    INSERT INTO staff_exports (id, campaign_id, kind, status, rows_total) VALUES (${id}, ${campaignId}, 'signatures', 'queued', ${total})`);
  const ctx = { db: database.db, database, encryption, config: { dataDir } };
  expect(await writeExportFile(ctx, id)).toBe('written');
  const file = exportFilePath(dataDir, id);
  expect(parseCsv(readFileSync(file, 'utf8'))).toEqual(await expectedSignatures());
  const [row] = await queryRows<{ status: string; rows_written: string | number }>(
    database.db,
    sql`SELECT status, rows_written FROM staff_exports WHERE id = ${id}`,
  );
  expect(row!.status).toBe('ready');
  expect(Number(row!.rows_written)).toBe(total);

  await database.db.execute(
    sql`UPDATE staff_exports SET expires_at = now() - interval '1 second' WHERE id = ${id}`,
  );
  expect(await expireExports(ctx)).toBe(1);
  expect(existsSync(file)).toBe(false);
}, 60_000);
