import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import pg from 'pg';
import { DEMO_CAMPAIGN_SLUG } from '../src/campaigns/demo';
import { runCli, UsageError } from '../src/cli';
import { loadConfig } from '../src/config';
import { queryRows } from '../src/db/client';
import { sealedLetter, sealedLetterAction } from '../src/db/sealed-rows';
import { messageKey } from '../src/delivery/deliver';
import type { MailMessage } from '../src/delivery/mailer';
import { createLogger } from '../src/logger';
import { openPlatform, type Platform } from '../src/platform';
import { formatKeyRing } from '../src/db/field-encryption';
import { deliverLetterJob, requestDelivery } from '../src/delivery/jobs/deliver-letter';
import { confirmActionJob } from '../src/letters/jobs/confirm-action';
import { startJobWorkers, type RunningJobWorkers } from '../src/queue/workers';
import { workerContexts } from '../src/worker-context';
import { buildCwcDocument, cwcDeliveryId, splitName, type CwcSettings } from '../src/delivery/cwc';
import { startCountingSink, type CountingSink } from './smtp-sink';
import { startCwcStandIn, type CwcStandIn } from './cwc-stand-in';

/**
 * `npm run bench:deliver [-- --letters 5000 --concurrency 16 --database <postgres-url> --redis <redis-url>]`:
 * letters/s from the delivery queue to a local SMTP sink, through the real worker (`deliverLetterJob` run by `startJobWorkers`:
 * the per-recipient throttle, the claim with its attempt recorded, the pooled mailer, the record
 * after the send and the counts), next to raw pooled nodemailer sending as many messages of the
 * same size to the same sink with the same concurrency, in the same run. Then the same for letters
 * to Congress: queue → worker → a local stand-in CWC server (`bench/cwc-stand-in.ts`, which checks
 * each document as CWC would), next to raw `fetch` POSTs of the same documents to it.
 *
 * It creates a database of its own on the given server (dropped at the end) and uses a Redis key
 * prefix of its own (deleted at the end). The letters are written straight into the database
 * before any clock runs.
 */
const USAGE =
  'Usage: npm run bench:deliver [-- --letters 5000 --concurrency 16 --database <postgres-url> --redis <redis-url>]';
const TARGETS = { lettersPerSecond: 500, ratio: 0.5 };
/** The delivery mailer's pool (src/delivery/mailer.ts), matched by the baseline. */
const MAILER_POOL = { maxConnections: 5, maxMessages: 500 };
const LETTERS_PER_ACTION = 10;
/** Distinct recipient addresses (one per target), and congressional districts the supporters live in. */
const TARGET_COUNT = 200;
const DISTRICT_COUNT = 52;
/** California's House districts: the CWC letters' offices, HCA01 to HCA52. */
const CA_DISTRICTS = 52;
const CWC_API_KEY = 'bench-cwc-key';
/** Gives up when no letter has been delivered for this long. */
const STALL_MS = 60_000;

const out = (text: string) => process.stdout.write(text);
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const line = (first: [string, number], ...rest: Array<[string, number]>) =>
  `${first[0].padEnd(first[1])}${rest.map(([text, width]) => text.padStart(width)).join('')}\n`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parseArguments() {
  let values: { letters: string; concurrency: string; database: string; redis: string };
  try {
    values = parseArgs({
      options: {
        letters: { type: 'string', default: '5000' },
        concurrency: { type: 'string', default: '16' },
        database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
        redis: { type: 'string', default: 'redis://127.0.0.1:6379/0' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const letters = Number(values.letters);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(letters) || letters < 1)
    throw new UsageError(`--letters must be a positive whole number, not "${values.letters}"`);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UsageError(
      `--concurrency must be a positive whole number, not "${values.concurrency}"`,
    );
  }
  return { letters, concurrency, database: values.database, redis: values.redis };
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

/** Busy and total jiffies of the whole machine (Linux), to tell a run bound by CPU from one that waits. */
function machineTicks(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** CPU seconds used so far by a process (Linux: utime + stime in /proc, at the usual 100 ticks a second). */
function processCpu(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Whether a server's processes are this machine's, to be read from /proc. */
const isLocal = (url: string) =>
  existsSync('/proc') && ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);

/** The local redis-server listening on the port of `url`, when there is one to read from /proc. */
function localRedisPid(url: string): number | undefined {
  if (!isLocal(url)) return undefined;
  const { port } = new URL(url);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'redis-server') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`:${port || '6379'}`))
        return Number(entry);
    } catch {
      // The process has gone, or is not ours to read.
    }
  }
  return undefined;
}

