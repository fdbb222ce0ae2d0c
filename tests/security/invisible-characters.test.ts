import path from 'node:path';
import request from 'supertest';
import { eq, sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client';
import { campaigns, staffAccounts } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { formFields, hiddenFields, unescapeHtml } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedLetters, openedSignatures } from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * Characters nobody sees, in what people type.
 * - NUL and the other control characters in every field a person can send, public and staff, form
 *   and JSON, and in the addresses themselves: PostgreSQL refuses NUL in text, which once made a
 *   500 with a stack in the log. Each is refused with a 400 that names the field, nothing is
 *   written, and the log holds no error.
 * - Direction overrides and zero-width characters in names, list names, campaign titles and letter
 *   subjects, which would make them read differently in staff tables and letters to officials:
 *   refused (or, in what supporters type, stripped where they change nothing a reader sees).
 */
const SLUG = 'ban-facial-recognition';
const NUL = 'Ada\u0000Lovelace';
const CONTROLS = ['\u0000', '\u001b', '\u007f', '\u0085'];

let t: TestPlatform;
let admin: Awaited<ReturnType<typeof signInAs>>;
let organizer: Awaited<ReturnType<typeof signInAs>>;
let invitationPath: string;

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  admin = await signInAs(t.app, t.platform.db, 'admin');
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
  const invited = await admin.agent
    .post('/staff/accounts')
    .type('form')
    .send({ _csrf: admin.token, email: 'invitee@staff.example.org', role: 'viewer' })
    .expect(200);
  invitationPath = new URL(
    unescapeHtml(/value="([^"]*\/staff\/invitations\/[^"]+)"/.exec(invited.text)![1]!),
  ).pathname;
  await organizer.agent
    .post(`/staff/campaigns/${SLUG}/partners`)
    .type('form')
    .send({ _csrf: organizer.token, name: 'Partner', sourceCode: 'partner-x', origins: '' })
    .expect(303);
});
afterAll(async () => {
  await t.close();
});

type Agent = ReturnType<typeof request.agent>;
type Body = Record<string, string | string[]>;
type Fields = Array<[string, string]>;

interface Form {
  /** Where the form is posted. */
  action: string;
  /** The page it is on, for its hidden fields (CSRF and fill-time tokens); none for the JSON API. */
  page?: string;
  /** Or the fields a browser would send from the step before (the letter pages' later steps). */
  prepare?: (agent: Agent) => Promise<Fields>;
  as: 'visitor' | 'admin' | 'organizer';
  /** A body that the route accepts (or refuses for some other reason than the field under test). */
  body: Body;
  /** The fields that take text, each sent with a control character in turn. */
  fields: string[];
}

const postFields = (agent: Agent, action: string, fields: Fields) =>
  agent.post(action).type('form').send(new URLSearchParams(fields).toString());
/** `fields` with `overrides` in place of the fields of the same names. */
const withValues = (fields: Fields, overrides: Body): Fields => [
  ...fields.filter(([name]) => !(name in overrides)),
  ...Object.entries(overrides).flatMap(([name, value]): Fields =>
    Array.isArray(value) ? value.map((each): [string, string] => [name, each]) : [[name, value]],
  ),
];

const LETTERS = `/campaigns/${SLUG}/letters`;
const supporter = { name: 'Ada Lovelace', email: 'ada@example.org', zip: '80010', city: 'Aurora' };
/** The letter pages as a browser without JavaScript goes through them: the representatives as checkboxes… */
async function letterTargetsStep(agent: Agent): Promise<Fields> {
  const start = hiddenFields((await agent.get(LETTERS).expect(200)).text);
  const targets = await postFields(
    agent,
    LETTERS,
    withValues(Object.entries(start), { ...supporter, step: 'lookup' }),
  ).expect(200);
  return withValues(formFields(targets.text), { note: 'A note.', step: 'preview' });
}
/** …then each letter, with the subject and the text to edit, and the button that sends. */
async function letterPreviewStep(agent: Agent): Promise<Fields> {
  const preview = await postFields(agent, LETTERS, await letterTargetsStep(agent)).expect(200);
  return withValues(formFields(preview.text), {
    subject: 'A subject',
    body: 'A letter.',
    step: 'send',
  });
}

