import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { STAFF_PASSWORD } from '../helpers/staff';
import {
  buildHostileWorld,
  HOSTILE,
  pagesOf,
  SLUG,
  WRITER_EMAIL,
  type HostileWorld,
} from './hostile-world';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

/**
 * Every kind of page in Debian's Chromium, JavaScript on, with hostile text in every field: public
 * pages, the pages answered to forms, and the staff console signed in. Nothing is requested from
 * another origin, the browser reports no Content-Security-Policy violation (so no inline script or
 * style is even attempted), no injected script runs (no alert), and no page has an inline script.
 */

let world: HostileWorld;
let server: Server;
let base: string;
let profile: string;
let context: BrowserContext;

/** What the pages did that they must not. */
const findings = {
  foreign: [] as string[],
  policy: [] as string[],
  dialogs: [] as string[],
  scriptErrors: [] as string[],
  inline: [] as string[],
};
let visited = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  world = await buildHostileWorld();
  server = world.t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    javaScriptEnabled: true,
  });
}, 180_000);
afterAll(async () => {
  await context?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await world?.close();
  rmSync(profile, { recursive: true, force: true });
});

function watch(page: Page): Page {
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith('data:'))
      findings.foreign.push(`${page.url()} → ${url}`);
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text()))
      findings.policy.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => findings.scriptErrors.push(`${page.url()}: ${String(error)}`));
  page.on('dialog', (dialog) => {
    findings.dialogs.push(`${page.url()}: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  return page;
}

/** Checks the page now shown: no inline script element, and it has been counted. */
async function inspect(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  const inline = await page.locator('script:not([src])').count();
  if (inline > 0) findings.inline.push(`${page.url()}: ${inline} inline script(s)`);
  visited++;
}

async function visit(page: Page, url: string): Promise<void> {
  await page.goto(`${base}${url}`);
  await inspect(page);
}

async function signIn(page: Page, email: string, landing = '/staff'): Promise<void> {
  await page.goto(`${base}/staff/login`);
  await page.fill('#field-email', email);
  await page.fill('#field-password', STAFF_PASSWORD);
  await Promise.all([
    page.waitForURL(`${base}${landing}`),
    page.click('form[action="/staff/login"] button[type=submit]'),
  ]);
  await inspect(page);
}

async function signOut(page: Page): Promise<void> {
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/staff/campaigns')),
    page.click('form[action="/staff/logout"] button[type=submit]'),
  ]);
}

it('loads nothing from other origins and breaks no rule of the policy on any page', async () => {
  const page = watch(await context.newPage());
  const pages = pagesOf(world);

  // Public pages.
  for (const { path: url } of pages.filter((entry) => entry.as === 'visitor'))
    await visit(page, url);

  // Pages answered to forms, filled in as a person would, with the hostile text.
  await visit(page, `/campaigns/${SLUG}`);
  await page.fill('#field-name', HOSTILE);
  await page.fill('#field-email', 'not an email');
  await page.fill('#field-zip', '80010');
  await Promise.all([
    page.waitForEvent('load'),
    page.click(`form[action="/campaigns/${SLUG}/sign"] button[type=submit]`),
  ]);
  await page.waitForSelector('.error-summary');
  await inspect(page);

  await visit(page, `/campaigns/${SLUG}/representatives`);
  await page.fill('#field-zip', '80010');
  await Promise.all([
    page.waitForEvent('load'),
    page.click('form.lookup-form button[type=submit]'),
  ]);
  await page.waitForSelector('#results');
  await inspect(page);

  await visit(page, `/campaigns/${SLUG}/letters`);
  await page.fill('#field-name', HOSTILE);
  await page.fill('#field-email', WRITER_EMAIL);
  await page.fill('#field-zip', '80010');
  await Promise.all([page.waitForEvent('load'), page.click('button[value=lookup]')]);
  await page.waitForSelector('#field-note');
  await inspect(page);
  await page.fill('#field-note', HOSTILE);
  await page.click('button[value=preview]');
  await page.waitForSelector('#field-subject');
  await inspect(page);

  // The staff console, as an organizer, then as an admin.
  await signIn(page, 'organizer@staff.example.org');
  for (const { path: url } of pages.filter((entry) => entry.as === 'organizer'))
    await visit(page, url);
  // The template editor's live preview runs as staff type.
  await visit(page, `/staff/campaigns/${SLUG}/templates?level=local&zip=80010`);
  await page.fill(
    '#field-subject',
    `${HOSTILE.replace(/\{\{constructor\}\}/, '')} {{target.name}}`,
  );
  await page.locator('[data-preview="subject"]', { hasText: 'onerror' }).waitFor();
  await visit(page, `/staff/campaigns/${SLUG}`);
  await signOut(page);
  await signIn(page, 'admin@staff.example.org');
  for (const { path: url } of pages.filter((entry) => entry.as === 'admin')) await visit(page, url);
  await signOut(page);
  // A partner organisation's account lands on its own page.
  await signIn(page, 'partner@staff.example.org', '/staff/partner');
  for (const { path: url } of pages.filter((entry) => entry.as === 'partner'))
    await visit(page, url);

  expect(visited).toBeGreaterThanOrEqual(pages.length + 7);
  expect(findings).toEqual({ foreign: [], policy: [], dialogs: [], scriptErrors: [], inline: [] });
}, 180_000);
