import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { messageKey } from '../../src/delivery/deliver';
import { classifyMailError, messageIdFor } from '../../src/delivery/mailer';
import { importRepresentativeData } from '../../src/representatives/import';
import { deliverLetterJob } from '../../src/delivery/jobs/deliver-letter';
import { confirmActionJob } from '../../src/letters/jobs/confirm-action';
import { startJobWorkers, type RunningJobWorkers } from '../../src/queue/workers';
import { workerContexts } from '../../src/worker-context';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';

/**
 * A relay that refuses for a while: greylisting (451 at RCPT TO), 451 at the greeting or after
 * DATA, a connection dropped mid-send. Each is retried by the real delivery worker with BullMQ's
 * back-off until the relay accepts, and every letter arrives exactly once. A 550 at RCPT TO is
 * permanent: the letter fails at once, with one attempt.
 */
const SLUG = 'ban-facial-recognition';
/** The fixture offices with an email address for ZIP 80010 (the state senator and the governor). */
const OFFICES = 2;
/** Two back-offs of the delivery queue (5 s, then 10 s), and time to spare on a busy machine. */
const RETRIED_WITHIN_MS = 50_000;

type Stage = 'connect' | 'rcpt' | 'data';
type Refusal = { stage: Stage; reply: number | 'drop'; times: number };

let refusal: Refusal | undefined;
/** Refusals given so far under the current rule: per recipient address, or per connection at the greeting. */
const refused = new Map<string, number>();
const messages: ParsedMail[] = [];

/** Refuses as the current rule says, `times` times per key, then lets it through. */
function refuse(
  stage: Stage,
  key: string,
  session: SMTPServerSession | undefined,
): Error | 'drop' | undefined {
  if (!refusal || refusal.stage !== stage) return undefined;
  const count = refused.get(key) ?? 0;
  if (count >= refusal.times) return undefined;
  refused.set(key, count + 1);
  if (refusal.reply === 'drop') {
    // The connection goes away mid-send, as a relay that crashes or a network that fails.
    for (const connection of server.connections)
      if (connection.session.id === session?.id) connection._socket.destroy();
    return 'drop';
  }
  return Object.assign(new Error('try again later (test)'), { responseCode: refusal.reply });
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onConnect(session, callback) {
    const error = refuse('connect', 'connection', session);
    callback(error === 'drop' ? undefined : error);
  },
  onRcptTo(address, session, callback) {
    const error = refuse('rcpt', address.address, session);
    if (error !== 'drop') callback(error);
  },
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        const error = refuse('data', session.envelope.rcptTo[0]?.address ?? '', session);
        if (error === 'drop') return;
        if (error) return callback(error);
        messages.push(mail);
        callback();
      })
      .catch(callback);
  },
});
server.on('error', () => undefined);

