import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { sql } from 'drizzle-orm';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { queryRows } from '../../src/db/client';
import { sealLink, unsubscribeSubject } from '../../src/privacy/links';
import { offerFirstAccountSetup } from '../../src/staff/first-account';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { STAFF_PASSWORD } from '../helpers/staff';
import {
  buildHostileWorld,
  pagesOf,
  SIGNER_EMAIL,
  SLUG,
  type HostileWorld,
} from '../security/hostile-world';

/**
 * WCAG 2.2 AA in Debian's Chromium, with axe-core (tags wcag2a, wcag2aa, wcag21a, wcag21aa,
 * wcag22aa): every public page and the states people meet on the way (form errors, a split ZIP,
 * each letter step, "please confirm", sent, the pages behind emailed links), in English and
 * Spanish, at 1280 and 390 px; and every staff page (the console is in English) and its error
 * states at both widths. On top of axe: no page scrolls sideways at 390 px. The platform is the
 * hostile world of the security tests: every field people fill holds hostile text.
 */

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const WIDTHS = [1280, 390] as const;
const LANGUAGES = ['en', 'es'] as const;

let world: HostileWorld;
let server: Server;
let base: string;
let profile: string;
let context: BrowserContext;
/** The supporter's emailed links, made with the platform's secret as its emails make them. */
let links: Record<'verify' | 'notMe' | 'unsubscribe' | 'myData', string>;

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
  });
  const { secret } = world.t.platform.config;
  const [signature] = await queryRows<{ id: number; campaign_id: number }>(
    world.t.platform.db,
    sql`SELECT id, campaign_id FROM signatures ORDER BY id LIMIT 1`,
  );
  links = {
    verify: `/verify/${sealLink(secret, 'verify', String(signature!.id))}`,
    notMe: `/not-me/${sealLink(secret, 'not-me', String(signature!.id))}`,
    unsubscribe: `/u/${sealLink(secret, 'unsubscribe', unsubscribeSubject(SIGNER_EMAIL, Number(signature!.campaign_id)))}`,
    myData: `/privacy/my-data/${sealLink(secret, 'my-data', SIGNER_EMAIL)}`,
  };
}, 240_000);
afterAll(async () => {
  await context?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await world?.close();
  rmSync(profile, { recursive: true, force: true });
});

interface Audit {
  /** Each violation: where, in which language and width, which rule, and the first elements. */
  findings: string[];
  pages: number;
}

async function audited(page: Page, audit: Audit, label: string): Promise<void> {
  await page.waitForLoadState('load');
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  for (const violation of results.violations) {
    audit.findings.push(
      `${label}: ${violation.id} (${violation.impact}) at ${violation.nodes
        .slice(0, 3)
        .map((node) => node.target.join(' '))
        .join(' | ')}`,
    );
  }
  const sideways = await page.evaluate(
    'document.documentElement.scrollWidth > window.innerWidth + 1',
  );
  if (sideways)
    audit.findings.push(`${label}: the page scrolls sideways at ${page.viewportSize()?.width}px`);
  audit.pages++;
}

async function visit(page: Page, audit: Audit, url: string, label = url): Promise<void> {
  await page.goto(`${base}${url}`);
  await audited(page, audit, label);
}

