import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { callReports, signatures } from '../../src/db/schema';
import {
  callReportForm,
  formTokenAged,
  formTokenOf,
  letterPreview,
  loadRepresentatives,
  postCallReport,
  postLetters,
  replaceField,
  SLUG,
} from '../helpers/abuse';
import { formFields, unescapeHtml } from '../helpers/html';
import { openSigningForm, validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * The forms' minimum fill time (3 s here). Tokens are made with the platform's key at a chosen age
 * instead of waiting. A form sent at once, or with a missing, forged or expired token, changes
 * nothing and is shown again, with everything typed, for its sender to confirm: browser autofill
 * and one click is a person, who must not lose their signature or letters to a thank-you page.
 */
const ACTION = `/campaigns/${SLUG}/sign`;
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({ FORM_MIN_FILL_SECONDS: '3', FORM_TOKEN_MAX_AGE_SECONDS: '3600' });
  await loadRepresentatives(t);
});
afterAll(() => t.close());
beforeEach(async () => {
  await t.platform.db.execute(sql`TRUNCATE signatures, letter_actions CASCADE`);
});

const rows = () => t.platform.db.select().from(signatures);
const letterRows = async () =>
  (await queryRows<{ n: number }>(t.platform.db, sql`SELECT count(*)::int AS n FROM letters`))[0]!
    .n;

describe('the signing form', () => {
  it('carries a signed, timestamped token (no cookie of its own)', async () => {
    const { page } = await openSigningForm(t.app);
    expect(formTokenOf(page.text)).toMatch(/^v1\.[0-9a-z]+\.[\w-]{22}$/);
    const cookies = ([] as string[]).concat(page.headers['set-cookie'] ?? []);
    expect(cookies.map((cookie) => cookie.split('=')[0])).toEqual(['csrf']);
  });

  it('signs when the form was shown long enough ago', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const res = await agent
      .post(ACTION)
      .type('form')
      .send({ _csrf: token, formToken: formTokenAged(t, 'sign', 10_000), ...validSignature() })
      .expect(303);
    expect(res.headers.location).toBe(`/campaigns/${SLUG}/thanks`);
    expect(await rows()).toHaveLength(1);
  });

  const bots: Array<[string, (page: string) => string | undefined]> = [
    ['sent at once', (page) => formTokenOf(page)],
    ['with no token', () => undefined],
    [
      'with a forged token',
      (page) => formTokenOf(page)!.replace(/\.[\w-]{22}$/, '.AAAAAAAAAAAAAAAAAAAAAA'),
    ],
    ['with a token from another form', () => formTokenAged(t, 'letters', 10_000)],
    ['with an expired token', () => formTokenAged(t, 'sign', 3_601_000)],
  ];

  it.each(bots)(
    'shows a form %s again, its values kept, to confirm; keeps nothing till then, and counts it without personal data',
    async (_label, tokenFor) => {
      const { agent, token, page } = await openSigningForm(t.app);
      const formToken = tokenFor(page.text);
      const res = await agent
        .post(ACTION)
        .type('form')
        .send({
          _csrf: token,
          ...(formToken ? { formToken } : {}),
          ...validSignature({ email: 'bot@example.org', name: 'Botty McBotface' }),
        })
        .expect(200);
      expect(res.text).toContain('Please confirm your signature');
      expect(res.text).toContain('value="Botty McBotface"');
      expect(res.text).toContain('value="bot@example.org"');
      expect(res.text).toContain('>Confirm and sign</button>');
      expect(res.text).toMatch(/<title>Please confirm: /);
      expect(await rows()).toHaveLength(0);
      const logs = t.logs();
      expect(logs).toContain('"event":"abuse.discarded"');
      expect(logs).not.toContain('bot@example.org');
      expect(logs).not.toContain('Botty');
    },
  );

  it("keeps the page's own token on the confirmation (the time spent reading counts), and signs once confirmed", async () => {
    const { agent, token, page } = await openSigningForm(t.app);
    const shown = formTokenOf(page.text)!;
    const confirm = await agent
      .post(ACTION)
      .type('form')
      .send({ _csrf: token, formToken: shown, ...validSignature() })
      .expect(200);
    expect(formTokenOf(confirm.text)).toBe(shown);
    // The press on "Confirm and sign", seconds later (the token made as old as that, rather than waiting).
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    await agent
      .post(ACTION)
      .type('form')
      .send({ _csrf: csrf, formToken: formTokenAged(t, 'sign', 5_000), ...validSignature() })
      .expect(303);
    expect(await rows()).toHaveLength(1);
  });

  it('counts what it held back, by door and reason, for the staff report', async () => {
    const campaign = (await t.platform.campaigns.bySlug(SLUG))!;
    const [today] = await t.platform.abuse.recorded(campaign.id);
    expect(today!.counts).toMatchObject({
      'sign-form.too-fast': 2,
      'sign-form.missing': 1,
      'sign-form.forged': 2,
      'sign-form.expired': 1,
    });
  });

  it('answers invalid input with its errors first, and keeps the genuine token on the form shown again', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const formToken = formTokenAged(t, 'sign', 1000);
    const res = await agent
      .post(ACTION)
      .type('form')
      .send({ _csrf: token, formToken, ...validSignature({ zip: '12' }) })
      .expect(400);
    expect(res.text).toContain('Please enter a 5-digit ZIP code.');
    expect(formTokenOf(res.text)).toBe(formToken);
    // A forged one is replaced by a fresh one.
    const again = await agent
      .post(ACTION)
      .type('form')
      .send({ _csrf: token, formToken: 'v1.zz.forged', ...validSignature({ zip: '12' }) })
      .expect(400);
    expect(formTokenOf(again.text)).toMatch(/^v1\./);
    expect(formTokenOf(again.text)).not.toBe('v1.zz.forged');
    expect(await rows()).toHaveLength(0);
  });

  it('does not apply to the JSON API (partner sites call it without a page)', async () => {
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send(validSignature())
      .expect(202);
    expect(await rows()).toHaveLength(1);
  });
});

