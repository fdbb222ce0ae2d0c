import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

let t: TestPlatform;
let server: Server;
let base: string;
const profiles: string[] = [];

async function browser(javaScriptEnabled: boolean): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    javaScriptEnabled,
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  t = await createTestPlatform();
  await t.startWorkers();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
});

describe('signing in a real browser', () => {
  it('signs with the form, and the open page counts new signatures live, loading nothing from elsewhere', async () => {
    const context = await browser(true);
    try {
      const page = await context.newPage();
      const foreign: string[] = [];
      const problems: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith(base)) foreign.push(req.url());
      });
      page.on('pageerror', (error) => problems.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content.Security.Policy|Refused/i.test(message.text()))
          problems.push(message.text());
      });

      await page.goto(`${base}/campaigns/ban-facial-recognition`);
      await page.fill('#field-name', 'Browser Signer');
      await page.fill('#field-email', 'browser@example.org');
      await page.fill('#field-zip', '60614');
      await page.check('#field-optIn');
      await page.click('button[type=submit]');
      await page.waitForURL('**/campaigns/ban-facial-recognition/thanks');
      expect(await page.textContent('h1')).toBe('Thank you for signing');
      expect(await openedSignatures(t.platform)).toEqual([
        expect.objectContaining({ email: 'browser@example.org', state: 'IL', optIn: true }),
      ]);

      // Someone else signs through the API while the page is open: the counter follows.
      await fetch(`${base}/api/v1/campaigns/ban-facial-recognition/signatures`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Second Signer', email: 'second@example.org', zip: '94110' }),
      });
      await page.waitForSelector('[data-live="count"]:text-is("2")', { timeout: 30_000 });
      expect(await page.textContent('[data-live="noun"]')).toBe('signatures');
      expect(await page.getAttribute('[data-live="bar"]', 'value')).toBe('2');

      expect(foreign).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('signs with JavaScript turned off, and shows field errors the same way', async () => {
    const context = await browser(false);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/campaigns/ban-facial-recognition`);
      await page.fill('#field-name', 'No Script');
      await page.fill('#field-email', 'not-an-email');
      await page.fill('#field-zip', '98101');
      await page.click('button[type=submit]');
      expect(await page.textContent('.error-summary')).toContain(
        'Please enter a valid email address',
      );
      expect(await page.inputValue('#field-name')).toBe('No Script');

      await page.fill('#field-email', 'noscript@example.org');
      await page.click('button[type=submit]');
      await page.waitForURL('**/thanks');
      const stored = await openedSignatures(t.platform);
      expect(stored.map((row) => row.email)).toContain('noscript@example.org');
    } finally {
      await context.close();
    }
  });
});
