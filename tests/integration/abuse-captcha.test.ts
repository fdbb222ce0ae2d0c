import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { callReports, signatures } from '../../src/db/schema';
import {
  callReportForm,
  letterPreview,
  loadRepresentatives,
  postCallReport,
  postLetters,
  replaceField,
  SLUG,
  startFakeSiteverify,
} from '../helpers/abuse';
import { openSigningForm, validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * The optional CAPTCHA, with each provider's siteverify played by a local fake: `good` passes,
 * `bad` and `spent` are refused, `slow` is never answered and `broken` is not JSON (both: the
 * provider is unavailable, and the submission goes through).
 */
const PAGE = `/campaigns/${SLUG}`;
const ACTION = `${PAGE}/sign`;
const SIGN_API = `/api/v1/campaigns/${SLUG}/signatures`;
const LETTERS_API = `/api/v1/campaigns/${SLUG}/letters`;

/** A CSP header as directive → sources. */
const policy = (header: unknown) =>
  Object.fromEntries(
    String(header)
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources.sort()]),
  );

const PROVIDERS = [
  {
    provider: 'hcaptcha',
    field: 'h-captcha-response',
    className: 'h-captcha',
    script: 'https://js.hcaptcha.com/1/api.js',
    origins: ['https://*.hcaptcha.com', 'https://hcaptcha.com'],
    directives: ['connect-src', 'frame-src', 'script-src', 'style-src'],
  },
  {
    provider: 'turnstile',
    field: 'cf-turnstile-response',
    className: 'cf-turnstile',
    script: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
    origins: ['https://challenges.cloudflare.com'],
    directives: ['frame-src', 'script-src'],
  },
] as const;

let strictPolicy: Record<string, string[]>;
let plain: TestPlatform;

beforeAll(async () => {
  plain = await createTestPlatform();
  strictPolicy = policy(
    (await request(plain.app).get(PAGE).expect(200)).headers['content-security-policy'],
  );
});
afterAll(() => plain.close());

