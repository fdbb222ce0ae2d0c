import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import {
  customTargets,
  partners,
  webhookAttempts,
  webhookSubscriptions,
} from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { formFields, hiddenFields, unescapeHtml } from '../helpers/html';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * A platform where every field a supporter or a staff member can fill holds hostile text, put
 * there through the real forms and API as a browser or a partner site would: the campaign (title,
 * summary, petition text, locked closing), a letter template, a partner, a custom target list from
 * CSV, a staff member's name, a signature (name, address, email) and letters (name, city, note,
 * subject, body), delivered to an in-process SMTP server. The security tests then read it back on
 * every page, in the mail and in the exports.
 */

/** Script, attribute breakout, a Handlebars expression and a spreadsheet formula, in one string (fits a name: 89 characters). */
export const HOSTILE = `=cmd|' /C calc'!A0 "><img src=x onerror=alert(1)><script>alert(1)</script>{{constructor}}`;
/** The markup part of HOSTILE: what a letter template may hold (it refuses stray braces). */
export const MARKUP = `"><img src=x onerror=alert(1)><script>alert(1)</script>`;
/** In every hostile value: what a page must show as text and never as markup. */
export const CORE = `<img src=x onerror=alert(1)><script>alert(1)</script>`;
/** Email addresses a spreadsheet would read as formulas (`+`, `-`), with SQL quote and comment characters. */
export const SIGNER_EMAIL = `+1+cmd'x@example.org`;
export const WRITER_EMAIL = `-2+3'--@example.org`;
export const SLUG = 'hostile';
export const CLOSING = `In solidarity, ${HOSTILE}`;
export const CUSTOM_TARGET_EMAIL = 'council@hostile.example';
export const INVITEE_EMAIL = 'invitee@staff.example.org';

const fixtures = path.join(__dirname, '..', 'fixtures', 'representatives');

type Agent = ReturnType<typeof request.agent>;

export interface HostileWorld {
  t: TestPlatform;
  sink: SmtpSink;
  admin: Awaited<ReturnType<typeof signInAs>>;
  organizer: Awaited<ReturnType<typeof signInAs>>;
  /** The hostile partner's own account. */
  partner: Awaited<ReturnType<typeof signInAs>>;
  /** The delivery log of a webhook whose receiver answered with hostile text, as the admins see it and as its partner does. */
  webhookLogPath: string;
  partnerWebhookLogPath: string;
  /** Pages answered to a form (not reachable by a plain GET), as they were sent. */
  formPages: Record<
    | 'representatives'
    | 'representativesErrors'
    | 'letterTargets'
    | 'letterPreview'
    | 'signingErrors'
    | 'letterErrors',
    string
  >;
  /** The supporter's private status page. */
  statusPath: string;
  /** The status page of a letter its writer may send themselves (to a senator with a contact form, kept for hand delivery). */
  selfSendStatusPath: string;
  /** The console's page of the hand-delivery packet that holds that letter. */
  packetPath: string;
  /** The invitation link the admin passes on. */
  invitationPath: string;
  close(): Promise<void>;
}

/** A CSV cell, quoted (the hostile text holds quotes). */
const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;

const post = (agent: Agent, url: string, fields: Array<[string, string]>) =>
  agent.post(url).type('form').send(new URLSearchParams(fields).toString());