let t: TestPlatform;
let delivery: RunningJobWorkers;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  t = await createTestPlatform({
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    MAIL_FROM: 'Coalition Letters <letters@coalition.example>',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  // The delivery worker alone: the signers' notices (another mailer) would take refusals meant for letters.
  delivery = await startJobWorkers(t.platform, [deliverLetterJob, confirmActionJob], {
    contextFor: workerContexts(t.platform),
  });
});
afterAll(async () => {
  await delivery?.close();
  await t?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface LetterState {
  id: number;
  status: string;
  last_error: string | null;
  outcomes: string[];
  errors: (string | null)[];
  key: string;
}

/** A supporter writes to both offices; waits until every letter is delivered or failed; their states. */
async function writeAndSettle(email: string, within = RETRIED_WITHIN_MS): Promise<LetterState[]> {
  const written = await request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/letters`)
    .send({ name: 'Grey Listed', email, zip: '80010', wantsCopy: false })
    .expect(202);
  expect(written.body.letters).toHaveLength(OFFICES);
  const token = new URL(written.body.statusUrl as string).pathname.split('/').pop()!;
  const states = async () =>
    (
      await queryRows<LetterState>(
        t.platform.db,
        sql`SELECT l.id, l.status, l.last_error, l.idempotency_key AS key,
                   coalesce(array_agg(coalesce(d.outcome, 'open') ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS outcomes,
                   coalesce(array_agg(d.error ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS errors
            FROM letters l JOIN letter_actions a ON a.id = l.action_id LEFT JOIN delivery_attempts d ON d.letter_id = l.id
            WHERE a.status_token = ${token} GROUP BY l.id ORDER BY l.id`,
      )
    ).map((row) => ({ ...row, id: Number(row.id) }));
  await eventually(async () => {
    const letters = await states();
    return (
      letters.length === OFFICES &&
      letters.every((letter) => letter.status === 'delivered' || letter.status === 'failed')
    );
  }, within);
  return states();
}

/** How many messages the relay accepted for each letter, found by its X-Letter-Id. */
const deliveredCounts = (letters: LetterState[]) =>
  letters.map(
    (letter) =>
      messages.filter((mail) => mail.headers.get('x-letter-id') === messageKey(letter.key)).length,
  );

/** Each letter delivered, after attempts that were all retries for `error`; with `retried`, some letter needed one. */
function expectDeliveredOnceAfterRetries(letters: LetterState[], error: RegExp, retried = true) {
  for (const letter of letters) {
    expect(letter.status).toBe('delivered');
    expect(letter.last_error).toBeNull();
    expect(letter.outcomes.at(-1)).toBe('delivered');
    expect(letter.outcomes.slice(0, -1).every((outcome) => outcome === 'retry')).toBe(true);
    for (const reason of letter.errors.slice(0, -1)) expect(reason).toMatch(error);
  }
  if (retried) expect(letters.some((letter) => letter.outcomes.length > 1)).toBe(true);
  expect(deliveredCounts(letters)).toEqual(letters.map(() => 1));
}

describe('a relay that refuses for a while', () => {
  afterEach(() => {
    refusal = undefined;
    refused.clear();
  });

  it('451 at the greeting: retried until the relay answers, each letter delivered once', async () => {
    // First: the worker's pool has no connection yet, so every send needs a greeting.
    refusal = { stage: 'connect', reply: 451, times: 2 };
    const letters = await writeAndSettle('greeting@example.org');
    expectDeliveredOnceAfterRetries(letters, /^SMTP 451$/);
  });

  it('451 at RCPT TO (greylisting), twice per office: retried with back-off, each letter delivered once', async () => {
    refusal = { stage: 'rcpt', reply: 451, times: 2 };
    const letters = await writeAndSettle('greylisted@example.org');
    expectDeliveredOnceAfterRetries(letters, /^SMTP 451$/);
    for (const letter of letters) expect(letter.outcomes).toEqual(['retry', 'retry', 'delivered']);
  });

  it('451 after DATA: retried, each letter delivered once', async () => {
    refusal = { stage: 'data', reply: 451, times: 1 };
    const letters = await writeAndSettle('data-refused@example.org');
    expectDeliveredOnceAfterRetries(letters, /^SMTP 451$/);
    for (const letter of letters) expect(letter.outcomes).toEqual(['retry', 'delivered']);
  });

  it('a connection dropped mid-send: retried, each letter delivered once', async () => {
    refusal = { stage: 'rcpt', reply: 'drop', times: 1 };
    const letters = await writeAndSettle('dropped@example.org');
    // Each office's connection was dropped once. nodemailer's pool may send the message again on a
    // new connection by itself (then the attempt succeeds); otherwise the worker retries it.
    expect([...refused.values()]).toEqual([1, 1]);
    expectDeliveredOnceAfterRetries(letters, /^E[A-Z]+$/, false);
    for (const letter of letters) expect(letter.outcomes.length).toBeLessThanOrEqual(2);
  });

  it('550 at RCPT TO is permanent: failed at the first attempt, nothing sent', async () => {
    refusal = { stage: 'rcpt', reply: 550, times: 10 };
    const before = messages.length;
    const letters = await writeAndSettle('no-such-office@example.org', 20_000);
    for (const letter of letters) {
      expect(letter).toMatchObject({
        status: 'failed',
        last_error: 'SMTP 550',
        outcomes: ['failed'],
      });
    }
    expect(messages.length).toBe(before);
  });

  it('letters carry Message-IDs under the sending domain', () => {
    const letters = messages.filter((mail) => mail.headers.get('x-letter-id'));
    expect(letters.length).toBeGreaterThan(0);
    for (const mail of letters)
      expect(mail.messageId).toBe(
        `<${mail.headers.get('x-letter-id') as string}@coalition.example>`,
      );
  });
});

describe('classifyMailError', () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
  it.each([
    [{ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }, 'retry'],
    [{ code: 'EENVELOPE', responseCode: 452, command: 'RCPT TO' }, 'retry'],
    [{ code: 'EMESSAGE', responseCode: 451, command: 'DATA' }, 'retry'],
    [{ code: 'EPROTOCOL', responseCode: 421, command: 'CONN' }, 'retry'],
    [{ code: 'ECONNECTION' }, 'retry'],
    [{ code: 'ETIMEDOUT' }, 'retry'],
    [{ code: 'ESOCKET' }, 'retry'],
    [{ code: 'EAUTH', responseCode: 535 }, 'retry'],
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }, 'failed'],
    [{ code: 'EMESSAGE', responseCode: 554, command: 'DATA' }, 'failed'],
    [{ code: 'EENVELOPE' }, 'failed'],
  ])('%o is %s', (fields, outcome) => {
    expect(classifyMailError(error(fields)).outcome).toBe(outcome);
  });

  it('names Message-IDs after the domain of MAIL_FROM', () => {
    expect(messageIdFor('abc', 'Coalition <letters@Coalition.Example>')).toBe(
      '<abc@coalition.example>',
    );
    expect(messageIdFor('abc', 'letters@coalition.example')).toBe('<abc@coalition.example>');
    expect(messageIdFor('abc', 'no address at all')).toBe('<abc@localhost>');
  });
});