const campaignBody: Body = {
  title: 'Control test',
  slug: 'control-test',
  summary: 'A summary.',
  petitionText: 'The petition.',
  goal: '100',
  status: 'open',
  letterFrom: 'letters@coalition.example',
  subjectMax: '200',
  bodyMax: '5000',
  lockedOpening: '',
  lockedClosing: '',
  targetOffices: ['us-house'],
};

const FORMS: Form[] = [
  {
    action: `/campaigns/${SLUG}/sign`,
    page: `/campaigns/${SLUG}`,
    as: 'visitor',
    body: { name: 'Ada', email: 'ada@example.org', zip: '80010', address: '1 Main St' },
    fields: ['name', 'email', 'zip', 'address', 'source'],
  },
  {
    action: `/campaigns/${SLUG}/representatives`,
    page: `/campaigns/${SLUG}/representatives`,
    as: 'visitor',
    body: { zip: '80010', city: 'Aurora' },
    fields: ['zip', 'address', 'city'],
  },
  // (The street address is asked for only where a geocoder can place it; none is configured here.)
  {
    action: LETTERS,
    page: LETTERS,
    as: 'visitor',
    body: { ...supporter, step: 'lookup' },
    fields: ['name', 'email', 'zip', 'city'],
  },
  { action: LETTERS, prepare: letterTargetsStep, as: 'visitor', body: {}, fields: ['note'] },
  {
    action: LETTERS,
    prepare: letterPreviewStep,
    as: 'visitor',
    body: {},
    fields: ['subject', 'body'],
  },
  {
    action: '/privacy/my-data',
    page: '/privacy/my-data',
    as: 'visitor',
    body: { email: 'ada@example.org' },
    fields: ['email'],
  },
  {
    action: '/staff/accounts',
    page: '/staff/accounts',
    as: 'admin',
    body: { email: 'new@staff.example.org', name: 'New', role: 'viewer' },
    fields: ['email', 'name', 'role'],
  },
  {
    action: '/staff/campaigns',
    page: '/staff/campaigns/new',
    as: 'organizer',
    body: campaignBody,
    fields: [
      'title',
      'slug',
      'summary',
      'petitionText',
      'goal',
      'letterFrom',
      'lockedOpening',
      'lockedClosing',
    ],
  },
  {
    action: `/staff/campaigns/${SLUG}/edit`,
    page: `/staff/campaigns/${SLUG}/edit`,
    as: 'organizer',
    body: { ...campaignBody, slug: SLUG },
    fields: ['title', 'slug', 'summary', 'petitionText'],
  },
  {
    action: `/staff/campaigns/${SLUG}/templates/federal`,
    page: `/staff/campaigns/${SLUG}/templates`,
    as: 'organizer',
    body: {
      action: 'save',
      subject: 'A subject',
      body: 'Dear {{target.name}},\n\nText.',
      zip: '80010',
    },
    fields: ['subject', 'body', 'zip'],
  },
  {
    action: `/staff/campaigns/${SLUG}/templates/federal/preview`,
    page: `/staff/campaigns/${SLUG}/templates`,
    as: 'organizer',
    body: { subject: 'A subject', body: 'Dear {{target.name}},\n\nText.', zip: '80010' },
    fields: ['subject', 'body', 'zip'],
  },
  {
    action: `/staff/campaigns/${SLUG}/targets/delete`,
    page: `/staff/campaigns/${SLUG}/targets`,
    as: 'organizer',
    body: { list: 'A list' },
    fields: ['list'],
  },
  {
    action: `/staff/campaigns/${SLUG}/partners`,
    page: `/staff/campaigns/${SLUG}/partners`,
    as: 'organizer',
    body: { name: 'Another', sourceCode: 'another', origins: 'https://another.example' },
    fields: ['name', 'sourceCode', 'origins'],
  },
  {
    action: `/staff/campaigns/${SLUG}/exports`,
    page: `/staff/campaigns/${SLUG}/exports`,
    as: 'organizer',
    body: { kind: 'state' },
    fields: ['kind'],
  },
  {
    action: '/staff/account/password',
    page: '/staff/account',
    as: 'organizer',
    body: {
      current: 'correct horse battery staple',
      password: 'a new long password',
      confirm: 'a new long password',
    },
    fields: ['password', 'confirm'],
  },
];

