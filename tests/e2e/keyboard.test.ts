import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { importRepresentativeData } from '../../src/representatives/import';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';

/**
 * The signing form, the letter flow and the partner embed, with the keyboard alone, in Debian's
 * Chromium: after each round trip the focus is where the news is (the error summary, the next
 * step's heading, the confirmation), an error link takes the focus to its field, and the embed
 * ties its errors to its fields, moves the focus to the first one, and announces success.
 */
let t: TestPlatform;
let app: Server;
let partner: Server;
let base: string;
let partnerBase: string;
let profile: string;
let context: BrowserContext;

const listen = async (server: Server) => {
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Browser tests need ${CHROMIUM}: apt-get install chromium (bash .ci/run does it).`,
    );
  // A partner's site, on an origin of its own, embedding the petition.
  partner = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><html lang="es"><head><title>Aliada</title></head><body><main><h1>Una organización aliada</h1>` +
        `<div data-petition="ban-facial-recognition" data-source="partner-x"><a href="${base}/campaigns/ban-facial-recognition">Firme la petición</a></div>` +
        `<script src="${base}/static/js/embed.js" data-platform="${base}" async></script></main></body></html>`,
    );
  });
  partnerBase = await listen(partner);
  t = await createTestPlatform({ PARTNER_ORIGINS: partnerBase });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  app = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => app.once('listening', resolve));
  base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'frb-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
}, 120_000);
afterAll(async () => {
  await context?.close();
  app?.closeAllConnections();
  await new Promise((resolve) => app?.close(resolve));
  await new Promise((resolve) => partner?.close(resolve));
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** What has the focus: its tag, id, classes and text, as a person would be told. */
const focused = (page: Page) =>
  page.evaluate<{ tag: string; id: string; className: string; text: string } | null>(
    `(() => { const el = document.activeElement; return el ? { tag: el.tagName.toLowerCase(), id: el.id, className: String(el.className), text: (el.textContent || '').trim().slice(0, 120) } : null; })()`,
  );

/** Presses Tab until the element matching `selector` has the focus (and fails after `max` presses). */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (
      await page.evaluate(
        `document.activeElement && document.activeElement.matches(${JSON.stringify(selector)})`,
      )
    )
      return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** Presses Enter on what has the focus, and waits for the page it leads to. */
const enter = (page: Page) =>
  Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);

describe('the signing form, by keyboard', () => {
  it('takes the focus to the error summary, from there to each field, and signs', async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${base}/campaigns/ban-facial-recognition`);
      // The first Tab reaches the skip link.
      await page.keyboard.press('Tab');
      expect(await focused(page)).toMatchObject({ tag: 'a', text: 'Skip to content' });
      await tabTo(page, '#field-name');
      await page.keyboard.type('Kay Board');
      await page.keyboard.press('Tab');
      await page.keyboard.type('not-an-email');
      await page.keyboard.press('Tab');
      await page.keyboard.type('80010');
      await tabTo(page, 'form[action$="/sign"] button[type=submit]');
      await enter(page);

      expect(await focused(page)).toMatchObject({ className: 'error-summary' });
      expect(await page.title()).toMatch(/^Error: /);
      // The summary's link takes the focus to the field.
      await page.keyboard.press('Tab');
      expect(await focused(page)).toMatchObject({
        tag: 'a',
        text: 'Please enter a valid email address, like name@example.org.',
      });
      await page.keyboard.press('Enter');
      expect(await focused(page)).toMatchObject({ tag: 'input', id: 'field-email' });
      expect(await page.getAttribute('#field-email', 'aria-describedby')).toBe('error-email');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('kay@example.org');
      await enter(page);
      await page.waitForURL('**/thanks');
      expect(await focused(page)).toMatchObject({ tag: 'h1', text: 'Thank you for signing' });
      expect((await openedSignatures(t.platform)).map((row) => row.email)).toContain(
        'kay@example.org',
      );
    } finally {
      await page.close();
    }
  });
});

/**
 * For the element with the focus: the contrast (WCAG's ratio) of its focus ring against what lies
 * around it, the better of the outline and the ring drawn as a shadow, and the outline's width;
 * null once the focus has left the page's elements.
 */
const focusRing = (page: Page) =>
  page.evaluate<{ what: string; contrast: number; width: number } | null>(`(() => {
    const rgb = (value) => (value.match(/[0-9.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const [R, G, B] = [r, g, b].map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    let around = el.parentElement;
    while (around && rgb(getComputedStyle(around).backgroundColor)[3] === 0) around = around.parentElement;
    const behind = rgb(around ? getComputedStyle(around).backgroundColor : 'rgb(255, 255, 255)');
    const style = getComputedStyle(el);
    const rings = [style.outlineStyle === 'none' ? null : style.outlineColor, style.boxShadow === 'none' ? null : style.boxShadow]
      .filter(Boolean).map((colour) => ratio(rgb(colour).slice(0, 3), behind.slice(0, 3)));
    const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || '').trim().slice(0, 40);
    return { what, contrast: Math.max(0, ...rings), width: parseFloat(style.outlineWidth) || 0 };
  })()`);

describe('the focus indicator', () => {
  it('stands out at 3:1 or more, at least 2 px wide, on every Tab stop of the campaign page', async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${base}/campaigns/ban-facial-recognition`);
      const weak: Array<{ what: string; contrast: number; width: number }> = [];
      const seen = new Set<string>();
      for (let stop = 0; stop < 40; stop++) {
        await page.keyboard.press('Tab');
        const ring = await focusRing(page);
        if (!ring || seen.has(ring.what)) break;
        seen.add(ring.what);
        if (ring.contrast < 3 || ring.width < 2) weak.push(ring);
      }
      // The header's links, the skip link, the form's fields and button, the footer's links.
      expect(seen.size).toBeGreaterThan(8);
      expect(weak).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the letter flow, by keyboard', () => {
  it("moves the focus to each step's heading, and to the news once sent", async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${base}/campaigns/ban-facial-recognition/letters?lng=es`);
      await tabTo(page, '#field-zip');
      await page.keyboard.type('80010');
      await tabTo(page, '#field-name');
      await page.keyboard.type('Teclado Uno');
      await page.keyboard.press('Tab');
      await page.keyboard.type('teclado@example.org');
      await page.keyboard.press('Enter');
      await page.waitForLoadState('load');
      await page.waitForSelector('h2.step-heading');
      expect(await focused(page)).toMatchObject({ tag: 'h2', text: 'Quién recibe una carta' });

      await tabTo(page, 'button[value=preview]');
      await enter(page);
      expect(await focused(page)).toMatchObject({
        tag: 'h2',
        text: 'Sus 2 cartas están listas para enviar',
      });
      // "Send" is reached before the letters in full.
      await tabTo(page, 'button[value=send]', 30);
      await enter(page);
      await page.waitForURL(/\/letters\/[\w-]{32}\?sent=1$/);
      expect(await focused(page)).toMatchObject({ tag: 'h1', text: 'Sus 2 cartas van en camino' });
    } finally {
      await page.close();
    }
  });
});

describe('the partner embed, by keyboard', () => {
  it('ties each error to its field and focuses the first, then announces and focuses the thanks', async () => {
    const page = await context.newPage();
    try {
      await page.goto(partnerBase);
      await page.waitForSelector('.petition-embed form');
      // In the partner page's language.
      expect(await page.textContent('.petition-embed button[type=submit]')).toBe(
        'Firmar la petición',
      );
      await tabTo(page, '#petition-0-name');
      await page.keyboard.type('Ema Embed');
      await page.keyboard.press('Tab');
      await page.keyboard.type('ema');
      await tabTo(page, '.petition-embed button[type=submit]');
      await page.keyboard.press('Enter');

      await page.waitForSelector('#petition-0-email[aria-invalid="true"]');
      expect(await focused(page)).toMatchObject({ tag: 'input', id: 'petition-0-email' });
      expect(await page.getAttribute('#petition-0-email', 'aria-describedby')).toBe(
        'petition-0-email-error',
      );
      expect(await page.textContent('#petition-0-email-error')).toContain(
        'Escriba un correo electrónico válido',
      );
      expect(await page.getAttribute('#petition-0-zip', 'aria-invalid')).toBe('true');
      // The summary is announced (an alert).
      expect(await page.textContent('.petition-embed-problem[role=alert]')).toBe(
        'Revise el formulario, por favor.',
      );

      await page.keyboard.press('Control+A');
      await page.keyboard.type('ema@example.org');
      await page.keyboard.press('Tab');
      await page.keyboard.type('80010');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.petition-embed-thanks');
      expect(await focused(page)).toMatchObject({
        tag: 'p',
        className: 'petition-embed-thanks',
        text: 'Gracias por firmar.',
      });
      expect(await page.getAttribute('.petition-embed-thanks', 'role')).toBe('status');
      const [signature] = (await openedSignatures(t.platform)).filter(
        (row) => row.email === 'ema@example.org',
      );
      expect(signature).toMatchObject({ source: 'partner-x', language: 'es' });
    } finally {
      await page.close();
    }
  });
});
