import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { messageKey } from '../../src/delivery/deliver';
import { campaigns, letterActions, letters, signatures } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { openSigningForm } from '../helpers/forms';
import {
  createTestPlatform,
  goLive,
  eventually,
  withTargetOffices,
  type TestPlatform,
} from '../helpers/platform';
import { openedLetterActions, openedLetters, openedSignatures } from '../helpers/sealed';
import { formFields, unescapeHtml as decode } from '../helpers/html';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { startCwcStandIn, type CwcStandIn } from '../../bench/cwc-stand-in';

/**
 * "Write to your lawmakers" as pages, through the real app, the way a browser without JavaScript
 * walks it: each step's form is read from the page and posted back as the browser would post it.
 */
const SLUG = 'ban-facial-recognition';
const PAGE = `/campaigns/${SLUG}/letters`;
let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition Letters <letters@coalition.example>',
    LOOKUP_RATE_LIMIT: '100000',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

type Agent = ReturnType<typeof request.agent>;
type Fields = Array<[string, string]>;

const textareaValue = (html: string, id: string) =>
  decode(new RegExp(`<textarea id="${id}"[^>]*>([^<]*)</textarea>`).exec(html)?.[1] ?? '');
const inputValue = (html: string, id: string) =>
  decode(new RegExp(`<input id="${id}"[^>]*\\bvalue="([^"]*)"`).exec(html)?.[1] ?? '');
const checkboxes = (html: string) =>
  [
    ...html.matchAll(
      /<input type="checkbox" id="target-\d+" name="targets" value="([^"]+)"( checked)?>/g,
    ),
  ].map((m) => ({
    key: m[1]!,
    checked: !!m[2],
  }));

/** Posts fields as `application/x-www-form-urlencoded`, repeated names and all, as a browser does. */
const post = (agent: Agent, fields: Fields) =>
  agent.post(PAGE).type('form').send(new URLSearchParams(fields).toString());

const without = (fields: Fields, ...names: string[]) =>
  fields.filter(([name]) => !names.includes(name));
const letterCount = async () =>
  (await queryRows<{ n: number }>(t.platform.db, sql`SELECT count(*)::int AS n FROM letters`))[0]!
    .n;

const NAME = `Ana <b>O'Neil</b>`;
/** The letters of the first walk-through, for the Reply-To check below. */
let firstLetters: SmtpSink['messages'] = [];

async function start(): Promise<{ agent: Agent; token: string }> {
  const { agent, token, page } = await openSigningForm(t.app, PAGE);
  expect(page.headers['cache-control']).toBe('no-store');
  return { agent, token };
}

function targetsPage(agent: Agent, token: string, overrides: Record<string, string> = {}) {
  const details = {
    name: NAME,
    email: 'ana@example.org',
    zip: '80010',
    city: 'Aurora, CO',
    ...overrides,
  };
  return post(agent, [['_csrf', token], ['step', 'lookup'], ...Object.entries(details)]);
}

describe('GET /campaigns/:slug/letters', () => {
  it('asks for a ZIP code, a city, a name and an email (no address without a geocoder), uncached', async () => {
    const page = await request(t.app).get(PAGE).expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    for (const id of ['field-zip', 'field-city', 'field-name', 'field-email'])
      expect(page.text).toContain(`id="${id}"`);
    expect(page.text).not.toContain('id="field-address"');
    expect(page.text).toContain('name="_csrf"');
    expect(page.text).toMatch(
      /<button type="submit" name="step" value="lookup"[^>]*>Find my representatives<\/button>/,
    );
    await request(t.app).get('/campaigns/no-such-campaign/letters').expect(404);
  });
});