export async function buildHostileWorld(env: Record<string, string> = {}): Promise<HostileWorld> {
  const sink = await startSmtpSink();
  const t = await createTestPlatform({
    SMTP_URL: sink.url,
    MAIL_FROM: 'Coalition Letters <letters@coalition.example>',
    LOOKUP_RATE_LIMIT: '100000',
    DELIVERY_PER_RECIPIENT_PER_MINUTE: '10000',
    ...env,
  });
  try {
    await importRepresentativeData(t.platform.db, fixtures);
    await t.platform.representatives.refresh();
    await t.startWorkers();
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const organizer = await signInAs(t.app, t.platform.db, 'organizer');

    // The campaign, through the editor.
    await organizer.agent
      .post('/staff/campaigns')
      .type('form')
      .send({
        _csrf: organizer.token,
        title: HOSTILE,
        slug: SLUG,
        summary: `${HOSTILE}\n${HOSTILE}`,
        petitionText: `${HOSTILE}\n\n${HOSTILE}`,
        goal: '1000',
        status: 'open',
        letterFrom: 'letters@coalition.example',
        subjectMax: '200',
        bodyMax: '20000',
        lockedClosing: CLOSING,
        targetOffices: [
          'us-house',
          'us-senate',
          'governor',
          'state-upper',
          'state-lower',
          'custom',
        ],
      })
      .expect(303);

    // New campaigns rehearse: an admin sends them live.
    const settings = await admin.agent.get(`/staff/campaigns/${SLUG}/edit`).expect(200);
    await admin.agent
      .post(`/staff/campaigns/${SLUG}/delivery-mode`)
      .type('form')
      .send({ _csrf: csrfTokenOf(settings.text), mode: 'live', confirm: 'on' })
      .expect(303);

    // A letter template for the campaign's own (local) targets, markup in its text.
    const templates = await organizer.agent
      .get(`/staff/campaigns/${SLUG}/templates?level=local`)
      .expect(200);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/templates/local`)
      .type('form')
      .send({
        _csrf: csrfTokenOf(templates.text),
        action: 'save',
        subject: `${MARKUP} {{target.name}}`,
        body: `Dear {{target.title}} {{target.name}},\n\n${MARKUP}\n\n{{supporter.note}}\n\n{{supporter.name}}, {{supporter.city}}\n{{campaign.title}}`,
        zip: '80010',
      })
      .expect(303);

    // A partner.
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/partners`)
      .type('form')
      .send({ _csrf: organizer.token, name: HOSTILE, sourceCode: 'hostile-partner', origins: '' })
      .expect(303);

    // A custom target list, from CSV.
    const targets = await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200);
    const csv = [
      'name,title,email,phone,postal_address,represents',
      [HOSTILE, HOSTILE, CUSTOM_TARGET_EMAIL, '(510) 555-0101', HOSTILE, 'everyone']
        .map(csvCell)
        .join(','),
    ].join('\n');
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('_csrf', csrfTokenOf(targets.text))
      .field('list', HOSTILE)
      .attach('file', Buffer.from(csv), 'targets.csv')
      .expect(303);

    // Where the ban stands: the custom target's published stance, a bill it sponsors and a place
    // with a ban, all named with the hostile text, and a call script with markup in it.
    const [customTarget] = await t.platform.db.select().from(customTargets).limit(1);
    const stanceKey = `custom:${customTarget!.id}`;
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/stances`)
      .type('form')
      .send({
        _csrf: organizer.token,
        personKey: stanceKey,
        stance: 'undecided',
        sourceKind: 'statement',
        sourceText: HOSTILE,
        sourceUrl: `https://news.example.org/?q=${encodeURIComponent(MARKUP)}`,
        published: 'on',
      })
      .expect(303);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/bills`)
      .type('form')
      .send({
        _csrf: organizer.token,
        jurisdiction: 'Oakland',
        number: 'Ord. 1',
        title: HOSTILE,
        status: 'introduced',
        sponsors: stanceKey,
        published: 'on',
      })
      .expect(303);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/ban-places`)
      .type('form')
      .send({
        _csrf: organizer.token,
        kind: 'city',
        name: HOSTILE,
        state: 'CO',
        passedOn: '2025-06-01',
        zip: '80010',
        published: 'on',
      })
      .expect(303);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/stance-texts`)
      .type('form')
      .send({
        _csrf: organizer.token,
        kind: 'call',
        level: 'local',
        stance: 'any',
        language: 'en',
        body: `Hello {{target.name}}. ${MARKUP}`,
        action: 'save',
      })
      .expect(303);

    // The partner's own account, an API token and a webhook named with it, and a receiver that answered with it.
    const [hostilePartner] = await t.platform.db
      .select()
      .from(partners)
      .where(eq(partners.sourceCode, 'hostile-partner'));
    const partner = await signInAs(t.app, t.platform.db, 'partner', 'partner@staff.example.org', {
      partnerId: hostilePartner!.id,
    });
    const integrations = await admin.agent.get(`/staff/campaigns/${SLUG}/integrations`).expect(200);
    await admin.agent
      .post(`/staff/campaigns/${SLUG}/integrations/tokens`)
      .type('form')
      .send({
        _csrf: csrfTokenOf(integrations.text),
        name: HOSTILE,
        partner: String(hostilePartner!.id),
        scopes: 'read',
      })
      .expect(200);
    await partner.agent
      .post('/staff/partner/webhooks')
      .type('form')
      .send({ _csrf: partner.token, url: 'https://hooks.hostile.example/in', events: 'signature' })
      .expect(200);
    const [hook] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.partnerId, hostilePartner!.id));
    await t.platform.db
      .update(webhookSubscriptions)
      .set({ lastError: `HTTP 500: ${HOSTILE}`, lastStatus: 500, lastAttemptAt: new Date() })
      .where(eq(webhookSubscriptions.id, hook!.id));
    await t.platform.db.insert(webhookAttempts).values({
      subscriptionId: hook!.id,
      messageId: 'msg_hostile',
      items: 1,
      durationMs: 12,
      status: 500,
      outcome: 'failed',
      error: `HTTP 500: ${HOSTILE}`,
    });
    const webhookLogPath = `/staff/campaigns/${SLUG}/integrations/webhooks/${hook!.id}`;
    const partnerWebhookLogPath = `/staff/partner/webhooks/${hook!.id}`;

    // A staff member's name, in an invitation.
    const invited = await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: admin.token, email: INVITEE_EMAIL, name: HOSTILE, role: 'viewer' })
      .expect(200);
    const invitationUrl = unescapeHtml(
      /value="([^"]*\/staff\/invitations\/[^"]+)"/.exec(invited.text)?.[1] ?? '',
    );
    const invitationPath = new URL(invitationUrl).pathname;

    // A signature through the JSON API, and the form sent back with an error.
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({
        name: HOSTILE,
        email: SIGNER_EMAIL,
        zip: '80010',
        address: HOSTILE,
        optIn: true,
        source: 'hostile-partner',
      })
      .expect(202);
    const signer = request.agent(t.app);
    const campaignPage = await signer.get(`/campaigns/${SLUG}`).expect(200);
    const signingErrors = await signer
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({
        ...hiddenFields(campaignPage.text),
        name: HOSTILE,
        email: `not an email ${HOSTILE}`,
        zip: '80010',
        address: HOSTILE,
      })
      .expect(400);

    // Representatives for a ZIP (the campaign's own target among them), and a hostile city refused.
    const lookup = await signer.get(`/campaigns/${SLUG}/representatives`).expect(200);
    const representatives = await signer
      .post(`/campaigns/${SLUG}/representatives`)
      .type('form')
      .send({ ...hiddenFields(lookup.text), zip: '80010', city: 'Aurora' })
      .expect(200);
    const representativesErrors = await signer
      .post(`/campaigns/${SLUG}/representatives`)
      .type('form')
      .send({ ...hiddenFields(lookup.text), zip: '80010', city: HOSTILE })
      .expect(400);

    // Letters through the pages, as a browser without JavaScript writes them.
    const writer = request.agent(t.app);
    const lettersUrl = `/campaigns/${SLUG}/letters`;
    const start = await writer.get(lettersUrl).expect(200);
    const letterErrors = await post(writer, lettersUrl, [
      ...Object.entries(hiddenFields(start.text)),
      ['step', 'lookup'],
      ['name', HOSTILE],
      ['email', `${HOSTILE}@`],
      ['zip', '80010'],
      ['city', HOSTILE],
    ]).expect(400);
    const letterTargets = await post(writer, lettersUrl, [
      ...Object.entries(hiddenFields(start.text)),
      ['step', 'lookup'],
      ['name', HOSTILE],
      ['email', WRITER_EMAIL],
      ['zip', '80010'],
      ['city', 'Aurora'],
    ]).expect(200);
    const letterPreview = await post(writer, lettersUrl, [
      ...formFields(letterTargets.text),
      ['note', `${HOSTILE}\n${HOSTILE}`],
      ['step', 'preview'],
    ]).expect(200);
    const sent = await post(writer, lettersUrl, [
      ...formFields(letterPreview.text).filter(([name]) => name !== 'subject' && name !== 'body'),
      ['subject', HOSTILE],
      ['body', `${HOSTILE}\n\nBan police facial recognition.\n\n${CLOSING}`],
      ['step', 'send'],
    ]).expect(303);
    const statusPath = String(sent.headers.location).replace('?sent=1', '');

    // Everything delivered (letters to the offices with email, the supporter's copy), and counted.
    await eventually(async () => {
      const [pending] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM letters WHERE status IN ('queued', 'sending', 'retrying')`,
      );
      return (
        pending!.n === 0 &&
        sink.messages.some((mail) => mail.to && JSON.stringify(mail.to).includes(WRITER_EMAIL))
      );
    }, 60_000);
    await eventually(async () => {
      const [untallied] = await queryRows<{ n: number }>(
        t.platform.db,
        sql`SELECT count(*)::int AS n FROM signatures WHERE NOT tallied`,
      );
      return untallied!.n === 0;
    }, 60_000);

    // A letter to an office with no channel but a web contact form (the supporter may send it
    // themselves), through the JSON door, and a hand-delivery packet of it from the console.
    const selfSend = await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({
        name: HOSTILE,
        email: WRITER_EMAIL,
        zip: '80010',
        city: 'Aurora',
        note: HOSTILE,
        subject: HOSTILE,
        wantsCopy: false,
        targets: ['us-senate:T000003'],
      })
      .expect(202);
    const delivery = await organizer.agent.get(`/staff/campaigns/${SLUG}/delivery`).expect(200);
    const packet = await organizer.agent
      .post(`/staff/campaigns/${SLUG}/delivery/packets`)
      .type('form')
      .send({ _csrf: csrfTokenOf(delivery.text), target: 'us-senate:T000003' })
      .expect(303);

    return {
      t,
      sink,
      admin,
      organizer,
      selfSendStatusPath: new URL(selfSend.body.statusUrl).pathname,
      packetPath: String(packet.headers.location),
      formPages: {
        representatives: representatives.text,
        representativesErrors: representativesErrors.text,
        letterTargets: letterTargets.text,
        letterPreview: letterPreview.text,
        signingErrors: signingErrors.text,
        letterErrors: letterErrors.text,
      },
      statusPath,
      invitationPath,
      partner,
      webhookLogPath,
      partnerWebhookLogPath,
      async close() {
        await t.close();
        await sink.close();
      },
    };
  } catch (error) {
    await t.close();
    await sink.close();
    throw error;
  }
}