const JSON_BODIES: Array<{ action: string; body: Record<string, unknown>; fields: string[] }> = [
  {
    action: `/api/v1/campaigns/${SLUG}/signatures`,
    body: { name: 'Ada', email: 'ada@example.org', zip: '80010', address: '1 Main St' },
    fields: ['name', 'email', 'zip', 'address', 'source'],
  },
  {
    action: `/api/v1/campaigns/${SLUG}/letters`,
    body: {
      name: 'Ada',
      email: 'ada@example.org',
      zip: '80010',
      city: 'Aurora',
      address: '1 Main St',
      subject: 'A subject',
      body: 'A letter.',
      note: 'A note.',
      requestId: 'a-request-id-0123456789',
    },
    fields: [
      'name',
      'email',
      'zip',
      'city',
      'address',
      'subject',
      'body',
      'note',
      'requestId',
      'cd',
      'sldu',
      'sldl',
    ],
  },
  {
    action: '/api/v1/representatives',
    body: { zip: '80010' },
    fields: ['zip', 'address', 'city', 'cd', 'sldu', 'sldl', 'campaign'],
  },
];

const agents = () => ({
  visitor: request.agent(t.app),
  admin: admin.agent,
  organizer: organizer.agent,
});

/** Counts of every table a refused request must not have written to. */
const counts = async () =>
  (
    await queryRows<Record<string, number>>(
      t.platform.db,
      sql`SELECT (SELECT count(*) FROM signatures)::int AS signatures, (SELECT count(*) FROM letters)::int AS letters,
                 (SELECT count(*) FROM campaigns)::int AS campaigns, (SELECT count(*) FROM staff_accounts)::int AS accounts,
                 (SELECT count(*) FROM partners)::int AS partners, (SELECT count(*) FROM letter_templates)::int AS templates,
                 (SELECT count(*) FROM staff_exports)::int AS exports`,
    )
  )[0]!;

/** Log lines at error level (a 500, a stack), and the warning that text PostgreSQL refuses got past a schema. */
const errorLines = () =>
  t
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack?: string } })
    .filter((line) => line.level >= 50 || line.err?.stack || /PostgreSQL refuses/.test(line.msg));

