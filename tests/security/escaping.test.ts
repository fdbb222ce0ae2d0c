import { parse } from 'csv-parse/sync';
import { eq } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { letterTemplates, signatures } from '../../src/db/schema';
import { unescapeHtml } from '../helpers/html';
import { eventually } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';
import { csrfTokenOf } from '../helpers/staff';
import { expectSafeHtml } from './safe-html';
import {
  buildHostileWorld,
  CLOSING,
  CORE,
  CUSTOM_TARGET_EMAIL,
  HOSTILE,
  MARKUP,
  pagesOf,
  SIGNER_EMAIL,
  SLUG,
  WRITER_EMAIL,
  type HostileWorld,
} from './hostile-world';

/**
 * Script and HTML in every field a supporter or staff member can fill, read back everywhere it
 * shows: every public and staff page (escaped, never markup), the letters and confirmation emails
 * (plain text, exactly as typed, no Handlebars evaluated), and the CSV exports (formulas
 * neutralised).
 */
let world: HostileWorld;

beforeAll(async () => {
  world = await buildHostileWorld();
}, 180_000);
afterAll(async () => {
  await world?.close();
});

describe('pages', () => {
  it.each([
    'representatives',
    'representativesErrors',
    'letterTargets',
    'letterPreview',
    'signingErrors',
    'letterErrors',
  ] as const)('the page answered to a form (%s) shows the hostile text as text', (name) => {
    const html = world.formPages[name];
    expectSafeHtml(html, name);
    expect(unescapeHtml(html)).toContain(CORE);
  });

  it('every page, public and staff, shows the hostile text as text', async () => {
    const agents = {
      visitor: request(world.t.app),
      organizer: world.organizer.agent,
      admin: world.admin.agent,
      partner: world.partner.agent,
    };
    for (const page of pagesOf(world)) {
      const answer = await agents[page.as].get(page.path);
      expect({ page: page.path, status: answer.status }).toEqual({
        page: page.path,
        status: page.status ?? 200,
      });
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      expectSafeHtml(answer.text, page.path);
      if (page.shows)
        expect({ page: page.path, shown: unescapeHtml(answer.text).includes(CORE) }).toEqual({
          page: page.path,
          shown: true,
        });
    }
  });

  it('the letters as the supporter previews and follows them carry the text exactly as typed', async () => {
    const status = await request(world.t.app).get(world.statusPath).expect(200);
    const text = unescapeHtml(status.text);
    expect(text).toContain(HOSTILE);
    expect(text).toContain(CLOSING);
    // The JSON door answers JSON, which no browser renders as a page.
    const token = world.statusPath.split('/').pop();
    const json = await request(world.t.app).get(`/api/v1/letters/${token}`).expect(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.headers['x-content-type-options']).toBe('nosniff');
    expect(json.body.letters.map((letter: { subject: string }) => letter.subject)).toContain(
      HOSTILE,
    );
  });

  it('a letter to send yourself, and its hand-delivery packet, carry the text exactly as typed', async () => {
    const status = await request(world.t.app).get(world.selfSendStatusPath).expect(200);
    expectSafeHtml(status.text, 'self-send status page');
    // Ready to copy: in a read-only field and text area, escaped, and so exactly as written once read.
    expect(
      unescapeHtml(
        /<input type="text" id="letter-1-subject" class="copy" readonly value="([^"]*)">/.exec(
          status.text,
        )?.[1] ?? '',
      ),
    ).toBe(HOSTILE);
    expect(
      unescapeHtml(
        /<textarea id="letter-1-body"[^>]*>([^<]*)<\/textarea>/.exec(status.text)?.[1] ?? '',
      ),
    ).toContain(HOSTILE);
    const text = await world.organizer.agent.get(`${world.packetPath}/letters.txt`).expect(200);
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.text).toContain(`Subject: ${HOSTILE}`);
    expect(text.text).toContain(`${HOSTILE}\n`);
  });

  it('staff cannot put Handlebars code in a letter template: it is refused, with the reason', async () => {
    const page = await world.organizer.agent
      .get(`/staff/campaigns/${SLUG}/templates?level=federal`)
      .expect(200);
    const token = csrfTokenOf(page.text);
    const before = await world.t.platform.db.select().from(letterTemplates);
    for (const body of [
      'Dear {{target.name}},\n{{constructor}}',
      '{{constructor.constructor "alert(1)"}}',
      '{{#with supporter}}{{name}}{{/with}}',
      '{{> partial}}',
      '{{{supporter.name}}}x{{lookup supporter "name"}}',
    ]) {
      const answer = await world.organizer.agent
        .post(`/staff/campaigns/${SLUG}/templates/federal`)
        .type('form')
        .send({ _csrf: token, action: 'save', subject: 'Subject', body, zip: '80010' })
        .expect(400);
      expectSafeHtml(answer.text, `template ${body}`);
      const preview = await world.organizer.agent
        .post(`/staff/campaigns/${SLUG}/templates/federal/preview`)
        .type('form')
        .send({ _csrf: token, subject: 'Subject', body, zip: '80010' })
        .expect(400);
      expect(preview.body.errors.body).toBeDefined();
    }
    expect(await world.t.platform.db.select().from(letterTemplates)).toEqual(before);
  });
});

