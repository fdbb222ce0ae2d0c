import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, partners } from '../../src/db/schema';
import { rebuildTallies } from '../../src/petitions/tallies';
import { sealLink } from '../../src/privacy/links';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { openedLetterActions, openedLetters, openedSignatures } from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/** "Your data": the emailed link, the download of everything held, and deletion that leaves only counts. */
let t: TestPlatform;
let sink: SmtpSink;
let demoId: number;
let secondId: number;
const DEMO = 'ban-facial-recognition';
const SECOND = 'second-petition';

const kim = {
  name: 'Kim Private',
  email: 'kim.private@example.org',
  zip: '80010',
  address: '12 Hidden Lane',
};
const lou = { name: 'Lou Bystander', email: 'lou.bystander@example.org', zip: '80010' };
const KIM_TRACES = ['kim.private', 'Kim Private', 'Hidden Lane', 'my secret reason'];

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    LOG_LEVEL: 'trace',
    LOOKUP_RATE_LIMIT: '100000',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  demoId = (await t.platform.campaigns.bySlug(DEMO))!.id;
  const [second] = await t.platform.db
    .insert(campaigns)
    .values({
      slug: SECOND,
      title: 'Second petition',
      summary: 'Another one.',
      petitionText: 'Ban it here too.',
      goal: 100,
    })
    .returning();
  secondId = second!.id;
  await t.platform.db
    .insert(partners)
    .values({ campaignId: demoId, name: 'Friends', sourceCode: 'friends' });
  await t.startWorkers();

  const api = (slug: string, what: string) => `/api/v1/campaigns/${slug}/${what}`;
  await request(t.app)
    .post(api(DEMO, 'signatures'))
    .send({ ...kim, source: 'friends', optIn: true, partnerOptIn: true })
    .expect(202);
  await request(t.app)
    .post(api(SECOND, 'signatures'))
    .send({ ...kim, zip: '10001' })
    .expect(202);
  await request(t.app)
    .post(api(DEMO, 'letters'))
    .send({ ...kim, note: 'my secret reason' })
    .expect(202);
  await request(t.app)
    .post(api(DEMO, 'signatures'))
    .send({ ...lou, optIn: true })
    .expect(202);
  await request(t.app)
    .post(api(DEMO, 'letters'))
    .send({ ...lou, note: 'Lou cares too' })
    .expect(202);
  await eventually(async () => {
    const [pending] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT (SELECT count(*) FROM letters WHERE status NOT IN ('delivered', 'rehearsed')) + (SELECT count(*) FROM signatures WHERE NOT tallied OR notice_pending) AS n`,
    );
    return (
      Number(pending!.n) === 0 && mailsTo(kim.email).length === 3 && mailsTo(lou.email).length === 2
    );
  });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

const recipient = (mail: ParsedMail) =>
  mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
const mailsTo = (email: string) => sink.messages.filter((mail) => recipient(mail) === email);
/** A header as sent, unfolded. */
const header = (mail: ParsedMail, key: string) =>
  mail.headerLines
    .find((line) => line.key === key)
    ?.line.replace(/^[^:]+:\s*/, '')
    .replace(/\r?\n[ \t]+/g, ' ');
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
const supportersIdle = async () => {
  const counts = await t.platform.queues
    .get('supporters')
    .getJobCounts('active', 'waiting', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
};
let dataPath: string;

/** Every row of every table, as the database stores it (sealed columns as ciphertext), as text, that mentions one of `needles`. */
async function storedRowsMentioning(needles: string[]): Promise<string[]> {
  const tables = await queryRows<{ table_name: string }>(
    t.platform.db,
    sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  expect(tables.map((table) => table.table_name)).toEqual(
    expect.arrayContaining([
      'signatures',
      'consents',
      'letter_actions',
      'letters',
      'delivery_attempts',
    ]),
  );
  const found: string[] = [];
  for (const { table_name: table } of tables) {
    for (const needle of needles) {
      const rows = await queryRows<{ row: string }>(
        t.platform.db,
        sql`SELECT t::text AS row FROM ${sql.identifier(table)} t WHERE t::text ILIKE ${`%${needle}%`}`,
      );
      found.push(...rows.map((row) => `${table}: ${row.row}`));
    }
  }
  return found;
}

/**
 * Every row of every table, as text, that mentions one of `needles`: the rows as stored, and the
 * rows of the tables with sealed columns once more with those columns opened with the platform's keys.
 */
async function rowsMentioning(needles: string[]): Promise<string[]> {
  const found = await storedRowsMentioning(needles);
  const opened: Array<[string, unknown[]]> = [
    ['signatures (opened)', await openedSignatures(t.platform)],
    ['letter_actions (opened)', await openedLetterActions(t.platform)],
    ['letters (opened)', await openedLetters(t.platform)],
  ];
  for (const [table, rows] of opened) {
    for (const row of rows) {
      const text = JSON.stringify(row);
      if (needles.some((needle) => text.toLowerCase().includes(needle.toLowerCase())))
        found.push(`${table}: ${text}`);
    }
  }
  return found;
}

/** Every value under the platform's Redis prefix, as text. */
async function redisText(): Promise<string> {
  const redis = t.platform.redis;
  const keys = await redis.keys(`${t.platform.config.redisKeyPrefix}:*`);
  const parts: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') parts.push(key, String(await redis.get(key)));
    else if (type === 'hash') parts.push(key, JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') parts.push(key, JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(key, JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') parts.push(key, JSON.stringify(await redis.zrange(key, '0', '-1')));
    else parts.push(key);
  }
  return parts.join('\n');
}

describe('asking for the link', () => {
  it('refuses a bad address field by field, and answers a known and an unknown address alike', async () => {
    const agent = request.agent(t.app);
    const form = await agent.get('/privacy/my-data').expect(200);
    const bad = await agent
      .post('/privacy/my-data')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: 'not an address' })
      .expect(400);
    expect(bad.text).toContain('Please enter a valid email address');

    const answers: string[] = [];
    for (const email of [kim.email, 'nobody@example.org']) {
      const res = await agent
        .post('/privacy/my-data')
        .type('form')
        .send({ _csrf: csrfOf(form.text), email: email.toUpperCase() })
        .expect(200);
      answers.push(res.text.replace(email, '<email>').replace(/name="_csrf" value="[^"]+"/, ''));
    }
    expect(answers[0]).toBe(answers[1]);
    expect(answers[0]).toContain('If we hold anything about');

    await eventually(async () => mailsTo(kim.email).length === 4 && (await supportersIdle()));
    expect(mailsTo('nobody@example.org')).toEqual([]);
    const mail = mailsTo(kim.email)[3]!;
    expect(mail.subject).toBe('Your data at Ban Face Surveillance');
    expect(header(mail, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(header(mail, 'list-unsubscribe')).toMatch(
      /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9_-]+>, <mailto:letters@localhost\?subject=unsubscribe>$/,
    );
    dataPath = new URL(/https?:[^\s]+\/privacy\/my-data\/[A-Za-z0-9_-]+/.exec(mail.text ?? '')![0])
      .pathname;

    // Asking again at once sends nothing more (one link per address every few minutes).
    await agent
      .post('/privacy/my-data')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email: kim.email })
      .expect(200);
    await eventually(supportersIdle);
    expect(mailsTo(kim.email)).toHaveLength(4);
  });

  it("every email to a supporter carries the unsubscribe headers, the letters' confirmation too", () => {
    for (const mail of [...mailsTo(kim.email), ...mailsTo(lou.email)]) {
      expect(header(mail, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(header(mail, 'list-unsubscribe')).toMatch(
        /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9_-]+>, <mailto:[^>]+>$/,
      );
    }
    expect(
      mailsTo(kim.email)
        .map((mail) => mail.subject)
        .sort(),
    ).toEqual([
      'Thank you for signing: Ban police use of facial recognition',
      'Thank you for signing: Second petition',
      'Your data at Ban Face Surveillance',
      'Your letters: Ban police use of facial recognition',
    ]);
  });
});

describe('the link', () => {
  it('shows what we hold, without caching, and refuses altered and expired links', async () => {
    const page = await request(t.app).get(dataPath).expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).toContain('Second petition');
    expect(page.text).toContain('Delete everything about me');
    const token = dataPath.split('/').pop()!;
    await request(t.app)
      .get(`/privacy/my-data/${token.slice(0, -3)}AAA`)
      .expect(400);
    await request(t.app)
      .get(`/privacy/my-data/${token.slice(0, -3)}AAA/download`)
      .expect(400);
    const expired = sealLink(
      t.platform.config.secret,
      'my-data',
      kim.email,
      Date.now() - 25 * 3600_000,
    );
    await request(t.app).get(`/privacy/my-data/${expired}`).expect(410);
    await request(t.app).get(`/privacy/my-data/${expired}/download`).expect(410);
    // A link for another purpose, even for the same address, is not a data link.
    await request(t.app)
      .get(
        `/privacy/my-data/${sealLink(t.platform.config.secret, 'unsubscribe', `*:${kim.email}`)}`,
      )
      .expect(400);
  });

  it('downloads everything held about the person, and nothing about anyone else', async () => {
    const res = await request(t.app).get(`${dataPath}/download`).expect(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="my-data.json"');
    expect(res.headers['cache-control']).toBe('no-store');
    const data = JSON.parse(res.text);
    expect(data.email).toBe(kim.email);
    expect(data.signatures).toHaveLength(2);
    const demo = data.signatures.find(
      (s: { campaign: { slug: string } }) => s.campaign.slug === DEMO,
    );
    expect(demo).toMatchObject({
      name: kim.name,
      email: kim.email,
      zip: kim.zip,
      address: kim.address,
      source: 'friends',
      campaignUpdates: true,
    });
    expect(demo.ipHash).toEqual(expect.any(String));
    expect(demo.consents.map((c: { to: string; wording: string }) => c.to)).toEqual([
      'the campaign',
      'Friends',
    ]);
    expect(data.letters).toHaveLength(1);
    expect(data.letters[0]).toMatchObject({ name: kim.name, note: 'my secret reason' });
    expect(data.letters[0].letters).toHaveLength(2);
    for (const letter of data.letters[0].letters) {
      expect(letter.body).toContain('my secret reason');
      expect(letter.status).toBe('rehearsed');
      expect(letter.deliveryAttempts).toEqual([expect.objectContaining({ outcome: 'delivered' })]);
    }
    expect(res.text).not.toContain('lou');
    expect(res.text).not.toContain('Lou');
  });
});

describe('deleting', () => {
  it('leaves no personal data in any table or in Redis, keeps every count, and a rebuild agrees', async () => {
    const counts = async () => ({
      demo: await t.platform.stats.refresh(demoId),
      second: await t.platform.stats.refresh(secondId),
      letters: await queryRows(
        t.platform.db,
        sql`SELECT campaign_id, dimension, key, status, count FROM letter_counts ORDER BY 1, 2, 3, 4`,
      ),
    });
    const strip = (value: Awaited<ReturnType<typeof counts>>) => ({
      ...value,
      demo: { ...value.demo, version: 0, updatedAt: null },
      second: { ...value.second, version: 0, updatedAt: null },
    });
    const before = strip(await counts());
    expect(before.demo.signatures).toBe(2);
    expect(await rowsMentioning(KIM_TRACES)).not.toEqual([]);
    // Held, but sealed: no table holds any of it as plain text.
    expect(
      await storedRowsMentioning([...KIM_TRACES, lou.email, lou.name, 'Lou cares too']),
    ).toEqual([]);

    const agent = request.agent(t.app);
    const page = await agent.get(dataPath).expect(200);
    // Deleting is asked twice: the data page leads to a page that says what goes, whose box must be ticked.
    expect(page.text).toContain(`href="${dataPath}/delete"`);
    expect(page.text).not.toContain(`action="${dataPath}/delete"`);
    const ask = await agent.get(`${dataPath}/delete`).expect(200);
    // The button, not the page, deletes: without its form token nothing happens.
    await agent.post(`${dataPath}/delete`).type('form').send({ confirm: 'yes' }).expect(403);
    expect(await rowsMentioning(['kim.private'])).not.toEqual([]);
    // Nor without the box ticked.
    const unticked = await agent
      .post(`${dataPath}/delete`)
      .type('form')
      .send({ _csrf: csrfOf(ask.text) })
      .expect(400);
    expect(unticked.text).toContain(
      'Please tick the box to confirm that you want to delete your data.',
    );
    expect(await rowsMentioning(['kim.private'])).not.toEqual([]);
    const done = await agent
      .post(`${dataPath}/delete`)
      .type('form')
      .send({ _csrf: csrfOf(ask.text), confirm: 'yes' })
      .expect(200);
    expect(done.text).toContain('Your data is deleted');

    expect(await rowsMentioning(KIM_TRACES)).toEqual([]);
    expect(await redisText()).not.toContain('kim.private');
    // The bystander is untouched.
    expect((await rowsMentioning(['lou.bystander'])).length).toBeGreaterThanOrEqual(2);

    expect(strip(await counts())).toEqual(before);
    await rebuildTallies(t.platform.db, demoId);
    await rebuildTallies(t.platform.db, secondId);
    expect(strip(await counts())).toEqual(before);
    expect(
      (await request(t.app).get(`/api/v1/campaigns/${DEMO}/stats`).expect(200)).body.signatures,
    ).toBe(2);

    // The link now finds nothing, and deleting again changes nothing.
    expect((await request(t.app).get(dataPath).expect(200)).text).toContain(
      'We hold nothing about',
    );
    await agent
      .post(`${dataPath}/delete`)
      .type('form')
      .send({ _csrf: csrfOf(ask.text), confirm: 'yes' })
      .expect(200);
    expect(strip(await counts())).toEqual(before);
  });

  it('wrote none of it to the logs: no address, name, note or link token', () => {
    const logs = t.logs();
    expect(logs).toContain('"path":"/privacy/my-data/:token"');
    for (const secret of [...KIM_TRACES, 'nobody@example.org', dataPath.split('/').pop()!])
      expect(logs).not.toContain(secret);
  });
});