describe('a control character in a field', () => {
  it('is refused with a 400 naming the field, in every form, public and staff; nothing is written', async () => {
    const before = await counts();
    const problems: string[] = [];
    for (const form of FORMS) {
      for (const field of form.fields) {
        for (const control of CONTROLS) {
          const agent: Agent = agents()[form.as];
          const base: Fields = form.prepare
            ? await form.prepare(agent)
            : form.page
              ? Object.entries(hiddenFields((await agent.get(form.page).expect(200)).text))
              : [];
          const answer = await postFields(
            agent,
            form.action,
            withValues(base, { ...form.body, [field]: `Ada${control}Lovelace` }),
          );
          // Named: linked from the error summary (a page), or in `errors` (the template preview's JSON).
          const named = /json/.test(String(answer.headers['content-type']))
            ? field in ((answer.body as { errors?: object }).errors ?? {})
            : answer.text.includes(`href="#field-${field}"`);
          if (answer.status !== 400 || !named)
            problems.push(
              `${form.action} ${field} ${JSON.stringify(control)}: ${answer.status}${named ? '' : ', field not named'}`,
            );
        }
      }
    }
    expect(problems).toEqual([]);
    expect(await counts()).toEqual(before);
    expect(errorLines()).toEqual([]);
  });

  it('is refused with a 400 and the field in `errors`, in every JSON body; nothing is written', async () => {
    const before = await counts();
    const problems: string[] = [];
    for (const { action, body, fields } of JSON_BODIES) {
      for (const field of fields) {
        for (const control of CONTROLS) {
          const answer = await request(t.app)
            .post(action)
            .send({ ...body, [field]: `Ada${control}Lovelace` });
          // A campaign's name that cannot be one names no campaign.
          if (field === 'campaign' && answer.status === 404) continue;
          if (answer.status !== 400 || !(field in (answer.body.errors ?? {})))
            problems.push(
              `${action} ${field} ${JSON.stringify(control)}: ${answer.status} ${JSON.stringify(answer.body)}`,
            );
        }
      }
      if (!action.endsWith('/letters')) continue;
      const targets = await request(t.app)
        .post(action)
        .send({ ...body, targets: [NUL] });
      if (targets.status !== 400 || !('targets' in (targets.body.errors ?? {})))
        problems.push(`${action} targets: ${targets.status}`);
    }
    expect(problems).toEqual([]);
    expect(await counts()).toEqual(before);
    expect(errorLines()).toEqual([]);
  });

  it('in a sign-in, an invitation, a CSV upload and a list name: refused, never a 500', async () => {
    const visitor = request.agent(t.app);
    const login = hiddenFields((await visitor.get('/staff/login').expect(200)).text);
    for (const fields of [
      { email: NUL, password: 'x' },
      { email: 'admin@staff.example.org', password: NUL },
      { email: 'admin@staff.example.org', password: 'x', next: `/staff/${NUL}` },
    ]) {
      const answer = await visitor
        .post('/staff/login')
        .type('form')
        .send({ ...login, ...fields });
      expect({ fields, status: answer.status }).toEqual({
        fields,
        status: fields.email === NUL ? 400 : 401,
      });
    }
    const invitee = request.agent(t.app);
    const setup = hiddenFields((await invitee.get(invitationPath).expect(200)).text);
    const named = await invitee
      .post(invitationPath)
      .type('form')
      .send({
        ...setup,
        name: NUL,
        password: 'a long enough password',
        confirm: 'a long enough password',
      })
      .expect(400);
    expect(named.text).toContain('href="#field-name"');

    const targets = csrfTokenOf(
      (await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200)).text,
    );
    const list = await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('_csrf', targets)
      .field('list', NUL)
      .attach('file', Buffer.from('name,title,represents\nA,B,everyone\n'), 'x.csv')
      .expect(400);
    expect(list.text).toContain('href="#field-list"');
    // In a cell of the file: made a space, as the custom target format says of every control character.
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('_csrf', targets)
      .field('list', 'Council')
      .attach(
        'file',
        Buffer.from(`name,title,email,represents\n${NUL},B,council@example.org,everyone\n`),
        'x.csv',
      )
      .expect(303);
    const [cell] = await queryRows<{ name: string }>(
      t.platform.db,
      sql`SELECT name FROM custom_targets WHERE list = 'Council'`,
    );
    expect(cell!.name).toBe('Ada Lovelace');
    expect(errorLines()).toEqual([]);
  });

  it('in an address (a slug, a token, an id, a query): a 400 or a 404, never a 500', async () => {
    const nul = '%00';
    const visits: Array<[Agent, string]> = [
      [request(t.app), `/campaigns/${nul}`],
      [request(t.app), `/campaigns/a${nul}b/letters`],
      [request(t.app), `/campaigns/${SLUG}?source=${nul}`],
      [request(t.app), `/campaigns/${SLUG}/letters?source=a${nul}`],
      [request(t.app), `/api/v1/campaigns/${nul}/stats`],
      [request(t.app), `/api/v1/campaigns/${SLUG}/consent?source=${nul}`],
      [request(t.app), `/api/v1/representatives?zip=8001${nul}`],
      [request(t.app), `/api/v1/representatives?zip=80010&campaign=${nul}`],
      [request(t.app), `/letters/${nul}`],
      [request(t.app), `/api/v1/letters/${nul}`],
      [request(t.app), `/verify/${nul}`],
      [request(t.app), `/not-me/${nul}`],
      [request(t.app), `/u/${nul}`],
      [request(t.app), `/privacy/my-data/${nul}`],
      [request(t.app), `/staff/invitations/${nul}`],
      [request(t.app), `/staff/login?next=/staff/${nul}`],
      [organizer.agent, `/staff/campaigns/${nul}`],
      [organizer.agent, `/staff/campaigns/${nul}/edit`],
      [organizer.agent, `/staff/campaigns/${nul}/dashboard.json`],
      [organizer.agent, `/staff/campaigns/${SLUG}/abuse?window=${nul}`],
      [organizer.agent, `/staff/campaigns/${SLUG}/templates?level=${nul}`],
      [organizer.agent, `/staff/exports/${nul}/download`],
      [admin.agent, `/staff/audit?before=${nul}`],
    ];
    const problems: string[] = [];
    for (const [agent, url] of visits) {
      const answer = await agent.get(url);
      // In the path: nothing there (404) or refused (400); in a query: never a 500.
      const inPath = url.split('?')[0]!.includes(nul);
      if (answer.status >= 500 || (inPath && ![400, 404, 410].includes(answer.status)))
        problems.push(`GET ${url}: ${answer.status}`);
    }
    const posts: Array<[Agent, string, string | undefined]> = [
      [organizer.agent, `/staff/campaigns/${nul}/edit`, organizer.token],
      [organizer.agent, `/staff/campaigns/${SLUG}/partners/${nul}`, organizer.token],
      [admin.agent, `/staff/accounts/${nul}`, admin.token],
      [request(t.app), `/api/v1/campaigns/${nul}/signatures`, undefined],
      [request(t.app), `/api/v1/campaigns/${nul}/letters`, undefined],
    ];
    for (const [agent, url, token] of posts) {
      const answer = token
        ? await agent.post(url).type('form').send({ _csrf: token, name: 'x' })
        : await agent.post(url).send({ name: 'x', email: 'x@example.org', zip: '80010' });
      if (answer.status >= 500) problems.push(`POST ${url}: ${answer.status}`);
    }
    expect(problems).toEqual([]);
    expect(errorLines()).toEqual([]);
  });
});

