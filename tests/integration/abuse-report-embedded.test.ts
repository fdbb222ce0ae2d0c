import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { BURST_PAGE_ROWS, findBursts } from '../../src/abuse/bursts';
import { loadConfig } from '../../src/config';
import { ReadTimeoutError } from '../../src/db/bounded-reads';
import { queryRows } from '../../src/db/client';
import { createLogger } from '../../src/logger';
import { openPlatform, type Platform } from '../../src/platform';
import { createAccount } from '../../src/staff/accounts';
import { countExportRows } from '../../src/staff/exports';
import { startWorkers, type RunningWorkers } from '../../workers';
import { signatureValues } from '../helpers/sealed';
import { csrfTokenOf, STAFF_PASSWORD } from '../helpers/staff';

/**
 * The abuse report in embedded mode (PGlite in the process, as `npm start` runs): PGlite is one
 * connection in this process, and a statement holds the whole process until it ends. The report
 * reads in pages, so while it works through a flood of 50,000 signatures from one domain in ten
 * minutes (the size that froze the platform for 200 s), health checks and signing are answered.
 */
const SLUG = 'ban-facial-recognition';
const FLOOD = 50_000;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-abuse-embedded-'));
let platform: Platform;
let workers: RunningWorkers;
let server: Server;
let base: string;
let campaignId: number;

beforeAll(async () => {
  const config = loadConfig({
    DATA_DIR: dataDir,
    REP_DATA_DIR: 'none',
    FORM_MIN_FILL_SECONDS: '0',
    LOG_LEVEL: 'silent',
  });
  platform = await openPlatform(config, createLogger('silent'));
  expect(platform.database.driver).toBe('pglite');
  server = buildApp(platform).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  workers = await startWorkers(platform);
  campaignId = (await platform.campaigns.bySlug(SLUG))!.id;
  // One sealed address and name for all (as the benchmark seeds them), unique email hashes.
  const row = signatureValues(platform.encryption, {
    email: 'someone@flood.example',
    name: 'Secret Person',
  });
  await platform.db.execute(sql`
    INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, tallied, created_at)
    SELECT ${campaignId}::int, ${row.email}::bytea, sha256(('flood-' || g)::bytea), ${row.emailDomainHash}::bytea, ${row.name}::bytea, '10001', true,
           now() - interval '3 hours' + g * interval '12 milliseconds'
    FROM generate_series(1, ${FLOOD}::int) AS g`);
  await createAccount(
    platform.db,
    {
      email: 'organizer@staff.example.org',
      name: 'Organizer',
      role: 'organizer',
      password: STAFF_PASSWORD,
    },
    'command line',
  );
}, 120_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await workers?.close();
  await platform?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn() {
  const agent = request.agent(base);
  const login = await agent.get('/staff/login').expect(200);
  await agent
    .post('/staff/login')
    .type('form')
    .send({
      _csrf: csrfTokenOf(login.text),
      email: 'organizer@staff.example.org',
      password: STAFF_PASSWORD,
    })
    .expect(303);
  return agent;
}

it('answers /healthz and signs while the report works through a flood, then shows it', async () => {
  const organizer = await signIn();
  // What the server has started on, and what the test has had answered, in order.
  const events: string[] = [];
  const arrived = new Promise<void>((resolve) => {
    const onRequest = (req: IncomingMessage) => {
      if (!req.url?.includes('/abuse')) return;
      server.off('request', onRequest);
      resolve();
    };
    server.on('request', onRequest);
  });
  const report = organizer
    .get(`/staff/campaigns/${SLUG}/abuse?window=10&ips=10&domains=100&hours=168`)
    .then((answer) => {
      events.push('report');
      return answer;
    });
  await arrived;

  let signed = false;
  while (!events.includes('report')) {
    await request(base).get('/healthz').expect(200);
    if (!events.includes('report')) events.push('healthz');
    if (!signed) {
      signed = true;
      await request(base)
        .post(`/api/v1/campaigns/${SLUG}/signatures`)
        .send({ name: 'Signed Meanwhile', email: 'meanwhile@example.org', zip: '98101' })
        .expect(202);
      if (!events.includes('report')) events.push('signed');
    }
  }

  const page = await report;
  expect(page.status).toBe(200);
  expect(page.text).toMatch(
    /<tr><td>flood\.example<\/td><td class="num">50,000<\/td><td class="num">50,000<\/td>/,
  );
  // The report read FLOOD / BURST_PAGE_ROWS.pglite pages; between them the process answered the others.
  // As one statement (the first version), nothing could have been answered once it began.
  expect(events.indexOf('signed')).toBeGreaterThan(-1);
  expect(events.filter((event) => event === 'healthz').length).toBeGreaterThanOrEqual(3);
  expect(events.at(-1)).toBe('report');
}, 120_000);

it('stops a report that runs out of time between two pages, and counts an export in pages', async () => {
  const pages: number[] = [];
  await expect(
    findBursts(
      platform,
      campaignId,
      { window: 10, ips: 10, domains: 100, hours: 168 },
      { timeoutMs: 0, onPage: (rows) => pages.push(rows) },
    ),
  ).rejects.toBeInstanceOf(ReadTimeoutError);
  expect(pages).toEqual([BURST_PAGE_ROWS.pglite]);

  const [stored] = await queryRows<{ count: number }>(
    platform.db,
    sql`SELECT count(*)::int AS count FROM signatures WHERE campaign_id = ${campaignId}::int`,
  );
  expect(stored!.count).toBeGreaterThan(FLOOD);
  expect(
    await countExportRows(
      { db: platform.db, driver: platform.database.driver },
      'signatures',
      campaignId,
      7_000,
    ),
  ).toBe(stored!.count);
});
