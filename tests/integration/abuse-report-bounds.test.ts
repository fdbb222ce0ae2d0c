import { randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { BURST_PAGE_ROWS, findBursts, type Burst, type BurstQuery } from '../../src/abuse/bursts';
import { ReadTimeoutError } from '../../src/db/bounded-reads';
import { queryRows } from '../../src/db/client';
import { campaigns } from '../../src/db/schema';
import { hashIp } from '../../src/http/ip-hash';
import { rebuildTallies } from '../../src/petitions/tallies';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { signatureValues } from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * The abuse report's bounds on PostgreSQL: it reads a flood from one domain once, in pages (where
 * its first version re-read each window for each signature: quadratic), it agrees with that first
 * version on what it finds, a staff statement that runs past STAFF_STATEMENT_TIMEOUT_MS is answered
 * 503 with what to do (never 500), and a report opened from another site is not run.
 */
const SLUG = 'ban-facial-recognition';
const REPORT = `/staff/campaigns/${SLUG}/abuse`;
/** The server cancels a staff statement after this long: a statement held up by a lock gets there every time. */
const TIMEOUT_MS = 1000;
let t: TestPlatform;
let campaignId: number;
let organizer: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  t = await createTestPlatform({ STAFF_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) });
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(() => t.close());

/**
 * `count` signatures of `campaign` from `domain`, `spacing` apart from `start` (SQL), with no IP
 * hash: one sealed address and name shared by all (a row's seal is opened whole or not at all),
 * unique email hashes, as the benchmark seeds them.
 */
async function flood(
  campaign: number,
  count: number,
  options: { domain: string; start: string; spacing: string; tag: string },
) {
  const row = signatureValues(t.platform.encryption, {
    email: `someone@${options.domain}`,
    name: 'Secret Person',
  });
  await t.platform.db.execute(sql`
    INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, created_at)
    SELECT ${campaign}::int, ${row.email}::bytea, sha256((${options.tag}::text || g)::bytea), ${row.emailDomainHash}::bytea, ${row.name}::bytea, '10001',
           ${sql.raw(options.start)} + (g - 1) * ${options.spacing}::interval
    FROM generate_series(1, ${count}::int) AS g`);
}

describe('a flood from one domain', () => {
  it('is read once, in pages, where the first version re-read every window for each signature', async () => {
    const [other] = await t.platform.db
      .insert(campaigns)
      .values({ slug: 'flooded', title: 'Flooded', summary: 's', petitionText: 'p', goal: 10 })
      .returning();
    // 12,000 from one domain within ten minutes, two hours ago; 3,000 from another over the day.
    await flood(other!.id, 12_000, {
      domain: 'flood.example',
      start: "now() - interval '2 hours'",
      spacing: '50 milliseconds',
      tag: 'flood-',
    });
    await flood(other!.id, 3_000, {
      domain: 'calm.example',
      start: "now() - interval '23 hours'",
      spacing: '25 seconds',
      tag: 'calm-',
    });

    const pages: number[] = [];
    const bursts = await findBursts(
      t.platform,
      other!.id,
      { window: 10, ips: 10, domains: 100, hours: 24 },
      { onPage: (rows) => pages.push(rows) },
    );
    expect(bursts).toEqual([
      expect.objectContaining({
        kind: 'domain',
        key: 'flood.example',
        signatures: 12_000,
        peak: 12_000,
        allInSpan: 12_000,
      }),
    ]);

    // Every signature of the period read once, BURST_PAGE_ROWS.pglite at a time: linear in the period's signatures.
    expect(pages.reduce((sum, rows) => sum + rows, 0)).toBe(15_000);
    expect(pages.every((rows) => rows <= BURST_PAGE_ROWS.pglite)).toBe(true);
    expect(pages.length).toBe(Math.floor(15_000 / BURST_PAGE_ROWS.pglite) + 1);

    // The first version took each window's end with max() over a frame sliding over the rows of the
    // key, which PostgreSQL aggregates again for every row: the rows it went through are the sum of
    // the frames' sizes (counted here with count(), which slides without starting over).
    const [examined] = await queryRows<{ rows: string }>(
      t.platform.db,
      sql`SELECT sum(n)::text AS rows FROM (
            SELECT count(*) OVER (PARTITION BY email_domain_hash ORDER BY created_at RANGE BETWEEN CURRENT ROW AND interval '10 minutes' FOLLOWING) AS n
            FROM signatures WHERE campaign_id = ${other!.id}::int) AS frames`,
    );
    expect(Number(examined!.rows)).toBeGreaterThan((12_000 * 12_000) / 2);
    expect(Number(examined!.rows)).toBeGreaterThan(4000 * 15_000);
  });
});