describe('direction controls and zero-width characters', () => {
  const RLO = '\u202e';
  const ISOLATE = '\u2066';
  const ZWSP = '\u200b';
  const ZWJ = '\u200d';
  /** A name that shows as "Ada Lovelace" and is something else: the attack. */
  const SPOOFED = `Ada ${RLO}ecalevoL`;

  it('supporters: a name with a direction override is refused; invisible characters are stripped; a joiner in a name stays', async () => {
    const sign = (name: string, email: string) =>
      request(t.app)
        .post(`/api/v1/campaigns/${SLUG}/signatures`)
        .send({ name, email, zip: '80010' });
    const refused = await sign(SPOOFED, 'spoof@example.org').expect(400);
    expect(refused.body.errors).toEqual({
      name: expect.stringMatching(/text-direction characters/),
    });
    const isolated = await sign(`Ada ${ISOLATE}Lovelace`, 'isolate@example.org').expect(400);
    expect(Object.keys(isolated.body.errors)).toEqual(['name']);

    await sign(`${ZWSP}Ada\u200e Lovelace\ufeff`, 'pasted@example.org').expect(202);
    await sign(`Kṣamā क्${ZWJ}षमा`, 'joined@example.org').expect(202);
    const names = (await openedSignatures(t.platform)).map((row) => row.name);
    expect(names).toEqual(expect.arrayContaining(['Ada Lovelace', `Kṣamā क्${ZWJ}षमा`]));
    expect(names.some((name) => /[\u200b\u200e\ufeff\u202e\u2066]/.test(name))).toBe(false);

    // The signing form answers the same, with the message next to the field.
    const agent = request.agent(t.app);
    const page = hiddenFields((await agent.get(`/campaigns/${SLUG}`).expect(200)).text);
    const form = await agent
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({ ...page, name: SPOOFED, email: 'spoof@example.org', zip: '80010' })
      .expect(400);
    expect(form.text).toContain('href="#field-name"');
  });

  it("a letter's subject: a direction override is refused, a zero-width space stripped", async () => {
    const letter = (subject: string, email: string) =>
      request(t.app)
        .post(`/api/v1/campaigns/${SLUG}/letters`)
        .send({ name: 'Ada Lovelace', email, zip: '80010', subject, wantsCopy: false });
    const refused = await letter(`Please ${RLO}nab`, 'subject-spoof@example.org').expect(400);
    expect(refused.body.errors).toEqual({
      subject: expect.stringMatching(/text-direction characters/),
    });
    await letter(`Please${ZWSP} ban it`, 'subject-pasted@example.org').expect(202);
    const subjects = (await openedLetters(t.platform)).map((row) => row.subject);
    expect(subjects.length).toBeGreaterThan(0);
    expect(subjects.every((subject) => subject === 'Please ban it')).toBe(true);
  });

  it('staff: names, list names, campaign titles and subject templates with hidden formatting are refused with a message', async () => {
    const problems: string[] = [];
    const refuse = async (what: string, send: () => Promise<request.Response>, field: string) => {
      const answer = await send();
      const named =
        answer.text.includes(`href="#field-${field}"`) &&
        /invisible formatting characters/.test(answer.text);
      if (answer.status !== 400 || !named) problems.push(`${what}: ${answer.status}`);
    };
    for (const hidden of [SPOOFED, `Ada${ZWSP} Lovelace`, `${ISOLATE}Ada`]) {
      await refuse(
        `invited name ${JSON.stringify(hidden)}`,
        () =>
          admin.agent.post('/staff/accounts').type('form').send({
            _csrf: admin.token,
            email: 'hidden@staff.example.org',
            name: hidden,
            role: 'viewer',
          }),
        'name',
      );
      await refuse(
        `campaign title ${JSON.stringify(hidden)}`,
        async () => {
          const token = hiddenFields(
            (await organizer.agent.get('/staff/campaigns/new').expect(200)).text,
          );
          return organizer.agent
            .post('/staff/campaigns')
            .type('form')
            .send({ ...token, ...campaignBody, title: hidden });
        },
        'title',
      );
      await refuse(
        `partner name ${JSON.stringify(hidden)}`,
        () =>
          organizer.agent
            .post(`/staff/campaigns/${SLUG}/partners`)
            .type('form')
            .send({ _csrf: organizer.token, name: hidden, sourceCode: 'hidden', origins: '' }),
        'name',
      );
      await refuse(
        `list name ${JSON.stringify(hidden)}`,
        async () => {
          const token = csrfTokenOf(
            (await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200)).text,
          );
          return organizer.agent
            .post(`/staff/campaigns/${SLUG}/targets`)
            .field('_csrf', token)
            .field('list', hidden)
            .attach(
              'file',
              Buffer.from('name,title,email,represents\nA,B,council@example.org,everyone\n'),
              'x.csv',
            );
        },
        'list',
      );
      await refuse(
        `subject template ${JSON.stringify(hidden)}`,
        async () => {
          const token = csrfTokenOf(
            (await organizer.agent.get(`/staff/campaigns/${SLUG}/templates`).expect(200)).text,
          );
          return organizer.agent
            .post(`/staff/campaigns/${SLUG}/templates/federal`)
            .type('form')
            .send({ _csrf: token, action: 'save', subject: hidden, body: 'Dear {{target.name}},' });
        },
        'subject',
      );
    }
    expect(problems).toEqual([]);
    expect(
      await t.platform.db
        .select()
        .from(staffAccounts)
        .where(eq(staffAccounts.email, 'hidden@staff.example.org')),
    ).toEqual([]);
    expect(
      (await t.platform.db.select({ title: campaigns.title }).from(campaigns)).map(
        (row) => row.title,
      ),
    ).not.toContain(SPOOFED);

    // A joiner where it joins letters is part of a name, and stays.
    const joined = `Kṣamā क्${ZWJ}षमा`;
    await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: admin.token, email: 'joined@staff.example.org', name: joined, role: 'viewer' })
      .expect(200);
    const [account] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'joined@staff.example.org'));
    expect(account!.name).toBe(joined);
  });
});
