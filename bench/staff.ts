import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { buildApp } from '../src/app';
import { DEMO_CAMPAIGN_SLUG } from '../src/campaigns/demo';
import { runCli, UsageError } from '../src/cli';
import { loadConfig } from '../src/config';
import { queryRows, type Database } from '../src/db/client';
import { sealedSignature } from '../src/db/sealed-rows';
import { createLogger } from '../src/logger';
import { rebuildTallies } from '../src/petitions/tallies';
import { openPlatform, type Platform } from '../src/platform';
import { FieldEncryption, formatKeyRing } from '../src/db/field-encryption';
import { uspsByFips } from '../src/representatives/us-states';
import { createAccount } from '../src/staff/accounts';
import { writeExportFile } from '../src/staff/exports';

/**
 * `npm run bench:staff [-- --rows 1000000 --flood 50000 --runs 5 --database <postgres-url> --redis <redis-url>]`
 * `npm run bench:staff -- --embedded [--rows 1000000 ...]` (PGlite and a private redis-server in a temporary folder)
 *
 * Every staff page and staff JSON endpoint, over HTTP through the whole app (sessions, CSRF,
 * rendering), signed in as an organizer or an admin, on a campaign of `--rows` signatures (default
 * 1,000,000) of which `--flood` (default 50,000) came from one email domain within ten minutes two
 * hours ago; next to the baseline, a plain `SELECT` of the campaign's count row through the same
 * database connection pool, and `/healthz` over HTTP, the web stack's floor. Each is requested once
 * untimed, then `--runs` times; it prints the median and the slowest, the median's ratio to the
 * baseline's, and the longest the process stopped answering anything during the page (the
 * longest gap between two ticks of a 5 ms timer): with PGlite, one statement holds the whole
 * process, so that figure is what others wait at worst.
 *
 * The signatures are written with generate_series before any clock runs, their names and emails
 * sealed as the platform seals them (1,000 sealed variants taken in turn, and one for the flood's
 * domain), spread over 30 days, with IP hashes on the last 7 (they are erased after that), the
 * counts rebuilt from them as the tally worker would; letter counts, partners, an audit log and
 * exports beside them. With PostgreSQL it creates a database of its own on the given server
 * (dropped at the end) and uses a Redis key prefix of its own (deleted at the end).
 */
const USAGE =
  'Usage: npm run bench:staff [-- --rows 1000000 --flood 50000 --runs 5 --database <postgres-url> --redis <redis-url>] or [-- --embedded --rows 200000]';
const TARGET_MS = 1000;
const TICK_MS = 5;

const out = (text: string) => process.stdout.write(text);
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) =>
  value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
const line = (first: [string, number], ...rest: Array<[string, number]>) =>
  `${first[0].padEnd(first[1])}${rest.map(([text, width]) => text.padStart(width)).join('')}\n`;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

