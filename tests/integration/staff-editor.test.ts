import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, campaigns, customTargets, letterTemplates, partners } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedLetters } from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/** The campaign editor through the real app: settings, target offices, letter templates, target lists, partners. */
let t: TestPlatform;
let organizer: Awaited<ReturnType<typeof signInAs>>;
const fixtures = path.join(__dirname, '..', 'fixtures');

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(t.platform.db, path.join(fixtures, 'representatives'));
  await t.platform.representatives.refresh();
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(async () => {
  await t.close();
});

const campaignBySlug = async (slug: string) =>
  (await t.platform.db.select().from(campaigns).where(eq(campaigns.slug, slug)))[0];
const newCampaign = (overrides: Record<string, unknown> = {}) => ({
  _csrf: organizer.token,
  title: 'Ban face surveillance in Denver',
  slug: 'denver',
  summary: 'Denver police want facial recognition. Tell the council no.',
  petitionText: 'To the Denver City Council:\n\nBan police use of facial recognition.',
  goal: '5000',
  status: 'open',
  subjectMax: '120',
  bodyMax: '4000',
  targetOffices: ['us-senate', 'state-upper'],
  ...overrides,
});

describe('campaign settings', () => {
  test('bad input is answered field by field and writes nothing', async () => {
    const answer = await organizer.agent
      .post('/staff/campaigns')
      .type('form')
      .send(
        newCampaign({
          title: '',
          slug: 'Not A Slug!',
          goal: '-3',
          letterFrom: 'nope',
          targetOffices: undefined,
        }),
      )
      .expect(400);
    expect(answer.text).toContain('Enter a title.');
    expect(answer.text).toContain('Use lower-case letters, digits and dashes');
    expect(answer.text).toContain('The goal must be at least 1.');
    expect(answer.text).toContain('Enter the sender as an email address');
    expect(answer.text).toContain('Choose at least one office to write to.');
    expect(await campaignBySlug('not-a-slug')).toBeUndefined();
  });

  test('a new campaign is public at once, with what staff entered', async () => {
    await organizer.agent.post('/staff/campaigns').type('form').send(newCampaign()).expect(303);
    const stored = await campaignBySlug('denver');
    expect(stored).toMatchObject({
      title: 'Ban face surveillance in Denver',
      goal: 5000,
      status: 'open',
      letterLimits: { subjectMax: 120, bodyMax: 4000 },
      targetOffices: ['us-senate', 'state-upper'],
      petitionText: 'To the Denver City Council:\n\nBan police use of facial recognition.',
    });
    const page = await request(t.app).get('/campaigns/denver').expect(200);
    expect(page.text).toContain('Ban face surveillance in Denver');
    const taken = await organizer.agent
      .post('/staff/campaigns')
      .type('form')
      .send(newCampaign())
      .expect(400);
    expect(taken.text).toContain('Another campaign already uses this web address.');
  });

  test('an edit shows on the public page at once and is audited with the fields it changed', async () => {
    await campaignBySlug('denver');
    await request(t.app).get('/campaigns/denver').expect(200);
    const form = await organizer.agent.get('/staff/campaigns/denver/edit').expect(200);
    expect(form.text).toContain('value="Ban face surveillance in Denver"');
    await organizer.agent
      .post('/staff/campaigns/denver/edit')
      .type('form')
      .send(newCampaign({ title: 'Denver: ban face surveillance', status: 'closed' }))
      .expect(303);
    const page = await request(t.app).get('/campaigns/denver').expect(200);
    expect(page.text).toContain('Denver: ban face surveillance');
    const [entry] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'campaign.update'));
    expect(entry).toMatchObject({
      actor: 'organizer@staff.example.org',
      details: { changed: ['title', 'status'] },
    });
    await organizer.agent
      .post('/staff/campaigns/denver/edit')
      .type('form')
      .send(newCampaign({ status: 'open' }))
      .expect(303);
  });

  test('letters go only to the offices the campaign targets', async () => {
    // The fixture ZIP 80010 has a state senator and a governor with email; this campaign targets state senators only.
    const answer = await request(t.app)
      .post('/api/v1/campaigns/denver/letters')
      .send({ name: 'Rosa Writer', email: 'rosa@example.org', zip: '80010' })
      .expect(202);
    expect(
      answer.body.letters.map((letter: { target: string }) => letter.target.split(':')[0]),
    ).toEqual(['state-upper']);
    const governor = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
    const governorKey = governor.body.officials.find(
      (official: { office: string }) => official.office === 'governor',
    );
    expect(governorKey).toBeDefined();
    const refused = await request(t.app)
      .post('/api/v1/campaigns/denver/letters')
      .send({
        name: 'Rosa Writer',
        email: 'rosa2@example.org',
        zip: '80010',
        targets: [`governor:${governorKey.ids.openstates}`],
      })
      .expect(400);
    expect(refused.body.errors.targets).toMatch(/Not among your representatives/);
  });
});

