import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import {
  auditLog,
  handPackets,
  letterActions,
  letters as lettersTable,
  type LetterStatus,
} from '../../src/db/schema';
import { changeLetterStatus, countMoves } from '../../src/letters/letter-store';
import { letterCounts } from '../../src/letters/counts';
import { holdLettersToDeparted } from '../../src/letters/held-letters';
import {
  findPacket,
  PACKET_MAX,
  PACKET_PAGE_LETTERS,
  packetSource,
} from '../../src/letters/hand-packets';
import { writePacketPdf } from '../../src/letters/packet-documents';
import { importRepresentativeData } from '../../src/representatives/import';
import { hiddenFields, unescapeHtml } from '../helpers/html';
import { pdfPages, pdfText } from '../helpers/pdf';
import { runCommand } from '../helpers/command';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { letterActionValues, letterValues } from '../helpers/sealed';
import { csrfTokenOf, signInAs } from '../helpers/staff';
import { encryptionEnv } from '../helpers/worker-process';

/**
 * Hand delivery from the staff console, and "send it yourself" from the supporter's status page,
 * on the real platform (PostgreSQL, Redis): a packet prepared for an office takes the letters
 * waiting then (not those written after), prints as PDF (read back here: cover counts, no names
 * on it, each letter on its page) and text, and marked delivered moves its letters and their counts
 * once, audited, with the supporters' pages saying so. A 5,000-letter packet streams, reading a
 * page of letters at a time and waiting for a slow reader. Held letters are released or cancelled;
 * failed ones are listed with their reason; supporters report letters they sent themselves (once,
 * CSRF-checked). And the words of every status.
 */
const SLUG = 'ban-facial-recognition';
const API = `/api/v1/campaigns/${SLUG}/letters`;
const DELIVERY = `/staff/campaigns/${SLUG}/delivery`;
const HOUSE = 'us-house:T000001'; // Ada Testwell, CO-1: postal addresses, no email, no CWC here.
const SENATOR_FORM = 'us-senate:T000003'; // Cora Senatorial: a web contact form.
const SENATOR_NONE = 'us-senate:T000004'; // Dev Upperhouse: no way in at all.
const GOVERNOR = 'governor:ocd-person/77777777-7777-4777-8777-777777777777'; // Nia Governor: email.

let t: TestPlatform;
let campaignId: number;
let organizer: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(async () => {
  await t.close();
});