/** CPU seconds so far of the other processes that do the work: this database's backends, and redis-server. */
type CpuSample = Map<string, number>;

async function sampleServers(
  platform: Platform,
  databaseLocal: boolean,
  redisPid: number | undefined,
): Promise<CpuSample> {
  const sample: CpuSample = new Map();
  const backends = databaseLocal
    ? await queryRows<{ pid: number }>(
        platform.db,
        sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
      )
    : [];
  for (const { pid } of backends) {
    const cpu = processCpu(Number(pid));
    if (cpu !== undefined) sample.set(`postgres:${pid}`, cpu);
  }
  const redisCpu = redisPid === undefined ? undefined : processCpu(redisPid);
  if (redisCpu !== undefined) sample.set(`redis:${redisPid}`, redisCpu);
  return sample;
}

/** CPU seconds per server between two samples; a backend that started in between counts from zero. */
function serverCpu(
  before: CpuSample,
  after: CpuSample,
): { postgres: number | undefined; redis: number | undefined } {
  const used: { postgres: number | undefined; redis: number | undefined } = {
    postgres: undefined,
    redis: undefined,
  };
  for (const [key, cpu] of after) {
    const server = key.startsWith('postgres:') ? 'postgres' : 'redis';
    used[server] = (used[server] ?? 0) + cpu - (before.get(key) ?? 0);
  }
  return used;
}

interface Phase {
  seconds: number;
  /** CPU seconds of this process (worker, queue client, mailer and sink together). */
  nodeCpu: number;
  /** CPU seconds of this database's PostgreSQL backends and of redis-server, when they are local. */
  postgresCpu: number | undefined;
  redisCpu: number | undefined;
  /** Share of all cores busy over the phase, when the machine tells. */
  machineBusy: number | undefined;
}

async function measure(
  sample: () => Promise<CpuSample>,
  task: () => Promise<void>,
): Promise<Phase> {
  const servers = await sample();
  const ticks = machineTicks();
  const cpu = process.cpuUsage();
  const began = performance.now();
  await task();
  const seconds = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  const after = machineTicks();
  const { postgres, redis } = serverCpu(servers, await sample());
  const machineBusy =
    ticks && after && after.total > ticks.total
      ? (after.busy - ticks.busy) / (after.total - ticks.total)
      : undefined;
  return {
    seconds,
    nodeCpu: (used.user + used.system) / 1e6,
    postgresCpu: postgres,
    redisCpu: redis,
    machineBusy,
  };
}

/** The letter every row gets: the federal template rendered once, so every message has the same size. */
function sampleLetter(platform: Platform): { subject: string; body: string } {
  return platform.letterTemplates.defaults.render('federal', {
    supporter: { name: 'Bench Supporter', city: 'San Francisco', state: 'CA', zip: '94110' },
    target: { title: 'Representative', name: 'Bench Target', office: 'us-house', district: '12' },
    campaign: { title: 'Ban police use of facial recognition' },
  });
}

interface SeededLetter {
  id: number;
  key: string;
  address: string;
  replyTo: { name: string; address: string };
}

/**
 * N letters to the demo campaign, `queued`, as `writeLetters` leaves them: one action per 10
 * letters, each letter to its own target (TARGET_COUNT addresses in turn), and the count rows
 * that writing them counts (see `countMoves`).
 */
