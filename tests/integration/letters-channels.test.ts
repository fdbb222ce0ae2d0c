import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { importRepresentativeData } from '../../src/representatives/import';
import { startCwcStandIn, type CwcStandIn } from '../../bench/cwc-stand-in';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * How letters travel: to Congress through Communicating with Congress (House and Senate, each with
 * its own endpoint and key), by email to offices that publish an address, and, while a campaign
 * rehearses, to its rehearsal address and CWC's validation endpoint instead of the offices.
 */
const SLUG = 'ban-facial-recognition';
const API = `/api/v1/campaigns/${SLUG}/letters`;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
/** ZIP 80010 is CO-1 (Ada Testwell, HCO01) with senators Cora Senatorial (class 2, SCO01) and Dev Upperhouse (class 3, SCO02). */
const supporter = {
  name: 'Cal Q. Constituent',
  email: 'cal@example.org',
  zip: '80010',
  address: '12 Elm Street, Aurora, CO 80010',
  prefix: 'Dr.',
};
const HOUSE_KEY = 'house-key-123456';
const SENATE_KEY = 'senate-key-654321';

let sink: SmtpSink;
let house: CwcStandIn;
let senate: CwcStandIn;

beforeAll(async () => {
  sink = await startSmtpSink();
  house = await startCwcStandIn({ apiKey: HOUSE_KEY, path: '/house' });
  senate = await startCwcStandIn({ apiKey: SENATE_KEY, path: '/senate' });
});
afterAll(async () => {
  await house.close();
  await senate.close();
  await sink.close();
});
beforeEach(() => {
  house.requests.length = 0;
  senate.requests.length = 0;
  house.answer = undefined;
  senate.answer = undefined;
});

const CONTACT = {
  CWC_ORGANIZATION: 'Test Coalition',
  CWC_CONTACT_EMAIL: 'contact@coalition.example',
  CWC_CONTACT_PHONE: '(202) 555-0100',
};
const HOUSE = { CWC_URL: '', CWC_API_KEY: HOUSE_KEY };
const SENATE = { CWC_SENATE_URL: '', CWC_SENATE_API_KEY: SENATE_KEY };

async function platformWith(
  env: Record<string, string>,
  options: { live?: boolean; workers?: boolean } = { live: true },
): Promise<TestPlatform> {
  const filled = Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      name === 'CWC_URL' && !value
        ? house.messageUrl
        : name === 'CWC_SENATE_URL' && !value
          ? senate.messageUrl
          : value,
    ]),
  );
  const t = await createTestPlatform({ SMTP_URL: sink.url, ...filled });
  await importRepresentativeData(t.platform.db, FIXTURES);
  await t.platform.representatives.refresh();
  if (options.live) await goLive(t.platform);
  if (options.workers !== false) await t.startWorkers();
  return t;
}

interface LetterRow {
  target_key: string;
  channel: string;
  channel_address: string | null;
  status: string;
  delivered_as: string | null;
  last_error: string | null;
  attempts: number;
}

const lettersOf = (t: TestPlatform) =>
  queryRows<LetterRow>(
    t.platform.db,
    sql`SELECT target_key, channel, channel_address, status, delivered_as, last_error, attempts FROM letters ORDER BY target_key`,
  );

const settled = (t: TestPlatform) =>
  eventually(async () =>
    (await lettersOf(t)).every(
      (letter) => !['queued', 'sending', 'retrying'].includes(letter.status),
    ),
  );