/** Writes letters through the JSON door, as a partner's page would; returns the status token. */
async function write(name: string, targets: string[], note?: string): Promise<string> {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}@example.org`;
  const res = await request(t.app)
    .post(API)
    .send({ name, email, zip: '80010', wantsCopy: false, targets, note })
    .expect(202);
  return new URL(res.body.statusUrl).pathname.split('/').pop()!;
}

const lettersOf = (token: string) =>
  queryRows<{
    id: number;
    target_key: string;
    status: LetterStatus;
    delivered_as: string | null;
    delivered_at: Date | null;
    packet_id: number | null;
  }>(
    t.platform.db,
    sql`SELECT l.id::int AS id, l.target_key, l.status, l.delivered_as, l.delivered_at, l.packet_id::int AS packet_id
        FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE a.status_token = ${token} ORDER BY l.id`,
  );
const countsOf = async (targetKey: string) =>
  (await letterCounts(t.platform.db, campaignId)).byTarget[targetKey] ?? {};
/** Counts as `letterCounts` gives them: statuses with none left out. */
const nonZero = (counts: Partial<Record<LetterStatus, number>>) =>
  Object.fromEntries(Object.entries(counts).filter(([, count]) => count !== 0));
const audits = (action: string) =>
  t.platform.db.select().from(auditLog).where(eq(auditLog.action, action)).orderBy(auditLog.id);
const pageToken = async (path: string) =>
  csrfTokenOf((await organizer.agent.get(path).expect(200)).text);
const statusPage = async (token: string) =>
  unescapeHtml((await request(t.app).get(`/letters/${token}`).expect(200)).text);
const today = () => new Date().toISOString().slice(0, 10);
const longDay = (day: string) =>
  new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(
    new Date(`${day}T12:00:00Z`),
  );

async function preparePacketFor(targetKey: string): Promise<number> {
  const answer = await organizer.agent
    .post(`${DELIVERY}/packets`)
    .type('form')
    .send({ _csrf: await pageToken(DELIVERY), target: targetKey })
    .expect(303);
  const id = Number(/\/packets\/(\d+)$/.exec(String(answer.headers.location))?.[1]);
  expect(id).toBeGreaterThan(0);
  return id;
}

describe('a packet for an office: prepare, print, deliver', () => {
  const writers = ['Wanda Packet', 'Xavier Packet', 'Yolanda Packet'];
  let tokens: string[];
  let packetId: number;
  let late: string;

  it('lists the office with its letters waiting, and prepares a packet of exactly those', async () => {
    tokens = [];
    for (const name of writers)
      tokens.push(await write(name, [HOUSE], `I, ${name}, live in CO-1.`));
    const page = unescapeHtml((await organizer.agent.get(DELIVERY).expect(200)).text);
    expect(page).toContain('Ada Testwell');
    expect(page).toMatch(/Ada Testwell[\s\S]*?<td class="num">3<\/td>/);

    packetId = await preparePacketFor(HOUSE);
    const packet = await findPacket(t.platform.db, campaignId, packetId);
    expect(packet).toMatchObject({
      targetKey: HOUSE,
      targetName: 'Ada Testwell',
      letters: 3,
      deliveredAt: null,
      createdBy: organizer.email,
    });
    for (const token of tokens)
      expect((await lettersOf(token))[0]).toMatchObject({
        status: 'hand-delivery',
        packet_id: packetId,
      });
    expect((await audits('packet.prepare')).map((entry) => entry.details)).toEqual([
      { packetId, target: HOUSE, letters: 3 },
    ]);

    // A letter written afterwards is not in it: it waits for the next packet.
    late = await write('Zack Late', [HOUSE]);
    expect((await lettersOf(late))[0]).toMatchObject({ status: 'hand-delivery', packet_id: null });
    expect((await findPacket(t.platform.db, campaignId, packetId))!.letters).toBe(3);
    const after = unescapeHtml((await organizer.agent.get(DELIVERY).expect(200)).text);
    expect(after).toMatch(
      /Ada Testwell[\s\S]*?<td class="num">1<\/td>[\s\S]*?<td class="num">3<\/td>/,
    );
    expect(after).toContain(`Packet ${packetId}`);
  });

  it('prints the packet as a PDF: a cover of counts and addresses (no names), then each letter on its own page', async () => {
    const answer = await organizer.agent
      .get(`${DELIVERY}/packets/${packetId}/letters.pdf`)
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(answer.headers['content-type']).toBe('application/pdf');
    expect(answer.headers['content-disposition']).toMatch(
      /^attachment; filename="?ban-facial-recognition-packet-\d+-ada-testwell\.pdf"?$/,
    );
    expect(answer.headers['cache-control']).toBe('no-store');
    const pdf = answer.body as Buffer;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.subarray(-6).toString()).toMatch(/%%EOF\s*$/);

    const pages = pdfPages(pdf);
    expect(pages).toHaveLength(1 + writers.length);
    const cover = pages[0]!.join('\n');
    expect(cover).toContain('LETTERS FROM CONSTITUENTS');
    expect(cover).toContain('Ada Testwell');
    expect(cover).toContain('1 Longworth House Office Building Washington DC 20515-0601');
    expect(cover).toContain('Washington office');
    expect(cover).toMatch(/^3$/m);
    expect(cover).toContain('CO-1: 3');
    expect(cover).toContain('ZIP codes 800xx: 3');
    for (const name of [...writers, 'Zack Late']) expect(cover).not.toContain(name);
    writers.forEach((name, index) => {
      const letter = pages[index + 1]!.join('\n');
      expect(letter).toContain(`Letter ${index + 1} of 3`);
      expect(letter).toContain('Subject: ');
      expect(letter).toContain(`I, ${name}, live in CO-1.`);
      expect(letter).toContain(name);
    });
    expect(pdfText(pdf)).not.toContain('Zack Late');

    const text = (
      await organizer.agent.get(`${DELIVERY}/packets/${packetId}/letters.txt`).expect(200)
    ).text;
    expect(text.startsWith('LETTERS FROM CONSTITUENTS')).toBe(true);
    expect(text.split('\f')).toHaveLength(4);
    for (const name of writers) expect(text).toContain(`I, ${name}, live in CO-1.`);
    expect(text).not.toContain('Zack Late');
    expect((await audits('packet.download')).map((entry) => entry.details)).toEqual([
      { packetId, format: 'pdf', letters: 3 },
      { packetId, format: 'txt', letters: 3 },
    ]);
  });

  it('refuses a date in the future or before the packet, with a field error, and moves nothing', async () => {
    const page = `${DELIVERY}/packets/${packetId}`;
    const before = await countsOf(HOUSE);
    for (const [deliveredOn, message] of [
      ['2999-01-01', /in the future/],
      ['2001-01-01', /prepared on/],
      ['2026-02-30', /does not exist/],
      ['yesterday', /YYYY-MM-DD/],
    ] as const) {
      const answer = await organizer.agent
        .post(`${page}/delivered`)
        .type('form')
        .send({ _csrf: await pageToken(page), deliveredOn })
        .expect(400);
      expect(unescapeHtml(answer.text)).toMatch(message);
      expect(answer.text).toContain('href="#field-deliveredOn"');
      expect(answer.text).toContain('aria-invalid="true"');
    }
    const long = await organizer.agent
      .post(`${page}/delivered`)
      .type('form')
      .send({ _csrf: await pageToken(page), deliveredOn: today(), note: 'x'.repeat(501) })
      .expect(400);
    expect(long.text).toContain('Shorten the note to 500 characters.');
    expect(await countsOf(HOUSE)).toEqual(before);
    expect((await findPacket(t.platform.db, campaignId, packetId))!.deliveredAt).toBeNull();
  });

  it('marks it delivered: its letters move to delivered by hand on that day, counts once, audited; the pages say so', async () => {
    const before = await countsOf(HOUSE);
    const page = `${DELIVERY}/packets/${packetId}`;
    const day = today();
    await organizer.agent
      .post(`${page}/delivered`)
      .type('form')
      .send({ _csrf: await pageToken(page), deliveredOn: day, note: 'Left with the front desk' })
      .expect(303);

    for (const token of tokens) {
      const [letter] = await lettersOf(token);
      expect(letter).toMatchObject({
        status: 'delivered',
        delivered_as: 'hand',
        packet_id: packetId,
      });
      expect(new Date(letter!.delivered_at!).toISOString()).toBe(`${day}T12:00:00.000Z`);
      expect(await statusPage(token)).toContain(`Delivered by hand on ${longDay(day)}.`);
      const json = (await request(t.app).get(`/api/v1/letters/${token}`).expect(200)).body;
      expect(json.letters[0]).toMatchObject({
        status: 'delivered',
        deliveredAs: 'hand',
        statusText: `Delivered by hand on ${longDay(day)}.`,
      });
    }
    // The letter written after the packet still waits.
    expect((await lettersOf(late))[0]).toMatchObject({ status: 'hand-delivery', packet_id: null });
    expect(await countsOf(HOUSE)).toEqual(
      nonZero({
        ...before,
        'hand-delivery': before['hand-delivery']! - 3,
        delivered: (before.delivered ?? 0) + 3,
      }),
    );
    const [entry] = await audits('packet.deliver');
    expect(entry).toMatchObject({
      actor: organizer.email,
      campaignId,
      details: { packetId, target: HOUSE, deliveredOn: day, letters: 3, note: true },
    });
    expect(JSON.stringify(entry!.details)).not.toMatch(/Packet|front desk/);
    const shown = unescapeHtml((await organizer.agent.get(page).expect(200)).text);
    expect(shown).toContain(`Delivered</dt><dd>${longDay(day)}`);
    expect(shown).toContain('Left with the front desk');
    expect(shown).not.toContain('Mark it delivered');
  });

  it('marking it delivered again moves nothing, and says so', async () => {
    const before = await countsOf(HOUSE);
    const page = `${DELIVERY}/packets/${packetId}`;
    const token = csrfTokenOf((await organizer.agent.get(DELIVERY).expect(200)).text);
    await organizer.agent
      .post(`${page}/delivered`)
      .type('form')
      .send({ _csrf: token, deliveredOn: today() })
      .expect(303);
    const shown = unescapeHtml((await organizer.agent.get(page).expect(200)).text);
    expect(shown).toContain(
      `Packet ${packetId} was already marked delivered (${today()}): nothing changed.`,
    );
    expect(await countsOf(HOUSE)).toEqual(before);
    expect(await audits('packet.deliver')).toHaveLength(1);
    // Nothing left to pack for an office whose letters are all in packets: no empty packet is made.
    const second = await preparePacketFor(HOUSE);
    expect((await findPacket(t.platform.db, campaignId, second))!.letters).toBe(1);
    const empty = await organizer.agent
      .post(`${DELIVERY}/packets`)
      .type('form')
      .send({ _csrf: token, target: HOUSE })
      .expect(303);
    expect(empty.headers.location).toBe(DELIVERY);
    expect(
      await t.platform.db.select().from(handPackets).where(eq(handPackets.targetKey, HOUSE)),
    ).toHaveLength(2);
  });

  it('two staff preparing at once never put one letter in two packets', async () => {
    for (const name of ['Race One', 'Race Two', 'Race Three']) await write(name, [SENATOR_NONE]);
    const token = await pageToken(DELIVERY);
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        organizer.agent
          .post(`${DELIVERY}/packets`)
          .type('form')
          .send({ _csrf: token, target: SENATOR_NONE }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([303, 303, 303]);
    const packets = await t.platform.db
      .select()
      .from(handPackets)
      .where(eq(handPackets.targetKey, SENATOR_NONE));
    expect(packets.reduce((sum, packet) => sum + packet.letters, 0)).toBe(3);
    const [packed] = await queryRows<{ n: number; packets: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n, count(DISTINCT packet_id)::int AS packets FROM letters WHERE target_key = ${SENATOR_NONE} AND packet_id IS NOT NULL`,
    );
    expect(packed).toEqual({ n: 3, packets: packets.length });
  });
});

