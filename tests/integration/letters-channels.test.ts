import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/** Letters to House offices through Communicating with Congress, and a rehearsal that redirects every letter. */
const SLUG = 'ban-facial-recognition';
const API = `/api/v1/campaigns/${SLUG}/letters`;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'representatives');
const supporter = { name: 'Cal Constituent', email: 'cal@example.org', zip: '80010', address: '12 Elm Street, Aurora, CO 80010' };

let sink: SmtpSink;
let cwc: Server;
let cwcUrl: string;
const documents: Array<{ url: string; body: string }> = [];

beforeAll(async () => {
  sink = await startSmtpSink();
  cwc = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      documents.push({ url: req.url ?? '', body });
      res.writeHead(200).end('<Response>OK</Response>');
    });
  });
  await new Promise<void>((resolve) => cwc.listen(0, '127.0.0.1', resolve));
  cwcUrl = `http://127.0.0.1:${(cwc.address() as AddressInfo).port}/v2/message`;
});
afterAll(async () => {
  await new Promise((resolve) => cwc.close(resolve));
  await sink.close();
});

async function platformWith(env: Record<string, string>): Promise<TestPlatform> {
  const t = await createTestPlatform({ SMTP_URL: sink.url, ...env });
  await importRepresentativeData(t.platform.db, FIXTURES);
  await t.platform.representatives.refresh();
  await t.startWorkers();
  return t;
}

const houseKey = async (t: TestPlatform) => {
  const lookup = await request(t.app).get('/api/v1/representatives?zip=80010').expect(200);
  return `us-house:${lookup.body.officials.find((o: { office: string }) => o.office === 'us-house').ids.bioguide}`;
};

it('sends a letter to a House office as a CWC document, with the organisation key', async () => {
  const t = await platformWith({
    CWC_URL: cwcUrl,
    CWC_API_KEY: 'test-key-123456',
    CWC_ORGANIZATION: 'Test Coalition',
    CWC_CONTACT_EMAIL: 'contact@coalition.example',
    CWC_CONTACT_PHONE: '202-555-0100',
  });
  try {
    const res = await request(t.app).post(API).send({ ...supporter, targets: [await houseKey(t)] }).expect(202);
    await eventually(async () => {
      const status = await request(t.app).get(`/api/v1${new URL(res.body.statusUrl).pathname}`);
      return status.body.letters?.[0]?.status === 'delivered';
    });
    const status = await request(t.app).get(`/api/v1${new URL(res.body.statusUrl).pathname}`).expect(200);
    expect(status.body.letters).toEqual([expect.objectContaining({ channel: 'cwc', status: 'delivered' })]);
    expect(documents).toHaveLength(1);
    expect(documents[0]!.url).toBe('/v2/message?apikey=test-key-123456');
    const xml = documents[0]!.body;
    expect(xml).toContain('<MemberOffice>HCO01</MemberOffice>');
    expect(xml).toContain('<FirstName>Cal</FirstName>');
    expect(xml).toContain('<Address1>12 Elm Street, Aurora, CO 80010</Address1>');
    expect(xml).toContain('<City>Aurora</City>');
    expect(xml).toContain('<CampaignId>ban-facial-recognition</CampaignId>');
  } finally {
    await t.close();
  }
});

it('sends every letter to the rehearsal address instead of its target, and nothing to CWC', async () => {
  const before = documents.length;
  const t = await platformWith({
    DELIVERY_REDIRECT_TO: 'rehearsal@coalition.example',
    CWC_URL: cwcUrl,
    CWC_API_KEY: 'test-key-123456',
    CWC_ORGANIZATION: 'Test Coalition',
    CWC_CONTACT_EMAIL: 'contact@coalition.example',
    CWC_CONTACT_PHONE: '202-555-0100',
  });
  try {
    const res = await request(t.app).post(API).send({ ...supporter, email: 'rehearsal-writer@example.org', wantsCopy: false }).expect(202);
    await eventually(async () => {
      const status = await request(t.app).get(`/api/v1${new URL(res.body.statusUrl).pathname}`);
      return status.body.letters?.every((l: { status: string }) => l.status === 'delivered') === true;
    });
    const letters = sink.messages.filter((m) => m.replyTo?.value[0]?.address === 'rehearsal-writer@example.org');
    expect(letters.length).toBe(res.body.letters.length);
    expect(res.body.letters.map((l: { channel: string }) => l.channel).sort()).toEqual(['cwc', 'email', 'email']);
    for (const mail of letters) expect(mail.to && 'value' in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual(['rehearsal@coalition.example']);
    expect(documents.length).toBe(before);
  } finally {
    await t.close();
  }
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
        .send({ name: `Patient ${i}`, email: `patient${i}@example.org`, zip: '80010', wantsCopy: false, targets: [governor] })
        .expect(202);
      statusUrls.push(res.body.statusUrl);
    }
    const statuses = async () =>
      Promise.all(statusUrls.map(async (url) => (await request(t.app).get(`/api/v1${new URL(url).pathname}`)).body.letters[0].status as string));
    await eventually(async () => (await statuses()).includes('delivered'));
    // The others wait for their own minutes, as delayed jobs holding their reserved minute.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await statuses()).sort()).toEqual(['delivered', 'queued', 'queued']);
    const delayed = await t.platform.queues.get('delivery').getDelayed();
    const minutes = delayed.map((job) => (job.data as { minute?: number }).minute).sort();
    expect(minutes).toHaveLength(2);
    expect(new Set(minutes).size).toBe(2);
    expect(minutes.every((minute) => minute !== undefined && minute * 60_000 > Date.now() - 60_000)).toBe(true);
  } finally {
    await t.close();
  }
});
