import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { campaigns, letterTemplates } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { formFields, hiddenFields, unescapeHtml } from '../helpers/html';
import { createTestPlatform, eventually, goLive, type TestPlatform } from '../helpers/platform';
import { openedLetters } from '../helpers/sealed';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { signInAs } from '../helpers/staff';

/**
 * English and Spanish, end to end through the real app: the language a person reads in (from
 * `?lng=`, then the cookie, then Accept-Language), every answer in it (pages, form errors, the JSON
 * API, emails), what a signature and a letter action record, the campaign's own texts per
 * language with English where a translation is missing, and letters in the language chosen.
 */
const SLUG = 'ban-facial-recognition';
const VERIFIED = 'confirma-tu-firma';
let t: TestPlatform;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition <hello@coalition.example>',
  });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  await goLive(t.platform);
  // A campaign whose Spanish texts are only in part given: the summary shows in English.
  await t.platform.db.insert(campaigns).values({
    slug: VERIFIED,
    title: 'Confirm to count',
    summary: 'English summary only.',
    petitionText: 'Ban it.',
    goal: 1234,
    requireVerification: true,
    translations: { es: { title: 'Confirme para contar', petitionText: 'Prohíbanlo.' } },
  });
  await t.startWorkers();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

const recipient = (mail: ParsedMail) =>
  mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
const mailsTo = (email: string) => sink.messages.filter((mail) => recipient(mail) === email);
const htmlLang = (html: string) => /<html lang="([a-z]+)">/.exec(html)?.[1];
const h1 = (html: string) => unescapeHtml(/<h1[^>]*>([^<]*)</.exec(html)?.[1] ?? '');

describe('choosing the language', () => {
  it('reads ?lng= first, keeps it in a cookie for the next pages, and says so in <html lang> and Content-Language', async () => {
    const agent = request.agent(t.app);
    const first = await agent.get(`/campaigns/${SLUG}?lng=es`).expect(200);
    expect(htmlLang(first.text)).toBe('es');
    expect(first.headers['content-language']).toBe('es');
    expect(first.text).toContain('Agregue su nombre');
    expect(
      ([] as string[])
        .concat(first.headers['set-cookie'] ?? [])
        .some((cookie) => /^lng=es;.*HttpOnly/i.test(cookie)),
    ).toBe(true);
    // The next page, with the cookie and no ?lng=, stays in Spanish even when the browser asks for English.
    const next = await agent.get('/').set('Accept-Language', 'en-US').expect(200);
    expect(htmlLang(next.text)).toBe('es');
    expect(h1(next.text)).toBe(
      'Actúe para prohibir el reconocimiento facial en manos de la policía',
    );
    // And back to English by the switcher.
    const back = await agent.get('/?lng=en').expect(200);
    expect(htmlLang(back.text)).toBe('en');
    expect(htmlLang((await agent.get('/').expect(200)).text)).toBe('en');
  });

  it('follows Accept-Language when nothing was chosen, and English for a language it does not have', async () => {
    expect(
      htmlLang(
        (
          await request(t.app)
            .get('/')
            .set('Accept-Language', 'es-MX,es;q=0.9,en;q=0.5')
            .expect(200)
        ).text,
      ),
    ).toBe('es');
    expect(
      htmlLang(
        (await request(t.app).get('/').set('Accept-Language', 'fr-FR,fr;q=0.9').expect(200)).text,
      ),
    ).toBe('en');
    expect(htmlLang((await request(t.app).get('/').expect(200)).text)).toBe('en');
    // An unknown ?lng= is no choice: it changes nothing and sets no cookie.
    const odd = await request(t.app).get('/?lng=xx').set('Accept-Language', 'es').expect(200);
    expect(htmlLang(odd.text)).toBe('es');
    expect(odd.headers['set-cookie']).toBeUndefined();
  });

  it('shows a switcher link, in the other language and marked as such, that keeps the page and its query', async () => {
    const page = await request(t.app).get(`/campaigns/${SLUG}?source=partner-x`).expect(200);
    const link =
      /<nav class="language-switch" aria-label="Language">\s*<a href="([^"]+)" lang="es" hreflang="es">Español<\/a>/.exec(
        page.text,
      );
    expect(unescapeHtml(link?.[1] ?? '')).toBe(`/campaigns/${SLUG}?source=partner-x&lng=es`);
    const spanish = await request(t.app).get(`/campaigns/${SLUG}?lng=es`).expect(200);
    expect(spanish.text).toMatch(
      /<nav class="language-switch" aria-label="Idioma">\s*<a href="[^"]+lng&#x3D;en" lang="en" hreflang="en">English<\/a>/,
    );
  });

  it('keeps the staff console in English whatever the visitor chose', async () => {
    const page = await request(t.app).get('/staff/login?lng=es').expect(200);
    expect(htmlLang(page.text)).toBe('en');
  });
});

