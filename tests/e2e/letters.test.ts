import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

let t: TestPlatform;
let sink: SmtpSink;
let server: Server;
let base: string;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition Letters <letters@coalition.example>',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  await t.startWorkers();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
  await sink.close();
  rmSync(profile, { recursive: true, force: true });
});

describe('writing letters in a real browser, JavaScript off', () => {
  it('finds the representatives, previews, sends, and lands on the status page, with every URL free of personal data', async () => {
    const options = { executablePath: CHROMIUM, args: CHROMIUM_ARGS, javaScriptEnabled: false };
    const context: BrowserContext = await chromium.launchPersistentContext(profile, options);
    try {
      const page = await context.newPage();
      const urls: string[] = [];
      const problems: string[] = [];
      page.on('request', (req) => urls.push(req.url()));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });

      await page.goto(`${base}/campaigns/ban-facial-recognition/letters`);
      await page.fill('#field-zip', '80020');
      await page.fill('#field-name', 'Browser Writer');
      await page.fill('#field-email', 'browser.writer@example.org');
      await page.click('button[value=lookup]');

      // 80020 is split between districts: choose the first congressional district and state senate district 1.
      expect(await page.textContent('.district-choice')).toContain(
        'Your ZIP code is split between districts.',
      );
      await page.check('#choice-cd-0801');
      await page.check('#choice-sldu-08001');
      await page.click('button[value=lookup]');

      const ticked = await page.locator('input[name=targets]:checked').count();
      expect(ticked).toBeGreaterThan(0);
      await page.fill('#field-note', 'My street has two new cameras.');
      await page.click('button[value=preview]');

      const previews = await page.$$eval('pre.letter-text', (blocks) =>
        blocks.map((block) => block.textContent ?? ''),
      );
      expect(previews).toHaveLength(ticked);
      expect(
        previews.every(
          (text) =>
            text.includes('My street has two new cameras.') && text.includes('Browser Writer'),
        ),
      ).toBe(true);
      expect(await page.isChecked('#field-wantsCopy')).toBe(true);
      expect(await page.isChecked('#field-optIn')).toBe(false);

      await page.click('button[value=send]');
      await page.waitForURL(/\/letters\/[\w-]{32}\?sent=1$/);
      expect(await page.textContent('h1')).toMatch(
        /^Your (letter is|\d+ letters are) on (its|their) way$/,
      );
      expect(await page.$$('.letter-status .card')).toHaveLength(ticked);

      await eventually(
        async () =>
          sink.messages.filter((mail) => mail.headers.get('x-letter-id')).length === ticked,
      );
      expect(urls.every((url) => url.startsWith(base))).toBe(true);
      expect(
        urls.some((url) =>
          /browser|writer|80020|example\.org/i.test(new URL(url).pathname + new URL(url).search),
        ),
      ).toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