/**
 * The report's first version, a single SQL query, as the reference of what a burst is. Its cost is
 * quadratic (above); on a few hundred rows it is quick.
 */
async function firstVersion(query: BurstQuery, since: Date, until: Date) {
  const window = `${query.window} minutes`;
  return queryRows<{
    kind: 'ip' | 'domain';
    key: string;
    signatures: string;
    peak: string;
    first_at: Date;
    last_at: Date;
    all_in_span: string;
  }>(
    t.platform.db,
    sql`WITH base AS (
          SELECT id, created_at, ip_hash, encode(email_domain_hash, 'hex') AS domain,
                 row_number() OVER (ORDER BY created_at, id) AS g
          FROM signatures
          WHERE campaign_id = ${campaignId}::int AND created_at >= ${since.toISOString()}::timestamptz AND created_at < ${until.toISOString()}::timestamptz
        ), keyed AS (
          SELECT 'ip'::text AS kind, ip_hash AS key, id, created_at, g FROM base WHERE ip_hash IS NOT NULL
          UNION ALL
          SELECT 'domain'::text, domain, id, created_at, g FROM base
        ), heavy AS (
          SELECT kind, key FROM keyed
          GROUP BY kind, key
          HAVING count(*) > CASE kind WHEN 'ip' THEN ${query.ips}::int ELSE ${query.domains}::int END
        ), numbered AS (
          SELECT keyed.*, row_number() OVER (PARTITION BY keyed.kind, keyed.key ORDER BY keyed.created_at, keyed.id) AS r
          FROM keyed JOIN heavy ON heavy.kind = keyed.kind AND heavy.key = keyed.key
        ), windows AS (
          SELECT kind, key, id, created_at, r, g,
                 count(*) OVER w AS n,
                 max(r) OVER w AS last_r,
                 max(g) OVER w AS last_g,
                 max(created_at) OVER w AS last_at
          FROM numbered
          WINDOW w AS (PARTITION BY kind, key ORDER BY created_at RANGE BETWEEN CURRENT ROW AND ${window}::interval FOLLOWING)
        ), over AS (
          SELECT * FROM windows
          WHERE n > CASE kind WHEN 'ip' THEN ${query.ips}::int ELSE ${query.domains}::int END
        ), marked AS (
          SELECT *,
                 CASE WHEN created_at <= max(last_at) OVER (PARTITION BY kind, key ORDER BY created_at, r ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                      THEN 0 ELSE 1 END AS starts
          FROM over
        ), grouped AS (
          SELECT *, sum(starts) OVER (PARTITION BY kind, key ORDER BY created_at, r ROWS UNBOUNDED PRECEDING) AS burst FROM marked
        )
        SELECT kind, key,
               max(last_r) - min(r) + 1 AS signatures,
               max(n) AS peak,
               min(created_at) AS first_at,
               max(last_at) AS last_at,
               max(last_g) - min(g) + 1 AS all_in_span
        FROM grouped
        GROUP BY kind, key, burst`,
  );
}

