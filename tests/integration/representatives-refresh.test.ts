import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import request from 'supertest';
import { create as createTar } from 'tar';
import { queryRows } from '../../src/db/client';
import { changeLetterStatus } from '../../src/letters/letter-store';
import { letterCounts } from '../../src/letters/counts';
import { holdLettersToDeparted } from '../../src/letters/held-letters';
import { DATA_REFRESH_SCHEDULE } from '../../src/representatives/jobs/refresh-data';
import { OFFICIALS_DOWNLOADS } from '../../src/representatives/download';
import { importRepresentativeData } from '../../src/representatives/import';
import { refreshRepresentativeData } from '../../src/representatives/refresh';
import { activeSnapshotId } from '../../src/representatives/store';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * Keeping the officials current, offline: a local HTTP server stands in for the publishers (as a
 * mirror behind basic authentication) and serves edited copies of the fixture's officials: a
 * member gone, seats left vacant and filled, a changed phone, a new senator. Each refresh is
 * recorded, what it changed is recorded, letters still waiting for officials who left are held
 * (never sent), and a failed download or a bad file changes nothing but the refresh's record.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
const SLUG = 'ban-facial-recognition';
const API = `/api/v1/campaigns/${SLUG}/letters`;
const MIRROR_USER = 'mirror';
const MIRROR_PASSWORD = 'Mirror-Pass-0f-the-Coalition';

const HANA = 'state-upper:ocd-person/11111111-1111-4111-8111-111111111111';
const IVAN = 'state-lower:ocd-person/22222222-2222-4222-8222-222222222222';
const NIA = 'governor:ocd-person/77777777-7777-4777-8777-777777777777';

const fixtureText = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');
const replaced = (text: string, from: string, to: string) => {
  if (!text.includes(from)) throw new Error(`the fixture no longer holds ${from}`);
  return text.replace(from, to);
};

/** The officials' files as the publishers serve them: the Congress YAML files and the Open States tree as a .tar.gz. */
interface Officials {
  congress: string;
  /** Edits to the Open States tree: files to write (relative to data/co) or, with null, to delete. */
  openstates: Record<string, string | null>;
}

/** Archives made one after another differ, as GitHub's do at each commit to the repository, whatever the files. */
let archivesMade = 0;

