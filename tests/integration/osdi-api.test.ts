import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import {
  apiTokenUsage,
  auditLog,
  campaigns,
  consents,
  partners,
  signatures,
} from '../../src/db/schema';
import { createApiToken, revokeApiToken, summariseTokenUse } from '../../src/osdi/tokens';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, goLive, type TestPlatform } from '../helpers/platform';

/**
 * The OSDI API (/api/osdi/v1): tokens and their scopes, the collections with paging and the
 * modified_date filter, what each holder sees, and the record signature helper going through the
 * same signing as every other door; every refusal an OSDI error with a 4xx code.
 */
const SLUG = 'ban-facial-recognition';
const BASE = '/api/osdi/v1';
let t: TestPlatform;
let campaignId: number;
let partnerId: number;
let tokens: Record<'admin' | 'reader' | 'signer' | 'partner' | 'partnerSigner' | 'other', string>;

/** `null`: no token at all. */
const get = (url: string, token: string | null = tokens.admin) => {
  const req = request(t.app).get(url);
  return token === null ? req : req.set('OSDI-API-Token', token);
};
const post = (url: string, body: unknown, token: string | null = tokens.signer) => {
  const req = request(t.app).post(url);
  return (token === null ? req : req.set('OSDI-API-Token', token)).send(body as object);
};
const sign = (email: string, extra: Record<string, unknown> = {}) =>
  request(t.app)
    .post(`/api/v1/campaigns/${SLUG}/signatures`)
    .send({ name: 'Ida B Wells', email, zip: '60614', ...extra })
    .expect(202);

const person = (email: string, extra: Record<string, unknown> = {}) => ({
  person: {
    given_name: 'Fannie Lou',
    family_name: 'Hamer',
    email_addresses: [{ address: email, primary: true }],
    postal_addresses: [{ primary: true, postal_code: '38751' }],
    ...extra,
  },
});

const errorOf = (body: any) =>
  body['osdi:error'].resource_status[0].error_descriptions as Array<{
    error_code: string;
    description: string;
    properties?: string[];
  }>;

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  partnerId = (
    await t.platform.db
      .insert(partners)
      .values({ campaignId, name: 'Friends of Privacy', sourceCode: 'friends' })
      .returning()
  )[0]!.id;
  const [other] = await t.platform.db
    .insert(campaigns)
    .values({
      slug: 'other-campaign',
      title: 'Another campaign',
      summary: 'Another',
      petitionText: 'Another petition',
      goal: 10,
    })
    .returning();
  const make = async (
    name: string,
    scopes: Array<'read' | 'sign'>,
    scope: { campaignId?: number | null; partnerId?: number | null } = {},
  ) =>
    (
      await createApiToken(
        t.platform.db,
        {
          name,
          scopes,
          campaignId: scope.campaignId === undefined ? campaignId : scope.campaignId,
          partnerId: scope.partnerId ?? null,
        },
        'command line',
      )
    ).token;
  tokens = {
    admin: await make('coalition scripts', ['read', 'sign'], { campaignId: null }),
    reader: await make('reader', ['read']),
    signer: await make('signer', ['sign']),
    partner: await make('friends CRM', ['read'], { partnerId }),
    partnerSigner: await make('friends form', ['read', 'sign'], { partnerId }),
    other: await make('other campaign', ['read', 'sign'], { campaignId: other!.id }),
  };
});
afterAll(() => t.close());