describe('what the report finds', () => {
  it('agrees with its first version, burst for burst, on signatures at random times (many at the same moment)', async () => {
    const secret = t.platform.config.secret;
    const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '203.0.113.4', null].map((ip) =>
      ip ? hashIp(secret, ip) : null,
    );
    const domains = ['a.example', 'b.example', 'c.example', 'd.example'];
    const domainOf = new Map(
      domains.map((domain) => [
        t.platform.encryption.domainHash(`x@${domain}`).toString('hex'),
        domain,
      ]),
    );
    const base = Date.now() - 3 * 3_600_000;
    const rows = Array.from({ length: 900 }, (_, i) => {
      const sealed = signatureValues(t.platform.encryption, {
        email: `random-${i}@${domains[randomInt(domains.length)]}`,
        name: 'Secret Person',
      });
      // Half-second steps over two hours: many signatures share their moment.
      const at = new Date(base + randomInt(14_400) * 500);
      return sql`(${campaignId}::int, ${sealed.email}::bytea, ${sealed.emailHash}::bytea, ${sealed.emailDomainHash}::bytea, ${sealed.name}::bytea, '10001',
                  ${ips[randomInt(ips.length)]}, ${at.toISOString()}::timestamptz)`;
    });
    await t.platform.db.execute(sql`
      INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, ip_hash, created_at) VALUES ${sql.join(rows, sql`, `)}`);

    const now = new Date();
    const byEverything = (a: Burst, b: Burst) =>
      a.kind.localeCompare(b.kind) ||
      a.key.localeCompare(b.key) ||
      a.firstAt.getTime() - b.firstAt.getTime();
    let compared = 0;
    for (const query of [
      { window: 1, ips: 3, domains: 4, hours: 24 },
      { window: 3, ips: 6, domains: 10, hours: 24 },
      { window: 10, ips: 12, domains: 25, hours: 24 },
      { window: 10, ips: 20, domains: 40, hours: 2 },
      { window: 60, ips: 60, domains: 80, hours: 24 },
    ]) {
      const ours = await findBursts(t.platform, campaignId, query, { now, limit: 100_000 });
      const reference = (
        await firstVersion(query, new Date(now.getTime() - query.hours * 3_600_000), now)
      ).map((row): Burst => ({
        kind: row.kind,
        key: row.kind === 'domain' ? domainOf.get(row.key)! : row.key,
        signatures: Number(row.signatures),
        peak: Number(row.peak),
        firstAt: new Date(row.first_at),
        lastAt: new Date(row.last_at),
        allInSpan: Number(row.all_in_span),
      }));
      expect(reference.length).toBeGreaterThan(0);
      expect([...ours].sort(byEverything)).toEqual(reference.sort(byEverything));
      // Biggest first.
      expect(ours.map((burst) => burst.signatures)).toEqual(
        [...ours.map((burst) => burst.signatures)].sort((a, b) => b - a),
      );
      compared += reference.length;
    }
    expect(compared).toBeGreaterThan(20);
    // What the page tests of abuse-report.test.ts expect of the page comes after: these are not the campaign's any more.
    await t.platform.db.execute(sql`DELETE FROM signatures WHERE campaign_id = ${campaignId}::int`);
  });

  it('lists the biggest bursts only, at most `limit`', async () => {
    const [campaign] = await t.platform.db
      .insert(campaigns)
      .values({ slug: 'many-bursts', title: 'Many', summary: 's', petitionText: 'p', goal: 10 })
      .returning();
    // Thirty domains, each a burst of its own size (21 to 50), an hour apart.
    for (let i = 0; i < 30; i++) {
      await flood(campaign!.id, 21 + i, {
        domain: `d${i}.example`,
        start: `now() - interval '${i + 1} hours'`,
        spacing: '1 second',
        tag: `many-${i}-`,
      });
    }
    const bursts = await findBursts(
      t.platform,
      campaign!.id,
      { window: 10, ips: 10, domains: 20, hours: 48 },
      { limit: 5 },
    );
    expect(bursts.map((burst) => [burst.key, burst.signatures])).toEqual([
      ['d29.example', 50],
      ['d28.example', 49],
      ['d27.example', 48],
      ['d26.example', 47],
      ['d25.example', 46],
    ]);
  });

  it('stops between two pages once its time is spent', async () => {
    const [campaign] = await queryRows<{ id: number }>(
      t.platform.db,
      sql`SELECT id FROM campaigns WHERE slug = 'flooded'`,
    );
    const pages: number[] = [];
    await expect(
      findBursts(
        t.platform,
        campaign!.id,
        { window: 10, ips: 10, domains: 100, hours: 24 },
        { timeoutMs: 0, onPage: (rows) => pages.push(rows) },
      ),
    ).rejects.toBeInstanceOf(ReadTimeoutError);
    expect(pages).toEqual([BURST_PAGE_ROWS.pglite]);
  });
});