/** supertest's parser for a binary body. */
const binary: Parameters<request.Test['parse']>[0] = (res, done) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};

describe('a packet of 5,000 letters', () => {
  // 5,005 waiting: a packet takes the oldest PACKET_MAX (5,000), the next packet the rest.
  const total = PACKET_MAX;
  const waiting = total + 5;
  const office = 'custom:5000';
  let packetId: number;

  beforeAll(async () => {
    const [action] = await t.platform.db
      .insert(letterActions)
      .values(
        letterActionValues(t.platform.encryption, {
          campaignId,
          statusToken: 'x'.repeat(32),
          name: 'Many Writers',
          email: 'many@example.org',
          zip: '80010',
          congressionalDistrict: '0801',
        }),
      )
      .returning({ id: letterActions.id });
    for (let first = 1; first <= waiting; first += 1000) {
      await t.platform.db.insert(lettersTable).values(
        Array.from({ length: Math.min(1000, waiting - first + 1) }, (_, index) => {
          const n = first + index;
          return letterValues(t.platform.encryption, {
            actionId: action!.id,
            campaignId,
            idempotencyKey: `${action!.id}:${office}:${n}`,
            targetKey: office,
            office: 'custom',
            targetName: 'Big City Council',
            targetTitle: 'City council',
            channel: 'hand' as const,
            subject: `Letter number ${n}`,
            body: `Dear Council,\n\nThis is letter ${n} of the many. ${'Ban face surveillance now. '.repeat(20)}\n\nWriter ${n}`,
            status: 'hand-delivery' as const,
            countedStatus: 'hand-delivery' as const,
          });
        }),
      );
    }
    await t.platform.db.execute(sql`
      WITH moved AS (SELECT id, NULL::text AS previous, counted_status AS next FROM letters WHERE target_key = ${office})
      ${countMoves('moved')}`);
    packetId = await preparePacketFor(office);
  }, 120_000);

  it('takes at most PACKET_MAX letters, the oldest, and leaves the rest for the next packet', async () => {
    const packet = (await findPacket(t.platform.db, campaignId, packetId))!;
    expect(packet.letters).toBe(PACKET_MAX);
    const [newest] = await queryRows<{ subject: Uint8Array }>(
      t.platform.db,
      sql`SELECT subject FROM letters WHERE packet_id = ${packetId}::bigint ORDER BY id DESC LIMIT 1`,
    );
    expect(t.platform.encryption.open('letters.subject', newest!.subject)).toBe(
      `Letter number ${PACKET_MAX}`,
    );
    const [rest] = await queryRows<{ n: number }>(
      t.platform.db,
      sql`SELECT count(*)::int AS n FROM letters WHERE target_key = ${office} AND packet_id IS NULL`,
    );
    expect(rest!.n).toBe(waiting - PACKET_MAX);
  });

  it('streams the PDF in chunks as it is written, every letter in it', async () => {
    let chunks = 0;
    const answer = await organizer.agent
      .get(`${DELIVERY}/packets/${packetId}/letters.pdf`)
      .buffer(true)
      .parse((res, done) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks++;
          parts.push(chunk);
        });
        res.on('end', () => done(null, Buffer.concat(parts)));
      })
      .expect(200);
    expect(answer.headers['content-type']).toBe('application/pdf');
    // Streamed: sent in chunks as it is made, its length not known beforehand.
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(answer.headers['content-length']).toBeUndefined();
    expect(chunks).toBeGreaterThan(50);
    const pages = pdfPages(answer.body as Buffer);
    const cover = pages[0]!.join('\n');
    expect(cover).toMatch(/^5,000$/m);
    expect(cover).toContain('CO-1: 5,000');
    const headings = pages.flat().filter((line) => /^Letter [\d,]+ of 5,000/.test(line));
    expect(headings).toHaveLength(total);
    expect(headings[total - 1]).toMatch(/^Letter 5,000 of 5,000/);
    const text = pages.flat().join('\n');
    for (const n of [1, 2500, 5000]) expect(text).toContain(`Subject: Letter number ${n}`);
  }, 120_000);

  it('reads the letters a page at a time, and stops reading while the reader does not keep up', async () => {
    const packet = (await findPacket(t.platform.db, campaignId, packetId))!;
    const source = await packetSource(t.platform, { packet });
    const pagesRead: number[] = [];
    const read = source.letters.bind(source);
    source.letters = async (after, limit) => {
      const page = await read(after, limit);
      pagesRead.push(page.length);
      return page;
    };
    // A reader that takes nothing until told to.
    const waiting: Array<() => void> = [];
    let flowing = false;
    const reader = new Writable({
      highWaterMark: 16 * 1024,
      write(_chunk, _encoding, done) {
        if (flowing) done();
        else waiting.push(done);
      },
    });
    const written = writePacketPdf(source, reader);
    // Wait until the writer has stopped reading (no new page for a while), then check how far it got.
    let seen = -1;
    let still = 0;
    await eventually(async () => {
      still = pagesRead.length === seen ? still + 1 : 0;
      seen = pagesRead.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return still >= 5;
    }, 60_000);
    expect(pagesRead.length).toBeGreaterThan(0);
    expect(pagesRead.length * PACKET_PAGE_LETTERS).toBeLessThan(total / 4);
    flowing = true;
    waiting.splice(0).forEach((done) => done());
    expect(await written).toMatchObject({ letters: total });
    // Every query read one page at most; together they read each letter once.
    expect(Math.max(...pagesRead)).toBe(PACKET_PAGE_LETTERS);
    expect(pagesRead.reduce((sum, n) => sum + n, 0)).toBe(total);
    expect(pagesRead.length).toBe(total / PACKET_PAGE_LETTERS + 1);
  }, 120_000);
});