function parseArguments() {
  let values: {
    rows: string;
    flood: string;
    runs: string;
    database: string;
    redis: string;
    embedded: boolean;
    keep: boolean;
  };
  try {
    values = parseArgs({
      options: {
        rows: { type: 'string', default: '1000000' },
        flood: { type: 'string', default: '50000' },
        runs: { type: 'string', default: '5' },
        database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
        redis: { type: 'string', default: 'redis://127.0.0.1:6379/0' },
        embedded: { type: 'boolean', default: false },
        /** Leaves the database (PostgreSQL) in place at the end, to look into; its name is printed. */
        keep: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const rows = Number(values.rows);
  const flood = Number(values.flood);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 1000)
    throw new UsageError(`--rows must be a whole number of at least 1000, not "${values.rows}"`);
  if (!Number.isInteger(flood) || flood < 0 || flood >= rows)
    throw new UsageError(`--flood must be a whole number below --rows, not "${values.flood}"`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs must be a positive whole number, not "${values.runs}"`);
  return {
    rows,
    flood,
    runs,
    database: values.database,
    redis: values.redis,
    embedded: values.embedded,
    keep: values.keep,
  };
}

async function withAdmin<T>(url: string, task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}

/** Distinct sealed addresses (over DOMAINS domains, a few of them big, as webmail is) and names the seeded signatures take in turn. */
const SEALED_VARIANTS = 1000;
const DOMAINS = 300;
const FLOOD_DOMAIN = 'flood.example';
/** The flood's signatures come from this many networks (25 each in its ten minutes, at the defaults). */
const FLOOD_NETWORKS = 2000;

/**
 * `normal` signatures over the last 30 days and `flood` from one domain in ten minutes two hours
 * ago, then the counts, letter counts, partners, audit entries and exports the pages read.
 */
async function seed(
  db: Database,
  encryption: FieldEncryption,
  campaignId: number,
  staffId: number,
  normal: number,
  flood: number,
): Promise<void> {
  await db.execute(
    sql`CREATE TABLE bench_sealed (i int PRIMARY KEY, email bytea NOT NULL, email_domain_hash bytea NOT NULL, name bytea NOT NULL)`,
  );
  const variants = Array.from({ length: SEALED_VARIANTS + 1 }, (_, i) => {
    // Variant SEALED_VARIANTS is the flood's; the others' domains are skewed: d0 is the biggest.
    const domain =
      i === SEALED_VARIANTS
        ? FLOOD_DOMAIN
        : `d${Math.floor(DOMAINS * (i / SEALED_VARIANTS) ** 3)}.example`;
    const sealed = sealedSignature(encryption, {
      email: `supporter-${i}@${domain}`,
      name: `Supporter Number ${i}`,
    });
    return sql`(${i}, ${sealed.email}::bytea, ${sealed.emailDomainHash}::bytea, ${sealed.name}::bytea)`;
  });
  await db.execute(
    sql`INSERT INTO bench_sealed (i, email, email_domain_hash, name) VALUES ${sql.join(variants, sql`, `)}`,
  );
  const fips = [...uspsByFips.keys()].filter((code) => Number(code) < 60 && code !== '11');
  const fipsArray = `ARRAY[${fips.map((code) => `'${code}'`).join(',')}]`;
  // In slices, so that PGlite (one process) never writes more than this in one statement.
  const slice = 100_000;
  for (let first = 1; first <= normal; first += slice) {
    const last = Math.min(normal, first + slice - 1);
    await db.execute(
      sql.raw(`
      INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, state, congressional_district, state_upper_district,
                              state_lower_district, source, opt_in, tallied, verified_at, ip_hash, created_at)
      SELECT ${campaignId}, v.email, sha256(('supporter-' || g)::bytea), v.email_domain_hash, v.name,
             lpad((10000 + g % 89999)::text, 5, '0'), (${`'${JSON.stringify(Object.fromEntries(uspsByFips))}'`}::jsonb ->> s.f),
             s.f || lpad((1 + g % 9)::text, 2, '0'), s.f || lpad((1 + g % 40)::text, 3, '0'), s.f || lpad((1 + g % 100)::text, 3, '0'),
             CASE WHEN g % 4 = 0 THEN 'partner-' || (g % 7) END, g % 5 = 0, true, CASE WHEN g % 3 <> 0 THEN t.at END,
             CASE WHEN t.at > now() - interval '7 days' THEN left(encode(sha256(('ip-' || (g % 700000))::bytea), 'base64'), 32) END, t.at
      FROM generate_series(${first}, ${last}) AS g
      CROSS JOIN LATERAL (SELECT (${fipsArray})[1 + g % ${fips.length}] AS f) AS s
      CROSS JOIN LATERAL (SELECT now() - make_interval(secs => g * ${(30 * 86_400) / normal}) AS at) AS t
      JOIN bench_sealed v ON v.i = g % ${SEALED_VARIANTS}`),
    );
  }
  for (let first = 1; first <= flood; first += slice) {
    const last = Math.min(flood, first + slice - 1);
    await db.execute(
      sql.raw(`
      INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, state, tallied, ip_hash, created_at)
      SELECT ${campaignId}, v.email, sha256(('flood-' || g)::bytea), v.email_domain_hash, v.name, '10001', 'NY', true,
             left(encode(sha256(('flood-ip-' || (g % ${FLOOD_NETWORKS}))::bytea), 'base64'), 32),
             now() - interval '2 hours' + make_interval(secs => g * ${600 / flood})
      FROM generate_series(${first}, ${last}) AS g
      JOIN bench_sealed v ON v.i = ${SEALED_VARIANTS}`),
    );
  }
  await db.execute(sql`DROP TABLE bench_sealed`);
  await rebuildTallies(db, campaignId);

  // Letters as the delivery worker counts them: per writer's district and per target, by status.
  await db.execute(
    sql.raw(`
    INSERT INTO letter_counts (campaign_id, dimension, key, status, count)
    SELECT ${campaignId}, 'congressional', f || lpad(d::text, 2, '0'), st, 1 + (d * 37 + length(st)) % 400
    FROM unnest(${fipsArray}) AS f CROSS JOIN generate_series(1, 9) AS d CROSS JOIN unnest(ARRAY['delivered', 'queued', 'retrying', 'failed']) AS st
    UNION ALL
    SELECT ${campaignId}, 'target', 'us-house:B' || lpad(n::text, 6, '0'), st, 1 + (n * 13 + length(st)) % 300
    FROM generate_series(1, 441) AS n CROSS JOIN unnest(ARRAY['delivered', 'queued', 'retrying', 'failed']) AS st`),
  );
  await db.execute(
    sql.raw(
      `INSERT INTO partners (campaign_id, name, source_code) SELECT ${campaignId}, 'Partner ' || n, 'partner-' || n FROM generate_series(0, 6) AS n`,
    ),
  );
  await db.execute(
    sql.raw(`
    INSERT INTO audit_log (at, staff_id, actor, action, campaign_id, details)
    SELECT now() - make_interval(mins => n), ${staffId}, 'organizer@bench.example', 'campaign.update', ${campaignId}, jsonb_build_object('n', n)
    FROM generate_series(1, 20000) AS n`),
  );
  await db.execute(
    sql.raw(`
    INSERT INTO staff_exports (id, campaign_id, staff_id, kind, status, rows_total, rows_written, bytes, created_at, finished_at, expires_at)
    SELECT 'bench' || lpad(n::text, 19, '0'), ${campaignId}, ${staffId}, 'congressional', CASE WHEN n < 5 THEN 'ready' ELSE 'expired' END,
           441, 441, 30000, now() - make_interval(hours => n), now() - make_interval(hours => n), now() - make_interval(hours => n) + interval '24 hours'
    FROM generate_series(1, 200) AS n`),
  );
  // As autovacuum would have by then: statistics, the visibility map and hint bits set.
  await db.execute(sql`VACUUM (ANALYZE) signatures`);
  await db.execute(sql`ANALYZE`);
}

/** A browser's session with the staff console: its cookies, and the CSRF token of the last page that had one. */
class StaffSession {
  private readonly cookies = new Map<string, string>();
  token = '';

  constructor(private readonly base: string) {}

  async request(
    pathAndQuery: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ status: number; bytes: number }> {
    const response = await fetch(`${this.base}${pathAndQuery}`, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        // As a browser following a link within the console.
        'sec-fetch-site': 'same-origin',
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.token = token;
    return { status: response.status, bytes: Buffer.byteLength(text) };
  }

  async signIn(email: string, password: string): Promise<void> {
    await this.request('/staff/login');
    const answer = await this.request('/staff/login', {
      method: 'POST',
      form: { _csrf: this.token, email, password },
    });
    if (answer.status !== 303) throw new Error(`signing in as ${email} answered ${answer.status}`);
    await this.request('/staff');
  }
}

interface Timed {
  median: number;
  slowest: number;
  /** The longest the process answered nothing, during any of the runs. */
  stall: number;
  status: number;
  bytes: number;
}

/** Runs `task` once untimed (unless `warmUp` is false), then `runs` times, timing each and watching the event loop. */
async function time(
  runs: number,
  task: () => Promise<{ status: number; bytes: number }>,
  warmUp = true,
): Promise<Timed> {
  if (warmUp) await task();
  const times: number[] = [];
  let stall = 0;
  let answer = { status: 0, bytes: 0 };
  for (let run = 0; run < runs; run++) {
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, TICK_MS);
    const began = performance.now();
    try {
      answer = await task();
    } finally {
      const ended = performance.now();
      clearInterval(ticker);
      stall = Math.max(stall, ended - last);
      times.push(ended - began);
    }
  }
  return { median: median(times), slowest: Math.max(...times), stall, ...answer };
}

runCli('bench:staff', async () => {
  const args = parseArguments();
  const runId = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-bench-staff-'));
  const databaseName = `frb_bench_${runId}`;
  const databaseUrl = new URL(args.database);
  databaseUrl.pathname = `/${databaseName}`;
  const cpus = os.cpus();
  out(
    `Staff pages benchmark, ${new Date().toISOString().slice(0, 10)}: node ${process.version}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `${args.embedded ? 'embedded (PGlite, in this process)' : 'PostgreSQL'}\n` +
      `${int(args.rows)} signatures, ${int(args.flood)} of them from one domain in ten minutes; ${args.runs} runs of each; ` +
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}\n\n`,
  );

  if (!args.embedded)
    await withAdmin(args.database, (client) => client.query(`CREATE DATABASE ${databaseName}`));
  let platform: Platform | undefined;
  let server: Server | undefined;
  const password = randomBytes(12).toString('base64url');
  try {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      ...(args.embedded ? {} : { DATABASE_URL: databaseUrl.toString(), REDIS_URL: args.redis }),
      REDIS_KEY_PREFIX: `bench-staff-${runId}`,
      APP_SECRET: randomBytes(32).toString('hex'),
      // Keys of its own, as a deployment's would be.
      ENCRYPTION_KEYS: formatKeyRing([{ id: 1, key: randomBytes(32) }]),
      LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
      STAFF_LOGIN_RATE_LIMIT: '1000000',
      REP_DATA_DIR: 'none',
      // Quiet: a report stopped at the timeout is logged (and counted in the summary below).
      LOG_LEVEL: 'fatal',
    });
    platform = await openPlatform(config, createLogger('fatal'));
    const opened = platform;
    const campaign = await opened.campaigns.bySlug(DEMO_CAMPAIGN_SLUG);
    if (!campaign) throw new Error('the demo campaign is missing');
    const organizer = await createAccount(
      opened.db,
      { email: 'organizer@bench.example', name: 'Organizer', role: 'organizer', password },
      'command line',
    );
    await createAccount(
      opened.db,
      { email: 'admin@bench.example', name: 'Admin', role: 'admin', password },
      'command line',
    );

    const seeding = performance.now();
    await seed(
      opened.db,
      opened.encryption,
      campaign.id,
      organizer.id,
      args.rows - args.flood,
      args.flood,
    );
    const [inPeriods] = await queryRows<{ day: string; week: string }>(
      opened.db,
      sql`SELECT count(*) FILTER (WHERE created_at > now() - interval '24 hours') AS day, count(*) FILTER (WHERE created_at > now() - interval '168 hours') AS week
          FROM signatures WHERE campaign_id = ${campaign.id}::int`,
    );
    out(
      `Seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s (not timed): ${int(Number(inPeriods!.day))} signatures in the last 24 hours, ` +
        `${int(Number(inPeriods!.week))} in the last 168\n\n`,
    );

    server = buildApp(opened).listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const asOrganizer = new StaffSession(base);
    await asOrganizer.signIn('organizer@bench.example', password);
    const asAdmin = new StaffSession(base);
    await asAdmin.signIn('admin@bench.example', password);

    const slug = campaign.slug;
    const page = `/staff/campaigns/${slug}`;
    const results: Array<[string, Timed, number?]> = [];
    const baseline = await time(args.runs, async () => {
      const rows = await queryRows<{ count: string | number }>(
        opened.db,
        sql`SELECT count FROM signature_counts WHERE campaign_id = ${campaign.id}::int AND dimension = 'total' AND key = ''`,
      );
      return { status: rows.length === 1 ? 200 : 500, bytes: 0 };
    });
    results.push(['baseline: SELECT of the count row', baseline]);
    results.push([
      '/healthz (HTTP, the web stack)',
      await time(args.runs, () => asOrganizer.request('/healthz')),
    ]);
    const pages: Array<[string, StaffSession, string, number?]> = [
      ['Campaigns (/staff)', asOrganizer, '/staff'],
      ['Dashboard', asOrganizer, page],
      ['Dashboard JSON', asOrganizer, `${page}/dashboard.json`],
      ['Abuse report, defaults (24 h)', asOrganizer, `${page}/abuse`],
      ['Abuse report, 168 h', asOrganizer, `${page}/abuse?window=10&ips=10&domains=100&hours=168`],
      [
        'Abuse report, 168 h, 60-min window, low thresholds',
        asOrganizer,
        `${page}/abuse?window=60&ips=2&domains=5&hours=168`,
      ],
      ['Exports', asOrganizer, `${page}/exports`],
      ['Exports progress JSON', asOrganizer, `${page}/exports/progress`],
      ['Settings', asOrganizer, `${page}/edit`],
      ['Letter templates', asOrganizer, `${page}/templates`],
      ['Targets', asOrganizer, `${page}/targets`],
      ['Partners', asOrganizer, `${page}/partners`],
      ['Your account', asOrganizer, '/staff/account'],
      ['Accounts (admin)', asAdmin, '/staff/accounts'],
      ['Audit log (admin)', asAdmin, '/staff/audit'],
    ];
    for (const [label, session, url] of pages)
      results.push([label, await time(args.runs, () => session.request(url))]);
    // Starting an export counts its rows first (then queues a job for this many: no worker runs
    // here, and a second start finds the first in progress, after counting).
    await asOrganizer.request(`${page}/exports`);
    results.push([
      'Start a signature export (POST: counts rows)',
      await time(args.runs, () =>
        asOrganizer.request(`${page}/exports`, {
          method: 'POST',
          form: { _csrf: asOrganizer.token, kind: 'signatures' },
        }),
      ),
    ]);

    if (args.embedded) {
      // In embedded mode the export job runs in this process too: its pages hold it like a page's statements.
      const id = randomBytes(18).toString('base64url');
      await opened.db.execute(
        sql`INSERT INTO staff_exports (id, campaign_id, kind, status, rows_total) VALUES (${id}, ${campaign.id}, 'signatures', 'queued', ${args.rows})`,
      );
      results.push([
        `Signature export job, ${int(args.rows)} rows (once)`,
        await time(
          1,
          async () => ({
            status: (await writeExportFile(opened, id)) === 'written' ? 200 : 500,
            bytes: 0,
          }),
          false,
        ),
      ]);
    }

    out(
      line(
        ['', 52],
        ['status', 8],
        ['median ms', 11],
        ['slowest ms', 12],
        ['× baseline', 12],
        ['longest stall ms', 18],
        ['bytes', 10],
      ),
    );
    for (const [label, timed] of results) {
      out(
        line(
          [label, 52],
          [String(timed.status), 8],
          [ms(timed.median), 11],
          [ms(timed.slowest), 12],
          [(timed.median / baseline.median).toFixed(0), 12],
          [ms(timed.stall), 18],
          [int(timed.bytes), 10],
        ),
      );
    }

    const byLabel = new Map(results.map(([label, timed]) => [label, timed]));
    const target = (label: string, value: string, limit: string, met: boolean) =>
      line([`  ${label}`, 62], [value, 12], [limit, 12], [met ? 'PASS' : 'MISS', 6]);
    out('\nTargets (informational)\n');
    // The time targets are PostgreSQL's; embedded mode's is that the process keeps answering.
    for (const label of args.embedded ? [] : ['Dashboard', 'Abuse report, defaults (24 h)']) {
      const timed = byLabel.get(label)!;
      out(
        target(
          `${label}, median`,
          `${ms(timed.median)} ms`,
          `≤ ${TARGET_MS} ms`,
          timed.median <= TARGET_MS,
        ),
      );
    }
    const staffPages = results.slice(2);
    const worst = staffPages.reduce((a, b) => (b[1].stall > a[1].stall ? b : a));
    out(
      target(
        `longest stall, any row (${worst[0]})`,
        `${ms(worst[1].stall)} ms`,
        `≤ ${TARGET_MS} ms`,
        worst[1].stall <= TARGET_MS,
      ),
    );
    const stopped = staffPages.filter(([, timed]) => timed.status === 503);
    if (stopped.length > 0)
      out(
        `\nStopped at STAFF_STATEMENT_TIMEOUT_MS (503, "narrow the report"): ${stopped.map(([label]) => label).join(', ')}\n`,
      );
    const failed = staffPages.filter(([, timed]) => ![200, 303, 503].includes(timed.status));
    if (failed.length > 0)
      out(
        `\nNot answered as expected: ${failed.map(([label, timed]) => `${label} (${timed.status})`).join(', ')}\n`,
      );
  } finally {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (platform) {
      const keys = await platform.redis
        .keys(`${platform.config.redisKeyPrefix}:*`)
        .catch(() => [] as string[]);
      if (keys.length > 0) await platform.redis.del(...keys).catch(() => undefined);
      await platform.close();
    }
    if (!args.embedded && !args.keep)
      await withAdmin(args.database, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`),
      );
    if (!args.embedded && args.keep) out(`\nKept the database ${databaseName}.\n`);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
