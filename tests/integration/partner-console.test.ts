import { desc, eq } from 'drizzle-orm';
import request from 'supertest';
import {
  apiTokens,
  auditLog,
  campaigns,
  partners,
  staffAccounts,
  webhookSubscriptions,
} from '../../src/db/schema';
import { createApiToken } from '../../src/osdi/tokens';
import { addWebhook } from '../../src/webhooks/subscriptions';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf, signInAs, STAFF_PASSWORD } from '../helpers/staff';

/**
 * The partner role and the admins' integrations page: a partner is invited bound to its
 * organisation, sees only its own numbers and consenting supporters, manages only its own
 * webhooks and Action Network push; admins make and revoke tokens and webhooks, secrets shown once.
 */
const SLUG = 'ban-facial-recognition';
let t: TestPlatform;
let campaignId: number;
let friendsId: number;
let otherId: number;
let admin: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  t = await createTestPlatform({ WEBHOOK_ALLOW_PRIVATE: 'false' });
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  friendsId = (
    await t.platform.db
      .insert(partners)
      .values({ campaignId, name: 'Friends of Privacy', sourceCode: 'friends' })
      .returning()
  )[0]!.id;
  otherId = (
    await t.platform.db
      .insert(partners)
      .values({ campaignId, name: 'Rival Org', sourceCode: 'rival' })
      .returning()
  )[0]!.id;
  admin = await signInAs(t.app, t.platform.db, 'admin');
  const sign = (email: string, extra: Record<string, unknown>) =>
    request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/signatures`)
      .send({ name: `Signer ${email.split('@')[0]}`, email, zip: '10001', ...extra })
      .expect(202);
  await sign('f1@example.org', { source: 'friends', partnerOptIn: true });
  await sign('f2@example.org', { source: 'friends', partnerOptIn: true });
  await sign('f3@example.org', { source: 'friends' });
  await sign('cmd@example.org', {
    source: 'friends',
    partnerOptIn: true,
    name: '=HYPERLINK("http://evil")',
  });
  await sign('r1@example.org', { source: 'rival', partnerOptIn: true });
  await sign('plain@example.org', {});
  await t.startWorkers();
  await eventually(async () => (await t.platform.stats.refresh(campaignId)).signatures === 6);
});
afterAll(async () => {
  if (process.env.DEBUG_LOGS) process.stdout.write(t.logs());
  await t.close();
});

describe('inviting a partner', () => {
  it('binds the account to its partner, and lands it on its own page after sign-in', async () => {
    const page = await admin.agent.get('/staff/accounts').expect(200);
    expect(page.text).toContain('Friends of Privacy (');
    const missing = await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email: 'nopartner@friends.example', role: 'partner' })
      .expect(400);
    expect(missing.text).toContain('Choose the partner organisation this account belongs to.');
    expect(
      await t.platform.db
        .select()
        .from(staffAccounts)
        .where(eq(staffAccounts.email, 'nopartner@friends.example')),
    ).toEqual([]);

    const invited = await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({
        _csrf: csrfTokenOf(page.text),
        email: 'organiser@friends.example',
        role: 'partner',
        partner: String(friendsId),
      })
      .expect(200);
    const link = /value="(http[^"]+\/staff\/invitations\/[^"]+)"/.exec(invited.text)![1]!;
    const [account] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'organiser@friends.example'));
    expect(account).toMatchObject({ role: 'partner', partnerId: friendsId, status: 'invited' });

    const browser = request.agent(t.app);
    const form = await browser.get(new URL(link).pathname).expect(200);
    await browser
      .post(new URL(link).pathname)
      .type('form')
      .send({
        _csrf: csrfTokenOf(form.text),
        name: 'Org Anizer',
        password: STAFF_PASSWORD,
        confirm: STAFF_PASSWORD,
      })
      .expect(303);
    // Taking up the invitation signs in.
    await browser.get('/staff').expect(303).expect('location', '/staff/partner');
    await browser.get('/staff/partner').expect(200);
    await browser.get(`/staff/campaigns/${SLUG}`).expect(403);
    await browser.get('/staff/data').expect(403);
  });

  it("does not turn a partner's account into staff, nor staff into a partner", async () => {
    const page = await admin.agent.get('/staff/accounts').expect(200);
    const [account] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'organiser@friends.example'));
    const res = await admin.agent
      .post(`/staff/accounts/${account!.id}`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), action: 'role', role: 'admin' })
      .expect(400);
    expect(res.text).toContain('invite a new account instead');
    expect(
      (
        await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.id, account!.id))
      )[0]!.role,
    ).toBe('partner');
  });
});

describe("a partner's pages", () => {
  let partner: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    partner = await signInAs(t.app, t.platform.db, 'partner', 'crm@friends.example', {
      partnerId: friendsId,
    });
  });

  it('shows its own numbers, and nothing of other partners or of anyone by name', async () => {
    const page = await partner.agent.get('/staff/partner').expect(200);
    expect(page.text).toContain('Friends of Privacy');
    expect(page.text).toMatch(/Signatures you brought<\/span><strong class="dash-stat-value">4</);
    expect(page.text).toMatch(/Agreed to hear from you<\/span><strong class="dash-stat-value">3</);
    expect(page.text).toContain('New York');
    expect(page.text).toMatch(/\?source(=|&#x3D;)friends/);
    for (const hidden of ['Rival', 'rival', 'f1@example.org', 'Signer f1'])
      expect(page.text).not.toContain(hidden);
  });

  it('exports the supporters who agreed to hear from it, neutralised, and records the export', async () => {
    const res = await partner.agent
      .post('/staff/partner/export')
      .type('form')
      .send({ _csrf: partner.token })
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(
      /attachment; filename="ban-facial-recognition-friends-supporters-\d{4}-\d{2}-\d{2}\.csv"/,
    );
    const lines = res.text.trim().split('\n');
    expect(lines[0]).toBe('name,email,zip,state,signed_at,agreed_at,agreed_to');
    expect(lines).toHaveLength(4);
    const emails = lines
      .slice(1)
      .map((line) => /"([^"]+@example\.org)"/.exec(line)?.[1])
      .sort();
    expect(emails).toEqual(['cmd@example.org', 'f1@example.org', 'f2@example.org']);
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(res.text).not.toContain('f3@example.org');
    expect(res.text).not.toContain('r1@example.org');
    const [entry] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'export.partner-supporters'));
    expect(entry).toMatchObject({
      actor: 'crm@friends.example',
      details: { partnerId: friendsId, rows: 3 },
    });
  });

  it("adds its own webhooks (secret shown once), refuses a private address, and cannot touch another partner's", async () => {
    const bad = await partner.agent
      .post('/staff/partner/webhooks')
      .type('form')
      .send({ _csrf: partner.token, url: 'https://127.0.0.1/hooks', events: 'signature' })
      .expect(400);
    expect(bad.text).toContain('The URL must be a public address');
    const noEvents = await partner.agent
      .post('/staff/partner/webhooks')
      .type('form')
      .send({ _csrf: partner.token, url: 'https://crm.friends.example/hooks' })
      .expect(400);
    expect(noEvents.text).toContain('Choose signature, outreach or person.erased.');
    const added = await partner.agent
      .post('/staff/partner/webhooks')
      .type('form')
      .send({
        _csrf: partner.token,
        url: 'https://crm.friends.example/hooks',
        events: ['signature', 'person.erased'],
      })
      .expect(200);
    const secret = /value="(whsec_[^"]+)"/.exec(added.text)![1]!;
    const [mine] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.partnerId, friendsId));
    expect(mine).toMatchObject({
      url: 'https://crm.friends.example/hooks',
      events: ['signature', 'person.erased'],
      campaignId,
    });
    expect(t.platform.encryption.open('webhook_subscriptions.secret', mine!.secret)).toBe(secret);
    const list = await partner.agent.get('/staff/partner/webhooks').expect(200);
    expect(list.text).toContain('https://crm.friends.example/hooks');
    expect(list.text).not.toContain(secret);
    await partner.agent.get(`/staff/partner/webhooks/${mine!.id}`).expect(200);

    const { subscription: theirs } = await addWebhook(
      t.platform,
      { campaignId, partnerId: otherId, url: 'https://rival.example/hooks', events: ['signature'] },
      'command line',
    );
    expect(list.text).not.toContain('rival.example');
    await partner.agent.get(`/staff/partner/webhooks/${theirs.id}`).expect(404);
    const refused = await partner.agent
      .post(`/staff/partner/webhooks/${theirs.id}`)
      .type('form')
      .send({ _csrf: partner.token, action: 'delete' })
      .expect(400);
    expect(refused.text).toContain('There is no such webhook of yours.');
    expect(
      await t.platform.db
        .select()
        .from(webhookSubscriptions)
        .where(eq(webhookSubscriptions.id, theirs.id)),
    ).toHaveLength(1);
    await partner.agent
      .post(`/staff/partner/webhooks/${mine!.id}`)
      .type('form')
      .send({ _csrf: partner.token, action: 'disable' })
      .expect(303);
    expect(
      (
        await t.platform.db
          .select()
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.id, mine!.id))
      )[0]!.status,
    ).toBe('disabled');
  });

  it('sets its Action Network push, keeping the key out of every page and log', async () => {
    const bad = await partner.agent
      .post('/staff/partner/action-network')
      .type('form')
      .send({ _csrf: partner.token, apiKey: 'short', petition: 'not a petition!' })
      .expect(400);
    expect(bad.text).toContain('Enter the API key as Action Network shows it');
    expect(bad.text).toContain('Enter the petition');
    const key = '0123456789abcdef0123456789abcdef';
    await partner.agent
      .post('/staff/partner/action-network')
      .type('form')
      .send({
        _csrf: partner.token,
        apiKey: key,
        petition: 'https://actionnetwork.org/api/v2/petitions/0b6c3a4e-8d2f-4f61-9a7e-3c1d2e5f6a7b',
        tags: 'privacy, coalition',
      })
      .expect(303);
    const [push] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.kind, 'action-network'));
    expect(push).toMatchObject({
      partnerId: friendsId,
      tags: ['privacy', 'coalition'],
      url: 'https://actionnetwork.org/api/v2/petitions/0b6c3a4e-8d2f-4f61-9a7e-3c1d2e5f6a7b/signatures',
    });
    const page = await partner.agent.get('/staff/partner/webhooks').expect(200);
    expect(page.text).toContain('Action Network petition 0b6c3a4e-8d2f-4f61-9a7e-3c1d2e5f6a7b');
    expect(page.text).not.toContain(key);
    expect(JSON.stringify(await t.platform.db.select().from(auditLog))).not.toContain(key);
  });
});

describe("the admins' integrations page", () => {
  const page = `/staff/campaigns/${SLUG}/integrations`;

  it("creates a partner's token, shows it once, and revokes it", async () => {
    const bad = await admin.agent
      .post(`${page}/tokens`)
      .type('form')
      .send({ _csrf: admin.token, name: '', scopes: 'write' })
      .expect(400);
    expect(bad.text).toContain('Give the token a name');
    expect(bad.text).toContain('href="#field-tokenName"');
    const created = await admin.agent
      .post(`${page}/tokens`)
      .type('form')
      .send({
        _csrf: admin.token,
        name: 'Friends CRM',
        partner: String(friendsId),
        scopes: ['read', 'sign'],
      })
      .expect(200);
    const token = /value="(osdi_[^"]+)"/.exec(created.text)![1]!;
    await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', token).expect(200);
    const listed = await admin.agent.get(page).expect(200);
    expect(listed.text).toContain('Friends CRM');
    expect(listed.text).not.toContain(token);
    const [record] = await t.platform.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.name, 'Friends CRM'));
    expect(record).toMatchObject({ partnerId: friendsId, campaignId, scopes: ['read', 'sign'] });
    await admin.agent
      .post(`${page}/tokens/${record!.id}/revoke`)
      .type('form')
      .send({ _csrf: admin.token })
      .expect(303);
    await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', token).expect(401);
  });

  it("lists and revokes a token for every campaign, made on the command line, but not another campaign's", async () => {
    const everywhere = await createApiToken(
      t.platform.db,
      { name: 'Coalition warehouse', scopes: ['read'], campaignId: null, partnerId: null },
      'command line',
    );
    const [elsewhere] = await t.platform.db
      .insert(campaigns)
      .values({
        slug: 'elsewhere',
        title: 'Elsewhere',
        summary: 'Elsewhere',
        petitionText: 'Elsewhere',
        goal: 10,
      })
      .returning();
    const foreign = await createApiToken(
      t.platform.db,
      { name: 'Elsewhere sync', scopes: ['read'], campaignId: elsewhere!.id, partnerId: null },
      'command line',
    );
    const listed = await admin.agent.get(page).expect(200);
    expect(listed.text).toMatch(/Coalition warehouse<\/th>[\s\S]*?every campaign, this one too/);
    expect(listed.text).not.toContain('Elsewhere sync');
    const refused = await admin.agent
      .post(`${page}/tokens/${foreign.record.id}/revoke`)
      .type('form')
      .send({ _csrf: admin.token })
      .expect(400);
    expect(refused.text).toContain('does not read this campaign');
    await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', foreign.token).expect(200);
    await admin.agent
      .post(`${page}/tokens/${everywhere.record.id}/revoke`)
      .type('form')
      .send({ _csrf: admin.token })
      .expect(303);
    await request(t.app).get('/api/osdi/v1/').set('OSDI-API-Token', everywhere.token).expect(401);
    const [audit] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'api-token.revoke'))
      .orderBy(desc(auditLog.id))
      .limit(1);
    expect(audit!.details).toMatchObject({ tokenId: everywhere.record.id });
  });

  it("adds a campaign webhook with its secret shown once, and refuses another campaign's partner", async () => {
    const foreign = await admin.agent
      .post(`${page}/webhooks`)
      .type('form')
      .send({
        _csrf: admin.token,
        url: 'https://hooks.coalition.example/in',
        partner: '999999',
        events: 'signature',
      })
      .expect(400);
    expect(foreign.text).toContain('Choose one of this campaign');
    const added = await admin.agent
      .post(`${page}/webhooks`)
      .type('form')
      .send({
        _csrf: admin.token,
        url: 'https://hooks.coalition.example/in',
        events: ['signature', 'outreach'],
      })
      .expect(200);
    expect(added.text).toMatch(/value="whsec_/);
    const listed = await admin.agent.get(page).expect(200);
    expect(listed.text).toContain('https://hooks.coalition.example/in');
    const [hook] = await t.platform.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.url, 'https://hooks.coalition.example/in'));
    await admin.agent.get(`${page}/webhooks/${hook!.id}`).expect(200);
    await admin.agent
      .post(`${page}/webhooks/${hook!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'delete' })
      .expect(303);
    expect(
      await t.platform.db
        .select()
        .from(webhookSubscriptions)
        .where(eq(webhookSubscriptions.id, hook!.id)),
    ).toEqual([]);
  });
});