/** A transaction of its own on another connection, holding `table` locked until `release`. */
async function lockTable(table: string) {
  const client = new pg.Client({ connectionString: t.platform.config.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    async release() {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

describe('a staff statement that runs too long', () => {
  it('stops the abuse report with a 503 and its form, asking for a shorter period, not a 500', async () => {
    const lock = await lockTable('signatures');
    try {
      const page = await organizer.agent
        .get(`${REPORT}?window=10&ips=10&domains=100&hours=168`)
        .expect(503);
      expect(page.text).toContain(
        'This report took too long (more than 1 second) and was stopped. Choose fewer hours',
      );
      expect(page.text).toContain('href="#field-hours"');
      expect(page.text).toMatch(
        /id="field-hours"[^>]*aria-invalid="true"[^>]*aria-describedby="field-hours-error"/,
      );
      expect(page.text).toMatch(/id="field-hours"[^>]*value="168"/);
      expect(page.text).not.toContain('id="bursts-ip"');
    } finally {
      await lock.release();
    }
    await organizer.agent.get(`${REPORT}?window=10&ips=10&domains=100&hours=168`).expect(200);
    expect(t.logs()).toContain('the abuse report took too long and was stopped');
    expect(t.logs()).not.toContain('request failed');
  });

  it("answers the dashboard, its JSON and an export's start with a 503 that says so", async () => {
    const counts = await lockTable('signature_counts');
    try {
      const page = await organizer.agent.get(`/staff/campaigns/${SLUG}`).expect(503);
      expect(page.text).toContain(
        'This report took too long (more than 1 second) and was stopped.',
      );
      const json = await organizer.agent.get(`/staff/campaigns/${SLUG}/dashboard.json`).expect(503);
      expect(json.body).toEqual({
        error: 'too_long',
        message: expect.stringContaining('took too long'),
      });
    } finally {
      await counts.release();
    }
    await organizer.agent.get(`/staff/campaigns/${SLUG}/dashboard.json`).expect(200);

    const exportsPage = await organizer.agent.get(`/staff/campaigns/${SLUG}/exports`).expect(200);
    const signaturesLock = await lockTable('signatures');
    try {
      const started = await organizer.agent
        .post(`/staff/campaigns/${SLUG}/exports`)
        .type('form')
        .send({ _csrf: csrfTokenOf(exportsPage.text), kind: 'signatures' })
        .expect(503);
      expect(started.text).toContain('took too long');
    } finally {
      await signaturesLock.release();
    }
    expect(t.logs()).toContain('a staff page took too long and was stopped');
    expect(t.logs()).not.toContain('request failed');
  });

  it('leaves the public pages alone: signing does not share the staff connections or their timeout', async () => {
    await t.platform.db.execute(sql`SELECT pg_sleep(${(TIMEOUT_MS * 1.5) / 1000})`);
    const [row] = await queryRows<{ timeout: string }>(
      t.platform.db,
      sql`SELECT current_setting('statement_timeout') AS timeout`,
    );
    expect(row!.timeout).toBe('0');
    const [staff] = await queryRows<{ timeout: string }>(
      t.platform.database.staffDb,
      sql`SELECT current_setting('statement_timeout') AS timeout`,
    );
    expect(staff!.timeout).toBe('1s');
  });
});

describe('a report opened from another site', () => {
  it('shows the form with its settings and does not run; the same address from the console runs', async () => {
    await rebuildTallies(t.platform.db, campaignId);
    const url = `${REPORT}?window=10&ips=10&domains=100&hours=168`;
    // Held locked, the signatures would stop any report that read them: these answers read none.
    const lock = await lockTable('signatures');
    try {
      for (const site of ['cross-site', 'same-site']) {
        const page = await organizer.agent
          .get(url)
          .set('Sec-Fetch-Site', site)
          .set('Sec-Fetch-Mode', 'navigate')
          .expect(200);
        expect(page.text).toContain(
          'This report was opened from another site, so it has not been run.',
        );
        expect(page.text).toMatch(/id="field-hours"[^>]*value="168"/);
        expect(page.text).not.toContain('id="bursts-ip"');
      }
    } finally {
      await lock.release();
    }
    for (const site of ['same-origin', 'none']) {
      const page = await organizer.agent.get(url).set('Sec-Fetch-Site', site).expect(200);
      expect(page.text).toContain('id="bursts-domain"');
      expect(page.text).not.toContain('opened from another site');
    }
  });
});
