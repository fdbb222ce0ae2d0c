import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DEMO_CAMPAIGN_SLUG, ensureDemoCampaign } from '../src/campaigns/demo';
import { runCli, UsageError } from '../src/cli';
import { openDatabase, queryRows, type DatabaseHandle } from '../src/db/client';
import { sealedSignature } from '../src/db/sealed-rows';
import { FieldEncryption } from '../src/db/field-encryption';
import { uspsByFips } from '../src/representatives/us-states';
import { exportFilePath, writeExportFile } from '../src/staff/exports';

/**
 * `npm run bench:export [-- --rows 1000000 --runs 3 --database <postgres-url>]`: a large signature
 * export through our code (`writeExportFile`, the export job's body: COPY with the consent rule,
 * the district names and the formula neutralisation in SQL, streamed through the row meter into
 * its file, the progress updates, the rename and the final record) next to a raw
 * `COPY (SELECT * FROM signatures WHERE campaign_id = … ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)`
 * of the same rows through pg-copy-streams into a file in the same folder, in the same run.
 *
 * Memory: RSS and heap are sampled every 10 ms during each export (after a full GC: run with
 * --expose-gc, as the npm script does); the same export of a campaign one tenth the size shows
 * whether the peak depends on the number of rows.
 *
 * It creates a database of its own on the given server (dropped at the end); the signatures and
 * a synthetic representative snapshot (districts with names, so the export's joins do their
 * work) are written with generate_series before any clock runs.
 */
const USAGE = 'Usage: npm run bench:export [-- --rows 1000000 --runs 3 --database <postgres-url>]';
const TARGETS = { ratio: 2, rssGrowthMb: 64 };
const SAMPLE_MS = 10;

const out = (text: string) => process.stdout.write(text);
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const line = (first: [string, number], ...rest: Array<[string, number]>) =>
  `${first[0].padEnd(first[1])}${rest.map(([text, width]) => text.padStart(width)).join('')}\n`;