describe('Congress through CWC', () => {
  it('reaches the House member and both senators, each through its chamber, with documents CWC accepts', async () => {
    const t = await platformWith({ ...HOUSE, ...SENATE, ...CONTACT });
    try {
      const res = await request(t.app)
        .post(API)
        .send({ ...supporter, wantsCopy: false })
        .expect(202);
      // With no targets named, every target with an electronic channel is written to: Congress included.
      const channels = Object.fromEntries(
        res.body.letters.map((l: { target: string; channel: string }) => [
          l.target.split(':')[0],
          l.channel,
        ]),
      );
      expect(channels).toMatchObject({ 'us-house': 'cwc', 'us-senate': 'cwc' });
      expect(res.body.letters.filter((l: { channel: string }) => l.channel === 'cwc')).toHaveLength(
        3,
      );
      await settled(t);

      const cwcLetters = (await lettersOf(t)).filter((letter) => letter.channel === 'cwc');
      expect(cwcLetters.map((l) => [l.channel_address, l.status, l.delivered_as]).sort()).toEqual([
        ['HCO01', 'delivered', 'office'],
        ['SCO01', 'delivered', 'office'],
        ['SCO02', 'delivered', 'office'],
      ]);
      expect(house.requests.map((r) => [r.endpoint, r.office, r.apiKey])).toEqual([
        ['message', 'HCO01', HOUSE_KEY],
      ]);
      expect(senate.requests.map((r) => [r.endpoint, r.office, r.apiKey]).sort()).toEqual([
        ['message', 'SCO01', SENATE_KEY],
        ['message', 'SCO02', SENATE_KEY],
      ]);
      const xml = house.requests[0]!.body;
      expect(xml).toContain('<Prefix>Dr.</Prefix>');
      expect(xml).toContain('<FirstName>Cal Q.</FirstName>');
      expect(xml).toContain('<LastName>Constituent</LastName>');
      expect(xml).toContain('<Address1>12 Elm Street</Address1>');
      expect(xml).toContain('<City>Aurora</City>');
      expect(xml).toContain('<Zip>80010</Zip>');
      expect(xml).toContain('<DeliveryAgentContactPhone>202-555-0100</DeliveryAgentContactPhone>');
      expect(xml).toContain('<CampaignId>ban-facial-recognition</CampaignId>');
    } finally {
      await t.close();
    }
  });

  it("asks for an honorific from CWC's list, never guessing one, and writes nothing without it", async () => {
    const t = await platformWith({ ...HOUSE, ...SENATE, ...CONTACT });
    try {
      const { prefix: _none, ...anonymous } = supporter;
      const missing = await request(t.app).post(API).send(anonymous).expect(400);
      expect(missing.body.errors.prefix).toMatch(/requires an honorific/);
      const unlisted = await request(t.app)
        .post(API)
        .send({ ...supporter, prefix: 'Mx.' })
        .expect(400);
      expect(unlisted.body.errors.prefix).toMatch(/choose an honorific from the list/);
      expect(await lettersOf(t)).toEqual([]);

      // Letters that go by email only need none.
      const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
      const governor = `governor:${lookup.body.officials.find((o: { office: string }) => o.office === 'governor').ids.openstates}`;
      await request(t.app)
        .post(API)
        .send({ ...anonymous, targets: [governor], wantsCopy: false })
        .expect(202);
    } finally {
      await t.close();
    }
  });

  it('refuses, when it is written, a letter to Congress longer than CWC takes (not when it would fail later)', async () => {
    const t = await platformWith({ ...HOUSE, ...CONTACT });
    try {
      await t.platform.db.execute(
        sql`UPDATE campaigns SET letter_limits = '{"subjectMax": 200, "bodyMax": 20000}'::jsonb WHERE slug = ${SLUG}`,
      );
      t.platform.campaigns.forget(SLUG);
      const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
      const member = `us-house:${lookup.body.officials.find((o: { office: string }) => o.office === 'us-house').ids.bioguide}`;
      const governor = `governor:${lookup.body.officials.find((o: { office: string }) => o.office === 'governor').ids.openstates}`;
      const long = 'Ban it. '.repeat(1300);
      const refused = await request(t.app)
        .post(API)
        .send({ ...supporter, targets: [member], body: long })
        .expect(400);
      expect(refused.body.errors.body).toMatch(
        /Letters to Congress can be at most 10,000 characters/,
      );
      expect(await lettersOf(t)).toEqual([]);
      // The same words to an office that takes email are fine.
      await request(t.app)
        .post(API)
        .send({ ...supporter, targets: [governor], body: long, wantsCopy: false })
        .expect(202);
    } finally {
      await t.close();
    }
  });

  it('sends a House letter by hand when only the Senate is configured, and the senators through CWC', async () => {
    const t = await platformWith({ ...SENATE, ...CONTACT });
    try {
      const res = await request(t.app)
        .post(API)
        .send({ ...supporter, wantsCopy: false })
        .expect(202);
      const chosen = res.body.letters.map(
        (l: { target: string; channel: string }) => `${l.target.split(':')[0]} ${l.channel}`,
      );
      expect(chosen.filter((entry: string) => entry.startsWith('us-'))).toEqual([
        'us-senate cwc',
        'us-senate cwc',
      ]);
      await settled(t);
      expect(senate.requests).toHaveLength(2);
      expect(house.requests).toHaveLength(0);
    } finally {
      await t.close();
    }
  });

  it("fails a letter CWC refuses with its <Error> lines (without the writer's details) and no retries; retries a 503", async () => {
    const t = await platformWith({ ...HOUSE, ...SENATE, ...CONTACT });
    try {
      house.answer = () => ({
        status: 400,
        errors: [
          'MemberOffice HCO01 is not accepting messages from Cal Q. Constituent',
          'Try later',
        ],
      });
      let busy = 2;
      senate.answer = () => (busy-- > 0 ? { status: 503 } : undefined);
      await request(t.app)
        .post(API)
        .send({ ...supporter, wantsCopy: false })
        .expect(202);
      await settled(t);

      const letters = await lettersOf(t);
      const toHouse = letters.find((l) => l.channel_address === 'HCO01')!;
      expect(toHouse).toMatchObject({ status: 'failed', attempts: 1 });
      expect(toHouse.last_error).toBe(
        'CWC rejected the document (HTTP 400): MemberOffice HCO01 is not accepting messages from … …; Try later',
      );
      expect(house.requests).toHaveLength(1);
      // The Senate was busy twice: retried, then each letter delivered once.
      expect(
        letters.filter((l) => l.channel_address?.startsWith('S')).map((l) => l.status),
      ).toEqual(['delivered', 'delivered']);
      expect(senate.requests.filter((r) => r.endpoint === 'message')).toHaveLength(4);
      expect(senate.accepted.message).toBeGreaterThanOrEqual(2);
    } finally {
      await t.close();
    }
  });

  it('never sends a document that fails the CWC check: the letter fails with the reason', async () => {
    const t = await platformWith({ ...HOUSE, ...CONTACT }, { live: true, workers: false });
    try {
      const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
      const member = `us-house:${lookup.body.officials.find((o: { office: string }) => o.office === 'us-house').ids.bioguide}`;
      await request(t.app)
        .post(API)
        .send({ ...supporter, targets: [member], wantsCopy: false })
        .expect(202);
      // The writer's honorific is lost between writing and sending (a letter from before honorifics were asked): nothing is guessed.
      await t.platform.db.execute(sql`UPDATE letter_actions SET prefix = NULL`);
      await t.startWorkers();
      await settled(t);
      const [letter] = await lettersOf(t);
      expect(letter!.last_error).toBe(
        'not sent: the CWC document fails its check: CWC/Constituent/Prefix is required',
      );
      expect(house.requests).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});

describe('rehearsal and live', () => {
  it("in rehearsal (a new campaign's mode), sends CWC documents to the validation endpoint and email letters to the rehearsal address", async () => {
    const t = await platformWith({ ...HOUSE, ...SENATE, ...CONTACT }, { live: false });
    try {
      await t.platform.db.execute(
        sql`UPDATE campaigns SET rehearsal_to = 'rehearsal@coalition.example' WHERE slug = ${SLUG}`,
      );
      const res = await request(t.app)
        .post(API)
        .send({ ...supporter, email: 'rehearsing@example.org', wantsCopy: false })
        .expect(202);
      await settled(t);

      const letters = await lettersOf(t);
      expect(letters.every((l) => l.status === 'rehearsed' && l.delivered_as === 'rehearsal')).toBe(
        true,
      );
      expect([...house.requests, ...senate.requests].map((r) => r.endpoint)).toEqual([
        'validate',
        'validate',
        'validate',
      ]);
      const mails = sink.messages.filter(
        (m) => m.replyTo?.value[0]?.address === 'rehearsing@example.org',
      );
      expect(mails).toHaveLength(letters.filter((l) => l.channel === 'email').length);
      for (const mail of mails) {
        expect(mail.to && 'value' in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual([
          'rehearsal@coalition.example',
        ]);
        expect(mail.subject).toMatch(/^\[Rehearsal\] /);
        expect(mail.text).toMatch(/^Rehearsal: live, this letter would go to /);
      }
      expect(res.body.letters.length).toBe(letters.length);
    } finally {
      await t.close();
    }
  });

  it('in rehearsal with no rehearsal address, writes email letters to files and sends none', async () => {
    const t = await platformWith({}, { live: false });
    try {
      const before = sink.messages.length;
      await request(t.app)
        .post(API)
        .send({ ...supporter, email: 'quiet@example.org', wantsCopy: false })
        .expect(202);
      await settled(t);
      const letters = (await lettersOf(t)).filter((l) => l.channel === 'email');
      expect(letters.length).toBeGreaterThan(0);
      expect(letters.every((l) => l.status === 'rehearsed' && l.delivered_as === 'file')).toBe(
        true,
      );
      expect(sink.messages.length).toBe(before);
      const files = readdirSync(path.join(t.platform.config.dataDir, 'mail'));
      expect(
        files.filter((file) =>
          readFileSync(path.join(t.platform.config.dataDir, 'mail', file), 'utf8').includes(
            '[Rehearsal]',
          ),
        ),
      ).toHaveLength(letters.length);
    } finally {
      await t.close();
    }
  });

  it('live without SMTP_URL, says letters were written to files, never delivered to the office', async () => {
    const t = await createTestPlatform({ SMTP_URL: '' });
    try {
      await importRepresentativeData(t.platform.db, FIXTURES);
      await t.platform.representatives.refresh();
      await goLive(t.platform);
      await t.startWorkers();
      await request(t.app)
        .post(API)
        .send({ ...supporter, wantsCopy: false })
        .expect(202);
      await settled(t);
      const letters = await lettersOf(t);
      expect(letters.filter((l) => l.channel === 'email').map((l) => l.delivered_as)).toEqual(
        expect.arrayContaining(['file']),
      );
      expect(letters.every((l) => l.delivered_as !== 'office')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('sends each letter in the mode it was written in, whatever the campaign switched to before it went', async () => {
    const t = await platformWith({ ...HOUSE, ...CONTACT }, { live: false, workers: false });
    try {
      await t.platform.db.execute(
        sql`UPDATE campaigns SET rehearsal_to = 'rehearsal@coalition.example' WHERE slug = ${SLUG}`,
      );
      const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
      const member = `us-house:${lookup.body.officials.find((o: { office: string }) => o.office === 'us-house').ids.bioguide}`;
      const senator = `us-senate:${lookup.body.officials.find((o: { office: string }) => o.office === 'us-senate').ids.bioguide}`;
      // Written in rehearsal, still waiting when the campaign goes live: a test letter never reaches the office.
      await request(t.app)
        .post(API)
        .send({
          ...supporter,
          email: 'test-writer@example.org',
          targets: [member, senator],
          wantsCopy: false,
        })
        .expect(202);
      await goLive(t.platform);
      // Written live, still waiting when the campaign goes back to rehearsal: a real letter is still delivered.
      await request(t.app)
        .post(API)
        .send({
          ...supporter,
          email: 'real-writer@example.org',
          targets: [member],
          wantsCopy: false,
        })
        .expect(202);
      await t.platform.db.execute(
        sql`UPDATE campaigns SET delivery_mode = 'rehearsal' WHERE slug = ${SLUG}`,
      );
      t.platform.campaigns.forget(SLUG);
      await t.startWorkers();
      await settled(t);

      const rows = await queryRows<{
        rehearsal: boolean;
        channel: string;
        status: string;
        delivered_as: string | null;
      }>(
        t.platform.db,
        sql`SELECT rehearsal, channel, status, delivered_as FROM letters ORDER BY id`,
      );
      expect(rows).toEqual([
        { rehearsal: true, channel: 'cwc', status: 'rehearsed', delivered_as: 'rehearsal' },
        // A rehearsal letter that would go by hand is done at once: never printed into a real packet.
        { rehearsal: true, channel: 'hand', status: 'rehearsed', delivered_as: 'rehearsal' },
        { rehearsal: false, channel: 'cwc', status: 'delivered', delivered_as: 'office' },
      ]);
      expect(house.requests.map((r) => r.endpoint)).toEqual(['validate', 'message']);
      // The dashboard counts the rehearsal apart from what was delivered.
      const admin = await signInAs(t.app, t.platform.db, 'admin');
      const dashboard = await admin.agent
        .get(`/staff/campaigns/${SLUG}/dashboard.json`)
        .expect(200);
      expect(dashboard.body.letters.totals).toMatchObject({ delivered: 1, rehearsed: 2 });
    } finally {
      await t.close();
    }
  });

  it('only an admin sends a campaign live, after confirming, and the switch is audited', async () => {
    const t = await platformWith({}, { live: false });
    try {
      const organizer = await signInAs(t.app, t.platform.db, 'organizer');
      const page = await organizer.agent.get(`/staff/campaigns/${SLUG}/edit`).expect(200);
      expect(page.text).toContain('Delivery: rehearsal');
      expect(page.text).toContain('Only an admin can switch');
      await organizer.agent
        .post(`/staff/campaigns/${SLUG}/delivery-mode`)
        .type('form')
        .send({ _csrf: organizer.token, mode: 'live', confirm: 'on' })
        .expect(403);

      const admin = await signInAs(t.app, t.platform.db, 'admin');
      const settings = await admin.agent.get(`/staff/campaigns/${SLUG}/edit`).expect(200);
      const token = csrfTokenOf(settings.text);
      const unconfirmed = await admin.agent
        .post(`/staff/campaigns/${SLUG}/delivery-mode`)
        .type('form')
        .send({ _csrf: token, mode: 'live' })
        .expect(400);
      expect(unconfirmed.text).toContain('Tick the box to confirm');
      await admin.agent
        .post(`/staff/campaigns/${SLUG}/delivery-mode`)
        .type('form')
        .send({ _csrf: token, mode: 'live', confirm: 'on' })
        .expect(303);
      const [campaign] = await queryRows<{ delivery_mode: string }>(
        t.platform.db,
        sql`SELECT delivery_mode FROM campaigns WHERE slug = ${SLUG}`,
      );
      expect(campaign!.delivery_mode).toBe('live');
      const audit = await queryRows<{ action: string; details: Record<string, string> }>(
        t.platform.db,
        sql`SELECT action, details FROM audit_log WHERE action = 'campaign.delivery-mode'`,
      );
      expect(audit).toEqual([
        { action: 'campaign.delivery-mode', details: { from: 'rehearsal', to: 'live' } },
      ]);
      // Said again, nothing moves.
      await admin.agent
        .post(`/staff/campaigns/${SLUG}/delivery-mode`)
        .type('form')
        .send({ _csrf: token, mode: 'live', confirm: 'on' })
        .expect(303);
      expect(
        await queryRows(
          t.platform.db,
          sql`SELECT id FROM audit_log WHERE action = 'campaign.delivery-mode'`,
        ),
      ).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('sends every letter of every campaign to DELIVERY_REDIRECT_TO instead of its target, and nothing to CWC', async () => {
    const t = await platformWith({
      DELIVERY_REDIRECT_TO: 'redirect@coalition.example',
      ...HOUSE,
      ...SENATE,
      ...CONTACT,
    });
    try {
      const res = await request(t.app)
        .post(API)
        .send({ ...supporter, email: 'redirected-writer@example.org', wantsCopy: false })
        .expect(202);
      await settled(t);
      const letters = sink.messages.filter(
        (m) => m.replyTo?.value[0]?.address === 'redirected-writer@example.org',
      );
      expect(letters.length).toBe(res.body.letters.length);
      for (const mail of letters)
        expect(mail.to && 'value' in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual([
          'redirect@coalition.example',
        ]);
      expect(house.requests.length + senate.requests.length).toBe(0);
      expect(
        (await lettersOf(t)).every(
          (l) => l.status === 'rehearsed' && l.delivered_as === 'rehearsal',
        ),
      ).toBe(true);
    } finally {
      await t.close();
    }
  });
});

it('spreads letters to one office over the minutes ahead instead of sending them at once', async () => {
  const t = await platformWith({ DELIVERY_PER_RECIPIENT_PER_MINUTE: '1' });
  try {
    const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
    const governor = `governor:${lookup.body.officials.find((o: { office: string }) => o.office === 'governor').ids.openstates}`;
    const statusUrls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(t.app)
        .post(API)
        .send({
          name: `Patient ${i}`,
          email: `patient${i}@example.org`,
          zip: '80010',
          wantsCopy: false,
          targets: [governor],
        })
        .expect(202);
      statusUrls.push(res.body.statusUrl);
    }
    const statuses = async () =>
      Promise.all(
        statusUrls.map(
          async (url) =>
            (await request(t.app).get(`/api/v1${new URL(url).pathname}`)).body.letters[0]
              .status as string,
        ),
      );
    await eventually(async () => (await statuses()).includes('delivered'));
    // The others wait for their own minutes, as delayed jobs holding their reserved minute.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await statuses()).sort()).toEqual(['delivered', 'queued', 'queued']);
    const delayed = await t.platform.queues.get('delivery').getDelayed();
    const minutes = delayed.map((job) => (job.data as { minute?: number }).minute).sort();
    expect(minutes).toHaveLength(2);
    expect(new Set(minutes).size).toBe(2);
    expect(
      minutes.every((minute) => minute !== undefined && minute * 60_000 > Date.now() - 60_000),
    ).toBe(true);
  } finally {
    await t.close();
  }
});