async function seed(
  platform: Platform,
  n: number,
  letter: { subject: string; body: string },
  channel: 'email' | 'cwc',
): Promise<SeededLetter[]> {
  const { db } = platform;
  const [campaign] = await queryRows<{ id: number }>(
    db,
    sql`SELECT id FROM campaigns WHERE slug = ${DEMO_CAMPAIGN_SLUG}`,
  );
  if (!campaign) throw new Error('the demo campaign is missing');
  const actions = Math.ceil(n / LETTERS_PER_ACTION);
  // Each supporter's details sealed as the platform seals them; every letter the same text, sealed once.
  for (let first = 0; first < actions; first += 1000) {
    const rows = Array.from({ length: Math.min(1000, actions - first) }, (_, index) => {
      const g = first + index;
      const sealed = sealedLetterAction(platform.encryption, {
        name: `Bench Supporter ${g}`,
        email: `bench-${g}@example.org`,
        city: 'San Francisco',
        // What a letter to Congress through CWC needs besides: a street address and an honorific.
        address: `${g} Mission St, San Francisco, CA 94110`,
        prefix: 'Ms.',
      });
      return sql`(${campaign.id}::int, ${`bench${g}-${randomBytes(8).toString('hex')}`}, ${sealed.name}::bytea, ${sealed.email}::bytea,
                  ${sealed.emailHash}::bytea, '94110', ${sealed.city}::bytea, ${sealed.address}::bytea, ${sealed.prefix}::bytea, 'CA',
                  ${`CA${String((g % DISTRICT_COUNT) + 1).padStart(2, '0')}`})`;
    });
    await db.execute(sql`INSERT INTO letter_actions (campaign_id, status_token, name, email, email_hash, zip, city, address, prefix, state, congressional_district)
                         VALUES ${sql.join(rows, sql`, `)}`);
  }
  const text = sealedLetter(platform.encryption, letter);
  await db.execute(sql`
    WITH numbered AS (
      SELECT id, row_number() OVER (ORDER BY id) - 1 AS a FROM letter_actions WHERE campaign_id = ${campaign.id}
    )
    INSERT INTO letters (action_id, campaign_id, idempotency_key, target_key, office, target_name, target_title, target_state,
                         target_district, channel, channel_address, subject, body, status, counted_status)
    SELECT n.id, ${campaign.id}, n.id || ':us-house:BENCH' || t.t, 'us-house:BENCH' || t.t, 'us-house', 'Target ' || t.t,
           'Representative', 'CA', (t.t % ${DISTRICT_COUNT} + 1)::text, ${channel},
           CASE WHEN ${channel} = 'cwc' THEN 'HCA' || lpad((t.t % ${CA_DISTRICTS} + 1)::text, 2, '0') ELSE 'office-' || t.t || '@bench.example.org' END,
           ${text.subject}::bytea, ${text.body}::bytea, 'queued', 'queued'
    FROM numbered n
    CROSS JOIN LATERAL (SELECT n.a * ${LETTERS_PER_ACTION} + k AS i FROM generate_series(0, ${LETTERS_PER_ACTION - 1}) AS k) AS i
    CROSS JOIN LATERAL (SELECT i.i % ${TARGET_COUNT} AS t) AS t
    WHERE i.i < ${n}`);
  await db.execute(sql`
    INSERT INTO letter_counts (campaign_id, dimension, key, status, count)
    SELECT l.campaign_id, d.dimension, d.key, l.status, count(*)
    FROM letters l JOIN letter_actions a ON a.id = l.action_id
    CROSS JOIN LATERAL (VALUES ('target', l.target_key), ('congressional', a.congressional_district)) AS d(dimension, key)
    WHERE d.key IS NOT NULL
    GROUP BY 1, 2, 3, 4`);
  // As autovacuum would have by the time a real backlog is sent.
  await db.execute(sql`ANALYZE letter_actions, letters, letter_counts, delivery_attempts`);
  const rows = await queryRows<{
    id: string;
    idempotency_key: string;
    channel_address: string;
    name: Uint8Array;
    email: Uint8Array;
  }>(
    db,
    sql`SELECT l.id, l.idempotency_key, l.channel_address, a.name, a.email
        FROM letters l JOIN letter_actions a ON a.id = l.action_id ORDER BY l.id`,
  );
  return rows.map((row) => ({
    id: Number(row.id),
    key: row.idempotency_key,
    address: row.channel_address,
    replyTo: {
      name: platform.encryption.open('letter_actions.name', row.name),
      address: platform.encryption.open('letter_actions.email', row.email),
    },
  }));
}

