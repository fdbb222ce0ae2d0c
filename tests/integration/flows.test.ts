import path from 'node:path';
import request from 'supertest';
import { signatures } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { openSigningForm, validSignature } from '../helpers/forms';
import { formFields, unescapeHtml } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * The flows a person walks, checked where people got lost: the district they chose is the one
 * they write to, a split ZIP is a step of its own, the preview puts "Send" within reach, the
 * thank-you and status pages say what happened, and the words are the campaign's.
 */
const SLUG = 'ban-facial-recognition';
const LETTERS = `/campaigns/${SLUG}/letters`;
const LOOKUP = `/campaigns/${SLUG}/representatives`;
type Fields = Array<[string, string]>;
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
});
afterAll(() => t.close());

type Agent = ReturnType<typeof request.agent>;
const post = (agent: Agent, url: string, fields: Fields) =>
  agent.post(url).type('form').send(new URLSearchParams(fields).toString());
const checked = (html: string, name: string) =>
  /<input type="radio" id="[^"]+" name="([a-z]+)" value="([^"]+)" checked>/g.test(html) &&
  [...html.matchAll(new RegExp(`name="${name}" value="([^"]+)" checked`, 'g'))].map(
    (match) => match[1],
  );

describe('the district a person chose', () => {
  it('is carried from "Find your representatives" through "Write to them" to the letters', async () => {
    const { agent, token } = await openSigningForm(t.app, LOOKUP);
    // ZIP 80020 spans CO-1 and CO-2: the lookup shows the centre's (CO-2) and lets the person choose.
    const first = await post(agent, LOOKUP, [
      ['_csrf', token],
      ['zip', '80020'],
    ]).expect(200);
    expect(first.text).toContain('Your ZIP code spans more than one district.');
    const choice =
      /<form method="post" action="[^"]+" class="district-choice">([\s\S]*?)<\/form>/.exec(
        first.text,
      )![1]!;
    const chosen: Fields = [
      ...formFields(choice).filter(([name]) => !['cd', 'sldu', 'sldl'].includes(name)),
      ['cd', '0801'],
      ['sldu', '08001'],
      ['sldl', '08002'],
    ];
    const shown = await post(agent, LOOKUP, chosen).expect(200);
    expect(shown.text).toContain('Hana Senate');
    expect(shown.text).not.toContain('Lee Pair');

    // "Write to them" posts the choice with the ZIP it was made for.
    const write =
      /<form method="post" action="([^"]+)" class="write-to-them">([\s\S]*?)<\/form>/.exec(
        shown.text,
      )!;
    const carried = formFields(write[2]!);
    expect(carried).toEqual(
      expect.arrayContaining([
        ['zip', '80020'],
        ['choiceZip', '80020'],
        ['cd', '0801'],
        ['sldu', '08001'],
        ['sldl', '08002'],
      ]),
    );
    const start = await post(agent, write[1]!, [...carried, ['step', 'start']]).expect(200);
    // The first step shows the districts chosen, ticked, so the person sees (and may change) them.
    expect(checked(start.text, 'cd')).toEqual(['0801']);
    expect(checked(start.text, 'sldu')).toEqual(['08001']);
    expect(start.text).toContain(
      'These are the districts you chose when you looked up your representatives.',
    );

    const targets = await post(agent, LETTERS, [
      ...formFields(start.text),
      ['step', 'lookup'],
      ['zip', '80020'],
      ['name', 'Cara Choice'],
      ['email', 'cara@example.org'],
    ]).expect(200);
    expect(targets.text).toContain('Hana Senate');
    expect(targets.text).not.toContain('Lee Pair');
  });
});

describe('a ZIP code split between districts, in the letter flow', () => {
  it('is a step of its own: its own heading, focused, and its own button', async () => {
    const agent = request.agent(t.app);
    const start = await agent.get(LETTERS).expect(200);
    expect(start.text).toContain('>Find my representatives</button>');
    const ask = await post(agent, LETTERS, [
      ...formFields(start.text),
      ['step', 'lookup'],
      ['name', 'Sam Split'],
      ['email', 'sam@example.org'],
      ['zip', '80020'],
    ]).expect(200);
    expect(ask.text).toContain(
      '<h2 class="step-heading" tabindex="-1" data-focus-here>Which districts are yours?</h2>',
    );
    expect(ask.text).toContain('>Use these districts</button>');
    expect(ask.text).not.toContain('>Find my representatives</button>');
    const next = await post(agent, LETTERS, [
      ...formFields(ask.text),
      ['step', 'lookup'],
      ['name', 'Sam Split'],
      ['email', 'sam@example.org'],
      ['zip', '80020'],
    ]).expect(200);
    expect(next.text).toContain('Who should get a letter?');
  });
});