describe('held and failed letters', () => {
  it('lists failed letters with their reason', async () => {
    const token = await write('Fay Failed', [SENATOR_NONE]);
    const [letter] = await lettersOf(token);
    await changeLetterStatus(
      t.platform.db,
      letter!.id,
      'hand-delivery',
      'failed',
      sql`, last_error = ${'CWC answered 400: <Error>Prefix is not one of the listed honorifics</Error>'}`,
    );
    const page = unescapeHtml((await organizer.agent.get(DELIVERY).expect(200)).text);
    const failed = page.slice(page.indexOf('id="failed"'));
    expect(failed).toContain('Dev Upperhouse');
    expect(failed).toContain(
      'CWC answered 400: <Error>Prefix is not one of the listed honorifics</Error>',
    );
  });

  it('releases a held letter (queued, its delivery asked for) or cancels it (failed, by staff), counts moving once, audited', async () => {
    const release = await write('Hal Held', [GOVERNOR]);
    const cancel = await write('Cat Held', [GOVERNOR]);
    const handHeld = await write('Han Held', [SENATOR_NONE]);
    // What the officials refresh does when an office changes hands: queued letters are held.
    for (const token of [release, cancel]) {
      const [letter] = await lettersOf(token);
      expect(
        await changeLetterStatus(
          t.platform.db,
          letter!.id,
          'queued',
          'held',
          sql`, last_error = 'Nia Governor left office'`,
        ),
      ).toBe(true);
    }
    const [hand] = await lettersOf(handHeld);
    expect(await changeLetterStatus(t.platform.db, hand!.id, 'hand-delivery', 'held')).toBe(true);
    const before = await countsOf(GOVERNOR);
    expect(before.held).toBe(2);
    expect(await statusPage(release)).toContain('the office changed hands after you wrote');

    const page = unescapeHtml((await organizer.agent.get(DELIVERY).expect(200)).text);
    expect(page.slice(page.indexOf('id="held"'))).toContain('Nia Governor left office');
    const token = csrfTokenOf(page);
    const [released] = await lettersOf(release);
    await t.platform.queues.get('delivery').drain(true);
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ _csrf: token, letter: String(released!.id), action: 'release' })
      .expect(303);
    expect((await lettersOf(release))[0]).toMatchObject({ status: 'queued' });
    const jobs = await t.platform.queues
      .get('delivery')
      .getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((job) => job.data)).toContainEqual(
      expect.objectContaining({ letterId: released!.id }),
    );

    const [cancelled] = await lettersOf(cancel);
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ _csrf: token, letter: String(cancelled!.id), action: 'cancel' })
      .expect(303);
    const [row] = await queryRows<{ status: string; last_error: string }>(
      t.platform.db,
      sql`SELECT status, last_error FROM letters WHERE id = ${cancelled!.id}`,
    );
    expect(row).toEqual({ status: 'failed', last_error: 'cancelled by staff' });
    expect(await statusPage(cancel)).toContain('The campaign cancelled this letter');

    // A letter no longer held is left alone: releasing it again changes nothing.
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ _csrf: token, letter: String(released!.id), action: 'cancel' })
      .expect(303);
    expect((await lettersOf(release))[0]).toMatchObject({ status: 'queued' });
    expect(await countsOf(GOVERNOR)).toEqual(
      nonZero({
        ...before,
        held: 0,
        queued: (before.queued ?? 0) + 1,
        failed: (before.failed ?? 0) + 1,
      }),
    );

    // An office's held letters all at once; a letter that travels by hand goes back to waiting for it.
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ _csrf: token, target: SENATOR_NONE, action: 'release' })
      .expect(303);
    expect((await lettersOf(handHeld))[0]).toMatchObject({ status: 'hand-delivery' });
    expect((await audits('letters.release')).map((entry) => entry.details)).toEqual([
      { letterId: released!.id },
      { target: SENATOR_NONE, letters: 1 },
    ]);
    expect((await audits('letters.cancel')).map((entry) => entry.details)).toEqual([
      { letterId: cancelled!.id },
    ]);
    // Nothing but the form's choices is taken.
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ _csrf: token, letter: 'all', action: 'delete' })
      .expect(303);
    await organizer.agent
      .post(`${DELIVERY}/held`)
      .type('form')
      .send({ letter: String(released!.id), action: 'cancel' })
      .expect(403);
  });

  it('when an office changes hands, holds its letters waiting for hand delivery outside a packet, and leaves a prepared packet to staff', async () => {
    const packed = await write('Pat Packed', [SENATOR_NONE]);
    await preparePacketFor(SENATOR_NONE);
    const loose = await write('Lou Loose', [SENATOR_NONE]);
    const held = await t.platform.db.transaction((tx) =>
      holdLettersToDeparted(tx, [
        { targetKey: SENATOR_NONE, name: 'Dev Upperhouse', successor: null },
      ]),
    );
    expect(held).toBe(1);
    expect((await lettersOf(loose))[0]).toMatchObject({ status: 'held' });
    expect((await lettersOf(packed))[0]).toMatchObject({ status: 'hand-delivery' });
  });
});