/** Presses a form's button and waits for the page it answers with. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

const withLanguage = (url: string, lng: string) =>
  `${url}${url.includes('?') ? '&' : '?'}lng=${lng}`;

describe.each(LANGUAGES)('the public pages in %s', (lng) => {
  it.each(WIDTHS)(
    'pass axe at %ipx, in every state a person meets',
    async (width) => {
      const audit: Audit = { findings: [], pages: 0 };
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 900 });
      const label = (what: string) => `${what} [${lng}, ${width}px]`;
      try {
        // Choose the language once, as the switcher does; the cookie keeps it for the forms.
        await visit(page, audit, withLanguage('/', lng), label('home'));
        for (const { path: url } of pagesOf(world).filter((entry) => entry.as === 'visitor'))
          await visit(page, audit, url, label(url));
        for (const [name, url] of Object.entries(links)) await visit(page, audit, url, label(name));
        await visit(page, audit, `${links.myData}/delete`, label('delete: ask'));
        await submit(page, 'form.danger-form button[type=submit]');
        await audited(page, audit, label('delete: not ticked'));

        // Signing: errors, then a form whose cookie is gone (a restored tab), then signed.
        await visit(page, audit, `/campaigns/${SLUG}`, label('campaign'));
        await page.fill('#field-name', 'Ana Axe');
        await page.fill('#field-email', 'not an email');
        await page.fill('#field-zip', '800');
        await submit(page, `form[action="/campaigns/${SLUG}/sign"] button[type=submit]`);
        await audited(page, audit, label('signing: errors'));
        await page.fill('#field-email', `ana-${lng}-${width}@example.org`);
        await page.fill('#field-zip', '80010');
        await context.clearCookies();
        await submit(page, `form[action="/campaigns/${SLUG}/sign"] button[type=submit]`);
        await audited(page, audit, label('signing: please confirm'));
        await submit(page, `form[action="/campaigns/${SLUG}/sign"] button[type=submit]`);
        await audited(page, audit, label('signing: thanks'));

        // Find your representatives: an error, a split ZIP.
        await visit(page, audit, `/campaigns/${SLUG}/representatives`, label('lookup'));
        await page.fill('#field-zip', '12');
        await submit(page, 'form.lookup-form button[type=submit]');
        await audited(page, audit, label('lookup: error'));
        await page.fill('#field-zip', '80020');
        await submit(page, 'form.lookup-form button[type=submit]');
        await audited(page, audit, label('lookup: split ZIP'));

        // Letters: each step, its errors, a split ZIP, "please confirm", sent.
        await visit(page, audit, `/campaigns/${SLUG}/letters`, label('letters: start'));
        await page.fill('#field-zip', '1');
        await submit(page, 'button[value=lookup]');
        await audited(page, audit, label('letters: start errors'));
        await page.fill('#field-name', 'Lee Letter');
        await page.fill('#field-email', `lee-${lng}-${width}@example.org`);
        await page.fill('#field-zip', '80020');
        await submit(page, 'button[value=lookup]');
        await audited(page, audit, label('letters: split ZIP'));
        await page.fill('#field-zip', '80010');
        await submit(page, 'button[value=lookup]');
        await audited(page, audit, label('letters: targets'));
        for (const box of await page.$$('input[name=targets]:checked')) await box.uncheck();
        await submit(page, 'button[value=preview]');
        await audited(page, audit, label('letters: no target'));
        await page.check('input[name=targets] >> nth=0');
        await submit(page, 'button[value=preview]');
        await audited(page, audit, label('letters: preview'));
        await page.fill('#field-body', '');
        await submit(page, 'button[value=send]');
        await audited(page, audit, label('letters: preview errors'));
        await page.fill('#field-body', `My own words.\n\nIn solidarity, ${'x'}`);
        await context.clearCookies();
        await submit(page, 'button[value=send]');
        await audited(page, audit, label('letters: please confirm'));
        // As a scorecard card links to it: one official named, first and alone ticked when theirs,
        // and a notice when not.
        await visit(
          page,
          audit,
          `/campaigns/${SLUG}/letters?official=T000001`,
          label('letters: named'),
        );
        await page.fill('#field-name', 'Lee Letter');
        await page.fill('#field-email', `lee-named-${lng}-${width}@example.org`);
        await page.fill('#field-zip', '80010');
        await submit(page, 'button[value=lookup]');
        await audited(page, audit, label('letters: named, targets'));
        await visit(
          page,
          audit,
          `/campaigns/${SLUG}/letters?official=T000005`,
          label('letters: named elsewhere'),
        );
        await page.fill('#field-name', 'Lee Letter');
        await page.fill('#field-email', `lee-elsewhere-${lng}-${width}@example.org`);
        await page.fill('#field-zip', '80010');
        await submit(page, 'button[value=lookup]');
        await audited(page, audit, label('letters: not represented'));

        // Calls: an error, the offices with their scripts, a call reported; the scorecard filtered.
        // As a scorecard card links to it: one official named, the address asked all the same.
        await visit(page, audit, `/campaigns/${SLUG}/call?official=T000001`, label('call'));
        await page.fill('#field-zip', '1');
        await submit(page, 'form.lookup-form button[type=submit]');
        await audited(page, audit, label('call: error'));
        await page.fill('#field-zip', '80010');
        await submit(page, 'form.lookup-form button[type=submit]');
        await audited(page, audit, label('call: offices'));
        await submit(page, 'form.call-report button[value=talked] >> nth=0');
        await audited(page, audit, label('call: reported'));
        await visit(page, audit, `/campaigns/${SLUG}/scorecard?state=CO`, label('scorecard: CO'));

        // Your data: an error, then sent.
        await visit(page, audit, '/privacy/my-data', label('my data'));
        await page.fill('#field-email', 'nope');
        await submit(page, 'form[action="/privacy/my-data"] button[type=submit]');
        await audited(page, audit, label('my data: error'));
        await page.fill('#field-email', 'someone@example.org');
        await submit(page, 'form[action="/privacy/my-data"] button[type=submit]');
        await audited(page, audit, label('my data: sent'));

        // A button pressed after its cookie is gone: the same fields, offered again.
        await page.goto(`${base}${links.verify}`);
        await context.clearCookies();
        await submit(page, 'form button[type=submit]');
        await audited(page, audit, label('verify: please confirm'));
        await visit(page, audit, '/no/such/page', label('404'));
      } finally {
        await page.close();
      }
      expect(audit.findings).toEqual([]);
      expect(audit.pages).toBeGreaterThanOrEqual(35);
    },
    600_000,
  );
});

describe('the staff console (in English)', () => {
  it.each(WIDTHS)(
    'passes axe at %ipx on every page and its errors',
    async (width) => {
      const audit: Audit = { findings: [], pages: 0 };
      await context.clearCookies();
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 900 });
      const label = (what: string) => `${what} [staff, ${width}px]`;
      const signIn = async (email: string) => {
        await page.goto(`${base}/staff/login`);
        await page.fill('#field-email', email);
        await page.fill('#field-password', STAFF_PASSWORD);
        await submit(page, 'form[action="/staff/login"] button[type=submit]');
      };
      // Waits for the sign-in page it lands on: a page closed while its sign-out is still under
      // way can leave Chromium's page.close() waiting for ever.
      const signOut = async () => {
        await submit(page, 'form[action="/staff/logout"] button[type=submit]');
        expect(new URL(page.url()).pathname).toBe('/staff/login');
      };
      try {
        await visit(page, audit, `/staff/setup/${'A'.repeat(43)}`, label('setup link gone'));
        await visit(page, audit, '/staff/login', label('login'));
        await page.fill('#field-email', 'organizer@staff.example.org');
        await page.fill('#field-password', 'not the password');
        await submit(page, 'form[action="/staff/login"] button[type=submit]');
        await audited(page, audit, label('login: refused'));

        await signIn('organizer@staff.example.org');
        for (const { path: url } of pagesOf(world).filter((entry) => entry.as === 'organizer'))
          await visit(page, audit, url, label(url));
        await visit(
          page,
          audit,
          `/staff/campaigns/${SLUG}/templates?level=state&language=es`,
          label('templates in Spanish'),
        );
        await visit(page, audit, '/staff/campaigns/new', label('new campaign'));
        await submit(page, 'form.staff-form button.button-primary');
        await audited(page, audit, label('new campaign: errors'));
        await visit(page, audit, `/staff/campaigns/${SLUG}/partners`, label('partners'));
        await page.fill('#field-origins', 'not an origin');
        await submit(page, `form[action="/staff/campaigns/${SLUG}/partners"] button[type=submit]`);
        await audited(page, audit, label('partners: errors'));
        await visit(
          page,
          audit,
          `/staff/campaigns/${SLUG}/templates?level=federal`,
          label('templates'),
        );
        await page.fill('#field-body', '{{supporter.nmae}}');
        await submit(page, 'button[value=preview]');
        await audited(page, audit, label('templates: errors'));
        await visit(page, audit, `/staff/campaigns/${SLUG}/stances`, label('stances'));
        await page.fill('#stance-personKey', 'nobody');
        await submit(page, `form[action="/staff/campaigns/${SLUG}/stances"] button.button-primary`);
        await audited(page, audit, label('stances: errors'));
        await page.fill('#csv-csv', 'id,stance,source\nT999999,maybe,vote');
        await submit(
          page,
          `form[action="/staff/campaigns/${SLUG}/stances/import"] button[type=submit]`,
        );
        await audited(page, audit, label('stances: CSV errors'));
        await visit(
          page,
          audit,
          `/staff/campaigns/${SLUG}/stance-texts?kind=letter&level=state&stance=champion&language=es`,
          label('letters by stance'),
        );
        await page.fill('#field-body', '{{target.nmae}}');
        await submit(page, 'button[value=preview]');
        await audited(page, audit, label('letters by stance: errors'));
        await signOut();

        await signIn('admin@staff.example.org');
        for (const { path: url } of pagesOf(world).filter((entry) => entry.as === 'admin'))
          await visit(page, audit, url, label(url));
        await visit(page, audit, '/staff/accounts', label('accounts'));
        await page.fill('#field-email', 'not an email');
        await submit(page, 'form[action="/staff/accounts"] button[type=submit]');
        await audited(page, audit, label('accounts: errors'));
        await visit(page, audit, `/staff/campaigns/${SLUG}/integrations`, label('integrations'));
        await submit(
          page,
          `form[action="/staff/campaigns/${SLUG}/integrations/tokens"] button[type=submit]`,
        );
        await audited(page, audit, label('integrations: token errors'));
        await page.fill('#field-webhookUrl', 'http://10.0.0.1/hooks');
        await submit(
          page,
          `form[action="/staff/campaigns/${SLUG}/integrations/webhooks"] button[type=submit]`,
        );
        await audited(page, audit, label('integrations: webhook errors'));
        await page.fill('#field-tokenName', 'Accessible token');
        await page.check('#scope-read');
        await submit(
          page,
          `form[action="/staff/campaigns/${SLUG}/integrations/tokens"] button[type=submit]`,
        );
        await audited(page, audit, label('integrations: a token shown once'));
        await signOut();

        // A partner organisation's own pages.
        await signIn('partner@staff.example.org');
        for (const { path: url } of pagesOf(world).filter((entry) => entry.as === 'partner'))
          await visit(page, audit, url, label(url));
        await visit(page, audit, '/staff/partner/webhooks', label('partner webhooks'));
        await page.fill('#field-webhookUrl', 'not a url');
        await submit(page, 'form[action="/staff/partner/webhooks"] button[type=submit]');
        await audited(page, audit, label('partner webhooks: errors'));
        await submit(page, 'form[action="/staff/partner/action-network"] button[type=submit]');
        await audited(page, audit, label('partner Action Network: errors'));
        await signOut();
      } finally {
        await page.close();
      }
      expect(audit.findings).toEqual([]);
      expect(audit.pages).toBeGreaterThanOrEqual(35);
    },
    600_000,
  );
});

describe("the first account's setup page, on a platform with no staff account", () => {
  let fresh: TestPlatform;
  let freshServer: Server;
  let setupUrl: string;

  beforeAll(async () => {
    fresh = await createTestPlatform();
    freshServer = fresh.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => freshServer.once('listening', resolve));
    const link = new URL((await offerFirstAccountSetup(fresh.platform))!);
    setupUrl = `http://127.0.0.1:${(freshServer.address() as AddressInfo).port}${link.pathname}`;
  }, 120_000);
  afterAll(async () => {
    freshServer?.closeAllConnections();
    await new Promise((resolve) => freshServer?.close(resolve));
    await fresh?.close();
  });

  it.each(WIDTHS)(
    'passes axe at %ipx, empty and with its errors',
    async (width) => {
      const audit: Audit = { findings: [], pages: 0 };
      await context.clearCookies();
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 900 });
      try {
        await page.goto(setupUrl);
        await audited(page, audit, `setup [${width}px]`);
        expect(await page.textContent('h1')).toBeTruthy();
        await submit(page, 'form button.button-primary');
        expect(await page.$$('.field-error')).not.toHaveLength(0);
        await audited(page, audit, `setup: errors [${width}px]`);
      } finally {
        await page.close();
      }
      expect(audit.findings).toEqual([]);
      expect(audit.pages).toBe(2);
    },
    120_000,
  );
});