describe('the letter pages', () => {
  it("carry the first step's token through every step", async () => {
    const { start, preview } = await letterPreview(t.app, {
      name: 'Lena Letter',
      email: 'lena@example.org',
    });
    const first = formTokenOf(start.text);
    expect(first).toMatch(/^v1\./);
    expect(formTokenOf(preview.text)).toBe(first);
  });

  it('send the letters when the first step was shown long enough ago', async () => {
    const { agent, fields } = await letterPreview(t.app, {
      name: 'Lena Letter',
      email: 'lena@example.org',
    });
    const sent = await postLetters(agent, [
      ...replaceField(fields, 'formToken', formTokenAged(t, 'letters', 60_000)),
      ['step', 'send'],
    ]).expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);
    expect(await letterRows()).toBe(2);
    expect(await rows()).toHaveLength(1);
  });

  it.each([
    ['sent at once', (fields: ReturnType<typeof formFields>) => fields],
    [
      'with no token',
      (fields: ReturnType<typeof formFields>) => replaceField(fields, 'formToken', undefined),
    ],
    [
      'with a forged token',
      (fields: ReturnType<typeof formFields>) =>
        replaceField(fields, 'formToken', 'v1.abc.AAAAAAAAAAAAAAAAAAAAAA'),
    ],
    [
      'with an expired token',
      (fields: ReturnType<typeof formFields>) =>
        replaceField(fields, 'formToken', formTokenAged(t, 'letters', 3_601_000)),
    ],
  ])(
    'show letters %s again, as edited, to confirm; write and send nothing till then',
    async (_label, tamper) => {
      const { agent, fields } = await letterPreview(t.app, {
        name: 'Bot Letter',
        email: 'botletter@example.org',
      });
      const queued = await t.platform.queues.get('delivery').count();
      const edited = 'My own words, which must not be lost.\n\nSincerely,\nBot Letter';
      const confirm = await postLetters(agent, [
        ...replaceField(tamper(fields), 'body', edited),
        ['step', 'send'],
      ]).expect(200);
      expect(confirm.text).toContain('Please confirm your letters');
      expect(unescapeHtml(confirm.text)).toContain(edited);
      expect(await letterRows()).toBe(0);
      expect(await rows()).toHaveLength(0);
      expect(await t.platform.queues.get('delivery').count()).toBe(queued);
      // Confirmed, with the form as shown (its token now old enough), the letters go.
      const again = replaceField(
        replaceField(formFields(confirm.text), 'formToken', formTokenAged(t, 'letters', 60_000)),
        'body',
        edited,
      );
      const sent = await postLetters(agent, [...again, ['step', 'send']]).expect(303);
      expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);
      expect(await letterRows()).toBe(2);
    },
  );
});

describe('the call page', () => {
  const calls = async () => (await t.platform.db.select().from(callReports)).length;

  it.each([
    ['sent at once', undefined],
    ['with a token from another form', () => formTokenAged(t, 'letters', 10_000)],
  ])(
    'asks a report %s to be pressed again, counting nothing till then',
    async (_label, tokenFor) => {
      const { agent, fields } = await callReportForm(t.app);
      const sent = tokenFor ? replaceField(fields, 'formToken', tokenFor()) : fields;
      const before = await calls();
      const res = await postCallReport(agent, [...sent, ['outcome', 'voicemail']]).expect(200);
      expect(unescapeHtml(res.text)).toContain(
        'That was quick: press your answer again to count the call.',
      );
      expect(await calls()).toBe(before);
    },
  );

  it('counts a report whose page was shown long enough ago, and the ones it held back for the staff report', async () => {
    const { agent, fields } = await callReportForm(t.app);
    const before = await calls();
    const aged = replaceField(fields, 'formToken', formTokenAged(t, 'calls', 10_000));
    await postCallReport(agent, [...aged, ['outcome', 'voicemail']]).expect(200);
    expect(await calls()).toBe(before + 1);
    const campaign = (await t.platform.campaigns.bySlug(SLUG))!;
    const [today] = await t.platform.abuse.recorded(campaign.id);
    expect(today!.counts).toMatchObject({ 'calls-form.too-fast': 1, 'calls-form.forged': 1 });
  });
});