describe('send it yourself', () => {
  it('offers the letter to copy, the office contact form, and "I sent it", which counts it as sent by the supporter once', async () => {
    const token = await write('Sam Self', [SENATOR_FORM, SENATOR_NONE], 'I care about this.');
    const before = await countsOf(SENATOR_FORM);
    const page = await request(t.app).get(`/letters/${token}`).expect(200);
    const html = page.text;
    expect(html).toContain('href="https://senatorial.senate.example.gov/contact"');
    expect(html).toMatch(
      /<label for="(letter-\d-body)">[^<]+<\/label>\s*<textarea id="\1"[^>]*readonly>/,
    );
    expect(unescapeHtml(html)).toContain('I care about this.');
    // Dev Upperhouse publishes no way in: nothing to offer.
    expect(html.match(/I sent it/g)).toHaveLength(1);

    // Without the form's CSRF token, refused.
    await request(t.app)
      .post(`/letters/${token}/self-sent`)
      .type('form')
      .send({ target: SENATOR_FORM })
      .expect(403);
    const supporter = request.agent(t.app);
    const form = await supporter.get(`/letters/${token}`).expect(200);
    const fields = hiddenFields(form.text);
    const sent = await supporter
      .post(`/letters/${token}/self-sent`)
      .type('form')
      .send({ _csrf: fields._csrf, target: SENATOR_FORM })
      .expect(303);
    expect(sent.headers.location).toMatch(
      new RegExp(`^/letters/${token}\\?reported=reported#letter-\\d$`),
    );
    const letter = (await lettersOf(token)).find((each) => each.target_key === SENATOR_FORM);
    expect(letter).toMatchObject({ status: 'self-sent', delivered_as: null });
    expect(letter!.delivered_at).not.toBeNull();
    const after = unescapeHtml(
      (await supporter.get(String(sent.headers.location)).expect(200)).text,
    );
    expect(after).toContain('Thank you: we count this letter as sent by you.');
    expect(after).toContain(`You sent it yourself on ${longDay(today())}.`);
    expect(after).not.toContain('I sent it');
    expect(await countsOf(SENATOR_FORM)).toEqual(
      nonZero({ ...before, 'hand-delivery': before['hand-delivery']! - 1, 'self-sent': 1 }),
    );
    const json = (await request(t.app).get(`/api/v1/letters/${token}`).expect(200)).body;
    expect(
      json.letters.find((each: { to: string }) => each.to === 'Cora Senatorial'),
    ).toMatchObject({ status: 'self-sent', deliveredAs: null });

    // A second report changes nothing.
    const again = await supporter
      .post(`/letters/${token}/self-sent`)
      .type('form')
      .send({ _csrf: fields._csrf, target: SENATOR_FORM })
      .expect(303);
    expect(again.headers.location).toContain('reported=already');
    expect(unescapeHtml((await supporter.get(String(again.headers.location))).text)).toContain(
      'You had already told us',
    );
    expect(await countsOf(SENATOR_FORM)).toEqual(
      nonZero({ ...before, 'hand-delivery': before['hand-delivery']! - 1, 'self-sent': 1 }),
    );

    // A letter with no way in, or one on its way, is not the supporter's to report: a clear answer, nothing changes.
    const refused = await supporter
      .post(`/letters/${token}/self-sent`)
      .type('form')
      .send({ _csrf: fields._csrf, target: SENATOR_NONE })
      .expect(409);
    expect(unescapeHtml(refused.text)).toContain(
      'Nothing has changed: only a letter we could not deliver electronically',
    );
    expect((await lettersOf(token)).find((each) => each.target_key === SENATOR_NONE)).toMatchObject(
      { status: 'hand-delivery' },
    );
    await supporter
      .post(`/letters/${token}/self-sent`)
      .type('form')
      .send({ _csrf: fields._csrf, target: 'us-senate:nobody' })
      .expect(400);
  });

  it('offers a mailto: link with the subject and the letter for an office with an email address whose letter failed', async () => {
    const token = await write('Mo Mail', [GOVERNOR]);
    const [letter] = await lettersOf(token);
    await changeLetterStatus(
      t.platform.db,
      letter!.id,
      'queued',
      'failed',
      sql`, last_error = '550 mailbox unavailable'`,
    );
    const html = (await request(t.app).get(`/letters/${token}`).expect(200)).text;
    const mailto = unescapeHtml(/href="(mailto:[^"]+)"/.exec(html)?.[1] ?? '');
    const url = new URL(mailto);
    expect(url.pathname).toBe('governor@state.co.example.gov');
    const [opened] = await queryRows<{ subject: Uint8Array; body: Uint8Array }>(
      t.platform.db,
      sql`SELECT subject, body FROM letters WHERE id = ${letter!.id}`,
    );
    expect(url.searchParams.get('subject')).toBe(
      t.platform.encryption.open('letters.subject', opened!.subject),
    );
    expect(url.searchParams.get('body')).toBe(
      t.platform.encryption.open('letters.body', opened!.body).replace(/\n/g, '\r\n'),
    );
    expect(unescapeHtml(html)).toContain('It could not be delivered.');
    // The failure's technical reason is for staff, not shown here.
    expect(html).not.toContain('550 mailbox');
  });
});