describe('writing letters through the pages', () => {
  it('walks from ZIP 80010 to the targets, the previews and the status page, and the letters arrive', async () => {
    const { agent, token } = await start();

    // Step 2: the representatives, each with a checkbox; those with an electronic channel ticked.
    const targets = await targetsPage(agent, token).expect(200);
    expect(targets.headers['cache-control']).toBe('no-store');
    const boxes = checkboxes(targets.text);
    expect(
      boxes
        .filter((box) => box.checked)
        .map((box) => box.key)
        .sort(),
    ).toEqual([expect.stringMatching(/^governor:/), expect.stringMatching(/^state-upper:/)]);
    expect(boxes.length).toBeGreaterThanOrEqual(4);
    expect(targets.text).toContain('Hana Senate');
    expect(targets.text).toContain('Nia Governor');
    expect(targets.text).toContain('Ivan Lower');
    expect(targets.text).toContain('Sent by email to the office.');
    expect(targets.text).toContain('the campaign will deliver it by hand');
    expect(targets.text).toContain('Preview my letters');
    expect(targets.text).not.toContain(NAME);
    expect(targets.text).toContain('value="Ana &lt;b&gt;O&#x27;Neil&lt;/b&gt;"');

    // Step 3: a preview of each letter, escaped, and the first one's text to edit.
    const chosen = formFields(targets.text);
    const note = 'I live two blocks from the precinct & I want it gone.';
    const preview = await post(agent, [...chosen, ['note', note], ['step', 'preview']]).expect(200);
    expect(preview.headers['cache-control']).toBe('no-store');
    const letters = [...preview.text.matchAll(/<pre class="letter-text">([^<]*)<\/pre>/g)].map(
      (m) => decode(m[1]!),
    );
    expect(letters).toHaveLength(2);
    expect(letters.some((letter) => letter.includes('Dear Senator Hana Senate'))).toBe(true);
    expect(letters.some((letter) => letter.includes('Dear Governor Nia Governor'))).toBe(true);
    expect(letters.every((letter) => letter.includes(NAME) && letter.includes(note))).toBe(true);
    expect(preview.text).toContain('Ana &lt;b&gt;O&#x27;Neil&lt;/b&gt;');
    expect(preview.text).not.toContain('<b>O');
    const subject = inputValue(preview.text, 'field-subject');
    const body = textareaValue(preview.text, 'field-body');
    expect(subject).not.toBe('');
    // The text to edit is the letter after its greeting: each office keeps its own address block and greeting.
    expect(body.startsWith('Dear')).toBe(false);
    expect(letters.every((letter) => letter.endsWith(body))).toBe(true);
    const campaign = (await t.platform.campaigns.bySlug(SLUG))!;
    expect(preview.text).toContain(
      `The subject can be up to ${campaign.letterLimits.subjectMax.toLocaleString('en-US')} characters`,
    );
    expect(preview.text).toContain(
      `The letter can be up to ${campaign.letterLimits.bodyMax.toLocaleString('en-US')} characters`,
    );
    expect(preview.text).toMatch(
      /<input id="field-wantsCopy" name="wantsCopy" type="checkbox" value="on" checked>/,
    );
    expect(preview.text).toMatch(
      /<input id="field-optIn" name="optIn" type="checkbox" value="on">/,
    );
    expect(preview.text).toContain('adds your name to the petition');
    expect(preview.text).toContain('Send my letters');

    // Step 4: send the letters as drafted; off to the private status page, by token only.
    const form = formFields(preview.text);
    const before = await letterCount();
    const sent = await post(agent, [
      ...form,
      ['subject', subject],
      ['body', body],
      ['step', 'send'],
    ]).expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);
    expect(await letterCount()).toBe(before + 2);

    const status = await agent.get(sent.headers.location!).expect(200);
    expect(status.text).toContain('Your letters');
    expect(status.text).toContain('Hana Senate');
    expect(status.text).toContain('Nia Governor');
    expect(status.text).toContain('Ana &lt;b&gt;O&#x27;Neil&lt;/b&gt;');

    // Each representative got their own letter (the text was not changed), and the supporter a copy.
    const statusToken = sent.headers.location!.split('/').pop()!.replace('?sent=1', '');
    const keys = await queryRows<{ idempotency_key: string }>(
      t.platform.db,
      sql`SELECT l.idempotency_key FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE a.status_token = ${statusToken}`,
    );
    const ids = new Set(keys.map((key) => messageKey(key.idempotency_key)));
    const mine = () =>
      sink.messages.filter((mail) =>
        ids.has((mail.headers.get('x-letter-id') as string | undefined) ?? ''),
      );
    await eventually(
      async () =>
        mine().length === 2 &&
        sink.messages.some((mail) => mail.text?.includes(`/letters/${statusToken}`)),
    );
    firstLetters = mine();
    expect(
      mine()
        .map((mail) => (mail.to && 'text' in mail.to ? mail.to.text : ''))
        .sort(),
    ).toEqual(['governor@state.co.example.gov', 'hana.senate@coleg.example.gov']);
    const greetings = mine()
      .map((mail) => /Dear [^,]+/.exec(mail.text ?? '')?.[0])
      .sort();
    expect(greetings).toEqual(['Dear Governor Nia Governor', 'Dear Senator Hana Senate']);
    // Plain text: the name exactly as typed, nothing escaped or interpreted.
    expect(
      mine().every(
        (mail) =>
          mail.text?.includes(NAME) && mail.text.includes(note) && !!mail.subject && !mail.html,
      ),
    ).toBe(true);
    await eventually(async () => /Delivered/.test((await agent.get(sent.headers.location!)).text));

    // Sending signed the petition too.
    const [signature] = await openedSignatures(
      t.platform,
      eq(signatures.emailHash, t.platform.encryption.emailHash('ana@example.org')),
    );
    expect(signature && { name: signature.name, opt_in: signature.optIn }).toEqual({
      name: NAME,
      opt_in: false,
    });
  });

  // A name with <, > or a comma must not be read as an address ("Ana <b>O'Neil</b>" once replied to "b").
  it("keeps the supporter's name and address apart in Reply-To", () => {
    expect(firstLetters).toHaveLength(2);
    for (const mail of firstLetters)
      expect(mail.replyTo?.value).toEqual([{ name: NAME, address: 'ana@example.org' }]);
  });

  it('sends an edited letter, shows the changes first, and respects an unticked copy', async () => {
    const { agent, token } = await start();
    const targets = await targetsPage(agent, token, {
      name: 'Edit Writer',
      email: 'edit@example.org',
    }).expect(200);
    const governorOnly = formFields(targets.text).filter(
      ([name, value]) => name !== 'targets' || value.startsWith('governor:'),
    );
    const preview = await post(agent, [...governorOnly, ['step', 'preview']]).expect(200);
    const form = formFields(preview.text);
    const body = `${textareaValue(preview.text, 'field-body')}\r\n\r\nP.S. Please reply by letter.`;

    const edits: Fields = [
      ['subject', 'My own subject'],
      ['body', body],
    ];
    const changed = await post(agent, [
      ...without(form, 'wantsCopy'),
      ...edits,
      ['optIn', 'on'],
      ['step', 'preview'],
    ]).expect(200);
    expect(changed.text).toContain('These are your letters with your changes.');
    expect(changed.text).toContain('P.S. Please reply by letter.');
    expect(changed.text).toContain('<span class="optional">Subject:</span> My own subject');
    // What was ticked stays ticked; the copy was unticked (nothing sent for it).
    expect(changed.text).toMatch(/name="optIn" type="checkbox" value="on" checked>/);
    expect(changed.text).toMatch(/name="wantsCopy" type="checkbox" value="on">/);

    const sent = await post(agent, [
      ...formFields(changed.text),
      ...edits,
      ['step', 'send'],
    ]).expect(303);
    const [writer] = await openedLetterActions(
      t.platform,
      eq(letterActions.emailHash, t.platform.encryption.emailHash('edit@example.org')),
    );
    const [letter] = writer ? await openedLetters(t.platform, eq(letters.actionId, writer.id)) : [];
    const action = writer &&
      letter && { wants_copy: writer.wantsCopy, subject: letter.subject, body: letter.body };
    expect(action).toMatchObject({ wants_copy: false, subject: 'My own subject' });
    expect(action!.body.endsWith('P.S. Please reply by letter.')).toBe(true);
    expect(action!.body).not.toContain('\r');
    const [signature] = await queryRows<{ opt_in: boolean }>(
      t.platform.db,
      sql`SELECT opt_in FROM signatures WHERE email_hash = ${t.platform.encryption.emailHash('edit@example.org')}::bytea`,
    );
    expect(signature?.opt_in).toBe(true);
    expect(sent.headers.location).toMatch(/^\/letters\//);
  });

  it('asks which districts are theirs for a ZIP code that spans several, then goes on', async () => {
    const { agent, token } = await start();
    const ask = await targetsPage(agent, token, {
      zip: '80020',
      email: 'split@example.org',
    }).expect(200);
    expect(ask.text).toContain('Your ZIP code is split between districts.');
    for (const name of ['cd', 'sldu', 'sldl'])
      expect(ask.text).toContain(`<fieldset id="choice-${name}">`);
    expect(ask.text).toContain('type="radio" id="choice-cd-0801" name="cd" value="0801"');
    expect(ask.text).toContain('type="radio" id="choice-cd-0802" name="cd" value="0802" checked');
    expect(ask.text).toContain('name="choiceZip" value="80020"');
    expect(inputValue(ask.text, 'field-name')).toBe(NAME);
    expect(checkboxes(ask.text)).toEqual([]);

    const fields: Fields = [
      ['_csrf', token],
      ['step', 'lookup'],
      ['name', NAME],
      ['email', 'split@example.org'],
      ['zip', '80020'],
      ['choiceZip', '80020'],
      ['cd', '0801'],
      ['sldu', '08001'],
      ['sldl', '08002'],
    ];
    const chosen = await post(agent, fields).expect(200);
    expect(chosen.text).toContain('Hana Senate');
    expect(chosen.text).toContain('Jo Second');
    expect(chosen.text).not.toContain('Lee Pair');
    expect(chosen.text).toContain('name="cd" value="0801"');
    const preview = await post(agent, [...formFields(chosen.text), ['step', 'preview']]).expect(
      200,
    );
    expect(preview.text).toContain('Dear Senator Hana Senate');
    const sent = await post(agent, [...formFields(preview.text), ['step', 'send']]).expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);

    // A choice made for another ZIP is not held against a new one: the new ZIP is looked up afresh.
    const moved = await post(agent, [...without(fields, 'zip'), ['zip', '80010']]).expect(200);
    expect(checkboxes(moved.text).length).toBeGreaterThan(0);
  });

  it('answers mistakes at each step with the step again, the values kept and a message per field', async () => {
    const { agent, token } = await start();
    const before = await letterCount();

    const empty = await post(agent, [
      ['_csrf', token],
      ['step', 'lookup'],
      ['zip', '8001'],
      ['email', 'ana@example.org'],
    ]).expect(400);
    expect(empty.headers['cache-control']).toBe('no-store');
    expect(empty.text).toContain('<a href="#field-name">Please enter your name.</a>');
    expect(empty.text).toContain('<a href="#field-zip">Please enter a 5-digit ZIP code.</a>');
    expect(inputValue(empty.text, 'field-email')).toBe('ana@example.org');
    expect(inputValue(empty.text, 'field-zip')).toBe('8001');

    const targets = await targetsPage(agent, token).expect(200);
    const unticked = without(formFields(targets.text), 'targets');
    const none = await post(agent, [
      ...unticked,
      ['note', 'kept note'],
      ['step', 'preview'],
    ]).expect(400);
    expect(none.text).toContain('Please choose at least one representative to write to.');
    expect(none.text).toContain('<a href="#field-targets">');
    expect(checkboxes(none.text).length).toBeGreaterThan(0);
    expect(checkboxes(none.text).some((box) => box.checked)).toBe(false);
    expect(textareaValue(none.text, 'field-note')).toBe('kept note');

    const preview = await post(agent, [...formFields(targets.text), ['step', 'preview']]).expect(
      200,
    );
    const body = textareaValue(preview.text, 'field-body');
    const previewed = formFields(preview.text);
    const header: Fields = [
      ['subject', 'Hi\r\nBcc: victim@example.org'],
      ['body', body],
    ];
    const injected = await post(agent, [...previewed, ...header, ['step', 'send']]).expect(400);
    expect(injected.headers['cache-control']).toBe('no-store');
    expect(injected.text).toContain(
      '<a href="#field-subject">Please remove line breaks from the subject.</a>',
    );
    expect(injected.text).toContain(
      '<p class="field-error" id="error-subject">Please remove line breaks from the subject.</p>',
    );
    expect(textareaValue(injected.text, 'field-body')).toBe(body);
    expect(injected.text).toContain('Send my letters');

    const emptyBody = await post(agent, [
      ...previewed,
      ['subject', 'Fine'],
      ['body', '  '],
      ['step', 'preview'],
    ]).expect(400);
    expect(emptyBody.text).toContain('Please write your letter before sending it.');

    const stranger = await post(agent, [
      ...without(formFields(targets.text), 'targets'),
      ['targets', 'us-house:Z999999'],
      ['step', 'send'],
    ]).expect(400);
    expect(stranger.text).toContain('Not among your representatives: us-house:Z999999.');

    expect(await letterCount()).toBe(before);
  });

  it('answers a lookup whose CSRF token is gone, asks to confirm a sending whose token is gone (writing nothing till then), and refuses a closed campaign (409)', async () => {
    const { agent, token } = await start();
    const details: Fields = [
      ['step', 'lookup'],
      ['name', 'X'],
      ['email', 'x@example.org'],
      ['zip', '80010'],
    ];
    // A lookup changes nothing: a restored tab whose cookie is gone goes on.
    const looked = await post(agent, [['_csrf', 'not-the-token'], ...details]).expect(200);
    expect(looked.text).toContain('Who should get a letter?');
    const preview = await post(agent, [...formFields(looked.text), ['step', 'preview']]).expect(
      200,
    );
    const edited = 'My own words, kept through a lost cookie.\n\nSincerely,\nX';
    const before = await letterCount();
    const stale: Fields = [
      ...formFields(preview.text).map(([name, value]): [string, string] => [
        name,
        name === '_csrf' ? 'stale' : value,
      ]),
      ['body', edited],
      ['step', 'send'],
    ];
    const confirm = await post(agent, stale).expect(403);
    expect(confirm.text).toContain('Please confirm your letters');
    expect(decode(confirm.text)).toContain(edited);
    expect(await letterCount()).toBe(before);
    const sent = await post(agent, [
      ...formFields(confirm.text),
      ['body', edited],
      ['step', 'send'],
    ]).expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);
    expect(await letterCount()).toBeGreaterThan(before);

    const slug = 'closed-letters';
    await t.platform.db.insert(campaigns).values({
      slug,
      title: 'Closed',
      summary: 's',
      petitionText: 'p',
      goal: 10,
      status: 'closed',
    });
    try {
      const page = await agent.get(`/campaigns/${slug}/letters`).expect(200);
      expect(page.text).toContain('This campaign is closed');
      expect(page.text).not.toContain('Find my representatives');
      const closed = await agent
        .post(`/campaigns/${slug}/letters`)
        .type('form')
        .send({ _csrf: token, step: 'send', name: 'X', email: 'x@example.org', zip: '80010' })
        .expect(409);
      expect(closed.headers['cache-control']).toBe('no-store');
      expect(closed.text).toContain('This campaign is closed');
    } finally {
      await t.platform.db.delete(campaigns).where(eq(campaigns.slug, slug));
    }
  });

  it('is reached from the lookup page with the ZIP code carried in the form, not the URL', async () => {
    const { agent, token } = await openSigningForm(t.app, `/campaigns/${SLUG}/representatives`);
    const lookup = await agent
      .post(`/campaigns/${SLUG}/representatives`)
      .type('form')
      .send({ _csrf: token, zip: '80010', city: 'Aurora, CO' })
      .expect(200);
    const form =
      /<form method="post" action="(\/campaigns\/[^"]+\/letters)" class="write-to-them">([\s\S]*?)<\/form>/.exec(
        lookup.text,
      );
    expect(form?.[1]).toBe(PAGE);
    expect(form?.[2]).toContain('>Write to them</button>');
    const fields = [...formFields(form![2]!), ['step', 'start']] as Fields;
    expect(fields).toEqual(
      expect.arrayContaining([
        ['zip', '80010'],
        ['city', 'Aurora, CO'],
      ]),
    );
    const first = await post(agent, fields).expect(200);
    expect(inputValue(first.text, 'field-zip')).toBe('80010');
    expect(inputValue(first.text, 'field-city')).toBe('Aurora, CO');
    expect(first.text).toContain('Find my representatives');
  });
});

