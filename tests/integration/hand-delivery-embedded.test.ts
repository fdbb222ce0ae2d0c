import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { queryRows } from '../../src/db/client';
import { letterCounts } from '../../src/letters/counts';
import { createLogger } from '../../src/logger';
import { goLive } from '../helpers/platform';
import { openPlatform, type Platform } from '../../src/platform';
import { formatKeyRing } from '../../src/db/field-encryption';
import { importRepresentativeData } from '../../src/representatives/import';
import { unescapeHtml } from '../helpers/html';
import { pdfPages } from '../helpers/pdf';
import { testRedisUrl } from '../helpers/services';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * Hand delivery on the embedded database (PGlite, one connection, as `npm start` runs it), while
 * the platform runs: letters written, a packet prepared from the console, its PDF streamed (the
 * letters read a page at a time between other requests), marked delivered once, and the
 * supporter's page and "I sent it" for a letter to an office with a contact form.
 */
const SLUG = 'ban-facial-recognition';
const DELIVERY = `/staff/campaigns/${SLUG}/delivery`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-hand-embedded-'));
const prefix = `test-${randomBytes(6).toString('hex')}`;
let platform: Platform;
let app: Express;

beforeAll(async () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    REDIS_URL: testRedisUrl,
    REDIS_KEY_PREFIX: prefix,
    APP_SECRET: 'test-secret-test-secret-test-secret-0123',
    ENCRYPTION_KEYS: formatKeyRing([{ id: 1, key: randomBytes(32) }]),
    LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
    SIGN_RATE_LIMIT: '100000',
    STAFF_LOGIN_RATE_LIMIT: '100000',
    LETTER_EMAIL_RATE_LIMIT: '100000',
    FORM_MIN_FILL_SECONDS: '0',
    REP_DATA_DIR: 'none',
  });
  platform = await openPlatform(config, createLogger('silent'));
  expect(platform.database.driver).toBe('pglite');
  await importRepresentativeData(
    platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await platform.representatives.refresh();
  await goLive(platform);
  app = buildApp(platform);
}, 120_000);

afterAll(async () => {
  if (platform) {
    const keys = await platform.redis.keys(`${prefix}:*`);
    if (keys.length > 0) await platform.redis.del(...keys);
    await platform.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const write = async (name: string, targets: string[]) => {
  const res = await request(app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send({
      name,
      email: `${name.split(' ')[0]!.toLowerCase()}@example.org`,
      zip: '80010',
      wantsCopy: false,
      targets,
    })
    .expect(202);
  return new URL(res.body.statusUrl).pathname.split('/').pop()!;
};

test('a packet is prepared, printed and marked delivered once, and a supporter reports sending one themselves', async () => {
  const tokens: string[] = [];
  for (let n = 1; n <= 230; n++)
    tokens.push(await write(`Writer${n} Embedded`, ['us-house:T000001']));
  const self = await write('Selma Embedded', ['us-senate:T000003']);
  const organizer = await signInAs(app, platform.db, 'organizer');
  const page = await organizer.agent.get(DELIVERY).expect(200);
  expect(unescapeHtml(page.text)).toMatch(/Ada Testwell[\s\S]*?<td class="num">230<\/td>/);

  const prepared = await organizer.agent
    .post(`${DELIVERY}/packets`)
    .type('form')
    .send({ _csrf: csrfTokenOf(page.text), target: 'us-house:T000001' })
    .expect(303);
  const packetUrl = String(prepared.headers.location);
  // Three pages of letters, with the site answering in between.
  const [pdf, status] = await Promise.all([
    organizer.agent
      .get(`${packetUrl}/letters.pdf`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200),
    request(app).get(`/letters/${tokens[0]}`).expect(200),
  ]);
  expect(unescapeHtml(status.text)).toContain('The campaign will deliver it by hand');
  const pages = pdfPages(pdf.body as Buffer);
  expect(pages).toHaveLength(231);
  expect(pages[0]!.join('\n')).toContain('CO-1: 230');
  expect(pages[230]!.join('\n')).toContain('Writer230 Embedded');

  const form = await organizer.agent.get(packetUrl).expect(200);
  const day = new Date().toISOString().slice(0, 10);
  await organizer.agent
    .post(`${packetUrl}/delivered`)
    .type('form')
    .send({ _csrf: csrfTokenOf(form.text), deliveredOn: day })
    .expect(303);
  await organizer.agent
    .post(`${packetUrl}/delivered`)
    .type('form')
    .send({ _csrf: csrfTokenOf(form.text), deliveredOn: day })
    .expect(303);
  const counts = (await letterCounts(platform.db, 1)).byTarget['us-house:T000001'];
  expect(counts).toEqual({ delivered: 230 });
  const [moved] = await queryRows<{ n: number }>(
    platform.db,
    sql`SELECT count(*)::int AS n FROM letters WHERE delivered_as = 'hand'`,
  );
  expect(moved!.n).toBe(230);
  const [audited] = await queryRows<{ n: number }>(
    platform.db,
    sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'packet.deliver'`,
  );
  expect(audited!.n).toBe(1);
  const longDay = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(
    new Date(`${day}T12:00:00Z`),
  );
  expect(
    unescapeHtml((await request(app).get(`/letters/${tokens[229]}`).expect(200)).text),
  ).toContain(`Delivered by hand on ${longDay}.`);

  const supporter = request.agent(app);
  const statusPage = await supporter.get(`/letters/${self}`).expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(statusPage.text)![1]!;
  await supporter
    .post(`/letters/${self}/self-sent`)
    .type('form')
    .send({ _csrf: csrf, target: 'us-senate:T000003' })
    .expect(303);
  await supporter
    .post(`/letters/${self}/self-sent`)
    .type('form')
    .send({ _csrf: csrf, target: 'us-senate:T000003' })
    .expect(303);
  expect((await letterCounts(platform.db, 1)).byTarget['us-senate:T000003']).toEqual({
    'self-sent': 1,
  });
}, 180_000);
