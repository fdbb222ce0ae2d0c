import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  MAX_CUSTOM_TARGETS_PER_LIST,
  matchCustomTargets,
  parseCustomTargetsCsv,
  type ConstituentPlace,
  type CustomTargetCsvError,
  type CustomTargetRow,
} from '../../src/representatives/custom-targets';

const fixture = (name: string) =>
  readFileSync(path.join(__dirname, '..', 'fixtures', 'custom-targets', name), 'utf8');

const HEADER = 'name,title,email,represents';

function rowsOf(text: string): CustomTargetRow[] {
  const result = parseCustomTargetsCsv(text);
  if (!result.ok) throw new Error(`expected rows, got errors: ${JSON.stringify(result.errors)}`);
  return result.rows;
}

function errorsOf(text: string): CustomTargetCsvError[] {
  const result = parseCustomTargetsCsv(text);
  if (result.ok) throw new Error(`expected errors, got ${result.rows.length} rows`);
  return result.errors;
}

/** The scope columns one `represents` cell gives. */
function scopeOf(represents: string) {
  const [row] = rowsOf(`${HEADER}\nAda,Clerk,clerk@example.org,"${represents}"\n`);
  const { scope, scopeState, scopeCity, scopeZips, scopeLayer, scopeGeoid } = row!;
  return { scope, scopeState, scopeCity, scopeZips, scopeLayer, scopeGeoid };
}

function representsError(represents: string): CustomTargetCsvError {
  const errors = errorsOf(`${HEADER}\nAda,Clerk,clerk@example.org,"${represents}"\n`);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ row: 2, field: 'represents' });
  return errors[0]!;
}

const none = {
  scopeState: null,
  scopeCity: null,
  scopeZips: null,
  scopeLayer: null,
  scopeGeoid: null,
};

describe('parseCustomTargetsCsv: represents', () => {
  it('reads everyone', () => {
    expect(scopeOf('everyone')).toEqual({ scope: 'everyone', ...none });
    expect(scopeOf('Everyone')).toEqual({ scope: 'everyone', ...none });
  });

  it('reads a state by its USPS code, including DC, Puerto Rico and the territories', () => {
    expect(scopeOf('state:CA')).toEqual({ ...none, scope: 'state', scopeState: 'CA' });
    expect(scopeOf('State: ny ')).toEqual({ ...none, scope: 'state', scopeState: 'NY' });
    for (const code of ['DC', 'PR', 'GU', 'VI', 'AS', 'MP'])
      expect(scopeOf(`state:${code}`).scopeState).toBe(code);
  });

  it('reads a city and its state, storing the city lower-cased with single spaces', () => {
    expect(scopeOf('city:Oakland, CA')).toEqual({
      ...none,
      scope: 'city',
      scopeState: 'CA',
      scopeCity: 'oakland',
    });
    expect(scopeOf('city:  San   Francisco ,ca')).toEqual({
      ...none,
      scope: 'city',
      scopeState: 'CA',
      scopeCity: 'san francisco',
    });
    // Only the last comma separates the state.
    expect(scopeOf('city:Washington, D.C., DC')).toMatchObject({
      scopeState: 'DC',
      scopeCity: 'washington, d.c.',
    });
  });

  it('reads ZIP codes separated by spaces, commas or semicolons, once each', () => {
    expect(scopeOf('zips:94601 94602;94603,94604 ; 94601')).toEqual({
      ...none,
      scope: 'zips',
      scopeZips: ['94601', '94602', '94603', '94604'],
    });
  });

  it('reads congressional and state-legislative district GEOIDs', () => {
    expect(scopeOf('congressional:0612')).toEqual({
      ...none,
      scope: 'district',
      scopeLayer: 'cd',
      scopeGeoid: '0612',
    });
    expect(scopeOf('state-upper:06010')).toEqual({
      ...none,
      scope: 'district',
      scopeLayer: 'sldu',
      scopeGeoid: '06010',
    });
    expect(scopeOf('state-lower:25D25')).toEqual({
      ...none,
      scope: 'district',
      scopeLayer: 'sldl',
      scopeGeoid: '25D25',
    });
    expect(scopeOf('State-Lower:25d25')).toMatchObject({ scopeLayer: 'sldl', scopeGeoid: '25D25' });
  });

  it('explains each kind of unreadable represents cell', () => {
    expect(representsError('').message).toMatch(/whom this target represents/);
    expect(representsError('the council').message).toMatch(/not one of the forms/);
    expect(representsError('county:Alameda').message).toMatch(/not one of the forms/);
    expect(representsError('state:California').message).toMatch(/two-letter postal code/);
    expect(representsError('state:XX').message).toMatch(/"XX" is not a state/);
    expect(representsError('city:Oakland').message).toMatch(/comma and its state code/);
    expect(representsError('city:, CA').message).toMatch(/city name before the comma/);
    expect(representsError('city:Oakland, Calif').message).toMatch(/"CALIF" is not a state/);
    expect(representsError('zips:').message).toMatch(/at least one ZIP/);
    expect(representsError('zips:94601 9460 94603').message).toBe(
      '"9460" is not a 5-digit ZIP code.',
    );
    expect(representsError('zips:94601-1234').message).toMatch(/"94601-1234" is not a 5-digit ZIP/);
    expect(representsError('congressional:612').message).toMatch(/congressional:0612/);
    expect(representsError('congressional:06AB').message).toMatch(/GEOID/);
    expect(representsError('state-upper:0601').message).toMatch(/state-upper:06010/);
    expect(representsError('state-lower:25-D25').message).toMatch(/state-lower:25D25/);
  });
});