/** The pages to read back, each with who reads it and whether the hostile text is on it. */
export function pagesOf(world: HostileWorld): Array<{
  path: string;
  as: 'visitor' | 'organizer' | 'admin' | 'partner';
  shows: boolean;
  status?: number;
}> {
  return [
    { path: '/', as: 'visitor', shows: true },
    { path: `/campaigns/${SLUG}`, as: 'visitor', shows: true },
    {
      path: `/campaigns/${SLUG}?source=${encodeURIComponent(HOSTILE)}`,
      as: 'visitor',
      shows: true,
    },
    { path: `/campaigns/${SLUG}/thanks`, as: 'visitor', shows: true },
    { path: `/campaigns/${SLUG}/representatives`, as: 'visitor', shows: true },
    { path: `/campaigns/${SLUG}/letters`, as: 'visitor', shows: true },
    { path: `/campaigns/${SLUG}/call`, as: 'visitor', shows: true },
    { path: `/campaigns/${SLUG}/scorecard`, as: 'visitor', shows: true },
    { path: world.statusPath, as: 'visitor', shows: true },
    { path: world.selfSendStatusPath, as: 'visitor', shows: true },
    { path: `/campaigns/${encodeURIComponent(HOSTILE)}`, as: 'visitor', shows: false, status: 404 },
    {
      path: `/staff/campaigns/${encodeURIComponent(HOSTILE)}/edit`,
      as: 'organizer',
      shows: false,
      status: 404,
    },
    { path: world.invitationPath, as: 'visitor', shows: true },
    { path: '/privacy/my-data', as: 'visitor', shows: false },
    { path: '/staff', as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}`, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/edit`, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/stances`, as: 'organizer', shows: true },
    {
      path: `/staff/campaigns/${SLUG}/stance-texts?kind=call&level=local&stance=any&language=en&zip=80010`,
      as: 'organizer',
      shows: true,
    },
    {
      path: `/staff/campaigns/${SLUG}/templates?level=local&zip=80010`,
      as: 'organizer',
      shows: true,
    },
    {
      path: `/staff/campaigns/${SLUG}/templates?level=state&zip=80010`,
      as: 'organizer',
      shows: true,
    },
    { path: `/staff/campaigns/${SLUG}/targets`, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/partners`, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/exports`, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/delivery`, as: 'organizer', shows: true },
    { path: world.packetPath, as: 'organizer', shows: true },
    { path: `/staff/campaigns/${SLUG}/abuse`, as: 'organizer', shows: true },
    { path: '/staff/account', as: 'organizer', shows: false },
    { path: '/staff/data', as: 'organizer', shows: false },
    { path: '/staff/data', as: 'admin', shows: false },
    { path: '/staff/accounts', as: 'admin', shows: true },
    { path: '/staff/audit', as: 'admin', shows: true },
    { path: `/staff/campaigns/${SLUG}/integrations`, as: 'admin', shows: true },
    { path: world.webhookLogPath, as: 'admin', shows: true },
    { path: '/staff/partner', as: 'partner', shows: true },
    { path: '/staff/partner/webhooks', as: 'partner', shows: true },
    { path: world.partnerWebhookLogPath, as: 'partner', shows: true },
    { path: '/staff/account', as: 'partner', shows: false },
  ];
}