/** Raw pooled nodemailer: `concurrency` senders in turn, each awaiting its send, as the worker's jobs do. */
async function sendRaw(
  sink: CountingSink,
  n: number,
  concurrency: number,
  message: (i: number) => MailMessage,
): Promise<void> {
  const transport = nodemailer.createTransport({
    url: sink.url,
    pool: true,
    ...MAILER_POOL,
  } as SMTPTransport.Options);
  try {
    let next = 0;
    const sender = async () => {
      while (next < n) {
        const i = next++;
        await transport.sendMail({
          ...message(i),
          disableFileAccess: true,
          disableUrlAccess: true,
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
  } finally {
    transport.close();
  }
}

/** Polls (what arrived, in memory, then the database) until every letter has arrived and is recorded as delivered. */
async function waitForDelivery(
  platform: Platform,
  arrived: () => number,
  n: number,
): Promise<void> {
  let lastProgress = Date.now();
  let seen = 0;
  for (;;) {
    if (arrived() !== seen) {
      seen = arrived();
      lastProgress = Date.now();
    }
    if (arrived() >= n) {
      const [row] = await queryRows<{ delivered: string }>(
        platform.db,
        sql`SELECT count(*) AS delivered FROM letters WHERE status = 'delivered'`,
      );
      if (Number(row!.delivered) >= n) return;
    }
    if (Date.now() - lastProgress > STALL_MS) {
      const states = await queryRows<{ status: string; count: string }>(
        platform.db,
        sql`SELECT status, count(*) FROM letters GROUP BY status`,
      );
      throw new Error(
        `no progress for ${STALL_MS / 1000} s: ${arrived()} of ${n} arrived; letters ` +
          states.map((s) => `${s.status} ${s.count}`).join(', '),
      );
    }
    await sleep(arrived() >= n ? 10 : 25);
  }
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Per letter: enqueue → delivered_at (waiting in the backlog included), and claim → delivered_at (the worker's own time). */
async function latencies(platform: Platform, enqueuedAt: Map<number, number>) {
  const rows = await queryRows<{ id: string; delivered_ms: string; service_ms: string }>(
    platform.db,
    sql`SELECT l.id, extract(epoch FROM l.delivered_at) * 1000 AS delivered_ms,
               extract(epoch FROM l.delivered_at - a.started_at) * 1000 AS service_ms
        FROM letters l JOIN delivery_attempts a ON a.letter_id = l.id AND a.outcome = 'delivered'`,
  );
  const total = new Float64Array(rows.length);
  const service = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    total[i] = Number(row.delivered_ms) - (enqueuedAt.get(Number(row.id)) ?? Number.NaN);
    service[i] = Number(row.service_ms);
  });
  total.sort();
  service.sort();
  return {
    total: { p50: quantile(total, 0.5), p99: quantile(total, 0.99) },
    service: { p50: quantile(service, 0.5), p99: quantile(service, 0.99) },
  };
}

/**
 * What the run left in the database: every letter delivered once, attempts, and counts that agree;
 * and how many statements claimed and recorded them (one `now()` per statement's transaction).
 */
async function check(platform: Platform, n: number) {
  const [row] = await queryRows<{
    delivered: string;
    attempts: string;
    counted: string;
    pending: string;
    claims: string;
    records: string;
  }>(
    platform.db,
    sql`SELECT (SELECT count(*) FROM letters WHERE status = 'delivered') AS delivered,
               (SELECT count(*) FROM delivery_attempts) AS attempts,
               (SELECT coalesce(sum(count), 0) FROM letter_counts WHERE dimension = 'target' AND status = 'delivered') AS counted,
               (SELECT coalesce(sum(count), 0) FROM letter_counts WHERE dimension = 'target' AND status <> 'delivered') AS pending,
               (SELECT count(DISTINCT started_at) FROM delivery_attempts) AS claims,
               (SELECT count(DISTINCT finished_at) FROM delivery_attempts) AS records`,
  );
  const figures = {
    delivered: Number(row!.delivered),
    attempts: Number(row!.attempts),
    counted: Number(row!.counted),
    pending: Number(row!.pending),
    claimStatements: Number(row!.claims),
    recordStatements: Number(row!.records),
  };
  return {
    ...figures,
    ok:
      figures.delivered === n &&
      figures.attempts === n &&
      figures.counted === n &&
      figures.pending === 0,
  };
}

async function deleteKeys(platform: Platform): Promise<void> {
  if (platform.redis.status !== 'ready') return;
  let cursor = '0';
  do {
    const [next, keys] = await platform.redis.scan(
      cursor,
      'MATCH',
      `${platform.config.redisKeyPrefix}:*`,
      'COUNT',
      1000,
    );
    if (keys.length > 0) await platform.redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Raw `fetch`: `concurrency` senders in turn, each POSTing its document to the stand-in and awaiting the answer, as the worker's jobs do. */
async function postRaw(
  standIn: CwcStandIn,
  documents: string[],
  concurrency: number,
): Promise<void> {
  const url = new URL(standIn.messageUrl);
  url.searchParams.set('apikey', CWC_API_KEY);
  let next = 0;
  const sender = async () => {
    while (next < documents.length) {
      const body = documents[next++]!;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body,
      });
      await response.arrayBuffer();
      if (!response.ok)
        throw new Error(`the stand-in refused a raw document (HTTP ${response.status})`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
}

/** Starts afresh: no letters, supporters, attempts or letter counts (between the email and the CWC runs). */
async function clearLetters(platform: Platform): Promise<void> {
  await platform.db.execute(
    sql`TRUNCATE delivery_attempts, letters, letter_actions, letter_counts`,
  );
}

interface PhaseResult {
  label: string;
  baseline: Phase;
  ours: Phase;
  baselineBytes: number;
  oursBytes: number;
  arrived: number;
  enqueueSeconds: number;
  lat: Awaited<ReturnType<typeof latencies>>;
  state: Awaited<ReturnType<typeof check>>;
}

runCli('bench:deliver', async () => {
  const args = parseArguments();
  const n = args.letters;
  const runId = randomBytes(4).toString('hex');
  const databaseName = `frb_bench_${runId}`;
  const databaseUrl = new URL(args.database);
  databaseUrl.pathname = `/${databaseName}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-bench-deliver-'));
  const cpus = os.cpus();
  out(
    `Letter delivery benchmark, ${new Date().toISOString().slice(0, 10)}: node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}\n` +
      `${int(n)} letters, concurrency ${args.concurrency}, mailer pool ${MAILER_POOL.maxConnections} connections ` +
      `(${MAILER_POOL.maxMessages} messages each), ${TARGET_COUNT} recipient addresses; then ${int(n)} letters to ` +
      `${CA_DISTRICTS} House offices through a local stand-in CWC server\n\n`,
  );

  await withAdmin(args.database, (client) => client.query(`CREATE DATABASE ${databaseName}`));
  let sink: CountingSink | undefined;
  let standIn: CwcStandIn | undefined;
  let platform: Platform | undefined;
  try {
    sink = await startCountingSink();
    standIn = await startCwcStandIn({ apiKey: CWC_API_KEY, keepDocuments: false });
    const config = loadConfig({
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      APP_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEYS: formatKeyRing([{ id: 1, key: randomBytes(32) }]),
      LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: args.redis,
      REDIS_KEY_PREFIX: `bench-${runId}`,
      SMTP_URL: sink.url,
      CWC_URL: standIn.messageUrl,
      CWC_API_KEY,
      CWC_ORGANIZATION: 'Bench Coalition',
      CWC_CONTACT_EMAIL: 'cwc@bench.example.org',
      CWC_CONTACT_PHONE: '202-555-0100',
      DELIVERY_PER_RECIPIENT_PER_MINUTE: '1000000',
      REP_DATA_DIR: 'none',
      LOG_LEVEL: 'warn',
    });
    platform = await openPlatform(config, createLogger(config.logLevel));
    const opened = platform;
    // Letters to the offices themselves (new campaigns rehearse), as after an admin sent the campaign live.
    await opened.db.execute(
      sql`UPDATE campaigns SET delivery_mode = 'live' WHERE slug = ${DEMO_CAMPAIGN_SLUG}`,
    );
    const letter = sampleLetter(opened);
    const redisPid = localRedisPid(args.redis);
    const databaseLocal = isLocal(args.database);
    const sample = () => sampleServers(opened, databaseLocal, redisPid);
    const from = config.delivery.from;
    const cwcSettings: CwcSettings = {
      url: standIn.messageUrl,
      apiKey: CWC_API_KEY,
      organization: 'Bench Coalition',
      campaignId: DEMO_CAMPAIGN_SLUG,
      deliveryAgent: {
        name: 'Bench Coalition',
        email: 'cwc@bench.example.org',
        phone: '202-555-0100',
        ackEmail: 'cwc@bench.example.org',
      },
    };

    /** Seeds n letters on `channel`, runs the baseline, then queue → worker, and checks what the run left. */
    const runPhase = async (channel: 'email' | 'cwc'): Promise<PhaseResult> => {
      const began = performance.now();
      const seeded = await seed(opened, n, letter, channel);
      if (seeded.length !== n) throw new Error(`seeded ${seeded.length} letters, not ${n}`);
      out(
        `Seeded ${int(n)} queued ${channel === 'cwc' ? 'CWC' : 'email'} letters in ${int(Math.ceil(n / LETTERS_PER_ACTION))} actions ` +
          `(${((performance.now() - began) / 1000).toFixed(1)} s, not timed)\n`,
      );

      let arrived: () => number;
      let bytes: () => number;
      let baseline: Phase;
      if (channel === 'email') {
        // The same messages as the worker sends (as deliverLetter builds them), straight to the sink.
        baseline = await measure(sample, () =>
          sendRaw(sink!, n, args.concurrency, (i) => {
            const { key, address, replyTo } = seeded[i]!;
            return {
              from,
              to: address,
              replyTo,
              subject: letter.subject,
              text: letter.body,
              messageId: `<${messageKey(key)}@letters.invalid>`,
              headers: { 'X-Letter-Id': messageKey(key) },
            };
          }),
        );
        arrived = () => sink!.received;
        bytes = () => sink!.bytes;
      } else {
        // The same documents as the worker sends, built beforehand (untimed), posted straight to the stand-in.
        const documents = seeded.map(({ key, address, replyTo }) =>
          buildCwcDocument(
            {
              deliveryId: cwcDeliveryId(key),
              date: new Date(),
              office: address,
              constituent: {
                prefix: 'Ms.',
                ...splitName(replyTo.name),
                address1: '1 Mission St',
                city: 'San Francisco',
                state: 'CA',
                zip: '94110',
                email: replyTo.address,
              },
              subject: letter.subject,
              message: letter.body,
            },
            cwcSettings,
          ),
        );
        const documentBytes = documents.reduce(
          (sum, document) => sum + Buffer.byteLength(document),
          0,
        );
        baseline = await measure(sample, () => postRaw(standIn!, documents, args.concurrency));
        arrived = () => standIn!.accepted.message;
        bytes = () => (documentBytes * standIn!.accepted.message) / n;
      }
      const baselineBytes = bytes();
      if (arrived() !== n)
        throw new Error(`the baseline delivered ${arrived()} messages, not ${n}`);
      sink!.reset();
      standIn!.accepted.message = 0;
      standIn!.requests.length = 0;

      // Ours: queue every letter, start the worker, wait until every letter has arrived and is recorded.
      const enqueuedAt = new Map<number, number>();
      let enqueueSeconds = 0;
      let running: RunningJobWorkers | undefined;
      const ours = await measure(sample, async () => {
        const queueing = performance.now();
        for (let i = 0; i < n; i += 500) {
          await Promise.all(
            seeded.slice(i, i + 500).map(async ({ id, address }) => {
              // As the letter flow queues them: with the address for email, which the throttle needs.
              await requestDelivery(opened.queues, id, channel === 'email' ? address : null);
              enqueuedAt.set(id, Date.now());
            }),
          );
        }
        enqueueSeconds = (performance.now() - queueing) / 1000;
        running = await startJobWorkers(opened, [deliverLetterJob, confirmActionJob], {
          contextFor: workerContexts(opened),
          concurrency: { delivery: args.concurrency },
        });
        await waitForDelivery(opened, arrived, n);
      }).finally(async () => {
        await running?.close();
      });
      const result: PhaseResult = {
        label: channel === 'email' ? 'email' : 'CWC',
        baseline,
        ours,
        baselineBytes,
        oursBytes: bytes(),
        arrived: arrived(),
        enqueueSeconds,
        lat: await latencies(opened, enqueuedAt),
        state: await check(opened, n),
      };
      sink!.reset();
      standIn!.accepted.message = 0;
      return result;
    };

    const email = await runPhase('email');
    await clearLetters(opened);
    const cwc = await runPhase('cwc');

    // Report.
    const busy = (phase: Phase) =>
      phase.machineBusy === undefined ? '—' : `${(phase.machineBusy * 100).toFixed(0)} %`;
    const perItem = (value: number | undefined) =>
      value === undefined ? '—' : `${((1000 * value) / n).toFixed(2)} ms`;
    const row = (label: string, phase: Phase, bytes: number) =>
      line(
        [label, 40],
        [int(n / phase.seconds), 8],
        [phase.seconds.toFixed(2), 11],
        [`${(bytes / n).toFixed(0)} B`, 9],
        [perItem(phase.nodeCpu), 11],
        [perItem(phase.postgresCpu), 11],
        [perItem(phase.redisCpu), 11],
        [busy(phase), 14],
      );
    out('\n');
    out(
      line(
        ['', 40],
        ['per s', 8],
        ['elapsed s', 11],
        ['message', 9],
        ['node CPU', 11],
        ['pg CPU', 11],
        ['redis CPU', 11],
        ['machine busy', 14],
      ),
    );
    out(row('raw pooled nodemailer (baseline)', email.baseline, email.baselineBytes));
    out(row('queue → delivery worker → SMTP sink', email.ours, email.oursBytes));
    out(row('raw fetch POSTs to CWC stand-in (baseline)', cwc.baseline, cwc.baselineBytes));
    out(row('queue → delivery worker → CWC stand-in', cwc.ours, cwc.oursBytes));
    out(
      "  CPU per message: this process (the sink and the stand-in included), this database's PostgreSQL backends, redis-server;\n" +
        `  machine busy: all ${os.cpus().length} cores, whatever else runs\n`,
    );
    const ratios: Record<string, number> = {};
    for (const phase of [email, cwc]) {
      const ratio = phase.baseline.seconds / phase.ours.seconds;
      ratios[phase.label] = ratio;
      const extra = phase.arrived - n;
      out(`\n${phase.label}: letters/s ÷ raw/s = ${ratio.toFixed(2)}\n`);
      out(`  queueing ${int(n)} jobs (requestDelivery): ${phase.enqueueSeconds.toFixed(2)} s\n`);
      out(
        `  letters per statement: ${(phase.state.attempts / phase.state.claimStatements).toFixed(1)} per claim (${int(phase.state.claimStatements)} claims), ` +
          `${(phase.state.attempts / phase.state.recordStatements).toFixed(1)} per record (${int(phase.state.recordStatements)} records)\n`,
      );
      out(
        `  per letter, enqueue → delivered_at: p50 ${int(phase.lat.total.p50)} ms, p99 ${int(phase.lat.total.p99)} ms ` +
          `(all queued at once: mostly waiting in the backlog)\n` +
          `  per letter, claim → delivered_at (the worker's own time): ` +
          `p50 ${phase.lat.service.p50.toFixed(1)} ms, p99 ${phase.lat.service.p99.toFixed(1)} ms\n`,
      );
      out(
        `  check: ${int(phase.state.delivered)} delivered, ${int(phase.state.attempts)} attempts, ${int(phase.arrived)} arrived` +
          `${extra > 0 ? ` (${extra} more than letters)` : ''}, counts ${int(phase.state.counted)} delivered / ${int(phase.state.pending)} other: ` +
          `${phase.state.ok && extra === 0 ? 'every letter sent once and counted' : 'MISMATCH'}\n`,
      );
    }
    const target = (label: string, value: string, limit: string, met: boolean) =>
      line([`  ${label}`, 30], [value, 12], [`≥ ${limit}`, 10], [met ? 'PASS' : 'MISS', 6]);
    const emailRate = n / email.ours.seconds;
    out("\nTargets (informational; the email row's)\n");
    out(
      target(
        'email letters/s',
        int(emailRate),
        int(TARGETS.lettersPerSecond),
        emailRate >= TARGETS.lettersPerSecond,
      ),
    );
    out(
      target(
        'email ratio to raw sends',
        ratios.email!.toFixed(2),
        TARGETS.ratio.toFixed(1),
        ratios.email! >= TARGETS.ratio,
      ),
    );
  } finally {
    if (platform) {
      await deleteKeys(platform).catch(() => undefined);
      await platform.close();
    }
    await sink?.close();
    await standIn?.close();
    await withAdmin(args.database, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }
});
