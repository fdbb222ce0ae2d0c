import path from 'node:path';
import request from 'supertest';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';

/**
 * The review's relay attack: anyone can type any address into a form, so an email the platform
 * sends to that address must carry only the platform's own words. Before, the letter confirmation
 * held the whole letter and the signing email greeted a 100-character name: a "your bank account
 * is suspended" text went out under the campaign's sender to whoever the attacker chose.
 */
const SLUG = 'ban-facial-recognition';
const LURE = 'Your bank account is suspended call 202-555-0199 now';
const VICTIM = 'victim@example.org';

let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({ SMTP_URL: sink.url });
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

const toVictim = () =>
  sink.messages.filter((mail) => mail.to && 'text' in mail.to && mail.to.text === VICTIM);

it('sends a typed address nothing the sender typed: no name, no note, no letter text, in the subject or the body', async () => {
  await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({ name: LURE.slice(0, 100), email: VICTIM, zip: '80010' })
    .expect(202);
  const letters = await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send({
      name: LURE.slice(0, 60),
      email: VICTIM,
      zip: '80010',
      note: LURE,
      subject: LURE,
      body: `${LURE}\n\n${LURE}`,
    })
    .expect(202);
  expect(letters.body.letters.length).toBeGreaterThan(0);

  await eventually(async () => toVictim().length >= 2);
  const mails = toVictim();
  expect(mails.map((mail) => mail.subject).sort()).toEqual([
    'Thank you for signing: Ban police use of facial recognition',
    'Your letters: Ban police use of facial recognition',
  ]);
  for (const mail of mails) {
    expect(mail.subject).not.toContain('bank');
    expect(mail.text).not.toMatch(/bank|202-555-0199/);
    expect(mail.html).toBe(false);
  }
  // The letters themselves reach the offices as written: the supporter's words go to the officials, not to the typed address.
  const toOffices = () => sink.messages.filter((mail) => mail.headers.get('x-letter-id'));
  const byEmail = letters.body.letters.filter(
    (letter: { channel: string }) => letter.channel === 'email',
  ).length;
  await eventually(async () => toOffices().length === byEmail);
  expect(toOffices().every((mail) => mail.text?.includes(LURE))).toBe(true);
});