describe('mail', () => {
  const addresses = (mail: ParsedMail, field: 'to' | 'cc' | 'bcc' | 'replyTo') => {
    const value = mail[field];
    return (Array.isArray(value) ? value : value ? [value] : []).flatMap((group) => group.value);
  };
  const letters = () => world.sink.messages.filter((mail) => mail.headers.get('x-letter-id'));

  it('every message is plain text with only the headers the platform sets', () => {
    expect(world.sink.messages.length).toBeGreaterThanOrEqual(3);
    for (const mail of world.sink.messages) {
      expect(mail.html).toBe(false);
      expect(mail.attachments).toEqual([]);
      expect(
        [...mail.headers.keys()].filter((key) =>
          ['bcc', 'cc', 'sender', 'return-path'].includes(key),
        ),
      ).toEqual([]);
      expect(addresses(mail, 'cc')).toEqual([]);
      expect(addresses(mail, 'bcc')).toEqual([]);
      // One recipient each, a real one.
      expect(addresses(mail, 'to')).toHaveLength(1);
      expect(mail.subject ?? '').not.toMatch(/[\r\n]/);
      expect(mail.text ?? '').not.toMatch(/function Object\(\)|\[native code\]/);
    }
  });

  it('a letter carries the supporter’s words exactly, and their name only as a Reply-To display name', () => {
    const toCouncil = letters().find(
      (mail) => addresses(mail, 'to')[0]?.address === CUSTOM_TARGET_EMAIL,
    );
    expect(toCouncil).toBeDefined();
    expect(toCouncil!.subject).toBe(HOSTILE);
    expect(addresses(toCouncil!, 'replyTo')).toEqual([{ name: HOSTILE, address: WRITER_EMAIL }]);
    expect(toCouncil!.from?.value).toEqual([{ name: '', address: 'letters@coalition.example' }]);
    const text = toCouncil!.text ?? '';
    // The target's name and title from the CSV in the greeting; the note, the body and the closing as typed.
    expect(text).toContain(HOSTILE);
    expect(text).toContain(CLOSING);
    expect(text).toContain('{{constructor}}');
    // Every letter, whichever template drew it, is as plain.
    for (const mail of letters()) expect(mail.text).toContain('Ban police facial recognition.');
  });

  it('the signer’s thank-you carries the campaign title exactly, as plain text', async () => {
    await eventually(
      async () =>
        world.sink.messages.some((mail) => addresses(mail, 'to')[0]?.address === SIGNER_EMAIL),
      30_000,
    );
    const thanks = world.sink.messages.find(
      (mail) => addresses(mail, 'to')[0]?.address === SIGNER_EMAIL,
    )!;
    expect(thanks.html).toBe(false);
    expect(thanks.subject).toBe(`Thank you for signing: ${HOSTILE}`);
    expect(thanks.text).toContain(`"${HOSTILE}"`);
  });

  it('the writer’s confirmation carries the campaign title exactly, and not the letters (only the platform’s words go to a typed address)', () => {
    const copy = world.sink.messages.find(
      (mail) => addresses(mail, 'to')[0]?.address === WRITER_EMAIL,
    );
    expect(copy).toBeDefined();
    expect(copy!.subject).toBe(`Your letters: ${HOSTILE}`);
    expect(copy!.text).toContain(`"${HOSTILE}"`);
    expect(copy!.text).not.toContain(CLOSING);
    expect(copy!.text).toMatch(/\/letters\/[A-Za-z0-9_-]{32}/);
  });
});