describe('the preview', () => {
  it('puts the edit box and "Send" before the letters in full, each of which opens on demand', async () => {
    const agent = request.agent(t.app);
    const start = await agent.get(LETTERS).expect(200);
    const targets = await post(agent, LETTERS, [
      ...formFields(start.text),
      ['step', 'lookup'],
      ['name', 'Pia Preview'],
      ['email', 'pia@example.org'],
      ['zip', '80010'],
    ]).expect(200);
    const preview = await post(agent, LETTERS, [
      ...formFields(targets.text),
      ['step', 'preview'],
    ]).expect(200);
    const html = preview.text;
    const send = html.indexOf('value="send"');
    expect(send).toBeGreaterThan(html.indexOf('id="field-body"'));
    expect(send).toBeLessThan(html.indexOf('<pre class="letter-text">'));
    expect(html.match(/<details class="card letter-preview"/g)).toHaveLength(2);
    // Who gets a letter, first, in a short list that links to each.
    expect(html).toMatch(/<ul class="letter-recipients">\s*<li><a href="#letter-0">/);
  });
});

describe('after signing', () => {
  it('never shows "0 signatures" under "your name is on the petition"', async () => {
    await t.platform.db.delete(signatures);
    const { agent, token } = await openSigningForm(t.app);
    await agent
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({ _csrf: token, ...validSignature() })
      .expect(303);
    // The tally worker has not counted it yet: the page does not show a count that leaves it out.
    const thanks = await agent.get(`/campaigns/${SLUG}/thanks`).expect(200);
    expect(thanks.text).toContain('Thank you for signing');
    expect(thanks.text).toMatch(/<div class="progress" hidden data-stats-url=/);
    expect(thanks.text).toContain(
      'New signatures join the count within a few seconds: yours may not show yet.',
    );
  });
});

describe('after sending letters', () => {
  it("says they are on their way, and what the page's address is for", async () => {
    const agent = request.agent(t.app);
    const start = await agent.get(LETTERS).expect(200);
    const targets = await post(agent, LETTERS, [
      ...formFields(start.text),
      ['step', 'lookup'],
      ['name', 'Sol Sent'],
      ['email', 'sol@example.org'],
      ['zip', '80010'],
    ]).expect(200);
    const preview = await post(agent, LETTERS, [
      ...formFields(targets.text),
      ['step', 'preview'],
    ]).expect(200);
    const sent = await post(agent, LETTERS, [...formFields(preview.text), ['step', 'send']]).expect(
      303,
    );
    const page = unescapeHtml((await agent.get(sent.headers.location!).expect(200)).text);
    expect(page).toContain(
      '<h1 tabindex="-1" data-focus-here>Your 2 letters are on their way</h1>',
    );
    expect(page).not.toContain('This page is private to you: anyone with its address can see it.');
    expect(page).toContain(
      "Keep this page's address to yourself: anyone who has it can read your letters.",
    );
    expect(page).toMatch(/<span class="badge status-pill status-waiting">Waiting<\/span>/);
    // Opened again later, it is the plain status page.
    const later = unescapeHtml(
      (await agent.get(sent.headers.location!.replace('?sent=1', '')).expect(200)).text,
    );
    expect(later).toContain('<h1>Your letters</h1>');
  });
});

describe('places without senators', () => {
  it('says that the District of Columbia has none, rather than leave a gap', async () => {
    const { agent, token } = await openSigningForm(t.app, LOOKUP);
    const page = await post(agent, LOOKUP, [
      ['_csrf', token],
      ['zip', '20001'],
    ]).expect(200);
    expect(page.text).toContain('The District of Columbia has no U.S. senators');
    expect(page.text).not.toContain('<h3>In your state</h3>');
  });
});

describe('the letters the campaign sends', () => {
  it('ask for the ban the campaign is for, and name the campaign as its title', async () => {
    const letter = t.platform.letterTemplates.defaults.render('federal', {
      supporter: { name: 'Ana', zip: '80010' },
      target: { title: 'Senator', name: 'Doe', office: 'U.S. Senator, CO' },
      campaign: { title: 'Ban police use of facial recognition' },
    });
    expect(letter.body).not.toMatch(/moratorium/i);
    expect(letter.body).toContain('federal ban on police use of facial recognition');
    expect(letter.body).toContain('as part of the campaign “Ban police use of facial recognition”');
    expect(letter.body).not.toContain('through the Ban police use of facial recognition campaign');
  });
});