describe('a campaign in Spanish', () => {
  it('shows the texts staff gave in Spanish, and the English one, marked lang="en", where none is given', async () => {
    const page = unescapeHtml(
      (await request(t.app).get(`/campaigns/${VERIFIED}?lng=es`).expect(200)).text,
    );
    expect(page).toMatch(/<h1>Confirme para contar<\/h1>/);
    expect(page).toContain('<p class="lede" lang="en">English summary only.</p>');
    expect(page).toContain('<p>Prohíbanlo.</p>');
    expect(page).toContain('<title>Confirme para contar · Ban Face Surveillance</title>');
    // Numbers through Intl in the page's locale, and the plural the language needs.
    expect(page).toContain('de una meta de <span data-live="goal">1,234</span>');
    expect(page).toContain('<span data-live="noun">firmas</span>');
  });

  it('lets staff give the title, summary and petition text in Spanish, and the English page is unchanged', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const form = await admin.agent.get(`/staff/campaigns/${VERIFIED}/edit`).expect(200);
    // The form's text fields as the page fills them in.
    const fields: Record<string, string> = {};
    for (const [tag] of form.text.matchAll(/<input\b[^>]*>/g)) {
      const name = /\bname="([^"]+)"/.exec(tag)?.[1];
      if (name && !/type="(checkbox|hidden|radio)"/.test(tag))
        fields[name] = unescapeHtml(/\bvalue="([^"]*)"/.exec(tag)?.[1] ?? '');
    }
    for (const [, name, text] of form.text.matchAll(
      /<textarea\b[^>]*name="([^"]+)"[^>]*>([^<]*)<\/textarea>/g,
    ))
      fields[name!] = unescapeHtml(text!);
    expect(fields.title_es).toBe('Confirme para contar');
    await admin.agent
      .post(`/staff/campaigns/${VERIFIED}/edit`)
      .type('form')
      .send({
        ...fields,
        _csrf: admin.token,
        status: 'open',
        requireVerification: 'on',
        targetOffices: 'us-house',
        summary_es: 'Solo firmas confirmadas.',
      })
      .expect(303);
    const [stored] = await t.platform.db
      .select()
      .from(campaigns)
      .where(eq(campaigns.slug, VERIFIED));
    expect(stored!.translations).toEqual({
      es: {
        title: 'Confirme para contar',
        summary: 'Solo firmas confirmadas.',
        petitionText: 'Prohíbanlo.',
      },
    });
    t.platform.campaigns.forget(VERIFIED);
    expect((await request(t.app).get(`/campaigns/${VERIFIED}?lng=es`).expect(200)).text).toContain(
      '<p class="lede">Solo firmas confirmadas.</p>',
    );
    expect((await request(t.app).get(`/campaigns/${VERIFIED}`).expect(200)).text).toContain(
      '<p class="lede">English summary only.</p>',
    );
  });
});

