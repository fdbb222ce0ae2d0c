import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { projectRoot } from '../src/paths';
import { formatKeyRing } from '../src/db/field-encryption';

/**
 * `npm run bench:sign`: load on POST /api/v1/campaigns/:slug/signatures with unique emails, on real
 * PostgreSQL and Redis, with a tally worker process running beside the web process. The same run
 * measures a bare route behind the same middleware as the baseline, then counts the rows.
 */
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379/0' },
    /** Writes V8 CPU profiles of the web and worker processes into this folder. */
    profile: { type: 'string' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const runId = randomBytes(4).toString('hex');
const signPath = '/api/v1/campaigns/ban-facial-recognition/signatures';

async function withAdmin<T>(task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: args.database });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}

function start(script: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const profiling = args.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`]
    : [];
  return spawn(process.execPath, [...profiling, path.join(projectRoot, 'dist', script), ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** A 2 s warm-up (JIT, pools, query plans), then the measured run. */
async function load(
  url: string,
  body: (n: number) => string,
): Promise<{ warmUp: autocannon.Result; run: autocannon.Result }> {
  let n = 0;
  const run = (seconds: number) =>
    autocannon({
      url,
      method: 'POST',
      connections,
      duration: seconds,
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: body(n++) }) }],
    });
  const warmUp = await run(2);
  return { warmUp, run: await run(duration) };
}

/** Rows in the signatures table, and the tally once the worker has caught up (up to 60 s). */
async function countRows(databaseUrl: string): Promise<{ stored: number; tallied: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Requests still in flight when a run ended may commit a moment later: read both until they agree.
    let stored = 0;
    let tallied = -1;
    for (let i = 0; i < 600 && tallied !== stored; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await client.query<{ stored: string; tallied: string }>(
        `SELECT (SELECT count(*) FROM signatures) AS stored,
                (SELECT coalesce(sum(count), 0) FROM signature_counts WHERE dimension = 'total') AS tallied`,
      );
      const [row] = result.rows;
      stored = Number(row?.stored);
      tallied = Number(row?.tallied);
    }
    return { stored, tallied };
  } finally {
    await client.end();
  }
}

async function main() {
  const databaseName = `frb_bench_${runId}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${databaseName}`));
  const databaseUrl = new URL(args.database);
  databaseUrl.pathname = `/${databaseName}`;
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    APP_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEYS: formatKeyRing([{ id: 1, key: randomBytes(32) }]),
    LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: databaseUrl.toString(),
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: args.redis,
    REDIS_KEY_PREFIX: `bench-${runId}`,
    SIGN_RATE_LIMIT: '100000000',
    LOG_LEVEL: 'warn',
  };

  const web = start('bench/server.js', [], env);
  const [line] = (await once(web.stdout!, 'data')) as [Buffer];
  const port = Number(/listening (\d+)/.exec(line.toString())?.[1]);
  const worker = start('src/main.js', ['worker'], env);
  const base = `http://127.0.0.1:${port}`;

  try {
    process.stdout.write(
      `Load: ${connections} connections, ${duration} s per run, after a 2 s warm-up\n`,
    );
    const bare = (await load(`${base}/api/v1/bench/bare`, () => '{"ok":true}')).run;
    const sign = await load(`${base}${signPath}`, (n) =>
      JSON.stringify({
        name: `Bench Signer ${n}`,
        email: `bench-${runId}-${n}@example.org`,
        zip: '94110',
        source: 'bench',
      }),
    );
    const acknowledged = sign.warmUp['2xx'] + sign.run['2xx'];
    const { stored, tallied } = await countRows(databaseUrl.toString());

    const figures = (result: autocannon.Result) => ({
      perSecond: result['2xx'] / duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      ok: result['2xx'],
      failed: result.non2xx + result.errors + result.timeouts,
    });
    const b = figures(bare);
    const s = figures(sign.run);
    const row = (label: string, f: ReturnType<typeof figures>) =>
      `${label.padEnd(24)}${f.perSecond.toFixed(0).padStart(8)}${String(f.p50).padStart(10)}${String(f.p99).padStart(10)}` +
      `${String(f.ok).padStart(9)}${String(f.failed).padStart(9)}\n`;
    process.stdout.write(
      `\n${''.padEnd(24)}${'req/s'.padStart(8)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'2xx'.padStart(9)}${'failed'.padStart(9)}\n`,
    );
    process.stdout.write(row('bare route (baseline)', b));
    process.stdout.write(row('signing endpoint', s));
    process.stdout.write(
      `\nsignatures/s ÷ bare route requests/s = ${(s.perSecond / b.perSecond).toFixed(2)}\n`,
    );
    process.stdout.write(
      `acknowledged ${acknowledged} (warm-up + run), rows stored ${stored}, tallied ${tallied}: ` +
        (stored >= acknowledged && tallied === stored
          ? `nothing lost (${stored - acknowledged} committed while their answer was in flight at the end of a run)\n`
          : `${Math.max(0, acknowledged - stored)} LOST, ${stored - tallied} untallied\n`),
    );
  } finally {
    web.kill('SIGTERM');
    worker.kill('SIGTERM');
    await Promise.all([once(web, 'exit'), once(worker, 'exit')]);
    await withAdmin((client) =>
      client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`),
    );
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench:sign failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