describe('a letter to the official a scorecard card names', () => {
  // Ada Testwell, the House member for CO-1 (80010, and 80020 when CO-1 is chosen), whose letters
  // go by hand here; Elin Northerly represents Alaska.
  const HOUSE = 'T000001';
  const ALASKA_HOUSE = 'T000005';
  const STATE_REPRESENTATIVE = 'ocd-person/22222222-2222-4222-8222-222222222222';
  const named = (official: string) => `${PAGE}?official=${encodeURIComponent(official)}`;
  const hiddenOfficial = (html: string) =>
    formFields(html)
      .filter(([name]) => name === 'official')
      .map(([, value]) => value);
  const writer = (email: string, zip = '80010'): Fields => [
    ['name', 'Rae Reader'],
    ['email', email],
    ['zip', zip],
  ];

  it('names the official on the first step, in English and Spanish, and still asks where the writer lives', async () => {
    const page = await request(t.app).get(named(HOUSE)).expect(200);
    expect(decode(page.text)).toContain(
      "You are writing to Representative Ada Testwell. Enter your address: letters go only to a person's own representatives.",
    );
    expect(page.text).toContain('id="field-zip"');
    expect(hiddenOfficial(page.text)).toEqual([HOUSE]);
    const spanish = await request(t.app).get(named(HOUSE)).set('Accept-Language', 'es').expect(200);
    expect(decode(spanish.text)).toContain(
      'Está escribiendo a Representante Ada Testwell. Indique su dirección: las cartas solo van a los representantes de quien las escribe.',
    );
  });

  it('ignores an id that names no one it knows, on the page and in the steps', async () => {
    for (const official of ['T999999', 'not an id', 'x'.repeat(101)]) {
      const page = await request(t.app).get(named(official)).expect(200);
      expect(page.text).not.toContain('You are writing to');
      expect(hiddenOfficial(page.text)).toEqual([]);
    }
    const { agent, token } = await start();
    const targets = await post(agent, [
      ['_csrf', token],
      ['step', 'lookup'],
      ...writer('unknown@example.org'),
      ['official', 'T999999'],
    ]).expect(200);
    expect(hiddenOfficial(targets.text)).toEqual([]);
    expect(targets.text).not.toContain('does not represent');
    expect(
      checkboxes(targets.text)
        .filter((box) => box.checked)
        .map((box) => box.key)
        .sort(),
    ).toEqual([expect.stringMatching(/^governor:/), expect.stringMatching(/^state-upper:/)]);
  });

  it('puts the official first and ticks only them, and carries the choice through every step to the letter', async () => {
    const { agent, page } = await openSigningForm(t.app, named(HOUSE));
    const targets = await post(agent, [
      ...formFields(page.text),
      ['step', 'lookup'],
      ...writer('named@example.org'),
    ]).expect(200);
    const boxes = checkboxes(targets.text);
    expect(boxes[0]).toEqual({ key: `us-house:${HOUSE}`, checked: true });
    expect(boxes.length).toBeGreaterThan(1);
    expect(boxes.slice(1).some((box) => box.checked)).toBe(false);
    expect(targets.text).toContain(
      'We have ticked only Representative Ada Testwell, whom you chose to write to. Your other representatives are listed below: tick any of them to send them a letter too.',
    );
    expect(targets.text).not.toContain('does not represent');
    expect(hiddenOfficial(targets.text)).toEqual([HOUSE]);

    // Back to the first step: the official is still named.
    const back = await post(agent, [...formFields(targets.text), ['step', 'start']]).expect(200);
    expect(back.text).toContain('You are writing to Representative Ada Testwell.');
    expect(hiddenOfficial(back.text)).toEqual([HOUSE]);

    // Ada and Hana Senate, then back to change the targets: the choice kept, Ada still first.
    const hana = boxes.find((box) => box.key.startsWith('state-upper:'))!.key;
    const preview = await post(agent, [
      ...formFields(targets.text),
      ['targets', hana],
      ['step', 'preview'],
    ]).expect(200);
    expect(hiddenOfficial(preview.text)).toEqual([HOUSE]);
    const again = await post(agent, [...formFields(preview.text), ['step', 'choose']]).expect(200);
    expect(checkboxes(again.text)[0]).toEqual({ key: `us-house:${HOUSE}`, checked: true });
    expect(
      checkboxes(again.text)
        .filter((box) => box.checked)
        .map((box) => box.key),
    ).toEqual([`us-house:${HOUSE}`, hana]);
    expect(hiddenOfficial(again.text)).toEqual([HOUSE]);
    expect(again.text).not.toContain('We have ticked only');

    // A sending whose CSRF cookie is gone comes back to be confirmed, still naming the official.
    const onlyAda = await post(agent, [...formFields(targets.text), ['step', 'preview']]).expect(
      200,
    );
    expect(onlyAda.text).toContain('Dear Representative Ada Testwell');
    const stale = formFields(onlyAda.text).map(([name, value]): [string, string] => [
      name,
      name === '_csrf' ? 'stale' : value,
    ]);
    const confirm = await post(agent, [...stale, ['step', 'send']]).expect(403);
    expect(confirm.text).toContain('Please confirm your letters');
    expect(hiddenOfficial(confirm.text)).toEqual([HOUSE]);
    const sent = await post(agent, [...formFields(confirm.text), ['step', 'send']]).expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\/[\w-]{32}\?sent=1$/);

    // One listed further down as the lookup orders them (a state representative) moves to the top.
    const lower = await post(agent, [
      ...without(formFields(page.text), 'official'),
      ['official', STATE_REPRESENTATIVE],
      ['step', 'lookup'],
      ...writer('lower@example.org'),
    ]).expect(200);
    expect(
      checkboxes(lower.text)
        .filter((box) => box.checked)
        .map((box) => box.key),
    ).toEqual([expect.stringMatching(/^state-lower:/)]);
    expect(checkboxes(lower.text)[0]!.key).toMatch(/^state-lower:/);
    expect(lower.text).toContain('We have ticked only Representative Ivan Lower');
  });

  it('carries the official through the districts of a split ZIP code', async () => {
    const { agent, page } = await openSigningForm(t.app, named(HOUSE));
    const ask = await post(agent, [
      ...formFields(page.text),
      ['step', 'lookup'],
      ...writer('split-named@example.org', '80020'),
    ]).expect(200);
    expect(ask.text).toContain('Your ZIP code is split between districts.');
    expect(ask.text).toContain('You are writing to Representative Ada Testwell.');
    expect(hiddenOfficial(ask.text)).toEqual([HOUSE]);
    const choice = formFields(ask.text).filter(([name]) => !['cd', 'sldu', 'sldl'].includes(name));
    const chosen = await post(agent, [
      ...choice,
      ['step', 'lookup'],
      ...writer('split-named@example.org', '80020'),
      ['cd', '0801'],
      ['sldu', '08001'],
      ['sldl', '08002'],
    ]).expect(200);
    expect(checkboxes(chosen.text)[0]).toEqual({ key: `us-house:${HOUSE}`, checked: true });
    expect(checkboxes(chosen.text).filter((box) => box.checked)).toHaveLength(1);
    expect(hiddenOfficial(chosen.text)).toEqual([HOUSE]);
    expect(chosen.text).toContain('name="cd" value="0801"');
  });

  it("ignores an official whose office the campaign's letters do not go to", async () => {
    await withTargetOffices(
      t.platform,
      SLUG,
      (office) => office !== 'us-house',
      async () => {
        const page = await request(t.app).get(named(HOUSE)).expect(200);
        expect(page.text).not.toContain('You are writing to');
        expect(hiddenOfficial(page.text)).toEqual([]);
      },
    );
  });

  it('says so when the official does not represent the address, and offers the writer their own as usual', async () => {
    const { agent, page } = await openSigningForm(t.app, named(ALASKA_HOUSE));
    const targets = await post(agent, [
      ...formFields(page.text),
      ['step', 'lookup'],
      ...writer('elsewhere@example.org'),
    ]).expect(200);
    expect(decode(targets.text)).toContain(
      "Representative Elin Northerly does not represent the address you entered: letters go only to a person's own representatives. Here are yours.",
    );
    expect(targets.text).not.toContain('Elin Northerly</span>');
    expect(
      checkboxes(targets.text)
        .filter((box) => box.checked)
        .map((box) => box.key)
        .sort(),
    ).toEqual([expect.stringMatching(/^governor:/), expect.stringMatching(/^state-upper:/)]);
    expect(targets.text).toContain(
      'We have ticked everyone who can get your letter electronically',
    );
    expect(hiddenOfficial(targets.text)).toEqual([ALASKA_HOUSE]);
  });
});