describe('the status page says where each letter is', () => {
  it('in words for every state, never "Delivered" for a rehearsal or a file', async () => {
    const token = await write('Val Words', [GOVERNOR, SENATOR_NONE]);
    const written = await lettersOf(token);
    const governor = written.find((letter) => letter.target_key === GOVERNOR);
    const senator = written.find((letter) => letter.target_key === SENATOR_NONE);
    const page = async () =>
      unescapeHtml((await request(t.app).get(`/letters/${token}`).expect(200)).text);
    expect(await page()).toContain('Waiting to be sent.');
    expect(await page()).toContain('The campaign will deliver it by hand');
    // As the delivery worker records a rehearsal; then how the other ways of delivery read.
    expect(
      await changeLetterStatus(
        t.platform.db,
        governor!.id,
        'queued',
        'rehearsed',
        sql`, delivered_as = 'rehearsal', delivered_at = '2026-03-02T15:00:00Z'`,
      ),
    ).toBe(true);
    let text = await page();
    expect(text).toContain('Rehearsal');
    expect(text).toContain(
      'the campaign was rehearsing when you wrote, so it went to the campaign’s own test address',
    );
    expect(text).not.toMatch(/>Delivered</);
    await t.platform.db
      .update(lettersTable)
      .set({ channel: 'cwc' })
      .where(eq(lettersTable.id, governor!.id));
    expect(await page()).toContain(
      'Congress’s validation service checked it without delivering it',
    );
    expect(
      await changeLetterStatus(
        t.platform.db,
        governor!.id,
        'rehearsed',
        'delivered',
        sql`, delivered_as = 'file'`,
      ),
    ).toBe(true);
    text = await page();
    expect(text).toContain('written to a file on the server and went nowhere');
    expect(text).not.toMatch(/>Delivered</);
    await t.platform.db
      .update(lettersTable)
      .set({ deliveredAs: 'office' })
      .where(eq(lettersTable.id, governor!.id));
    expect(await page()).toContain('Delivered on March 2, 2026.');
    await changeLetterStatus(
      t.platform.db,
      governor!.id,
      'delivered',
      'retrying',
      sql`, delivered_as = NULL, delivered_at = NULL`,
    );
    expect(await page()).toContain('Not through yet: we keep trying.');
    await changeLetterStatus(t.platform.db, senator!.id, 'hand-delivery', 'held');
    expect(await page()).toContain('Waiting for the campaign: the office changed hands');
    // Each status pill is one short label.
    const html = (await request(t.app).get(`/letters/${token}`).expect(200)).text;
    expect(
      [...html.matchAll(/class="badge status-pill[^"]*">([^<]+)</g)]
        .map((match) => match[1])
        .sort(),
    ).toEqual(['On hold', 'Retrying']);
  });
});

describe('npm run letters:hand-delivery', () => {
  it('writes, for scripts, the letters waiting outside packets per office, or one packet, as text and PDF, and changes nothing', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'frb-hand-cli-'));
    try {
      const cli = (args: string[]) =>
        runCommand(
          path.join('letters', 'export-hand-delivery.ts'),
          ['--campaign', SLUG, '--out', out, ...args],
          {
            DATABASE_URL: t.platform.config.databaseUrl,
            APP_SECRET: t.platform.config.secret,
            ...encryptionEnv(t.platform.config),
            DATA_DIR: t.platform.config.dataDir,
          },
        );
      const before = await queryRows(
        t.platform.db,
        sql`SELECT id, status, packet_id FROM letters ORDER BY id`,
      );
      const waiting = await cli(['--pdf']);
      expect(waiting).toMatchObject({ code: 0, stderr: '' });
      const files = readdirSync(out).sort();
      expect(files).toContain('us-senate_T000004.txt');
      expect(files).toContain('us-senate_T000004.pdf');
      // Ada Testwell's letters are all in packets: nothing of hers is waiting outside one.
      expect(files.some((file) => file.startsWith('us-house'))).toBe(false);
      expect(statSync(path.join(out, 'us-senate_T000004.txt')).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(out, 'us-senate_T000004.pdf')).subarray(0, 5).toString()).toBe(
        '%PDF-',
      );

      const [first] = await t.platform.db
        .select()
        .from(handPackets)
        .where(eq(handPackets.targetKey, HOUSE))
        .orderBy(handPackets.id)
        .limit(1);
      const packet = await cli(['--packet', String(first!.id)]);
      expect(packet).toMatchObject({
        code: 0,
        stdout: expect.stringContaining('3 letters for 1 office'),
      });
      expect(readFileSync(path.join(out, `packet-${first!.id}.txt`), 'utf8')).toContain(
        'I, Wanda Packet, live in CO-1.',
      );
      expect(
        await queryRows(t.platform.db, sql`SELECT id, status, packet_id FROM letters ORDER BY id`),
      ).toEqual(before);

      expect(await cli(['--packet', '999999'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('has no packet 999999'),
      });
      expect(await cli(['--packet', 'x'])).toMatchObject({ code: 2 });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the letters export', () => {
  it("counts each office's letters: delivered by us, by hand, sent by supporters, waiting, held, failed, as the letters table does", async () => {
    const viewer = await signInAs(t.app, t.platform.db, 'viewer');
    const answer = await viewer.agent
      .post(`/staff/campaigns/${SLUG}/exports`)
      .type('form')
      .send({ _csrf: viewer.token, kind: 'letters' })
      .expect(200);
    expect(answer.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parse<Record<string, string>>(answer.text, { columns: true });
    const truth = await queryRows<Record<string, number | string>>(
      t.platform.db,
      sql`SELECT target_key AS target,
                 count(*) FILTER (WHERE status = 'delivered' AND delivered_as IS DISTINCT FROM 'hand')::int AS delivered_by_us,
                 count(*) FILTER (WHERE status = 'delivered' AND delivered_as = 'hand')::int AS delivered_by_hand,
                 count(*) FILTER (WHERE status = 'self-sent')::int AS sent_by_supporter,
                 count(*) FILTER (WHERE status = 'rehearsed')::int AS rehearsal_only,
                 count(*) FILTER (WHERE status IN ('queued', 'sending', 'retrying'))::int AS waiting_to_send,
                 count(*) FILTER (WHERE status = 'hand-delivery')::int AS waiting_for_hand_delivery,
                 count(*) FILTER (WHERE status = 'held')::int AS held,
                 count(*) FILTER (WHERE status = 'failed')::int AS failed,
                 count(*)::int AS total
          FROM letters WHERE campaign_id = ${campaignId} GROUP BY 1`,
    );
    const numbers = [
      'delivered_by_us',
      'delivered_by_hand',
      'sent_by_supporter',
      'rehearsal_only',
      'waiting_to_send',
      'waiting_for_hand_delivery',
      'held',
      'failed',
      'total',
    ];
    const asRow = (row: Record<string, number | string>) =>
      Object.fromEntries(['target', ...numbers].map((column) => [column, String(row[column])]));
    expect(
      rows.map((row) => asRow(row)).sort((a, b) => a.target!.localeCompare(b.target!)),
    ).toEqual(truth.map(asRow).sort((a, b) => a.target!.localeCompare(b.target!)));
    expect(Object.keys(rows[0]!)).toEqual(['office_holder', 'office', ...numbers, 'target']);
    const house = rows.find((row) => row.target === HOUSE)!;
    expect(house).toMatchObject({
      office_holder: 'Ada Testwell',
      office: 'U.S. Representative, CO-1',
      delivered_by_hand: '3',
      delivered_by_us: '0',
    });
    expect(rows.find((row) => row.target === SENATOR_FORM)).toMatchObject({
      office_holder: 'Cora Senatorial',
      sent_by_supporter: '1',
    });
    expect(rows.find((row) => row.target === 'custom:5000')).toMatchObject({
      office_holder: 'Big City Council',
      waiting_for_hand_delivery: '5005',
    });
    const [entry] = await audits('export.letters');
    expect(entry).toMatchObject({
      actor: viewer.email,
      details: { rows: rows.length, delivery: 'download' },
    });
  });
});
