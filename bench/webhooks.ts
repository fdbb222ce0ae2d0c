import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { openDatabase, queryRows } from '../src/db/client';
import { webhookSubscriptions } from '../src/db/schema';
import { projectRoot } from '../src/paths';
import { FieldEncryption, formatKeyRing } from '../src/db/field-encryption';
import { addWebhook } from '../src/webhooks/subscriptions';

/**
 * `npm run bench:webhooks`: signatures/s through the JSON API with three webhook subscriptions
 * active, delivered to a local receiver, beside the same load with none; the ratio is what the
 * feature costs the signing path (target ≥ 0.8). Also how far behind the deliveries fell during
 * the flood: from each signature's commit (its created_date) to its arrival at the receiver.
 * Real PostgreSQL and Redis, a web process and a worker process as in production; the receiver
 * (which checks every delivery's signature) and the load generator run in this process.
 */
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    /** The paced run's signatures per second: a flood the machine can take, to see the lag when the workers keep up. */
    rate: { type: 'string', default: '150' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379/0' },
    /** Writes V8 CPU profiles of the web and worker processes into this folder. */
    profile: { type: 'string' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const rate = Number(args.rate);
const runId = randomBytes(4).toString('hex');
const SLUG = 'ban-facial-recognition';
const SUBSCRIPTIONS = 3;

interface Receiver {
  url: string;
  /** Per subscription (by path): idempotency keys seen, batches, arrivals' lags in ms. */
  seen: Map<string, Set<string>>;
  batches: number[];
  lags: number[];
  unverified: number;
  close(): Promise<void>;
}

async function startReceiver(secrets: Map<string, string>): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    seen: new Map(),
    batches: [],
    lags: [],
    unverified: 0,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const arrived = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const secret = secrets.get(req.url ?? '');
      const id = String(req.headers['webhook-id']);
      const expected = secret
        ? createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
            .update(`${id}.${String(req.headers['webhook-timestamp'])}.${body}`)
            .digest()
        : Buffer.alloc(0);
      const given = Buffer.from(String(req.headers['webhook-signature'] ?? '').slice(3), 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        receiver.unverified++;
      const items = JSON.parse(body) as Array<{
        idempotency_key: string;
        'osdi:signature'?: { created_date: string };
      }>;
      receiver.batches.push(items.length);
      const seen = receiver.seen.get(req.url ?? '') ?? new Set<string>();
      for (const item of items) {
        seen.add(item.idempotency_key);
        if (item['osdi:signature'])
          receiver.lags.push(arrived - new Date(item['osdi:signature'].created_date).getTime());
      }
      receiver.seen.set(req.url ?? '', seen);
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** A process of the platform; only the web process's first line (its port) is read, so the worker's output is not piped. */
function start(
  script: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  output: 'pipe' | 'ignore',
): ChildProcess {
  const profiling = args.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`]
    : [];
  return spawn(process.execPath, [...profiling, path.join(projectRoot, 'dist', script), ...argv], {
    env,
    stdio: ['ignore', output, 'inherit'],
  });
}

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

async function main() {
  const databaseName = `frb_bench_${runId}`;
  const admin = new pg.Client({ connectionString: args.database });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${databaseName}`);
  await admin.end();
  const databaseUrl = new URL(args.database);
  databaseUrl.pathname = `/${databaseName}`;
  const keys = { keys: [{ id: 1, key: randomBytes(32) }], lookupKey: randomBytes(32) };
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    APP_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEYS: formatKeyRing(keys.keys),
    LOOKUP_HASH_KEY: keys.lookupKey.toString('base64'),
    DATABASE_URL: databaseUrl.toString(),
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: args.redis,
    REDIS_KEY_PREFIX: `bench-${runId}`,
    SIGN_RATE_LIMIT: '100000000',
    SIGN_EMAIL_RATE_LIMIT: '100000000',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    LOG_LEVEL: 'warn',
    // No representative data import in the middle of the measurement.
    REP_DATA_DIR: 'none',
    REP_DATA_REFRESH: 'off',
  };
  const web = start('bench/server.js', [], env, 'pipe');
  const [line] = (await once(web.stdout!, 'data')) as [Buffer];
  const port = Number(/listening (\d+)/.exec(line.toString())?.[1]);
  const worker = start('src/main.js', ['worker'], env, 'ignore');
  const database = await openDatabase({
    databaseUrl: databaseUrl.toString(),
    dataDir: '/tmp',
    encryption: keys,
  });
  const encryption = new FieldEncryption(keys);
  const secrets = new Map<string, string>();
  const receiver = await startReceiver(secrets);

  try {
    const [campaign] = await queryRows<{ id: number }>(
      database.db,
      sql`SELECT id FROM campaigns WHERE slug = ${SLUG}`,
    );
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const hookPath = `/hooks/${i}`;
      const { secret } = await addWebhook(
        { db: database.db, encryption },
        {
          campaignId: Number(campaign!.id),
          partnerId: null,
          url: `${receiver.url}${hookPath}`,
          events: ['signature', 'outreach', 'person.erased'],
        },
        'command line',
      );
      secrets.set(hookPath, secret);
    }
    const setSubscriptions = (status: 'active' | 'disabled') =>
      database.db.update(webhookSubscriptions).set({ status });

    let n = 0;
    const load = (seconds: number, paced?: number) =>
      autocannon({
        url: `http://127.0.0.1:${port}/api/v1/campaigns/${SLUG}/signatures`,
        method: 'POST',
        connections,
        duration: seconds,
        ...(paced ? { overallRate: paced } : {}),
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                name: `Bench Signer ${n}`,
                email: `bench-${runId}-${n++}@example.org`,
                zip: '94110',
                optIn: true,
              }),
            }),
          },
        ],
      });
    const caughtUp = async () => {
      for (let i = 0; i < 1200; i++) {
        const [left] = await queryRows<{ untallied: number; waiting: number }>(
          database.db,
          sql`SELECT (SELECT count(*)::int FROM signatures WHERE NOT tallied) AS untallied, (SELECT count(*)::int FROM webhook_items) AS waiting`,
        );
        if (Number(left!.untallied) === 0 && Number(left!.waiting) === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the workers did not catch up within 2 minutes');
    };

    process.stdout.write(
      `Load: ${connections} connections, ${duration} s per run, ${rounds} rounds of (none, ${SUBSCRIPTIONS} subscriptions), after a 3 s warm-up\n`,
    );
    await setSubscriptions('disabled');
    await load(3);
    await caughtUp();
    const results: Array<{
      label: string;
      perSecond: number;
      p50: number;
      p99: number;
      failed: number;
    }> = [];
    let lagsDuringRuns: number[] = [];
    let signedWithHooks = 0;
    // Where a delivery's lag comes from, sampled while the load runs: the oldest signature not yet
    // counted (the tally, which raises the events), and the oldest event not yet delivered.
    const stages = {
      untallied: [] as number[],
      undelivered: [] as number[],
      untalliedWithout: [] as number[],
    };
    const sample = async (active: boolean) => {
      const [row] = await queryRows<{ untallied: number | null; undelivered: number | null }>(
        database.db,
        sql`SELECT (SELECT extract(epoch FROM now() - min(created_at)) * 1000 FROM signatures WHERE NOT tallied)::float8 AS untallied,
                   (SELECT extract(epoch FROM now() - min(created_at)) * 1000 FROM webhook_items)::float8 AS undelivered`,
      );
      if (!active) {
        stages.untalliedWithout.push(Number(row?.untallied ?? 0));
        return;
      }
      stages.untallied.push(Number(row?.untallied ?? 0));
      stages.undelivered.push(Number(row?.undelivered ?? 0));
    };
    for (let round = 0; round < rounds; round++) {
      for (const active of [false, true]) {
        await setSubscriptions(active ? 'active' : 'disabled');
        const lagsBefore = receiver.lags.length;
        const sampler = setInterval(() => void sample(active), 250);
        const result = await load(duration);
        clearInterval(sampler);
        await caughtUp();
        if (active) {
          lagsDuringRuns = lagsDuringRuns.concat(receiver.lags.slice(lagsBefore));
          signedWithHooks += result['2xx'];
        }
        results.push({
          label: active ? `${SUBSCRIPTIONS} subscriptions` : 'no subscription',
          perSecond: result['2xx'] / duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          failed: result.non2xx + result.errors + result.timeouts,
        });
      }
    }
    // A paced flood, at a rate the machine takes with room to spare: the lag when the workers keep up.
    await setSubscriptions('active');
    const pacedBefore = receiver.lags.length;
    const paced = await load(duration, rate);
    await caughtUp();
    const pacedLags = receiver.lags.slice(pacedBefore);
    await setSubscriptions('disabled');

    process.stdout.write(
      `\n${'run'.padEnd(26)}${'signatures/s'.padStart(14)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'failed'.padStart(8)}\n`,
    );
    results.forEach((row, index) =>
      process.stdout.write(
        `${`${Math.floor(index / 2) + 1}. ${row.label}`.padEnd(26)}${row.perSecond.toFixed(0).padStart(14)}${String(row.p50).padStart(9)}${String(row.p99).padStart(9)}${String(row.failed).padStart(8)}\n`,
      ),
    );
    const mean = (label: string) => {
      const rows = results.filter((row) => row.label === label);
      return rows.reduce((sum, row) => sum + row.perSecond, 0) / rows.length;
    };
    const none = mean('no subscription');
    const withHooks = mean(`${SUBSCRIPTIONS} subscriptions`);
    process.stdout.write(
      `\nmean signatures/s: none ${none.toFixed(0)}, with ${SUBSCRIPTIONS} subscriptions ${withHooks.toFixed(0)}; ratio ${(withHooks / none).toFixed(2)} (target ≥ 0.8)\n`,
    );
    const perSubscription = [...receiver.seen.values()].map((set) => set.size);
    process.stdout.write(
      `deliveries: ${receiver.batches.length} batches, at most ${Math.max(...receiver.batches)} events each (mean ${(receiver.batches.reduce((a, b) => a + b, 0) / receiver.batches.length).toFixed(1)}); ` +
        `events per subscription ${perSubscription.join(', ')} (signatures acknowledged while active: ${signedWithHooks}); signatures that failed verification: ${receiver.unverified}\n`,
    );
    process.stdout.write(
      `lag from commit to arrival during the flood: p50 ${quantile(lagsDuringRuns, 0.5)} ms, p99 ${quantile(lagsDuringRuns, 0.99)} ms, max ${Math.max(...lagsDuringRuns)} ms ` +
        `(batch window 2000 ms)\n`,
    );
    process.stdout.write(
      `paced at ${rate} signatures/s (${(paced['2xx'] / duration).toFixed(0)} acknowledged per second) with ${SUBSCRIPTIONS} subscriptions: lag p50 ${quantile(pacedLags, 0.5)} ms, ` +
        `p99 ${quantile(pacedLags, 0.99)} ms, max ${Math.max(...pacedLags)} ms\n`,
    );
    process.stdout.write(
      `sampled every 250 ms during the flood: oldest signature not yet counted p50 ${quantile(stages.untallied, 0.5).toFixed(0)} ms, max ${Math.max(...stages.untallied).toFixed(0)} ms ` +
        `(with no subscription: p50 ${quantile(stages.untalliedWithout, 0.5).toFixed(0)} ms, max ${Math.max(...stages.untalliedWithout).toFixed(0)} ms); ` +
        `oldest event not yet delivered p50 ${quantile(stages.undelivered, 0.5).toFixed(0)} ms, max ${Math.max(...stages.undelivered).toFixed(0)} ms\n`,
    );
  } finally {
    await receiver.close();
    await database.close();
    web.kill('SIGTERM');
    worker.kill('SIGTERM');
    await Promise.all([once(web, 'exit'), once(worker, 'exit')]);
    const cleanup = new pg.Client({ connectionString: args.database });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await cleanup.end();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench:webhooks failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