describe('with the CAPTCHA off (the default)', () => {
  it('shows no widget, loads nothing from elsewhere, and asks the API for no token', async () => {
    const page = await request(plain.app).get(PAGE).expect(200);
    expect(page.text).not.toMatch(/h-captcha|cf-turnstile|<script src="https:/);
    expect(page.text).toContain('This site loads nothing from other');
    expect(
      Object.values(strictPolicy)
        .flat()
        .filter((source) => source.startsWith('https:')),
    ).toEqual([]);
    expect(strictPolicy['frame-src']).toBeUndefined();
    expect(
      (
        await request(plain.app)
          .get(`${SIGN_API.replace('/signatures', '/stats')}`)
          .expect(200)
      ).body.captcha,
    ).toBeUndefined();
    await request(plain.app).post(SIGN_API).send(validSignature()).expect(202);
  });
});

describe.each(PROVIDERS)(
  'with $provider',
  ({ provider, field, className, script, origins, directives }) => {
    let t: TestPlatform;
    let fake: Awaited<ReturnType<typeof startFakeSiteverify>>;

    beforeAll(async () => {
      fake = await startFakeSiteverify();
      t = await createTestPlatform({
        CAPTCHA_PROVIDER: provider,
        CAPTCHA_SITE_KEY: `site-key-${provider}`,
        CAPTCHA_SECRET: `secret-${provider}-0123`,
        CAPTCHA_VERIFY_URL: fake.url,
        CAPTCHA_TIMEOUT_MS: '300',
      });
      await loadRepresentatives(t);
    });
    afterAll(async () => {
      await t.close();
      await fake.close();
    });
    beforeEach(async () => {
      await t.platform.db.execute(sql`TRUNCATE signatures, letter_actions CASCADE`);
      fake.requests.length = 0;
    });

    const rows = () => t.platform.db.select().from(signatures);
    const sign = async (
      captcha: string | undefined,
      status: number,
      overrides: Record<string, unknown> = {},
    ) => {
      const { agent, token } = await openSigningForm(t.app);
      return agent
        .post(ACTION)
        .type('form')
        .send({
          _csrf: token,
          ...validSignature(overrides),
          ...(captcha === undefined ? {} : { [field]: captcha }),
        })
        .expect(status);
    };

    it("shows the widget on the signing form, and the page allows exactly the provider's origins", async () => {
      const page = await request(t.app).get(PAGE).expect(200);
      expect(page.text).toContain(
        `<div class="${className}" data-sitekey="site-key-${provider}" data-language="en" data-hl="en"></div>`,
      );
      expect(page.text).toContain(`<script src="${script}" async defer></script>`);
      expect(page.text).toMatch(/loads its script from\s+another site/);
      // The footer no longer claims that nothing comes from other servers.
      expect(page.text).not.toContain('This site loads nothing from other');
      expect(page.text).toMatch(
        /The forms load one outside service, (hCaptcha|Cloudflare Turnstile)/,
      );

      const widened = policy(page.headers['content-security-policy']);
      const expected: Record<string, string[]> = { ...strictPolicy };
      for (const directive of directives)
        expected[directive] = [...(strictPolicy[directive] ?? []), ...origins].sort();
      expect(widened).toEqual(expected);
      expect(widened['frame-ancestors']).toEqual(["'none'"]);
      expect(widened['default-src']).toEqual(["'none'"]);
    });

    it('puts the widget on each report form of the call page, and counts a call only with a token the provider vouches for', async () => {
      const calls = async () => (await t.platform.db.select().from(callReports)).length;
      const { agent, results, fields } = await callReportForm(t.app);
      const widgets = results.text.split(`<div class="${className}" data-sitekey=`).length - 1;
      expect(widgets).toBeGreaterThan(1);
      expect(widgets).toBe(results.text.split('class="call-report"').length - 1);
      expect(results.text).toContain('id="field-captcha-call-1"');
      // The provider's script once, and the page allows its origins.
      expect(results.text.split(`<script src="${script}"`).length - 1).toBe(1);
      expect(policy(results.headers['content-security-policy'])['frame-src']).toEqual(
        expect.arrayContaining([...origins]),
      );
      const before = await calls();
      const refused = await postCallReport(agent, [...fields, ['outcome', 'talked']]).expect(400);
      expect(refused.text).toContain('Please complete the check that you are not a robot.');
      expect(refused.text).toMatch(/href="#field-captcha-call-\d+"/);
      expect(refused.text).toMatch(/id="error-captcha-call-\d+"/);
      await postCallReport(agent, [...fields, [field, 'bad'], ['outcome', 'talked']]).expect(400);
      expect(await calls()).toBe(before);
      const counted = await postCallReport(agent, [
        ...fields,
        [field, 'good'],
        ['outcome', 'talked'],
      ]).expect(200);
      expect(counted.text).toContain('is counted');
      expect(await calls()).toBe(before + 1);
      const campaign = (await t.platform.campaigns.bySlug(SLUG))!;
      const [today] = await t.platform.abuse.recorded(campaign.id);
      expect(today!.counts['calls-form.captcha']).toBeGreaterThanOrEqual(2);
    });

    it('keeps the strict policy on pages without the widget', async () => {
      for (const path of ['/', `${PAGE}/thanks`, `${PAGE}/letters`]) {
        const page = await request(t.app).get(path).expect(200);
        expect(policy(page.headers['content-security-policy'])).toEqual(strictPolicy);
        expect(page.text).not.toContain(script);
      }
    });

    it('signs with a token the provider vouches for, sending it the secret and the token but no IP', async () => {
      await sign('good', 303);
      expect(await rows()).toHaveLength(1);
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]).toMatchObject({
        secret: `secret-${provider}-0123`,
        response: 'good',
      });
      expect(fake.requests[0]!.remoteip).toBeUndefined();
    });

    it.each([
      ['without a token', undefined],
      ['with a refused token', 'bad'],
      ['with a token already used', 'spent'],
    ])(
      'answers the form %s with 400 and a message at the widget, and keeps nothing',
      async (_label, captcha) => {
        const res = await sign(captcha, 400);
        expect(res.text).toContain('Please complete the check that you are not a robot.');
        expect(res.text).toContain('href="#field-captcha"');
        expect(res.text).toContain('id="field-captcha"');
        expect(res.text).toContain('value="grace@example.org"');
        expect(await rows()).toHaveLength(0);
      },
    );

    it('asks for the token with the other field errors, and asks the provider only about an otherwise valid form', async () => {
      const res = await sign(undefined, 400, { zip: '12' });
      expect(res.text).toContain('Please enter a 5-digit ZIP code.');
      expect(res.text).toContain('not a robot');
      await sign('good', 400, { zip: '12' });
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['does not answer in time', 'slow'],
      ['answers with something else than a verdict', 'broken'],
    ])(
      'lets the signature through when the provider %s (it fails open), and logs it',
      async (_label, captcha) => {
        await sign(captcha, 303);
        expect(await rows()).toHaveLength(1);
        expect(t.logs()).toContain('CAPTCHA provider unavailable; letting submissions through');
      },
    );

    it('takes the token in `captchaToken` on the JSON API, and tells the embed what to draw', async () => {
      await request(t.app)
        .post(SIGN_API)
        .send({ ...validSignature(), captchaToken: 'good' })
        .expect(202);
      const missing = await request(t.app)
        .post(SIGN_API)
        .send(validSignature({ email: 'other@example.org' }))
        .expect(400);
      expect(missing.body.errors).toEqual({
        captchaToken: 'Please complete the check that you are not a robot.',
      });
      const refused = await request(t.app)
        .post(SIGN_API)
        .send({ ...validSignature({ email: 'other@example.org' }), captchaToken: 'bad' })
        .expect(400);
      expect(refused.body.errors.captchaToken).toBeDefined();
      expect(await rows()).toHaveLength(1);

      const stats = await request(t.app).get(`/api/v1/campaigns/${SLUG}/stats`).expect(200);
      expect(stats.body.captcha).toEqual({
        provider,
        providerName: expect.any(String),
        siteKey: `site-key-${provider}`,
        scriptUrl: script,
        className,
        responseField: field,
      });
    });

    it('guards the letter API the same way', async () => {
      const writer = {
        name: 'Cap Writer',
        email: 'cap@example.org',
        zip: '80010',
        wantsCopy: false,
      };
      const missing = await request(t.app).post(LETTERS_API).send(writer).expect(400);
      expect(missing.body.errors.captchaToken).toBeDefined();
      await request(t.app)
        .post(LETTERS_API)
        .send({ ...writer, captchaToken: 'bad' })
        .expect(400);
      const count = async () =>
        (
          await queryRows<{ n: number }>(
            t.platform.db,
            sql`SELECT count(*)::int AS n FROM letter_actions`,
          )
        )[0]!.n;
      expect(await count()).toBe(0);
      await request(t.app)
        .post(LETTERS_API)
        .send({ ...writer, captchaToken: 'good' })
        .expect(202);
      expect(await count()).toBe(1);
    });

    it('shows the widget on the letter step that sends, and checks it there', async () => {
      const { agent, preview, fields } = await letterPreview(t.app, {
        name: 'Page Cap',
        email: 'pagecap@example.org',
      });
      expect(preview.text).toContain(
        `<div class="${className}" data-sitekey="site-key-${provider}" data-language="en" data-hl="en"></div>`,
      );
      const widened = policy(preview.headers['content-security-policy']);
      for (const directive of directives)
        expect(widened[directive]).toEqual(expect.arrayContaining([...origins]));

      const refused = await postLetters(agent, [
        ...fields,
        [field, 'bad'],
        ['step', 'send'],
      ]).expect(400);
      expect(refused.text).toContain('not a robot');
      expect(refused.text).toContain('Send my letters');
      const missing = await postLetters(agent, [
        ...replaceField(fields, field, undefined),
        ['step', 'send'],
      ]).expect(400);
      expect(missing.text).toContain('not a robot');
      const sent = await postLetters(agent, [...fields, [field, 'good'], ['step', 'send']]).expect(
        303,
      );
      expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);
    });
  },
);