describe('CSV exports', () => {
  /** A cell a spreadsheet would run as a formula: it starts with = + - @, a tab or a carriage return. */
  const FORMULA = /^[=+\-@\t\r]/;

  const exportCsv = async (kind: string) => {
    const page = await world.organizer.agent.get(`/staff/campaigns/${SLUG}/exports`).expect(200);
    const answer = await world.organizer.agent
      .post(`/staff/campaigns/${SLUG}/exports`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), kind })
      .buffer(true)
      .parse((res, callback) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => callback(null, text));
      })
      .expect(200);
    expect(answer.headers['content-type']).toMatch(/^text\/csv/);
    return parse<Record<string, string>>(answer.body as string, { columns: true, bom: true });
  };

  const expectNoFormula = (rows: Array<Record<string, string>>) => {
    for (const row of rows)
      for (const [column, cell] of Object.entries(row))
        expect({ column, cell, formula: FORMULA.test(cell) }).toEqual({
          column,
          cell,
          formula: false,
        });
  };

  it('the signature export neutralises names, emails and addresses a spreadsheet would run', async () => {
    const rows = await exportCsv('signatures');
    expect(rows.length).toBe(2);
    expectNoFormula(rows);
    const signer = rows.find((row) => row.email === `'${SIGNER_EMAIL}`);
    expect(signer).toMatchObject({ name: `'${HOSTILE}`, opted_in: 'yes' });
    // The letter writer did not opt in: no email address.
    expect(rows.find((row) => row.email === '')).toMatchObject({
      name: `'${HOSTILE}`,
      opted_in: 'no',
    });
    expect(JSON.stringify(rows)).not.toContain(MARKUP.repeat(2));
  });

  it('the count exports neutralise partner and district names', async () => {
    const bySource = await exportCsv('source');
    expectNoFormula(bySource);
    expect(bySource.find((row) => row.source === 'hostile-partner')).toMatchObject({
      partner: `'${HOSTILE}`,
      signatures: '1',
    });
    for (const kind of ['congressional', 'state-upper', 'state-lower', 'state'])
      expectNoFormula(await exportCsv(kind));
    const letters = await exportCsv('letters');
    expectNoFormula(letters);
    expect(letters.find((row) => row.target?.startsWith('custom:'))).toMatchObject({
      office_holder: `'${HOSTILE}`,
      office: `'${HOSTILE}`,
    });
  });

  it('what was exported is what was stored', async () => {
    // Sealed at rest: found by the keyed hash of the address, and opened with the platform's keys.
    const rows = await openedSignatures(
      world.t.platform,
      eq(signatures.emailHash, world.t.platform.encryption.emailHash(SIGNER_EMAIL)),
    );
    expect(rows.map(({ name, email, address }) => ({ name, email, address }))).toEqual([
      { name: HOSTILE, email: SIGNER_EMAIL, address: HOSTILE },
    ]);
  });
});