describe('parseCustomTargetsCsv: the file', () => {
  it('reads a spreadsheet export: mixed-case headers, quoted commas, a multi-line address', () => {
    const rows = rowsOf(fixture('oakland.csv'));
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      name: 'Ada Okafor',
      title: 'Council Member, District 1',
      email: 'aokafor@oakland.example.org',
      phone: '(510) 555-0101',
      postalAddress: '1 Frank H. Ogawa Plaza Oakland, CA 94612',
      scope: 'city',
      scopeState: 'CA',
      scopeCity: 'oakland',
      scopeZips: null,
      scopeLayer: null,
      scopeGeoid: null,
    });
    expect(rows[1]).toMatchObject({
      name: 'Ben Liu',
      phone: null,
      postalAddress: null,
      scopeZips: ['94607', '94612'],
    });
    expect(rows[2]).toMatchObject({ email: null, phone: '(510) 555-0103' });
    expect(rows[3]).toMatchObject({
      email: null,
      phone: null,
      postalAddress: '1021 O Street, Sacramento, CA 95814',
    });
  });

  it('takes the columns in any order and tolerates a BOM, CRLF line ends, blank lines and empty spreadsheet rows', () => {
    const text =
      '\uFEFFRepresents , POSTAL ADDRESS,Title,NAME\r\n\r\neveryone,1 Main St,Clerk,Ada\r\n,,,\r\n' +
      'state:ca,2 Main St,Mayor,Ben\r\n';
    expect(rowsOf(text)).toEqual([
      expect.objectContaining({
        name: 'Ada',
        title: 'Clerk',
        postalAddress: '1 Main St',
        email: null,
        scope: 'everyone',
      }),
      expect.objectContaining({
        name: 'Ben',
        title: 'Mayor',
        postalAddress: '2 Main St',
        scope: 'state',
        scopeState: 'CA',
      }),
    ]);
  });

  it('counts lines of a CRLF file with blank lines and multi-line cells like an editor does', () => {
    const text = `${HEADER}\r\n\r\nAda,"Clerk\r\nof the Board",a@example.org,everyone\r\n\r\nBen,Mayor,b@example.org,state:XX\r\n`;
    expect(errorsOf(text)).toEqual([{ row: 6, field: 'represents', message: expect.any(String) }]);
  });

  it('strips control characters and keeps cells that look like formulas as they are', () => {
    const [row] = rowsOf(
      `${HEADER}\n"=HYPERLINK(""x"")","Clerk\u0007\tof the\u0000 Board\u2028",clerk@example.org,everyone\n`,
    );
    expect(row).toMatchObject({ name: '=HYPERLINK("x")', title: 'Clerk of the Board' });
    const [mentioned] = rowsOf(`${HEADER}\n@ada,@large,clerk@example.org,everyone\n`);
    expect(mentioned).toMatchObject({ name: '@ada', title: '@large' });
    const [signed] = rowsOf('name,title,phone,represents\n+Ada,-Clerk,+1 510 555 0123,everyone\n');
    expect(signed).toMatchObject({ name: '+Ada', title: '-Clerk', phone: '+1 510 555 0123' });
  });

  it('rejects an empty file and a file with only a header', () => {
    expect(errorsOf('')).toEqual([
      { row: 1, field: 'file', message: expect.stringMatching(/empty/) },
    ]);
    expect(errorsOf('\uFEFF\n  \n')).toEqual([
      { row: 1, field: 'file', message: expect.stringMatching(/empty/) },
    ]);
    expect(errorsOf(`${HEADER}\n`)).toEqual([
      { row: 2, field: 'file', message: 'The file has a header but no targets.' },
    ]);
  });

  it('names each missing, unknown, unnamed or repeated column on row 1', () => {
    expect(errorsOf('name,email\nAda,ada@example.org\n')).toEqual([
      { row: 1, field: 'title', message: 'The title column is missing.' },
      { row: 1, field: 'represents', message: 'The represents column is missing.' },
    ]);
    expect(errorsOf('name,title,represents\nAda,Clerk,everyone\n')).toEqual([
      {
        row: 1,
        field: 'email',
        message: expect.stringMatching(
          /at least one of the columns email, phone or postal_address/,
        ),
      },
    ]);
    expect(errorsOf('name,title,e-mail address,represents,,name\n')).toEqual([
      { row: 1, field: 'e-mail address', message: expect.stringMatching(/Unknown column/) },
      { row: 1, field: 'column 5', message: 'This column has no name.' },
      { row: 1, field: 'name', message: 'This column appears twice.' },
      { row: 1, field: 'email', message: expect.any(String) },
    ]);
  });

  it('reports an unreadable file once, as a file error', () => {
    expect(errorsOf(`${HEADER}\nAda,Clerk,"clerk@example.org,everyone\n`)).toEqual([
      {
        row: 2,
        field: 'file',
        message: expect.stringMatching(/quoted cell starting on this line is never closed/),
      },
    ]);
    expect(
      errorsOf(
        `${HEADER}\nAda,Clerk,clerk@example.org,everyone\nBen,"Mayor,ben@example.org,everyone\nCy,Clerk,,,\n`,
      ),
    ).toEqual([
      {
        row: 3,
        field: 'file',
        message: expect.stringMatching(/quoted cell starting on this line is never closed/),
      },
    ]);
  });

  it('keeps stray quotes as typed instead of failing the file', () => {
    const text = `${HEADER}\nAda "Sunny" Okafor,Clerk,a@example.org,everyone\nBen,"Clerk "of" courts",b@example.org,everyone\n`;
    const [row, quoted] = rowsOf(text);
    expect(row!.name).toBe('Ada "Sunny" Okafor');
    expect(quoted!.title).toBe('"Clerk "of" courts"');
  });

  it('rejects more than 5,000 targets, pointing at the first row over', () => {
    const row = 'Ada,Clerk,clerk@example.org,everyone\n';
    expect(rowsOf(HEADER + '\n' + row.repeat(MAX_CUSTOM_TARGETS_PER_LIST))).toHaveLength(5000);
    expect(errorsOf(HEADER + '\n' + row.repeat(MAX_CUSTOM_TARGETS_PER_LIST + 2))).toEqual([
      {
        row: 5002,
        field: 'file',
        message: 'A list holds at most 5,000 targets; this file has 5,002.',
      },
    ]);
  });

  it('collects every row error with its line number, counting lines inside quoted cells', () => {
    const text = [
      'name,title,email,phone,postal_address,represents',
      'Ada,Clerk,clerk@example.org,,,everyone',
      ',Clerk,clerk@example.org,,,everyone',
      `${'N'.repeat(201)},${'T'.repeat(201)},not-an-email,,,state:ZZ`,
      'Ben,"Council Member,',
      'District 3",,,"1 Main St',
      'Oakland",zips:9460',
      'Cy,Mayor,,,,everyone',
      'Di,Mayor,,12,,everyone',
      'Ed,Mayor,ed@example.org,everyone',
      'Fay,Mayor,fay@example.org,,,everyone,extra',
      '"  ",Mayor,fay@example.org,,,everyone',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      { row: 3, field: 'name', message: 'The name is required.' },
      { row: 4, field: 'name', message: 'Shorten the name to 200 characters.' },
      { row: 4, field: 'title', message: 'Shorten the title to 200 characters.' },
      { row: 4, field: 'email', message: 'Write a valid email address, like clerk@example.org.' },
      { row: 4, field: 'represents', message: expect.stringMatching(/"ZZ" is not a state/) },
      { row: 5, field: 'represents', message: '"9460" is not a 5-digit ZIP code.' },
      { row: 8, field: 'email', message: 'Give at least one of email, phone or postal_address.' },
      { row: 9, field: 'phone', message: expect.stringMatching(/area code/) },
      {
        row: 10,
        field: 'file',
        message: expect.stringMatching(/4 cells but the header has 6; put quotes/),
      },
      { row: 11, field: 'file', message: expect.stringMatching(/7 cells but the header has 6/) },
      { row: 12, field: 'name', message: 'The name is required.' },
    ]);
  });

  it('accepts names and titles of exactly 200 characters', () => {
    const [row] = rowsOf(
      `${HEADER}\n${'N'.repeat(200)},${'T'.repeat(200)},clerk@example.org,everyone\n`,
    );
    expect(row!.name).toHaveLength(200);
    expect(row!.title).toHaveLength(200);
  });
});