describe("form errors and the JSON API in the asker's language", () => {
  it('answers the signing form in the language it was filled in, by message key', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get(`/campaigns/${SLUG}?lng=es`).expect(200);
    const { _csrf } = hiddenFields(page.text);
    // The cookie is dropped: the form's own hidden `lng` still answers in Spanish.
    const res = await request(t.app)
      .post(`/campaigns/${SLUG}/sign`)
      .set(
        'Cookie',
        ([] as string[])
          .concat(page.headers['set-cookie'] ?? [])
          .filter((cookie) => cookie.startsWith('csrf'))
          .map((cookie) => cookie.split(';')[0])
          .join('; '),
      )
      .type('form')
      .send({ _csrf, language: 'es', name: '', email: 'nope', zip: '12' })
      .expect(400);
    const html = unescapeHtml(res.text);
    expect(htmlLang(html)).toBe('es');
    expect(html).toContain(
      '<title>Error: Prohibir el reconocimiento facial en manos de la policía · Ban Face Surveillance</title>',
    );
    expect(html).toContain('Escriba su nombre, por favor.');
    expect(html).toContain('Escriba un correo electrónico válido, como nombre@ejemplo.org.');
    expect(html).toContain('Escriba un código postal de 5 dígitos, por favor.');
    expect(html).not.toMatch(/Please enter/);
  });

  it('answers the JSON API in the language of ?lng= or Accept-Language: field errors, other errors, and what it returns', async () => {
    const bad = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures?lng=es`)
      .send({ name: 'Ana', email: 'x', zip: '1' })
      .expect(400);
    expect(bad.body.errors).toEqual({
      email: 'Escriba un correo electrónico válido, como nombre@ejemplo.org.',
      zip: 'Escriba un código postal de 5 dígitos, por favor.',
    });
    const header = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .set('Accept-Language', 'es-US')
      .send({ email: 'x' })
      .expect(400);
    expect(header.body.errors.name).toBe('Escriba su nombre, por favor.');
    const english = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({ email: 'x' })
      .expect(400);
    expect(english.body.errors.name).toBe('Please enter your name.');
    expect(
      (await request(t.app).get('/api/v1/campaigns/nothing-here/stats?lng=es').expect(404)).body,
    ).toEqual({ error: 'not_found', message: 'No hay ninguna campaña con ese nombre.' });
    expect(
      (await request(t.app).get('/api/v1/nowhere').set('Accept-Language', 'es').expect(404)).body
        .message,
    ).toBe('No hay nada en esta dirección.');
    const stats = await request(t.app)
      .get(`/api/v1/campaigns/${VERIFIED}/stats?lng=es`)
      .expect(200);
    expect(stats.body).toMatchObject({ title: 'Confirme para contar', language: 'es' });
    expect(stats.headers.vary).toMatch(/Accept-Language/);
    const consent = await request(t.app)
      .get(`/api/v1/campaigns/${SLUG}/consent?lng=es`)
      .expect(200);
    expect(consent.body.optIn).toBe(
      'Envíenme noticias de esta campaña por correo electrónico. Puedo darme de baja en cualquier momento.',
    );
    const texts = await request(t.app).get('/api/v1/embed/texts?lng=es').expect(200);
    expect(texts.body).toMatchObject({
      language: 'es',
      locale: 'es-US',
      texts: { button: 'Firmar la petición', thanks: 'Gracias por firmar.' },
    });
  });
});

describe('what a person signs and writes in, and the emails they get', () => {
  it("records the signature's language (and its consent in the words shown), and sends the confirmation link in it", async () => {
    await request(t.app)
      .post(`/api/v1/campaigns/${VERIFIED}/signatures?lng=es`)
      .send({ name: 'Lucía Firma', email: 'lucia@example.org', zip: '80010', optIn: true })
      .expect(202);
    const [row] = await queryRows<{ language: string; wording: string }>(
      t.platform.db,
      sql`SELECT s.language, k.wording FROM signatures s JOIN consents k ON k.signature_id = s.id WHERE s.email_hash = ${t.platform.encryption.emailHash('lucia@example.org')}::bytea`,
    );
    expect(row).toEqual({
      language: 'es',
      wording:
        'Envíenme noticias de esta campaña por correo electrónico. Puedo darme de baja en cualquier momento.',
    });
    await eventually(async () => mailsTo('lucia@example.org').length === 1);
    const [mail] = mailsTo('lucia@example.org');
    expect(mail!.subject).toBe('Confirme su firma, por favor: Confirme para contar');
    expect(mail!.text).toContain('Gracias por firmar la petición "Confirme para contar".');
    expect(mail!.text).toContain('El enlace funciona durante 7 días.');
    expect(mail!.text).toContain('- Envíenme noticias de esta campaña por correo electrónico.');
    // The page the link opens is in Spanish too, for a reader without the cookie: the link says so.
    expect(mail!.text).toMatch(/\/privacy\/my-data\?lng=es/);
  });

  it("records the letter action's language, writes the officials in the language chosen, and confirms in the writer's", async () => {
    const agent = request.agent(t.app);
    const start = await agent.get(`/campaigns/${SLUG}/letters?lng=es`).expect(200);
    expect(start.text).toContain('Buscar a mis representantes');
    const post = (fields: Array<[string, string]>) =>
      agent
        .post(`/campaigns/${SLUG}/letters`)
        .type('form')
        .send(new URLSearchParams(fields).toString());
    const targets = await post([
      ...formFields(start.text),
      ['step', 'lookup'],
      ['name', 'Marta Carta'],
      ['email', 'marta@example.org'],
      ['zip', '80010'],
      ['city', 'Aurora'],
    ]).expect(200);
    const html = unescapeHtml(targets.text);
    expect(html).toContain('Senado estatal, CO, distrito 1');
    // The letters' language is the page's unless the writer picks the other.
    expect(html).toMatch(
      /<input type="radio" id="letter-language-es" name="letterLanguage" value="es" checked>/,
    );
    const preview = await post([...formFields(targets.text), ['step', 'preview']]).expect(200);
    const previewText = unescapeHtml(preview.text);
    expect(previewText).toContain('Honorable Hana Senate:');
    expect(previewText).toContain(
      'Le escribo como parte de la campaña “Prohibir el reconocimiento facial en manos de la policía”',
    );
    expect(previewText).toContain('Enviar mis cartas');
    const sent = await post([...formFields(preview.text), ['step', 'send']]).expect(303);
    const token = sent.headers.location!.replace(/^\/letters\//, '').replace('?sent=1', '');
    const [action] = await queryRows<{ language: string }>(
      t.platform.db,
      sql`SELECT language FROM letter_actions WHERE status_token = ${token}`,
    );
    expect(action!.language).toBe('es');
    const status = unescapeHtml((await agent.get(sent.headers.location!).expect(200)).text);
    expect(h1(status)).toBe('Sus 2 cartas van en camino');

    await eventually(
      async () =>
        mailsTo('marta@example.org').length === 1 &&
        sink.messages.filter((mail) => mail.text?.includes('Marta Carta')).length >= 2,
    );
    const [confirmation] = mailsTo('marta@example.org');
    expect(confirmation!.subject).toBe(
      'Sus cartas: Prohibir el reconocimiento facial en manos de la policía',
    );
    expect(confirmation!.text).toContain('Sus 2 cartas van en camino:');
    expect(confirmation!.text).toContain('Hana Senate, Senado estatal, CO, distrito 1');
    expect(confirmation!.text).toContain(`/letters/${token}?lng=es`);
    const letters = sink.messages.filter(
      (mail) => mail.headers.get('x-letter-id') && mail.text?.includes('Marta Carta'),
    );
    expect(letters.map((mail) => mail.subject)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Desde Aurora, le pido que apoye la prohibición estatal/),
      ]),
    );
  });

  it('writes the officials in English from a Spanish page when the writer picks English', async () => {
    const agent = request.agent(t.app);
    const start = await agent.get(`/campaigns/${SLUG}/letters?lng=es`).expect(200);
    const post = (fields: Array<[string, string]>) =>
      agent
        .post(`/campaigns/${SLUG}/letters`)
        .type('form')
        .send(new URLSearchParams(fields).toString());
    const targets = await post([
      ...formFields(start.text),
      ['step', 'lookup'],
      ['name', 'Pablo Inglés'],
      ['email', 'pablo@example.org'],
      ['zip', '80010'],
    ]).expect(200);
    const fields = formFields(targets.text).filter(([name]) => name !== 'letterLanguage');
    const preview = unescapeHtml(
      (await post([...fields, ['letterLanguage', 'en'], ['step', 'preview']]).expect(200)).text,
    );
    expect(htmlLang(preview)).toBe('es');
    expect(preview).toContain('Dear Senator Hana Senate,');
    expect(preview).toContain('Enviar mis cartas');
  });

  it('sends the "your data" link in the language it was asked for in', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get('/privacy/my-data?lng=es').expect(200);
    const done = await agent
      .post('/privacy/my-data')
      .type('form')
      .send({ _csrf: hiddenFields(page.text)._csrf, language: 'es', email: 'lucia@example.org' })
      .expect(200);
    expect(unescapeHtml(done.text)).toContain('Gracias. Si guardamos algo sobre lucia@example.org');
    await eventually(async () => mailsTo('lucia@example.org').length === 2);
    const mail = mailsTo('lucia@example.org')[1]!;
    expect(mail.subject).toBe('Sus datos en Ban Face Surveillance');
    expect(mail.text).toContain('El enlace funciona durante 24 horas');
  });
});

describe('letter templates per language', () => {
  afterEach(async () => {
    await t.platform.db.delete(letterTemplates);
    const campaign = (await t.platform.campaigns.bySlug(SLUG))!;
    t.platform.letterTemplates.invalidate(campaign.id);
  });

  const draftSubject = async (lng: string) => {
    const res = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters?lng=${lng}`)
      .send({
        name: 'Tema Plantilla',
        email: `tema-${lng}-${Date.now()}@example.org`,
        zip: '80010',
      })
      .expect(202);
    const token = /\/letters\/([\w-]{32})/.exec(res.body.statusUrl)![1]!;
    const [action] = await queryRows<{ id: number }>(
      t.platform.db,
      sql`SELECT id FROM letter_actions WHERE status_token = ${token}`,
    );
    const written = await openedLetters(t.platform, sql`action_id = ${action!.id}::bigint`);
    return written.map((letter) => letter.subject);
  };

  it("uses the campaign's Spanish template, its English one where it has no Spanish one, and the project's where it has neither", async () => {
    expect((await draftSubject('es'))[0]).toMatch(/^Le pido que apoye la prohibición estatal/);
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const save = async (language: string, subject: string) => {
      const page = await admin.agent
        .get(`/staff/campaigns/${SLUG}/templates?level=state&language=${language}`)
        .expect(200);
      const body = unescapeHtml(
        /<textarea id="field-body"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.text)![1]!,
      );
      await admin.agent
        .post(`/staff/campaigns/${SLUG}/templates/state`)
        .type('form')
        .send({ _csrf: hiddenFields(page.text)._csrf, language, action: 'save', subject, body })
        .expect(303);
    };
    await save('en', 'The campaign asks in English');
    t.platform.letterTemplates.invalidate((await t.platform.campaigns.bySlug(SLUG))!.id);
    // No Spanish one: Spanish letters say what the campaign wrote, in English, rather than the project's words.
    expect(new Set(await draftSubject('es'))).toEqual(new Set(['The campaign asks in English']));
    await save('es', 'La campaña lo pide en español');
    t.platform.letterTemplates.invalidate((await t.platform.campaigns.bySlug(SLUG))!.id);
    expect(new Set(await draftSubject('es'))).toEqual(new Set(['La campaña lo pide en español']));
    expect(new Set(await draftSubject('en'))).toEqual(new Set(['The campaign asks in English']));
    const rows = await t.platform.db
      .select({ level: letterTemplates.level, language: letterTemplates.language })
      .from(letterTemplates);
    expect(rows.sort((a, b) => a.language.localeCompare(b.language))).toEqual([
      { level: 'state', language: 'en' },
      { level: 'state', language: 'es' },
    ]);
  });
});