describe('letter templates', () => {
  test('the page shows the project template with a preview addressed to a real representative', async () => {
    const page = await organizer.agent
      .get('/staff/campaigns/denver/templates?level=state&zip=80010')
      .expect(200);
    expect(page.text).toContain('{{supporter.name}}');
    expect(page.text).toMatch(
      /To (State )?Senator Hana Senate, from a sample supporter in ZIP 80010, CO\./,
    );
    expect(page.text).toContain('Jordan Sample');
  });

  test('an invalid template is refused with the reason and not saved', async () => {
    const token = csrfTokenOf(
      (await organizer.agent.get('/staff/campaigns/denver/templates?level=state').expect(200)).text,
    );
    const answer = await organizer.agent
      .post('/staff/campaigns/denver/templates/state')
      .type('form')
      .send({
        _csrf: token,
        action: 'save',
        subject: 'Hello {{supporter.password}}',
        body: 'Dear {{target.name}},\n{{#each x}}{{/each}}',
      })
      .expect(400);
    expect(answer.text).toMatch(/supporter\.password/);
    expect(await t.platform.db.select().from(letterTemplates)).toHaveLength(0);
  });

  test('a saved template is what new letters use; reset goes back to the project one', async () => {
    const token = csrfTokenOf(
      (await organizer.agent.get('/staff/campaigns/denver/templates?level=state').expect(200)).text,
    );
    const template = {
      subject: 'From {{supporter.zip}}: ban face surveillance',
      body: 'Dear {{target.title}} {{target.name}},\n\nDenver words.\n\n{{supporter.name}}',
    };
    const preview = await organizer.agent
      .post('/staff/campaigns/denver/templates/state/preview')
      .type('form')
      .send({ _csrf: token, ...template, zip: '80010' })
      .expect(200);
    expect(preview.body.letter).toEqual({
      subject: 'From 80010: ban face surveillance',
      body: expect.stringContaining('Denver words.\n\nJordan Sample'),
    });
    await organizer.agent
      .post('/staff/campaigns/denver/templates/state')
      .type('form')
      .send({ _csrf: token, action: 'save', ...template, zip: '80010' })
      .expect(303);
    const answer = await request(t.app)
      .post('/api/v1/campaigns/denver/letters')
      .send({ name: 'Tess Template', email: 'tess@example.org', zip: '80010' })
      .expect(202);
    expect(answer.body.letters).toHaveLength(1);
    // Subjects are sealed in the database: the letters are opened and picked out by their subject.
    const [letter] = (await openedLetters(t.platform)).filter(
      (written) => written.subject === 'From 80010: ban face surveillance',
    );
    expect(letter?.body).toContain('Denver words.');

    await organizer.agent
      .post('/staff/campaigns/denver/templates/state')
      .type('form')
      .send({ _csrf: token, action: 'reset' })
      .expect(303);
    expect(await t.platform.db.select().from(letterTemplates)).toHaveLength(0);
    expect(
      await t.platform.db.select().from(auditLog).where(eq(auditLog.action, 'template.reset')),
    ).toHaveLength(1);
  });
});

