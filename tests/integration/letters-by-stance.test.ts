import path from 'node:path';
import request from 'supertest';
import { importRepresentativeData } from '../../src/representatives/import';
import { openSigningForm } from '../helpers/forms';
import { formFields, unescapeHtml as decode } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { signInAs } from '../helpers/staff';

/**
 * Letters by stance: a campaign's template for champions thanks them, the level's template goes
 * to everyone else; the targets step says where each official stands and why.
 */
const SLUG = 'ban-facial-recognition';
const PAGE = `/campaigns/${SLUG}/letters`;
const STATE_SENATOR = 'ocd-person/11111111-1111-4111-8111-111111111111';
const GOVERNOR = 'ocd-person/77777777-7777-4777-8777-777777777777';

let t: TestPlatform;
type Agent = ReturnType<typeof request.agent>;

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();

  const { agent, token } = await signInAs(t.app, t.platform.db, 'organizer');
  const staff = `/staff/campaigns/${SLUG}`;
  await agent
    .post(`${staff}/stances`)
    .type('form')
    .send({
      _csrf: token,
      personKey: STATE_SENATOR,
      stance: 'champion',
      sourceKind: 'bill',
      sourceText: 'Sponsor of SB 26-113',
      sourceUrl: 'https://leg.example.gov/sb26-113',
      statedOn: '2026-02-10',
      published: 'on',
    })
    .expect(303);
  // Recorded but not published: supporters do not see it, and the governor gets the level's letter.
  await agent
    .post(`${staff}/stances`)
    .type('form')
    .send({ _csrf: token, personKey: GOVERNOR, stance: 'opposes', sourceKind: 'statement' })
    .expect(303);
  const saved = await agent
    .post(`${staff}/stance-texts`)
    .type('form')
    .send({
      _csrf: token,
      kind: 'letter',
      level: 'state',
      stance: 'champion',
      language: 'en',
      subject: 'Thank you for championing the ban',
      body: 'Dear {{target.title}} {{target.name}},\n\nThank you for sponsoring the ban. {{campaign.title}}\n\n{{supporter.name}}',
      action: 'save',
    })
    .expect(303);
  expect(saved.headers.location).toContain('stance=champion');
  // A template with an unknown merge field is refused like a letter template.
  const refused = await agent
    .post(`${staff}/stance-texts`)
    .type('form')
    .send({
      _csrf: token,
      kind: 'letter',
      level: 'state',
      stance: 'undecided',
      language: 'en',
      subject: 'Hello',
      body: 'Dear {{target.nmae}}',
      action: 'save',
    })
    .expect(400);
  expect(decode(refused.text)).toContain('Did you mean {{target.name}}?');
});
afterAll(() => t.close());

const post = (agent: Agent, fields: Array<[string, string]>) =>
  agent.post(PAGE).type('form').send(new URLSearchParams(fields).toString());

describe('the letter flow with stances', () => {
  it('shows each published stance and why, and previews the champion the thank-you letter', async () => {
    const { agent, token } = await openSigningForm(t.app, PAGE);
    const targets = await post(agent, [
      ['_csrf', token],
      ['step', 'lookup'],
      ['name', 'Ana Ruiz'],
      ['email', 'ana@example.org'],
      ['zip', '80010'],
      ['city', 'Aurora, CO'],
    ]).expect(200);
    const text = decode(targets.text);
    expect(text).toContain('Champion of the ban');
    expect(text).toContain('Why: Sponsor of SB 26-113 (February 10, 2026)');
    expect(targets.text).toContain('href="https://leg.example.gov/sb26-113"');
    // The governor's stance is not published.
    expect(text).not.toContain('Opposes the ban');

    const preview = await post(agent, [...formFields(targets.text), ['step', 'preview']]).expect(
      200,
    );
    const letters = [...preview.text.matchAll(/<pre class="letter-text">([^<]*)<\/pre>/g)].map(
      (m) => decode(m[1]!),
    );
    expect(letters).toHaveLength(2);
    const toSenator = letters.find((letter) => letter.includes('Hana Senate'))!;
    const toGovernor = letters.find((letter) => letter.includes('Nia Governor'))!;
    expect(toSenator).toContain('Thank you for sponsoring the ban.');
    expect(toGovernor).not.toContain('Thank you for sponsoring');
    expect(toGovernor).toContain('statewide ban');
  });

  it('in Spanish, uses the English champion letter (no Spanish one yet) and says the stance in Spanish', async () => {
    const { agent, token } = await openSigningForm(t.app, `${PAGE}?lng=es`);
    const targets = await post(agent, [
      ['_csrf', token],
      ['language', 'es'],
      ['step', 'lookup'],
      ['name', 'Ana Ruiz'],
      ['email', 'ana@example.org'],
      ['zip', '80010'],
    ]).expect(200);
    expect(decode(targets.text)).toContain('Impulsa la prohibición');
    expect(decode(targets.text)).toContain('Por qué: Sponsor of SB 26-113');
  });
});