describe('letters to Congress through CWC, through the pages', () => {
  let cwc: TestPlatform;
  let standIn: CwcStandIn;

  beforeAll(async () => {
    standIn = await startCwcStandIn({ apiKey: 'house-key-123456' });
    cwc = await createTestPlatform({
      SMTP_URL: sink.url,
      CWC_URL: standIn.messageUrl,
      CWC_API_KEY: 'house-key-123456',
      CWC_ORGANIZATION: 'Test Coalition',
      CWC_CONTACT_EMAIL: 'contact@coalition.example',
      CWC_CONTACT_PHONE: '202-555-0100',
    });
    await importRepresentativeData(
      cwc.platform.db,
      path.join(__dirname, '..', 'fixtures', 'representatives'),
    );
    await cwc.platform.representatives.refresh();
    await cwc.startWorkers();
  });
  afterAll(async () => {
    await cwc.close();
    await standIn.close();
  });

  it("says the campaign rehearses, asks for an honorific from CWC's list when a letter goes through it, and sends none without", async () => {
    const { agent, token, page } = await openSigningForm(cwc.app, PAGE);
    expect(page.text).toContain('This campaign is rehearsing');
    // CWC needs the street address, so the page asks for it.
    expect(page.text).toContain('id="field-address"');
    const targets = await agent
      .post(PAGE)
      .type('form')
      .send(
        new URLSearchParams([
          ['_csrf', token],
          ['step', 'lookup'],
          ['name', 'Dee Writer'],
          ['email', 'dee@example.org'],
          ['zip', '80010'],
          ['address', '12 Elm Street, Aurora, CO 80010'],
        ]).toString(),
      )
      .expect(200);
    expect(
      checkboxes(targets.text)
        .filter((box) => box.checked)
        .map((box) => box.key),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/^us-house:/)]));
    const preview = await agent
      .post(PAGE)
      .type('form')
      .send(new URLSearchParams([...formFields(targets.text), ['step', 'preview']]).toString())
      .expect(200);
    expect(preview.text).toContain('<label for="field-prefix">Honorific</label>');
    expect(decode(preview.text)).toContain(
      "Congress's system for letters from constituents requires one",
    );
    expect(preview.text).toContain('<option value="Reverend">Reverend</option>');
    expect(preview.text).not.toContain('Mx.');

    const fields = without(formFields(preview.text), 'prefix');
    const refused = await agent
      .post(PAGE)
      .type('form')
      .send(new URLSearchParams([...fields, ['prefix', ''], ['step', 'send']]).toString())
      .expect(400);
    expect(refused.text).toMatch(
      /<a href="#field-prefix">Congress&#x27;s system for letters from constituents \(Communicating with Congress\) requires an honorific/,
    );
    expect(refused.text).toContain('aria-invalid="true"');
    expect(
      (
        await queryRows<{ n: number }>(cwc.platform.db, sql`SELECT count(*)::int AS n FROM letters`)
      )[0]!.n,
    ).toBe(0);

    const sent = await agent
      .post(PAGE)
      .type('form')
      .send(new URLSearchParams([...fields, ['prefix', 'Ms.'], ['step', 'send']]).toString())
      .expect(303);
    expect(sent.headers.location).toMatch(/^\/letters\//);
    await eventually(async () => standIn.requests.length > 0);
    // A rehearsing campaign's letters to Congress go to CWC's validation endpoint only.
    expect(standIn.requests.map((r) => r.endpoint)).toEqual(['validate']);
    expect(standIn.requests[0]!.body).toContain('<Prefix>Ms.</Prefix>');
  });
});