async function openstatesArchive(edits: Officials['openstates']): Promise<Buffer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'frb-openstates-'));
  try {
    cpSync(
      path.join(FIXTURES, 'state_legislators', 'openstates-people'),
      path.join(root, 'openstates-people'),
      { recursive: true },
    );
    for (const [file, text] of Object.entries(edits)) {
      const target = path.join(root, 'openstates-people', 'data', 'co', file);
      if (text === null) unlinkSync(target);
      else writeFileSync(target, text);
    }
    const archive = path.join(root, 'people-main.tar.gz');
    const mtime = new Date(Date.UTC(2026, 0, 1) + ++archivesMade * 60_000);
    await createTar({ gzip: true, file: archive, cwd: root, portable: true, mtime }, [
      'openstates-people',
    ]);
    return readFileSync(archive);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const IVAN_FILE = 'legislature/Ivan-Lower-22222222-2222-4222-8222-222222222222.yml';
const HANA_FILE = 'legislature/Hana-Senate-11111111-1111-4111-8111-111111111111.yml';
const NIA_FILE = 'executive/Nia-Governor-77777777-7777-4777-8777-777777777777.yml';

/** v1: the fixture, where Ivan Lower now publishes an email address. */
const v1: Officials = {
  congress: fixtureText('congress/legislators-current.yaml'),
  openstates: {
    [IVAN_FILE]: replaced(
      fixtureText(`state_legislators/openstates-people/data/co/${IVAN_FILE}`),
      'name: Ivan Lower\n',
      'name: Ivan Lower\nemail: ivan.lower@coleg.example.gov\n',
    ),
  },
};

/**
 * v2, after an election: Cora Senatorial's seat goes to Cal Successor; Alaska's at-large member
 * leaves and nobody holds the seat; Alaska's vacant Senate seat is filled by Tess Newsen; Ada
 * Testwell's Washington phone changes; in Colorado, Quinn Newcomer takes Hana Senate's seat and
 * the governor's record is gone.
 */
const v2: Officials = {
  congress: [
    (() => {
      let text = v1.congress;
      const elin = text.slice(
        text.indexOf('- id:\n    bioguide: T000005'),
        text.indexOf('- id:\n    bioguide: T000006'),
      );
      text = replaced(text, elin, '');
      const cora = text.slice(
        text.indexOf('- id:\n    bioguide: T000003'),
        text.indexOf('- id:\n    bioguide: T000004'),
      );
      text = replaced(
        text,
        cora,
        `- id:\n    bioguide: T000009\n    lis: S909\n  name:\n    first: Cal\n    last: Successor\n    official_full: Cal Successor\n  terms:\n  - type: sen\n    start: '2026-11-15'\n    end: '2031-01-03'\n    state: CO\n    class: 2\n    party: Democrat\n`,
      );
      return replaced(text, 'phone: 202-555-0101', 'phone: 202-555-0199');
    })(),
    `- id:\n    bioguide: T000010\n    lis: S910\n  name:\n    first: Tess\n    last: Newsen\n    official_full: Tess Newsen\n  terms:\n  - type: sen\n    start: '2026-11-20'\n    end: '2033-01-03'\n    state: AK\n    class: 3\n    party: Independent\n`,
  ].join(''),
  openstates: {
    ...v1.openstates,
    [HANA_FILE]: null,
    [NIA_FILE]: null,
    'legislature/Quinn-Newcomer-99999999-9999-4999-8999-999999999999.yml': [
      'id: ocd-person/99999999-9999-4999-8999-999999999999',
      'name: Quinn Newcomer',
      'email: quinn.newcomer@coleg.example.gov',
      'party:',
      '- name: Democratic',
      'roles:',
      '- start_date: 2026-11-20',
      '  type: upper',
      '  jurisdiction: ocd-jurisdiction/country:us/state:co/government',
      "  district: '1'",
      '',
    ].join('\n'),
  },
};

let t: TestPlatform;
let server: Server;
let port: number;
/** What the mirror serves, by `host/path` of the publisher's URL. */
let served = new Map<string, Buffer>();
/** A file the mirror fails with 500, by the end of its path. */
let failing: string | undefined;
const requests: string[] = [];

async function serve(officials: Officials): Promise<void> {
  const archive = await openstatesArchive(officials.openstates);
  const content = new Map<string, Buffer>();
  for (const { url, to } of OFFICIALS_DOWNLOADS) {
    const key = new URL(url).host + new URL(url).pathname;
    if (to.endsWith('legislators-current.yaml')) content.set(key, Buffer.from(officials.congress));
    else if (to.endsWith('legislators-district-offices.yaml'))
      content.set(key, Buffer.from(fixtureText('congress/legislators-district-offices.yaml')));
    else content.set(key, archive);
  }
  served = content;
}

const db = () => t.platform.db;
/** The refresh as the job runs it. */
const refresh = () =>
  refreshRepresentativeData(t.platform, {
    onDeparted: (tx, departed) => holdLettersToDeparted(tx, departed),
  });

const refreshRows = () =>
  queryRows<{
    id: number;
    outcome: string | null;
    source: string;
    snapshot_id: number | null;
    error: string | null;
  }>(db(), sql`SELECT id, outcome, source, snapshot_id, error FROM rep_refreshes ORDER BY id`);
const changeRows = (snapshotId: number) =>
  queryRows<{
    kind: string;
    office: string;
    state: string;
    district: string | null;
    name: string;
    details: Record<string, unknown>;
  }>(
    db(),
    sql`SELECT kind, office, state, district, name, details FROM rep_changes WHERE snapshot_id = ${snapshotId}::int ORDER BY id`,
  );
const letterRows = () =>
  queryRows<{
    id: number;
    target_key: string;
    status: string;
    counted_status: string;
    last_error: string | null;
    writer: string;
  }>(
    db(),
    sql`SELECT l.id, l.target_key, l.status, l.counted_status, l.last_error,
               CASE a.email_hash WHEN ${t.platform.encryption.emailHash('first@example.org')}::bytea THEN 'first' ELSE 'second' END AS writer
        FROM letters l JOIN letter_actions a ON a.id = l.action_id ORDER BY l.id`,
  );
const refreshDirs = () =>
  readdirSync(path.join(t.platform.config.dataDir, 'rep-refresh'))
    .filter((name) => name.startsWith('officials-'))
    .sort();

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const expected = `Basic ${Buffer.from(`${MIRROR_USER}:${MIRROR_PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end();
    const body = served.get(decodeURIComponent(req.url ?? '').slice(1));
    if (failing && req.url?.endsWith(failing)) res.writeHead(500).end('upstream trouble');
    else if (body) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  t = await createTestPlatform({
    REP_DATA_DIR: FIXTURES,
    REP_DATA_MIRROR: `http://${MIRROR_USER}:${MIRROR_PASSWORD}@127.0.0.1:${port}/`,
    REP_DATA_REFRESH: 'daily',
  });
  // The first import, as a first start makes it.
  await importRepresentativeData(db(), FIXTURES);
  await t.platform.representatives.refresh();
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('refreshing the officials', () => {
  let letters: Awaited<ReturnType<typeof letterRows>>;

  it('fetches the officials from the mirror, imports them with the districts at hand, and records the refresh and what changed', async () => {
    await serve(v1);
    const before = await activeSnapshotId(db());
    const result = await refresh();
    expect(result).toMatchObject({
      outcome: 'imported',
      held: 0,
      error: null,
      changes: { added: 0, gone: 0, vacant: 0, filled: 0, contact: 1 },
    });
    expect(result.snapshotId).not.toBe(before);
    expect(await activeSnapshotId(db())).toBe(result.snapshotId);
    // Only the officials' files were fetched; the district shapes and ZIP tables came from REP_DATA_DIR.
    expect(requests.map((url) => url.split('/')[1]).sort()).toEqual([
      'github.com',
      'unitedstates.github.io',
      'unitedstates.github.io',
    ]);

    const rows = await refreshRows();
    expect(rows).toEqual([
      {
        id: expect.anything(),
        outcome: 'imported',
        source: `http://127.0.0.1:${port}/`,
        snapshot_id: result.snapshotId,
        error: null,
      },
    ]);
    expect(await changeRows(result.snapshotId!)).toEqual([
      {
        kind: 'contact',
        office: 'state-lower',
        state: 'CO',
        district: '1',
        name: 'Ivan Lower',
        details: { email: { before: [], after: ['ivan.lower@coleg.example.gov'] } },
      },
    ]);
    expect(refreshDirs()).toHaveLength(1);
    await t.platform.representatives.refresh();
  });

  it('holds the letters still waiting for officials who left, and only those', async () => {
    // Two supporters write to their state senator, state representative and governor (those with an email address).
    for (const email of ['first@example.org', 'second@example.org']) {
      const res = await request(t.app)
        .post(API)
        .send({ name: 'Rosa Writer', email, zip: '80010', note: 'Ban it.' })
        .expect(202);
      expect(res.body.letters.map((letter: { target: string }) => letter.target).sort()).toEqual(
        [NIA, HANA, IVAN].sort(),
      );
    }
    letters = await letterRows();
    const letterOf = (writer: string, target: string) =>
      letters.find((row) => row.writer === writer && row.target_key === target)!;
    // One letter has failed a try and waits for the next.
    expect(await changeLetterStatus(db(), letterOf('first', NIA).id, 'queued', 'retrying')).toBe(
      true,
    );

    // Another is being claimed by a delivery worker (`sending`, its counts left as they were) in a
    // transaction that commits only once the import is waiting for that letter.
    const claim = new pg.Client({ connectionString: t.platform.config.databaseUrl });
    await claim.connect();
    let result: Awaited<ReturnType<typeof refresh>>;
    try {
      const claimPid = Number((await claim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      await claim.query('BEGIN');
      await claim.query(
        "UPDATE letters SET status = 'sending', attempts = attempts + 1, updated_at = now() WHERE id = $1 AND status = 'queued'",
        [letterOf('second', HANA).id],
      );
      await serve(v2);
      const refreshing = refresh();
      await eventually(async () => {
        const [waiting] = await queryRows<{ n: number }>(
          db(),
          sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> ${claimPid}::int`,
        );
        return waiting!.n > 0;
      });
      await claim.query('COMMIT');
      result = await refreshing;
    } finally {
      await claim.end();
    }
    expect(result).toMatchObject({
      outcome: 'imported',
      held: 3,
      changes: { vacant: 2, gone: 2, added: 2, filled: 1, contact: 1 },
    });

    const changes = await changeRows(result.snapshotId!);
    expect(
      changes.map(
        (change) =>
          `${change.kind} ${change.office} ${change.state}-${change.district ?? ''} ${change.name}`,
      ),
    ).toEqual([
      'vacant us-house AK-0 Elin Northerly',
      'vacant governor CO- Nia Governor',
      'gone state-upper CO-1 Hana Senate',
      'gone us-senate CO- Cora Senatorial',
      'added state-upper CO-1 Quinn Newcomer',
      'added us-senate CO- Cal Successor',
      'filled us-senate AK- Tess Newsen',
      'contact us-house CO-1 Ada Testwell',
    ]);
    expect(changes.find((change) => change.name === 'Hana Senate')!.details).toEqual({
      replacedBy: {
        personId: 'ocd-person/99999999-9999-4999-8999-999999999999',
        name: 'Quinn Newcomer',
      },
    });
    expect(changes.find((change) => change.name === 'Cal Successor')!.details).toEqual({
      replaces: { personId: 'T000003', name: 'Cora Senatorial' },
    });
    expect(changes.find((change) => change.kind === 'contact')!.details).toEqual({
      phone: { before: ['202-555-0101', '303-555-0111'], after: ['202-555-0199', '303-555-0111'] },
    });

    const after = await letterRows();
    const state = (writer: string, target: string) => {
      const row = after.find((letter) => letter.writer === writer && letter.target_key === target)!;
      return `${row.status}/${row.counted_status}`;
    };
    expect({
      firstHana: state('first', HANA),
      secondHana: state('second', HANA),
      firstNia: state('first', NIA),
      secondNia: state('second', NIA),
      firstIvan: state('first', IVAN),
      secondIvan: state('second', IVAN),
    }).toEqual({
      firstHana: 'held/held',
      // Claimed while the import waited for it: its send is on its way, and the import passed over it.
      secondHana: 'sending/queued',
      firstNia: 'held/held',
      secondNia: 'held/held',
      firstIvan: 'queued/queued',
      secondIvan: 'queued/queued',
    });
    const reason = (writer: string, target: string) =>
      after.find((letter) => letter.writer === writer && letter.target_key === target)!.last_error;
    expect(reason('first', HANA)).toMatch(
      /^Held: the representative data of \d{4}-\d{2}-\d{2} no longer has Hana Senate in this office \(Quinn Newcomer holds the seat now\)\./,
    );
    expect(reason('first', NIA)).toMatch(
      /no longer has Nia Governor in this office \(the seat is vacant\)/,
    );

    // The counts moved once, from the status each letter had.
    const counts = await letterCounts(db(), 1);
    expect(counts.byTarget[HANA]).toEqual({ held: 1, queued: 1 });
    expect(counts.byTarget[NIA]).toEqual({ held: 2 });
    expect(counts.byTarget[IVAN]).toEqual({ queued: 2 });
    // The letter in flight is sent (it was on its way when the data changed).
    expect(
      await changeLetterStatus(
        db(),
        after.find((letter) => letter.writer === 'second' && letter.target_key === HANA)!.id,
        'sending',
        'delivered',
      ),
    ).toBe(true);
  });

  it('records a refresh that finds the same officials as unchanged, and writes nothing else', async () => {
    // The Open States archive is made again (its bytes differ), its people's files are the same.
    const archive = (files: Map<string, Buffer>) =>
      [...files].find(([key]) => key.endsWith('.tar.gz'))![1];
    const before = archive(served);
    await serve(v2);
    expect(archive(served).equals(before)).toBe(false);
    const snapshot = await activeSnapshotId(db());
    const changes = await queryRows<{ n: number }>(
      db(),
      sql`SELECT count(*)::int AS n FROM rep_changes`,
    );
    const result = await refresh();
    expect(result).toMatchObject({ outcome: 'unchanged', snapshotId: snapshot, held: 0 });
    expect(await activeSnapshotId(db())).toBe(snapshot);
    expect(
      await queryRows<{ n: number }>(db(), sql`SELECT count(*)::int AS n FROM rep_changes`),
    ).toEqual(changes);
    expect((await refreshRows()).map((row) => row.outcome)).toEqual([
      'imported',
      'imported',
      'unchanged',
    ]);
  });

  it('a download that fails changes nothing but its record, and names no secret', async () => {
    const snapshot = await activeSnapshotId(db());
    const lettersBefore = await letterRows();
    const dirsBefore = refreshDirs();
    failing = 'main.tar.gz';
    let result: Awaited<ReturnType<typeof refresh>>;
    try {
      result = await refresh();
    } finally {
      failing = undefined;
    }
    expect(result).toMatchObject({ outcome: 'failed', snapshotId: null, held: 0 });
    expect(result.error).toBe(
      `http://127.0.0.1:${port}/github.com/openstates/people/archive/refs/heads/main.tar.gz: HTTP 500`,
    );
    expect(await activeSnapshotId(db())).toBe(snapshot);
    expect(await letterRows()).toEqual(lettersBefore);
    // The files of the last good refresh are kept; the failed one's are gone.
    expect(refreshDirs()).toEqual(dirsBefore);
    const last = (await refreshRows()).at(-1)!;
    expect(last).toMatchObject({ outcome: 'failed', snapshot_id: null, error: result.error });
    expect(t.logs()).toContain('representative data refresh failed; the data in use is unchanged');
    expect(t.logs()).not.toContain(MIRROR_PASSWORD);
    const [stored] = await queryRows<{ text: string }>(
      db(),
      sql`SELECT string_agg(source || coalesce(error, ''), ' ') AS text FROM rep_refreshes`,
    );
    expect(stored!.text).not.toContain(MIRROR_PASSWORD);
  });

  it('a file that does not read changes nothing but its record', async () => {
    const snapshot = await activeSnapshotId(db());
    const lettersBefore = await letterRows();
    await serve({ ...v2, congress: replaced(v2.congress, 'bioguide: T000001', 'bioguide: X1') });
    const result = await refresh();
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatch(
      /\/congress\/legislators-current\.yaml: legislator 1 \(X1\): id\.bioguide: bioguide id must look like A000360$/,
    );
    expect(await activeSnapshotId(db())).toBe(snapshot);
    expect(await letterRows()).toEqual(lettersBefore);
    expect((await refreshRows()).map((row) => row.outcome)).toEqual([
      'imported',
      'imported',
      'unchanged',
      'failed',
      'failed',
    ]);
    await serve(v2);
  });
});

describe('the staff console', () => {
  it('shows the data’s age, the last refreshes and changes, and the held letters, to every role', async () => {
    const viewer = await signInAs(t.app, db(), 'viewer');
    const page = await viewer.agent.get('/staff/data').expect(200);
    expect(page.text).toContain('<a href="/staff/data">Representative data</a>');
    expect(page.text).toMatch(
      /the officials were last checked against their publishers \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(0 days ago\)/,
    );
    expect(page.text).toContain(
      'The officials are fetched again daily from the mirror http://127.0.0.1:',
    );
    // Newest first: two failures, the unchanged refresh, then the two imports.
    const outcomes = [...page.text.matchAll(/<tr class="refresh-(\w+)">/g)].map(
      (match) => match[1],
    );
    expect(outcomes).toEqual(['failed', 'failed', 'unchanged', 'imported', 'imported']);
    expect(page.text).toContain('HTTP 500');
    expect(page.text).not.toContain(MIRROR_PASSWORD);
    expect(page.text).toContain(
      'Seat vacant</td><th scope="row">Nia Governor</th><td>Governor, CO</td>',
    );
    expect(page.text).toContain(
      'Gone</td><th scope="row">Hana Senate</th><td>State Senator, CO district 1</td><td>Replaced by Quinn Newcomer</td>',
    );
    expect(page.text).toContain('phone: 202-555-0101, 303-555-0111 → 202-555-0199, 303-555-0111');
    expect(page.text).toMatch(
      /id="warning-held">3 letters are held because their office changed hands/,
    );
    expect(page.text).toContain(`<a href="/staff/campaigns/${SLUG}/delivery">Delivery page</a>`);
    expect(page.text).not.toContain('id="warning-stale"');
    expect(page.text).not.toContain('id="warning-ended"');
    // Viewers and organizers see; only admins may start a refresh.
    expect(page.text).not.toContain('action="/staff/data/refresh"');
    const admin = await signInAs(t.app, db(), 'admin');
    expect((await admin.agent.get('/staff/data').expect(200)).text).toContain(
      'action="/staff/data/refresh"',
    );
    // Tables scroll sideways on a phone rather than widen the page.
    expect(page.text.match(/<div class="table-scroll[^"]*"[^>]*>\s*<table/g)?.length).toBe(
      page.text.match(/<table/g)?.length,
    );
  });

  it('warns, on the page and on campaign dashboards, when the data is over 30 days old or a target’s term has ended', async () => {
    const organizer = await signInAs(t.app, db(), 'organizer');
    const dashboard = async () =>
      (await organizer.agent.get(`/staff/campaigns/${SLUG}`).expect(200)).text;
    expect(await dashboard()).not.toContain('id="data-warning"');

    // As if nothing had been checked for 40 days, and the data still had Ivan Lower in office after his term.
    await db().execute(
      sql`UPDATE rep_snapshots SET imported_at = imported_at - interval '40 days'`,
    );
    await db().execute(
      sql`UPDATE rep_refreshes SET started_at = started_at - interval '40 days', finished_at = finished_at - interval '40 days'`,
    );
    await db().execute(
      sql`UPDATE rep_officials SET term_end = '2020-01-06' WHERE person_id = ${IVAN.split(':')[1]!}`,
    );

    const page = (await organizer.agent.get('/staff/data').expect(200)).text;
    expect(page).toMatch(
      /id="warning-stale">The officials were last checked against their publishers 40 days ago \(more than 30\)/,
    );
    expect(page).toContain(
      'id="warning-ended">1 official that campaigns write to has a recorded term that has ended',
    );
    expect(page).toContain(
      '<th scope="row">Ivan Lower</th><td>State Representative, CO district 1</td><td class="nowrap">2020-01-06</td><td>Ban police use of facial recognition</td></tr>',
    );
    expect(await dashboard()).toMatch(
      /id="data-warning">The representative data was last checked 40 days ago\. 1 of this campaign&#x27;s targets has a recorded term that has ended\. <a href="\/staff\/data">/,
    );
    const json = (await organizer.agent.get(`/staff/campaigns/${SLUG}/dashboard.json`).expect(200))
      .body;
    expect(json.representativeData).toMatchObject({
      loaded: true,
      stale: true,
      ageDays: 40,
      endedTerms: 1,
    });
  });
});

describe('the refresh job', () => {
  it('is scheduled by REP_DATA_REFRESH, runs when an admin asks, and held letters are never sent', async () => {
    const admin = await signInAs(t.app, db(), 'admin');
    const page = await admin.agent.get('/staff/data').expect(200);
    const asked = await admin.agent
      .post('/staff/data/refresh')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    expect(asked.headers.location).toBe('/staff/data');
    const [audit] = await queryRows<{ actor: string }>(
      db(),
      sql`SELECT actor FROM audit_log WHERE action = 'data.refresh'`,
    );
    expect(audit?.actor).toBe('admin@staff.example.org');
    const refreshesBefore = (await refreshRows()).length;

    const started = Date.now();
    await t.startWorkers();
    // The daily schedule is set, its first run a day away (a new installation has just imported its data).
    const scheduler = await t.platform.queues
      .get('representatives')
      .getJobScheduler(DATA_REFRESH_SCHEDULE);
    expect(scheduler).toMatchObject({
      every: 86_400_000,
      template: { data: { trigger: 'schedule' } },
    });
    expect(scheduler!.next!).toBeGreaterThanOrEqual(started + 86_400_000);

    // The refresh asked for runs in the worker.
    await eventually(
      async () =>
        (await refreshRows()).length === refreshesBefore + 1 &&
        (await refreshRows()).at(-1)!.outcome !== null,
    );
    expect((await refreshRows()).at(-1)).toMatchObject({ outcome: 'unchanged' });

    // The letters still waiting go (as the rehearsal they were written in); the held ones stay held, with no attempt to send them.
    await eventually(async () =>
      (await letterRows())
        .filter((letter) => letter.target_key === IVAN)
        .every((letter) => letter.status === 'rehearsed'),
    );
    const held = (await letterRows()).filter((letter) => letter.status === 'held');
    expect(held).toHaveLength(3);
    const [attempts] = await queryRows<{ n: number }>(
      db(),
      sql`SELECT count(*)::int AS n FROM delivery_attempts WHERE letter_id = ANY(${`{${held.map((letter) => letter.id).join(',')}}`}::bigint[])`,
    );
    expect(attempts!.n).toBe(0);
  });
});

describe('data that would empty the seats', () => {
  it('is refused, as a truncated download or a lagging publisher would be, unless imported with force', async () => {
    const snapshot = await activeSnapshotId(db());
    const lettersBefore = await letterRows();
    await serve({ ...v2, congress: '[]\n' });
    const result = await refresh();
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatch(
      /: officials: would cut (.*, )?senators from \d+ to 0 at once; nothing was imported \(import with --force if the data is right\)$/,
    );
    expect(await activeSnapshotId(db())).toBe(snapshot);
    expect(await letterRows()).toEqual(lettersBefore);
    await serve(v2);
  });
});