function parseArguments() {
  let values: { rows: string; runs: string; database: string };
  try {
    values = parseArgs({
      options: {
        rows: { type: 'string', default: '1000000' },
        runs: { type: 'string', default: '3' },
        database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 10)
    throw new UsageError(`--rows must be a whole number of at least 10, not "${values.rows}"`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs must be a positive whole number, not "${values.runs}"`);
  return { rows, runs, database: values.database };
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

const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();

interface Measured {
  seconds: number;
  bytes: number;
  /** CPU seconds of this process. */
  nodeCpu: number;
  rssBefore: number;
  rssPeak: number;
  heapBefore: number;
  heapPeak: number;
}

/** Times `task`, sampling this process's memory meanwhile; returns the bytes the task says it wrote. */
async function measure(task: () => Promise<number>): Promise<Measured> {
  collectGarbage();
  const before = process.memoryUsage();
  let rssPeak = before.rss;
  let heapPeak = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    rssPeak = Math.max(rssPeak, now.rss);
    heapPeak = Math.max(heapPeak, now.heapUsed);
  }, SAMPLE_MS);
  const cpu = process.cpuUsage();
  const began = performance.now();
  try {
    const bytes = await task();
    const seconds = (performance.now() - began) / 1000;
    const used = process.cpuUsage(cpu);
    const after = process.memoryUsage();
    return {
      seconds,
      bytes,
      nodeCpu: (used.user + used.system) / 1e6,
      rssBefore: before.rss,
      rssPeak: Math.max(rssPeak, after.rss),
      heapBefore: before.heapUsed,
      heapPeak: Math.max(heapPeak, after.heapUsed),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Distinct sealed names and emails the seeded signatures take in turn (sealing a million of each would dominate the seeding). */
const SEALED_VARIANTS = 1000;

/**
 * A synthetic active snapshot (every state with 9 congressional, 40 state senate and 100 state
 * house districts, named as the Census names them) and `n` signatures spread over them, a fifth
 * opted in, one in eleven with a formula-like name, one in four with a source. Names and emails
 * are sealed as the platform seals them, SEALED_VARIANTS of each taken in turn: opening one costs
 * the same whatever it holds. The email hashes are unique stand-ins.
 */
async function seed(
  database: DatabaseHandle,
  encryption: FieldEncryption,
  campaignId: number,
  n: number,
  snapshot: boolean,
): Promise<void> {
  const { db } = database;
  await db.execute(
    sql`CREATE TABLE IF NOT EXISTS bench_sealed (i int PRIMARY KEY, name bytea NOT NULL, email bytea NOT NULL)`,
  );
  await db.execute(sql`TRUNCATE bench_sealed`);
  const variants = Array.from({ length: SEALED_VARIANTS }, (_, i) => {
    const sealed = sealedSignature(encryption, {
      email: `supporter-${i}@example.org`,
      name: i % 11 === 0 ? `=HYPERLINK("x",${i})` : `Supporter Number ${i}`,
    });
    return sql`(${i}, ${sealed.name}::bytea, ${sealed.email}::bytea)`;
  });
  await db.execute(
    sql`INSERT INTO bench_sealed (i, name, email) VALUES ${sql.join(variants, sql`, `)}`,
  );
  const fips = [...uspsByFips.keys()].filter((code) => Number(code) < 60 && code !== '11');
  const fipsArray = `ARRAY[${fips.map((code) => `'${code}'`).join(',')}]`;
  if (snapshot) {
    await db.execute(
      sql`INSERT INTO rep_snapshots (active, content_hash, sources, counts) VALUES (true, 'bench', '[]'::jsonb, '{}'::jsonb)`,
    );
    await db.execute(
      sql.raw(`
      INSERT INTO rep_districts (snapshot_id, layer, geoid, state, name, seats)
      SELECT s.id, l.layer, f.code || lpad(d::text, l.width, '0'), f.code,
             l.prefix || ' ' || d, jsonb_build_array(jsonb_build_object('chamber', l.chamber, 'district', d::text))
      FROM rep_snapshots s
      CROSS JOIN unnest(${fipsArray}) AS f(code)
      CROSS JOIN (VALUES ('cd', 2, 9, 'Congressional District', 'federal'), ('sldu', 3, 40, 'State Senate District', 'upper'),
                         ('sldl', 3, 100, 'State House District', 'lower')) AS l(layer, width, count, prefix, chamber)
      CROSS JOIN LATERAL generate_series(1, l.count) AS d
      WHERE s.active`),
    );
  }
  await db.execute(
    sql.raw(`
    INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, state, congressional_district, state_upper_district,
                            state_lower_district, source, opt_in, tallied, created_at)
    SELECT ${campaignId}, v.email, sha256(('supporter-' || g || '-${campaignId}')::bytea), '\\x00'::bytea, v.name,
           lpad((10000 + g % 89999)::text, 5, '0'), 'CO',
           f || lpad((1 + g % 9)::text, 2, '0'), f || lpad((1 + g % 40)::text, 3, '0'), f || lpad((1 + g % 100)::text, 3, '0'),
           CASE WHEN g % 4 = 0 THEN 'partner-' || (g % 7) END, g % 5 = 0, true, now() - make_interval(secs => g)
    FROM generate_series(1, ${n}) AS g
    CROSS JOIN LATERAL (SELECT (${fipsArray})[1 + g % ${fips.length}] AS f) AS s
    JOIN bench_sealed v ON v.i = g % ${SEALED_VARIANTS}`),
  );
}

/** Our export: the job's body, as the worker runs it, for a `staff_exports` row made for it. */
async function ours(
  database: DatabaseHandle,
  encryption: FieldEncryption,
  dataDir: string,
  campaignId: number,
  rows: number,
): Promise<number> {
  const id = randomBytes(18).toString('base64url');
  await database.db.execute(
    sql`INSERT INTO staff_exports (id, campaign_id, kind, status, rows_total) VALUES (${id}, ${campaignId}, 'signatures', 'queued', ${rows})`,
  );
  const outcome = await writeExportFile(
    { db: database.db, database, encryption, config: { dataDir } },
    id,
  );
  if (outcome !== 'written') throw new Error(`the export was ${outcome}`);
  const [row] = await queryRows<{ rows_written: string; bytes: string }>(
    database.db,
    sql`SELECT rows_written, bytes FROM staff_exports WHERE id = ${id}`,
  );
  if (Number(row!.rows_written) !== rows)
    throw new Error(`our export wrote ${row!.rows_written} rows, not ${rows}`);
  const file = exportFilePath(dataDir, id);
  const bytes = statSync(file).size;
  if (bytes !== Number(row!.bytes))
    throw new Error(`the file has ${bytes} bytes, the record says ${row!.bytes}`);
  rmSync(file);
  return bytes;
}

/** The baseline: every column of the same rows, straight from COPY into a file. */
async function raw(pool: pg.Pool, dir: string, campaignId: number, rows: number): Promise<number> {
  const client = await pool.connect();
  const file = path.join(dir, `raw-${randomBytes(4).toString('hex')}.csv`);
  try {
    const copy = client.query(
      copyTo(
        `COPY (SELECT * FROM signatures WHERE campaign_id = ${campaignId} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)`,
      ),
    );
    await pipeline(copy, createWriteStream(file));
    if (copy.rowCount !== rows)
      throw new Error(`raw COPY wrote ${copy.rowCount} rows, not ${rows}`);
    return statSync(file).size;
  } finally {
    client.release();
    rmSync(file, { force: true });
  }
}

/**
 * The part of the work encryption at rest adds, alone: opening as many sealed cells as the export
 * opens (every name, the email of each signer who opted in), in a loop, no I/O.
 */
async function openCells(
  database: DatabaseHandle,
  encryption: FieldEncryption,
  campaignId: number,
  rows: number,
): Promise<number> {
  const variants = await queryRows<{ name: Uint8Array; email: Uint8Array }>(
    database.db,
    sql`SELECT name, email FROM bench_sealed ORDER BY i`,
  );
  const [optedIn] = await queryRows<{ n: string }>(
    database.db,
    sql`SELECT count(*) AS n FROM signatures WHERE campaign_id = ${campaignId} AND opt_in`,
  );
  let bytes = 0;
  for (let i = 0; i < rows; i++)
    bytes += encryption.open('signatures.name', variants[i % variants.length]!.name).length;
  for (let i = 0; i < Number(optedIn!.n); i++)
    bytes += encryption.open('signatures.email', variants[i % variants.length]!.email).length;
  return bytes;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

runCli('bench:export', async () => {
  const args = parseArguments();
  const n = args.rows;
  const small = Math.max(1, Math.floor(n / 10));
  const runId = randomBytes(4).toString('hex');
  const databaseName = `frb_bench_${runId}`;
  const databaseUrl = new URL(args.database);
  databaseUrl.pathname = `/${databaseName}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-bench-export-'));
  const cpus = os.cpus();
  if (!(globalThis as { gc?: unknown }).gc)
    out(
      '(run with node --expose-gc, as `npm run bench:export` does, for memory figures after a full GC)\n',
    );
  out(
    `Export benchmark, ${new Date().toISOString().slice(0, 10)}: node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}\n` +
      `${int(n)} signatures (and a campaign of ${int(small)} for the memory check), ${args.runs} runs of each; ` +
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}\n\n`,
  );

  await withAdmin(args.database, (client) => client.query(`CREATE DATABASE ${databaseName}`));
  let database: DatabaseHandle | undefined;
  const pool = new pg.Pool({ connectionString: databaseUrl.toString(), max: 2 });
  try {
    database = await openDatabase({
      databaseUrl: databaseUrl.toString(),
      dataDir,
      databasePoolSize: 4,
    });
    // Keys of its own, as a deployment's would be.
    const encryption = new FieldEncryption({
      keys: [{ id: 1, key: randomBytes(32) }],
      lookupKey: randomBytes(32),
    });
    await database.migrate();
    await ensureDemoCampaign(database.db);
    const opened = database;
    const [campaign] = await queryRows<{ id: number }>(
      opened.db,
      sql`SELECT id FROM campaigns WHERE slug = ${DEMO_CAMPAIGN_SLUG}`,
    );
    const [smaller] = await queryRows<{ id: number }>(
      opened.db,
      sql`INSERT INTO campaigns (slug, title, summary, petition_text, goal) VALUES ('bench-small', 'Small', 'Small.', 'Small.', 1) RETURNING id`,
    );
    const bigId = campaign!.id;
    const smallId = smaller!.id;

    const seeding = performance.now();
    await seed(opened, encryption, bigId, n, true);
    await seed(opened, encryption, smallId, small, false);
    // As autovacuum would have by then: statistics, the visibility map and hint bits set.
    await opened.db.execute(sql`VACUUM (ANALYZE) signatures`);
    await opened.db.execute(sql`ANALYZE rep_districts`);
    out(
      `Seeded ${int(n + small)} signatures and ${int((await queryRows(opened.db, sql`SELECT 1 FROM rep_districts`)).length)} districts in ` +
        `${((performance.now() - seeding) / 1000).toFixed(1)} s (not timed)\n`,
    );

    // One untimed pass of each: the table in the page cache, the code compiled.
    await raw(pool, dataDir, bigId, n);
    await ours(opened, encryption, dataDir, bigId, n);

    const rawRuns: Measured[] = [];
    const openRuns: Measured[] = [];
    const ourRuns: Measured[] = [];
    for (let run = 0; run < args.runs; run++) {
      rawRuns.push(await measure(() => raw(pool, dataDir, bigId, n)));
      openRuns.push(await measure(() => openCells(opened, encryption, bigId, n)));
      ourRuns.push(await measure(() => ours(opened, encryption, dataDir, bigId, n)));
    }
    const smallRun = await measure(() => ours(opened, encryption, dataDir, smallId, small));

    out('\n');
    out(
      line(
        ['', 38],
        ['rows/s', 12],
        ['elapsed s', 11],
        ['file', 11],
        ['node CPU s', 12],
        ['peak RSS', 11],
        ['RSS growth', 12],
        ['heap growth', 13],
      ),
    );
    const row = (label: string, m: Measured, rows: number) =>
      line(
        [label, 38],
        [int(rows / m.seconds), 12],
        [m.seconds.toFixed(2), 11],
        [mb(m.bytes), 11],
        [m.nodeCpu.toFixed(2), 12],
        [mb(m.rssPeak), 11],
        [mb(m.rssPeak - m.rssBefore), 12],
        [mb(m.heapPeak - m.heapBefore), 13],
      );
    rawRuns.forEach((m, i) => {
      out(row(`raw COPY SELECT *, run ${i + 1}`, m, n));
      out(row(`opening the sealed cells alone, run ${i + 1}`, openRuns[i]!, n));
      out(
        row(`our export (writeExportFile), run ${i + 1}`, ourRuns[i]!, n).trimEnd() +
          `   × ${(ourRuns[i]!.seconds / m.seconds).toFixed(2)}\n`,
      );
    });
    out(row(`our export, ${int(small)} rows`, smallRun, small));

    const rawSeconds = median(rawRuns.map((m) => m.seconds));
    const openSeconds = median(openRuns.map((m) => m.seconds));
    const ourSeconds = median(ourRuns.map((m) => m.seconds));
    const ratio = ourSeconds / rawSeconds;
    const floorRatio = ourSeconds / (rawSeconds + openSeconds);
    const growth = Math.max(...ourRuns.map((m) => m.rssPeak - m.rssBefore));
    const smallGrowth = smallRun.rssPeak - smallRun.rssBefore;
    out(
      `\nmedian: raw COPY ${int(n / rawSeconds)} rows/s (${rawSeconds.toFixed(2)} s), ours ${int(n / ourSeconds)} rows/s ` +
        `(${ourSeconds.toFixed(2)} s)\n` +
        `our time ÷ raw COPY time = ${ratio.toFixed(2)}\n` +
        `our time ÷ (raw COPY time + time to open the sealed cells, ${openSeconds.toFixed(2)} s) = ${floorRatio.toFixed(2)}\n` +
        `peak RSS growth during our export: ${mb(growth)} for ${int(n)} rows, ${mb(smallGrowth)} for ${int(small)} rows\n\n`,
    );
    const target = (label: string, value: string, limit: string, met: boolean) =>
      line([`  ${label}`, 40], [value, 12], [limit, 12], [met ? 'PASS' : 'MISS', 6]);
    out('Targets (informational)\n');
    out(
      target(
        'time ÷ raw COPY time',
        ratio.toFixed(2),
        `≤ ${TARGETS.ratio}`,
        ratio <= TARGETS.ratio,
      ),
    );
    out(
      target(
        'time ÷ (raw COPY + opening the cells)',
        floorRatio.toFixed(2),
        `≤ ${TARGETS.ratio}`,
        floorRatio <= TARGETS.ratio,
      ),
    );
    out(
      target(
        `peak RSS growth, ${int(n)} rows`,
        mb(growth),
        `≤ ${TARGETS.rssGrowthMb} MB`,
        growth <= TARGETS.rssGrowthMb * 1024 * 1024,
      ),
    );
  } finally {
    await pool.end();
    await database?.close();
    await withAdmin(args.database, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }
});