describe('custom target lists', () => {
  const upload = async (list: string, file: string, status: number) => {
    const token = csrfTokenOf(
      (await organizer.agent.get('/staff/campaigns/denver/targets').expect(200)).text,
    );
    return organizer.agent
      .post('/staff/campaigns/denver/targets')
      .field('_csrf', token)
      .field('list', list)
      .attach('file', readFileSync(file), path.basename(file))
      .expect(status);
  };

  test('a file with a bad row imports nothing and shows each problem by line and column', async () => {
    const answer = await upload(
      'Oakland officials',
      path.join(fixtures, 'custom-targets', 'one-bad-row.csv'),
      400,
    );
    expect(answer.text).toContain('Nothing was imported');
    expect(answer.text).toMatch(/<td class="num">4<\/td><td>email<\/td>/);
    expect(await t.platform.db.select().from(customTargets)).toHaveLength(0);
  });

  test('a good file is imported, listed, and can be removed', async () => {
    await upload('Oakland officials', path.join(fixtures, 'custom-targets', 'oakland.csv'), 303);
    const page = await organizer.agent.get('/staff/campaigns/denver/targets').expect(200);
    expect(page.text).toContain('Oakland officials');
    const stored = await t.platform.db.select().from(customTargets);
    expect(stored.map((target) => target.name)).toContain('Ada Okafor');
    await organizer.agent
      .post('/staff/campaigns/denver/targets/delete')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), list: 'Oakland officials' })
      .expect(303);
    expect(await t.platform.db.select().from(customTargets)).toHaveLength(0);
  });

  test('an upload without its CSRF token is refused', async () => {
    await organizer.agent
      .post('/staff/campaigns/denver/targets')
      .field('list', 'x')
      .attach('file', Buffer.from('name,title,represents\n'), 'x.csv')
      .expect(403);
  });
});

describe('partners', () => {
  test('a partner gets a link, an embed snippet, and its sites may call the API', async () => {
    const origin = 'https://partner.example.org';
    const before = await request(t.app)
      .options('/api/v1/campaigns/denver/signatures')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST');
    expect(before.headers['access-control-allow-origin']).toBeUndefined();

    const bad = await organizer.agent
      .post('/staff/campaigns/denver/partners')
      .type('form')
      .send({ _csrf: organizer.token, name: 'Partner', sourceCode: 'Bad Code', origins: 'ftp://x' })
      .expect(400);
    expect(bad.text).toContain('Use letters, digits, - and _');
    expect(bad.text).toContain('List each site as an origin');

    await organizer.agent
      .post('/staff/campaigns/denver/partners')
      .type('form')
      .send({
        _csrf: organizer.token,
        name: 'Privacy Now <Denver>',
        sourceCode: 'privacy-now',
        origins: `${origin}/\n`,
      })
      .expect(303);
    const [partner] = await t.platform.db.select().from(partners);
    expect(partner).toMatchObject({ sourceCode: 'privacy-now', origins: [origin] });
    const page = await organizer.agent.get('/staff/campaigns/denver/partners').expect(200);
    expect(page.text).toContain('Privacy Now &lt;Denver&gt;');
    expect(page.text).toMatch(/\/campaigns\/denver\?source(=|&#x3D;)privacy-now/);
    expect(page.text).toContain('/static/js/embed.js');

    const after = await request(t.app)
      .options('/api/v1/campaigns/denver/signatures')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST');
    expect(after.headers['access-control-allow-origin']).toBe(origin);
    const script = await request(t.app).get('/static/js/embed.js').expect(200);
    expect(script.headers['cross-origin-resource-policy']).toBe('cross-origin');

    const duplicate = await organizer.agent
      .post('/staff/campaigns/denver/partners')
      .type('form')
      .send({ _csrf: organizer.token, name: 'Again', sourceCode: 'privacy-now' })
      .expect(400);
    expect(duplicate.text).toContain('Another partner of this campaign uses this source code.');

    await organizer.agent
      .post(`/staff/campaigns/denver/partners/${partner!.id}`)
      .type('form')
      .send({ _csrf: organizer.token, action: 'delete' })
      .expect(303);
    const removed = await request(t.app)
      .options('/api/v1/campaigns/denver/signatures')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST');
    expect(removed.headers['access-control-allow-origin']).toBeUndefined();
  });
});
