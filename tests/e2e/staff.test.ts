import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { consents, signatures } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';
import { signInAs, STAFF_PASSWORD } from '../helpers/staff';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

let t: TestPlatform;
let server: Server;
let base: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await t.startWorkers();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await signInAs(t.app, t.platform.db, 'organizer');
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
});
afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
  rmSync(profile, { recursive: true, force: true });
});

/** A page that records what would break it: script errors, CSP refusals, requests to other sites. */
async function watchedPage(allowedOrigins: string[] = [base]) {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('request', (request) => {
    if (!allowedOrigins.some((origin) => request.url().startsWith(origin)))
      problems.push(`request to ${request.url()}`);
  });
  return { page, problems };
}

/** Signs in, unless the browser's session already is (the tests share one browser). */
async function signIn(page: Page) {
  await page.goto(`${base}/staff/login`);
  if (page.url() === `${base}/staff`) return;
  await page.fill('#field-email', 'organizer@staff.example.org');
  await page.fill('#field-password', STAFF_PASSWORD);
  await Promise.all([
    page.waitForURL(`${base}/staff`),
    page.click('form[action="/staff/login"] button[type=submit]'),
  ]);
}

test('the template preview follows the edits as staff type', async () => {
  const { page, problems } = await watchedPage();
  await signIn(page);
  await page.goto(`${base}/staff/campaigns/ban-facial-recognition/templates?level=federal`);
  await page.fill('#field-subject', 'Ban it, {{target.title}} {{target.name}}');
  await page.locator('[data-preview="subject"]', { hasText: /^Ban it, / }).waitFor();
  const subject = await page.textContent('[data-preview="subject"]');
  expect(subject).toMatch(/^Ban it, (Representative|Senator|Delegate) \S+/);
  await page.fill('#field-body', 'Dear {{target.name}},\n{{#each nope}}{{/each}}');
  await page.waitForSelector('[data-preview="problem"]:not([hidden])');
  expect(await page.textContent('[data-preview="problem"]')).toMatch(/each/);
  expect(problems.filter((problem) => !/400 \(Bad Request\)/.test(problem))).toEqual([]);
});

test('a partner pastes the embed code into its own site and supporters sign there', async () => {
  const { page, problems } = await watchedPage();
  await signIn(page);
  // The partner's site: another origin, serving a page with the snippet staff copied.
  let snippet = '';
  const partner = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><html><head><title>Partner</title></head><body><h1>Our campaign</h1>${snippet}</body></html>`,
    );
  });
  partner.listen(0, 'localhost');
  await new Promise((resolve) => partner.once('listening', resolve));
  const partnerOrigin = `http://localhost:${(partner.address() as AddressInfo).port}`;
  try {
    await page.goto(`${base}/staff/campaigns/ban-facial-recognition/partners`);
    await page.fill('#field-name', 'Privacy Partners');
    await page.fill('#field-sourceCode', 'privacy-partners');
    await page.fill('#field-origins', partnerOrigin);
    await page.click('form[action$="/partners"] button[type=submit]');
    await page.waitForSelector('textarea[id^="snippet-"]');
    snippet = (await page.inputValue('textarea[id^="snippet-"]')).replaceAll(
      t.platform.config.publicUrl,
      base,
    );
    expect(problems).toEqual([]);

    const visit = await watchedPage([base, partnerOrigin]);
    await visit.page.goto(partnerOrigin);
    await visit.page.waitForSelector('.petition-embed form', { timeout: 10_000 });
    await visit.page.fill('input[name="name"]', 'Embed Signer');
    await visit.page.fill('input[name="email"]', 'embed@example.org');
    await visit.page.fill('input[name="zip"]', '80010');
    // The boxes carry the platform's words: the campaign's, and the partner's own.
    expect(await visit.page.textContent('label[for$="partnerOptIn"]')).toContain(
      'Privacy Partners',
    );
    await visit.page.check('input[name="partnerOptIn"]');
    await visit.page.click('.petition-embed button[type=submit]');
    await visit.page.waitForSelector('.petition-embed-thanks', { timeout: 10_000 });
    expect(visit.problems).toEqual([]);
    const embedSigner = eq(
      signatures.emailHash,
      t.platform.encryption.emailHash('embed@example.org'),
    );
    await eventually(
      async () => (await t.platform.db.select().from(signatures).where(embedSigner)).length === 1,
    );
    const [signed] = await openedSignatures(t.platform, embedSigner);
    expect(signed).toMatchObject({
      name: 'Embed Signer',
      source: 'privacy-partners',
      zip: '80010',
    });
    const given = await t.platform.db
      .select()
      .from(consents)
      .where(eq(consents.signatureId, signed!.id));
    expect(given).toEqual([
      expect.objectContaining({
        scope: 'partner',
        channel: 'api',
        wording: expect.stringContaining('Privacy Partners'),
      }),
    ]);
  } finally {
    partner.closeAllConnections();
    await new Promise((resolve) => partner.close(resolve));
  }
});
