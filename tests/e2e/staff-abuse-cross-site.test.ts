import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { signInAs, STAFF_PASSWORD } from '../helpers/staff';

/**
 * The abuse report opened by another site, in a real browser: a signed-in organizer follows a
 * link on a page of another site (another host name: another site for the browser) to the report.
 * The staff cookie (SameSite=Lax) goes with that navigation, and Chromium says where it came from
 * (`Sec-Fetch-Site: cross-site`): the form is shown with the link's settings, the report is not
 * run. From the console's own tab, it runs.
 */
const SLUG = 'ban-facial-recognition';
let t: TestPlatform;
let server: Server;
let elsewhere: Server;
let base: string;
let elsewhereBase: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  t = await createTestPlatform();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const report = `${base}/staff/campaigns/${SLUG}/abuse?window=1&ips=1&domains=1&hours=168`;
  elsewhere = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><title>Elsewhere</title><a id="go" href="${report}">A harmless link</a>`,
    );
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => elsewhere.once('listening', resolve));
  // "localhost" and "127.0.0.1" are different sites to the browser.
  elsewhereBase = `http://localhost:${(elsewhere.address() as AddressInfo).port}`;
  await signInAs(t.app, t.platform.db, 'organizer');
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
});
afterAll(async () => {
  await context?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await new Promise((resolve) => elsewhere?.close(resolve));
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

test("a link on another site shows the report's form without running it; the console's own tab runs it", async () => {
  const page = await context.newPage();
  await page.goto(`${base}/staff/login`);
  await page.fill('#field-email', 'organizer@staff.example.org');
  await page.fill('#field-password', STAFF_PASSWORD);
  await Promise.all([
    page.waitForURL(`${base}/staff`),
    page.click('form[action="/staff/login"] button[type=submit]'),
  ]);

  await page.goto(`${elsewhereBase}/`);
  await Promise.all([page.waitForURL(/\/abuse\?/), page.click('#go')]);
  // Signed in (the cookie went along), the form has the link's settings, and nothing ran.
  await page.locator('#not-run').waitFor();
  expect(await page.inputValue('#field-hours')).toBe('168');
  expect(await page.locator('#bursts-ip').count()).toBe(0);

  // Sent from the page itself, it runs.
  await Promise.all([
    page.waitForURL(/\/abuse\?/),
    page.click('form.staff-form button[type=submit]'),
  ]);
  await page.locator('#bursts-ip').waitFor();
  expect(await page.locator('#not-run').count()).toBe(0);

  // And from the console's tabs.
  await page.goto(`${base}/staff/campaigns/${SLUG}`);
  await Promise.all([
    page.waitForURL(/\/abuse$/),
    page.click('nav.campaign-tabs a[href$="/abuse"]'),
  ]);
  await page.locator('#bursts-domain').waitFor();
});