describe('tokens', () => {
  it('answers 401 without a token, with a wrong one, and with a revoked one from its next request', async () => {
    for (const token of [null, '', 'nope', `osdi_${'x'.repeat(43)}`]) {
      const res = await get(`${BASE}/`, token).expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/hal\+json/);
      expect(res.body['osdi:error']).toMatchObject({ response_code: 401 });
    }
    const { token, record } = await createApiToken(
      t.platform.db,
      { name: 'short-lived', scopes: ['read'], campaignId, partnerId: null },
      'command line',
    );
    await get(`${BASE}/petitions`, token).expect(200);
    expect(await revokeApiToken(t.platform.db, record.id, campaignId, 'command line')).toBe(true);
    await get(`${BASE}/petitions`, token).expect(401);
    expect(await revokeApiToken(t.platform.db, record.id, campaignId, 'command line')).toBe(false);
    const actions = (await t.platform.db.select().from(auditLog)).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['api-token.create', 'api-token.revoke']));
    // Only a hash is kept.
    expect(
      JSON.stringify(await queryRows(t.platform.db, sql`SELECT * FROM api_tokens`)),
    ).not.toContain(token.slice(5));
  });

  it("answers 403 outside a token's scope: another campaign, a scope it lacks", async () => {
    expect(
      errorOf((await get(`${BASE}/petitions/${SLUG}`, tokens.other).expect(403)).body)[0]!
        .error_code,
    ).toBe('OUT_OF_SCOPE');
    await get(`${BASE}/petitions/${SLUG}/signatures`, tokens.signer).expect(403);
    await get(`${BASE}/petitions`, tokens.signer).expect(403);
    await get(`${BASE}/advocacy_campaigns/${SLUG}/outreaches`, tokens.signer).expect(403);
    await post(
      `${BASE}/petitions/${SLUG}/signatures`,
      person('scope@example.org'),
      tokens.reader,
    ).expect(403);
    await post(
      `${BASE}/petitions/${SLUG}/signatures`,
      person('scope@example.org'),
      tokens.other,
    ).expect(403);
    expect(await t.platform.db.select().from(signatures)).toEqual([]);
  });

  it("counts each token's requests per day, and summarises a finished day in the audit log once", async () => {
    await get(`${BASE}/`, tokens.reader).expect(200);
    await t.platform.apiTokenUsage.flush();
    const [row] = await queryRows<{ requests: string }>(
      t.platform.db,
      sql`SELECT u.requests FROM api_token_usage u JOIN api_tokens a ON a.id = u.token_id WHERE a.name = 'reader'`,
    );
    expect(Number(row!.requests)).toBeGreaterThanOrEqual(1);
    await t.platform.db.update(apiTokenUsage).set({ day: '2020-01-01' });
    expect(await summariseTokenUse(t.platform.db)).toBeGreaterThan(0);
    expect(await summariseTokenUse(t.platform.db)).toBe(0);
    const [entry] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'api-token.used'));
    expect(entry).toMatchObject({
      actor: 'platform',
      details: { day: '2020-01-01', requests: expect.any(Number) },
    });
  });
});

