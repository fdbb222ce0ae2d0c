import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { chromium, type BrowserContext } from 'playwright-core';
import { callReports } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { savePlace, saveStance } from '../../src/stances/store';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/** The call page and the scorecard in Debian's Chromium with JavaScript off, as a person uses them. */
const SLUG = 'ban-facial-recognition';
let t: TestPlatform;
let server: Server;
let base: string;
let profile: string;
let context: BrowserContext;

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
  const campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  await saveStance(
    t.platform.db,
    campaignId,
    { personKey: 'T000001', stance: 'undecided', sourceKind: 'statement', published: true },
    'command line',
  );
  await saveStance(
    t.platform.db,
    campaignId,
    { personKey: 'T000005', stance: 'champion', sourceKind: 'bill', published: true },
    'command line',
  );
  await savePlace(
    t.platform.db,
    campaignId,
    undefined,
    { kind: 'city', name: 'Boulder', state: 'CO', passedOn: '2025-06-01', published: true },
    'command line',
  );
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    javaScriptEnabled: false,
  });
});
afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

describe('in a real browser, JavaScript off', () => {
  it('looks up the offices, shows tel: links and the script, and counts a call with one press', async () => {
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (req) => urls.push(req.url()));
    await page.goto(`${base}/campaigns/${SLUG}/call`);
    await page.fill('#field-zip', '80010');
    await Promise.all([page.waitForEvent('load'), page.click('form.lookup-form button')]);

    const card = page.locator('li.card', { hasText: 'Ada Testwell' });
    const tels = card.locator('a[href^="tel:"]');
    const hrefs: Array<string | null> = [];
    for (let index = 0; index < (await tels.count()); index++)
      hrefs.push(await tels.nth(index).getAttribute('href'));
    expect(hrefs).toEqual(['tel:2025550101', 'tel:3035550111']);
    expect(await card.locator('.stance').textContent()).toContain('Undecided');
    expect(await card.locator('pre.call-script').textContent()).toContain(
      'ask Representative Ada Testwell to support a federal ban',
    );
    await Promise.all([page.waitForEvent('load'), card.locator('button[value=talked]').click()]);
    expect(
      await page
        .locator('li.card', { hasText: 'Ada Testwell' })
        .locator('[role=status]')
        .textContent(),
    ).toContain('Thank you: your call to Ada Testwell is counted (I talked to staff).');
    const rows = await t.platform.db
      .select()
      .from(callReports)
      .where(eq(callReports.targetKey, 'us-house:T000001'));
    expect(rows.map((row) => row.outcome)).toEqual(['talked']);
    // The ZIP code travelled in form bodies, never in a URL.
    expect(urls.filter((url) => url.includes('80010'))).toEqual([]);
    await page.close();
  });

  it('shows the scorecard, filters it by state, and links each official to write and call', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/campaigns/${SLUG}/scorecard`);
    expect(await page.locator('svg.state-map').count()).toBe(1);
    expect(await page.locator('svg.state-map path title').allTextContents()).toContain(
      'Colorado: Ban in a city or county',
    );
    expect(await page.locator('ul.places').textContent()).toContain('Boulder, CO');
    expect(await page.locator('ul.officials').allTextContents()).toEqual([
      expect.stringContaining('Elin Northerly'),
      expect.stringContaining('Ada Testwell'),
    ]);
    await page.selectOption('#field-state', 'CO');
    await Promise.all([page.waitForEvent('load'), page.click('form.state-filter button')]);
    expect(new URL(page.url()).searchParams.get('state')).toBe('CO');
    const names = await page.locator('ul.officials .name').allTextContents();
    expect(names.join(' ')).toContain('Ada Testwell');
    expect(names.join(' ')).not.toContain('Elin Northerly');
    await Promise.all([
      page.waitForEvent('load'),
      page.locator('ul.officials a', { hasText: 'Call' }).first().click(),
    ]);
    expect(new URL(page.url()).pathname).toBe(`/campaigns/${SLUG}/call`);
    // The card's official is named; the page still asks where the caller lives.
    expect(new URL(page.url()).searchParams.get('official')).toBe('T000001');
    expect(await page.locator('main').innerText()).toContain('You chose to call Ada Testwell.');
    await page.fill('#field-zip', '80010');
    await Promise.all([page.waitForEvent('load'), page.click('form.lookup-form button')]);
    expect(await page.locator('ul.call-cards h3').first().innerText()).toBe('Ada Testwell');
    await page.close();
  });
});