describe('matchCustomTargets', () => {
  const targets = rowsOf(
    [
      'name,title,email,represents',
      'All,Commission Chair,a@example.org,everyone',
      'California,Attorney General,b@example.org,state:CA',
      'Oakland,Mayor,c@example.org,"city:Oakland, CA"',
      'Oakland Oregon,Mayor,d@example.org,"city:Oakland, OR"',
      'San Francisco,Supervisor,e@example.org,"city:San Francisco, CA"',
      'East Oakland,Council Member,f@example.org,zips:94601 94603',
      'CD 12,Representative,g@example.org,congressional:0612',
      'SD 7,State Senator,h@example.org,state-upper:06007',
      'AD 18,Assembly Member,i@example.org,state-lower:06018',
      'MA House,Representative,j@example.org,state-lower:25D25',
    ].join('\n'),
  );
  const names = (place: ConstituentPlace) =>
    matchCustomTargets(targets, place).map((target) => target.name);

  it('matches everyone even when nothing is known of the place', () => {
    expect(names({ districts: {} })).toEqual(['All']);
  });

  it('matches a state by its code, in any case', () => {
    expect(names({ state: 'ca', districts: {} })).toEqual(['All', 'California']);
    expect(names({ state: 'NY', districts: {} })).toEqual(['All']);
  });

  it('matches a city only together with its state, ignoring case and spacing', () => {
    expect(names({ state: 'CA', city: '  OAKLAND ', districts: {} })).toEqual([
      'All',
      'California',
      'Oakland',
    ]);
    expect(names({ state: 'OR', city: 'oakland', districts: {} })).toEqual([
      'All',
      'Oakland Oregon',
    ]);
    expect(names({ state: 'CA', city: 'san   francisco', districts: {} })).toEqual([
      'All',
      'California',
      'San Francisco',
    ]);
    expect(names({ city: 'Oakland', districts: {} })).toEqual(['All']);
  });

  it('matches a ZIP in the list, also from a ZIP+4', () => {
    expect(names({ zip: '94603', districts: {} })).toEqual(['All', 'East Oakland']);
    expect(names({ zip: '94601-2345', districts: {} })).toEqual(['All', 'East Oakland']);
    expect(names({ zip: '94602', districts: {} })).toEqual(['All']);
  });

  it('matches a district on its own layer only', () => {
    expect(names({ districts: { cd: '0612', sldu: '06007', sldl: '06018' } })).toEqual([
      'All',
      'CD 12',
      'SD 7',
      'AD 18',
    ]);
    expect(names({ districts: { cd: '06007', sldu: '0612' } })).toEqual(['All']);
    expect(names({ districts: { sldl: '25d25' } })).toEqual(['All', 'MA House']);
  });

  it('treats null and empty parts of the place as unknown', () => {
    expect(
      names({
        state: null,
        city: '',
        zip: null,
        districts: { cd: null, sldu: '', sldl: undefined },
      }),
    ).toEqual(['All']);
  });

  it('combines every rule for one constituent', () => {
    const place = {
      state: 'CA',
      city: 'Oakland',
      zip: '94601',
      districts: { cd: '0612', sldu: '06007', sldl: '06018' },
    };
    expect(names(place)).toEqual([
      'All',
      'California',
      'Oakland',
      'East Oakland',
      'CD 12',
      'SD 7',
      'AD 18',
    ]);
  });
});