describe('reading', () => {
  it('serves the entry point with the osdi curie and the collections', async () => {
    const res = await get(`${BASE}/`).expect(200);
    expect(res.body).toMatchObject({
      osdi_version: '1.1.1',
      max_page_size: 100,
      motd: expect.any(String),
      _links: {
        curies: [{ name: 'osdi', templated: true }],
        'osdi:petitions': { href: expect.stringMatching(/\/api\/osdi\/v1\/petitions$/) },
        'osdi:advocacy_campaigns': {
          href: expect.stringMatching(/\/api\/osdi\/v1\/advocacy_campaigns$/),
        },
      },
    });
  });

  it('lists the petitions a token may see, each with its signatures link', async () => {
    const all = await get(`${BASE}/petitions`).expect(200);
    expect(all.body.total_records).toBe(2);
    const own = await get(`${BASE}/petitions`, tokens.reader).expect(200);
    expect(own.body).toMatchObject({ total_records: 1, page: 1, total_pages: 1 });
    expect(own.body._embedded['osdi:petitions'][0]).toMatchObject({
      identifiers: [`ban_face_surveillance:petition-${SLUG}`],
      title: expect.any(String),
      petition_text: expect.any(String),
      total_signatures: expect.any(Number),
      browser_url: `${t.platform.config.publicUrl}/campaigns/${SLUG}`,
      target: expect.arrayContaining([{ name: 'U.S. Senators' }]),
      created_date: expect.stringMatching(/Z$/),
      _links: {
        'osdi:signatures': {
          href: expect.stringMatching(/\/petitions\/ban-facial-recognition\/signatures$/),
        },
      },
    });
    await get(`${BASE}/petitions/no-such-campaign`).expect(404);
  });

  it('pages signatures, with an empty page past the end and a 400 for paging it cannot read', async () => {
    for (let i = 0; i < 5; i++) await sign(`paged-${i}@example.org`, { optIn: i % 2 === 0 });
    const first = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=2`).expect(200);
    expect(first.body).toMatchObject({ page: 1, per_page: 2, total_records: 5, total_pages: 3 });
    expect(first.body._embedded['osdi:signatures']).toHaveLength(2);
    // Signatures have no address of their own: no empty list of links to them.
    expect(first.body._links).not.toHaveProperty('osdi:signatures');
    const next = new URL(first.body._links.next.href);
    const second = await get(`${next.pathname}${next.search}`).expect(200);
    expect(second.body.page).toBe(2);
    const last = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=2&page=3`).expect(200);
    expect(last.body._embedded['osdi:signatures']).toHaveLength(1);
    expect(last.body._links.next).toBeUndefined();
    const past = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=2&page=40`).expect(200);
    expect(past.body).toMatchObject({
      page: 40,
      total_records: 5,
      _embedded: { 'osdi:signatures': [] },
    });
    const seen = [first, second, last].flatMap((res) =>
      res.body._embedded['osdi:signatures'].map((s: any) => s.identifiers[0]),
    );
    expect(new Set(seen).size).toBe(5);
    for (const bad of ['per_page=0', 'per_page=101', 'page=0', 'page=two', 'page=1&page=2']) {
      const res = await get(`${BASE}/petitions/${SLUG}/signatures?${bad}`).expect(400);
      expect(errorOf(res.body)[0]).toMatchObject({ error_code: 'INVALID_PAGING' });
    }
  });

  it("shows the coalition's token an address only where the signer agreed to hear from the campaign", async () => {
    const res = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=100`).expect(200);
    const people = res.body._embedded['osdi:signatures'].map((s: any) => s.person);
    expect(
      people
        .filter((p: any) => p.email_addresses)
        .map((p: any) => p.email_addresses[0].address)
        .sort(),
    ).toEqual(['paged-0@example.org', 'paged-2@example.org', 'paged-4@example.org']);
    expect(people[0]).toMatchObject({
      given_name: 'Ida B',
      family_name: 'Wells',
      postal_addresses: [{ postal_code: '60614', region: 'IL', country: 'US' }],
    });
  });

  it('filters by modified_date for an incremental sync, and refuses a filter it cannot read', async () => {
    const before = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=100`).expect(200);
    const newest = before.body._embedded['osdi:signatures'].at(-1).modified_date;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await sign('later@example.org');
    const since = await get(
      `${BASE}/petitions/${SLUG}/signatures?filter=${encodeURIComponent(`modified_date gt '${newest}'`)}`,
    ).expect(200);
    expect(since.body.total_records).toBe(1);
    expect(since.body._links.self.href).toContain('filter=');
    const none = await get(
      `${BASE}/petitions/${SLUG}/signatures?filter=${encodeURIComponent("created_date lt '2000-01-01T00:00:00Z'")}`,
    ).expect(200);
    expect(none.body.total_records).toBe(0);
    for (const bad of [
      "name eq 'x'",
      "modified_date gt 'yesterday'",
      'modified_date gt 2020-01-01',
      "modified_date gt '2020-01-01' or created_date lt '2021-01-01'",
    ]) {
      const res = await get(
        `${BASE}/petitions/${SLUG}/signatures?filter=${encodeURIComponent(bad)}`,
      ).expect(400);
      expect(errorOf(res.body)[0]).toMatchObject({
        error_code: 'INVALID_FILTER',
        properties: ['filter'],
      });
    }
  });

  it("shows a partner's token only the supporters who agreed to hear from that partner, with their address", async () => {
    await sign('partner-yes@example.org', { source: 'friends', partnerOptIn: true });
    await sign('partner-no@example.org', { source: 'friends' });
    const res = await get(`${BASE}/petitions/${SLUG}/signatures`, tokens.partner).expect(200);
    expect(res.body.total_records).toBe(1);
    expect(res.body._embedded['osdi:signatures'][0]).toMatchObject({
      referrer_data: { source: 'friends' },
      person: { email_addresses: [{ address: 'partner-yes@example.org' }] },
    });
    await t.platform.db
      .update(consents)
      .set({ withdrawnAt: new Date() })
      .where(eq(consents.partnerId, partnerId));
    expect(
      (await get(`${BASE}/petitions/${SLUG}/signatures`, tokens.partner).expect(200)).body
        .total_records,
    ).toBe(0);
  });

  it('hides unconfirmed signatures where the campaign asks signers to confirm', async () => {
    const [other] = await t.platform.db
      .select()
      .from(campaigns)
      .where(eq(campaigns.slug, 'other-campaign'));
    await t.platform.db
      .update(campaigns)
      .set({ requireVerification: true })
      .where(eq(campaigns.id, other!.id));
    t.platform.campaigns.forget('other-campaign');
    await request(t.app)
      .post('/api/v1/campaigns/other-campaign/signatures')
      .send({ name: 'Unconfirmed', email: 'unconfirmed@example.org', zip: '10001' })
      .expect(202);
    expect(
      (await get(`${BASE}/petitions/other-campaign/signatures`, tokens.other).expect(200)).body
        .total_records,
    ).toBe(0);
    await t.platform.db
      .update(signatures)
      .set({ verifiedAt: new Date() })
      .where(eq(signatures.campaignId, other!.id));
    expect(
      (await get(`${BASE}/petitions/other-campaign/signatures`, tokens.other).expect(200)).body
        .total_records,
    ).toBe(1);
    await t.platform.db
      .update(campaigns)
      .set({ requireVerification: false })
      .where(eq(campaigns.id, other!.id));
    t.platform.campaigns.forget('other-campaign');
  });

  it('lists letter campaigns and their outreaches with targets and statuses', async () => {
    await importRepresentativeData(
      t.platform.db,
      path.join(__dirname, '..', 'fixtures', 'representatives'),
    );
    await t.platform.representatives.refresh();
    await goLive(t.platform);
    await request(t.app)
      .post(`/api/v1/campaigns/${SLUG}/letters`)
      .send({
        name: 'Rosa Writer',
        email: 'rosa@example.org',
        zip: '80010',
        source: 'friends',
        partnerOptIn: true,
      })
      .expect(202);
    const list = await get(`${BASE}/advocacy_campaigns`, tokens.reader).expect(200);
    expect(list.body._embedded['osdi:advocacy_campaigns'][0]).toMatchObject({
      total_outreaches: 1,
      targets: expect.arrayContaining([{ title: 'U.S. Senators' }]),
      _links: { 'osdi:outreaches': { href: expect.any(String) } },
    });
    const res = await get(`${BASE}/advocacy_campaigns/${SLUG}/outreaches`, tokens.partner).expect(
      200,
    );
    expect(res.body.total_records).toBe(1);
    expect(res.body._embedded['osdi:outreaches'][0]).toMatchObject({
      person: {
        given_name: 'Rosa',
        family_name: 'Writer',
        email_addresses: [{ address: 'rosa@example.org' }],
      },
      targets: expect.arrayContaining([
        expect.objectContaining({
          family_name: 'Senate',
          'ban_face_surveillance:status': expect.any(String),
        }),
      ]),
      referrer_data: { source: 'friends' },
    });
    // The coalition's token sees it too, without the address: Rosa did not ask to hear from the campaign.
    const own = await get(`${BASE}/advocacy_campaigns/${SLUG}/outreaches`, tokens.reader).expect(
      200,
    );
    expect(own.body._embedded['osdi:outreaches'][0].person.email_addresses).toBeUndefined();
  });
});

describe('the record signature helper', () => {
  const url = `${BASE}/petitions/${SLUG}/signatures`;
  const count = async () => (await t.platform.db.select().from(signatures)).length;

  it('signs through the same path as the other doors, and answers a repeat exactly as the first', async () => {
    const before = await count();
    const first = await post(url, {
      ...person('Fannie@Example.org'),
      referrer_data: { source: 'osdi-test' },
      add_tags: ['volunteer'],
      unknown_field: { ignored: true },
    }).expect(200);
    expect(first.headers['content-type']).toMatch(/^application\/hal\+json/);
    expect(first.body).toMatchObject({
      identifiers: [expect.stringMatching(/^ban_face_surveillance:signature-/)],
      person: {
        given_name: 'Fannie Lou',
        family_name: 'Hamer',
        email_addresses: [{ address: 'fannie@example.org' }],
      },
      referrer_data: { source: 'osdi-test' },
    });
    const repeat = await post(url, {
      ...person('fannie@example.org'),
      referrer_data: { source: 'osdi-test' },
      add_tags: ['volunteer'],
      unknown_field: { ignored: true },
    }).expect(200);
    expect(repeat.body).toEqual(first.body);
    expect(await count()).toBe(before + 1);
    // The identifier is the one the collection shows.
    const listed = await get(`${BASE}/petitions/${SLUG}/signatures?per_page=100`).expect(200);
    expect(listed.body._embedded['osdi:signatures'].map((s: any) => s.identifiers[0])).toContain(
      first.body.identifiers[0],
    );
  });

  it("takes the signer's language from languages_spoken, for their emails", async () => {
    await post(url, person('hablante@example.org', { languages_spoken: ['fr', 'es-MX'] })).expect(
      200,
    );
    const [row] = await queryRows<{ language: string }>(
      t.platform.db,
      sql`SELECT language FROM signatures WHERE email_hash = ${t.platform.encryption.emailHash('hablante@example.org')}::bytea`,
    );
    expect(row!.language).toBe('es');
  });

  it("records a partner's subscribed person as consent to hear from that partner, under its own source code", async () => {
    await post(
      url,
      person('subscribed@example.org', {
        email_addresses: [{ address: 'subscribed@example.org', status: 'subscribed' }],
      }),
      tokens.partnerSigner,
    ).expect(200);
    const [row] = await queryRows<{
      source: string;
      scope: string;
      partner_id: number;
      channel: string;
      wording: string;
    }>(
      t.platform.db,
      sql`SELECT s.source, k.scope, k.partner_id, k.channel, k.wording FROM signatures s JOIN consents k ON k.signature_id = s.id
          WHERE s.email_hash = ${t.platform.encryption.emailHash('subscribed@example.org')}::bytea`,
    );
    expect(row).toMatchObject({
      source: 'friends',
      scope: 'partner',
      partner_id: partnerId,
      channel: 'api',
      wording: expect.stringContaining('Friends of Privacy'),
    });
    const res = await post(
      url,
      { ...person('elsewhere@example.org'), referrer_data: { source: 'other' } },
      tokens.partnerSigner,
    ).expect(400);
    expect(errorOf(res.body)[0]).toMatchObject({ properties: ['referrer_data.source'] });
  });

  it.each([
    ['an empty body', undefined, 'person'],
    ['an array', [person('a@example.org')], 'body'],
    ['no person', { referrer_data: {} }, 'person'],
    [
      'no email address',
      { person: { given_name: 'X', email_addresses: [] } },
      'person.email_addresses',
    ],
    ['a bad email address', person('not-an-address'), 'person.email_addresses[0].address'],
    [
      'no name',
      {
        person: {
          email_addresses: [{ address: 'noname@example.org' }],
          postal_addresses: [{ postal_code: '10001' }],
        },
      },
      'person.given_name',
    ],
    [
      'no postal code',
      { person: { given_name: 'X', email_addresses: [{ address: 'nozip@example.org' }] } },
      'person.postal_addresses[0].postal_code',
    ],
    [
      'a bad postal code',
      person('badzip@example.org', { postal_addresses: [{ postal_code: 'ABCDE' }] }),
      'person.postal_addresses[0].postal_code',
    ],
    [
      'a name too long',
      person('long@example.org', { given_name: 'x'.repeat(101) }),
      'person.given_name',
    ],
    [
      'a bad source code',
      { ...person('src@example.org'), referrer_data: { source: 'Not A Code!' } },
      'referrer_data.source',
    ],
    [
      'tags that are not a list',
      { ...person('tags@example.org'), add_tags: 'volunteer' },
      'add_tags',
    ],
    [
      'a direction control in the name',
      person('bidi@example.org', { given_name: 'Fan\u202Enie' }),
      'person.given_name',
    ],
  ])(
    'refuses %s with a 400 naming the field, and writes nothing',
    async (_label, body, property) => {
      const before = await count();
      const res = await request(t.app)
        .post(url)
        .set('OSDI-API-Token', tokens.signer)
        .set('content-type', 'application/json')
        .send(body === undefined ? '' : JSON.stringify(body))
        .expect(400);
      expect(res.body['osdi:error']).toMatchObject({
        response_code: 400,
        resource_status: [{ resource: 'osdi:signature', response_code: 400 }],
      });
      expect(errorOf(res.body).map((error) => error.properties?.[0])).toContain(property);
      expect(await count()).toBe(before);
    },
  );

  it('refuses a body that is not JSON, and one too large, as OSDI errors', async () => {
    const broken = await request(t.app)
      .post(url)
      .set('OSDI-API-Token', tokens.signer)
      .set('content-type', 'application/json')
      .send('{"person":')
      .expect(400);
    expect(errorOf(broken.body)[0]!.error_code).toBe('INVALID_JSON');
    const huge = await request(t.app)
      .post(url)
      .set('OSDI-API-Token', tokens.signer)
      .send({ ...person('huge@example.org'), padding: 'x'.repeat(70_000) })
      .expect(413);
    expect(errorOf(huge.body)[0]!.error_code).toBe('TOO_LARGE');
  });

  it('answers 409 for a closed petition, and 404 for none', async () => {
    await t.platform.db
      .update(campaigns)
      .set({ status: 'closed' })
      .where(eq(campaigns.slug, 'other-campaign'));
    t.platform.campaigns.forget('other-campaign');
    await post(
      `${BASE}/petitions/other-campaign/signatures`,
      person('late@example.org'),
      tokens.other,
    ).expect(409);
    await post(
      `${BASE}/petitions/nothing-here/signatures`,
      person('late@example.org'),
      tokens.admin,
    ).expect(404);
  });
});
