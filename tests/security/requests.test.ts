import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { customTargets, officialStances } from '../../src/db/schema';
import { importRepresentativeData } from '../../src/representatives/import';
import { hiddenFields } from '../helpers/html';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf, signInAs } from '../helpers/staff';

/**
 * What every request must meet before it reaches a route: forms need their CSRF token (403
 * without it, or with another's), bodies have a size limit (413), JSON must parse (400), and every
 * answer carries the strict Content-Security-Policy (no inline script, nothing from other origins).
 */
const SLUG = 'ban-facial-recognition';
let t: TestPlatform;
let organizer: Awaited<ReturnType<typeof signInAs>>;
let admin: Awaited<ReturnType<typeof signInAs>>;

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  organizer = await signInAs(t.app, t.platform.db, 'organizer');
  admin = await signInAs(t.app, t.platform.db, 'admin');
});
afterAll(async () => {
  await t.close();
});

/** Every route the app registers for `method`, with its full path (`/staff/campaigns/:slug/edit`). */
function routes(app: Express, method: 'post' | 'get'): string[] {
  const found: string[] = [];
  type Layer = {
    route?: { path: unknown; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
    rawPath?: unknown;
  };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (layer.route.methods[method] && typeof layer.route.path === 'string')
          found.push(prefix + layer.route.path);
      } else if (layer.handle?.stack) {
        const mount =
          typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(found)];
}

/** A concrete address for a route's pattern. */
const concrete = (route: string) =>
  route
    .replace(':slug', SLUG)
    .replace(':level', 'federal')
    .replace(':id', '1')
    .replace(':token', 'a'.repeat(32));

/**
 * POST routes that take no CSRF token, and why: a mail provider's one-click unsubscribe (RFC 8058)
 * posts without cookies; the link's own token is the authority.
 */
const NO_CSRF_BY_DESIGN = new Set(['/u/:token']);
const CSRF_MESSAGE = 'This form has expired or was sent from another site.';
/**
 * A public form whose token fails is no dead end: it comes back, its fields kept, for its sender to
 * confirm with one press (403, nothing done), with this message.
 */
const CONFIRM_MESSAGE = 'We could not check that this form came from this site';
/** Forms answered without their token because what they do then changes nothing: lookups, and each letter step but sending (which asks to confirm). */
const ANSWERED_WITHOUT_ACTING = new Set([
  '/campaigns/:slug/representatives',
  '/campaigns/:slug/letters',
]);
const refusedAsForgery = (answer: { status: number; text: string }) =>
  answer.status === 403 &&
  (answer.text.includes(CSRF_MESSAGE) || answer.text.includes(CONFIRM_MESSAGE));

describe('CSRF', () => {
  const forms = () =>
    routes(t.app, 'post').filter(
      (route) => !route.startsWith('/api/') && !NO_CSRF_BY_DESIGN.has(route),
    );

  it('finds the forms to check (public and staff)', () => {
    const all = forms();
    expect(all).toEqual(
      expect.arrayContaining([
        '/campaigns/:slug/sign',
        '/campaigns/:slug/letters',
        '/staff/login',
        '/staff/campaigns',
        '/staff/campaigns/:slug/targets',
      ]),
    );
    expect(all.length).toBeGreaterThan(15);
  });

  it('lets a route without a CSRF token act only on a link token of its own', async () => {
    for (const route of routes(t.app, 'post').filter((path) => NO_CSRF_BY_DESIGN.has(path))) {
      const answer = await request(t.app)
        .post(concrete(route))
        .type('form')
        .send({ 'List-Unsubscribe': 'One-Click' });
      expect({ route, status: answer.status >= 400 && answer.status < 500 }).toEqual({
        route,
        status: true,
      });
    }
  });

  it('refuses every form posted without a token, with a token not its own, or with a forged one: 403 (or, for a lookup, an answer), nothing done', async () => {
    // A visitor who loaded a page (their own cookie and token), and another visitor's token.
    const visitor = request.agent(t.app);
    const visitorFields = hiddenFields((await visitor.get(`/campaigns/${SLUG}`).expect(200)).text);
    const strangerToken = hiddenFields(
      (await request(t.app).get(`/campaigns/${SLUG}`).expect(200)).text,
    )._csrf!;
    const body = {
      name: 'Csrf Victim',
      email: 'csrf@example.org',
      zip: '80010',
      title: 'Csrf',
      slug: 'csrf',
      role: 'admin',
      kind: 'signatures',
      step: 'send',
    };

    const refused: string[] = [];
    for (const route of forms()) {
      const url = concrete(route);
      const staff = route.startsWith('/staff');
      const agents = staff ? [organizer.agent, admin.agent] : [visitor];
      // A staff token belongs to its session: the organizer's token is not the admin's.
      const others = staff ? [admin.token, strangerToken] : [strangerToken];
      for (const agent of agents) {
        const tries: Array<Record<string, string>> = [
          { ...body },
          { ...body, _csrf: 'forged-token' },
          { ...body, _csrf: '' },
          ...others
            .filter((token) => !(agent === admin.agent && token === admin.token))
            .map((token) => ({ ...body, _csrf: token, formToken: visitorFields.formToken ?? '' })),
        ];
        for (const fields of tries) {
          const answer = await agent.post(url).type('form').send(fields);
          // Refused as a forgery, not for some other reason (a role without the permission is 403 too).
          const ok = ANSWERED_WITHOUT_ACTING.has(route)
            ? answer.status < 500 && answer.status !== 303
            : refusedAsForgery(answer);
          if (!ok)
            refused.push(`${route} with ${JSON.stringify(fields._csrf ?? null)}: ${answer.status}`);
        }
      }
      // And from a page with no cookie at all.
      const bare = await request(t.app)
        .post(url)
        .type('form')
        .send({ ...body, _csrf: strangerToken });
      const ok = ANSWERED_WITHOUT_ACTING.has(route)
        ? bare.status < 500 && bare.status !== 303
        : refusedAsForgery(bare);
      if (!ok) refused.push(`${route} without cookies: ${bare.status}`);
    }
    expect(refused).toEqual([]);
    // The refusal is the form again, with what was typed, and one press to confirm.
    const answer = await visitor
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send(body)
      .expect(403);
    expect(answer.text).toContain(CONFIRM_MESSAGE);
    expect(answer.text).toContain('value="Csrf Victim"');
    // Nothing was done by any of them.
    const [row] = await queryRows<{ signatures: number; campaigns: number; accounts: number }>(
      t.platform.db,
      sql`SELECT (SELECT count(*) FROM signatures)::int AS signatures, (SELECT count(*) FROM campaigns WHERE slug = 'csrf')::int AS campaigns,
                 (SELECT count(*) FROM staff_accounts)::int AS accounts`,
    );
    expect(row).toEqual({ signatures: 0, campaigns: 0, accounts: 2 });
  });

  it('refuses a CSV upload (multipart) without its token', async () => {
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('list', 'Forged')
      .attach('file', Buffer.from('name,title,represents\nA,B,everyone\n'), 'x.csv')
      .expect(403);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('_csrf', admin.token)
      .field('list', 'Forged')
      .attach('file', Buffer.from('name,title,represents\nA,B,everyone\n'), 'x.csv')
      .expect(403);
    expect(await t.platform.db.select().from(customTargets)).toEqual([]);
  });

  it('refuses a stances CSV upload (multipart) without its token', async () => {
    const csv = Buffer.from('id,stance,source\nT000001,opposes,Forged\n');
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/stances/import`)
      .attach('file', csv, 'stances.csv')
      .expect(403);
    await organizer.agent
      .post(`/staff/campaigns/${SLUG}/stances/import`)
      .field('_csrf', admin.token)
      .attach('file', csv, 'stances.csv')
      .expect(403);
    expect(await t.platform.db.select().from(officialStances)).toEqual([]);
  });

  it('refuses a multipart post to every other form, with or without a token: 403, nothing done', async () => {
    // Only the CSV uploads read a multipart body (and check their token once read); every other
    // form must not be reachable by one, whatever it carries.
    const uploads = ['/staff/campaigns/:slug/targets', '/staff/campaigns/:slug/stances/import'];
    const multipart = forms().filter((route) => !uploads.includes(route));
    expect(multipart).toEqual(
      expect.arrayContaining([
        '/staff/logout',
        '/staff/accounts',
        '/staff/accounts/:id',
        '/staff/account/password',
        '/campaigns/:slug/sign',
      ]),
    );
    const victim = await signInAs(
      t.app,
      t.platform.db,
      'admin',
      'multipart-victim@staff.example.org',
    );
    const refused: string[] = [];
    for (const route of multipart) {
      const agent = route.startsWith('/staff') ? victim.agent : request.agent(t.app);
      for (const token of [undefined, victim.token]) {
        let post = agent
          .post(concrete(route))
          .field('email', 'multipart@staff.example.org')
          .field('role', 'admin')
          .field('action', 'disable');
        if (token) post = post.field('_csrf', token);
        const answer = await post;
        if (!refusedAsForgery(answer))
          refused.push(`${route} ${token ? 'with' : 'without'} a token: ${answer.status}`);
      }
    }
    expect(refused).toEqual([]);
    // Still signed in (the logout did not happen), and no account was made or changed.
    await victim.agent.get('/staff').expect(200);
    const [row] = await queryRows<{ invited: number; disabled: number }>(
      t.platform.db,
      sql`SELECT (SELECT count(*) FROM staff_accounts WHERE email = 'multipart@staff.example.org')::int AS invited,
                 (SELECT count(*) FROM staff_accounts WHERE status <> 'active')::int AS disabled`,
    );
    expect(row).toEqual({ invited: 0, disabled: 0 });
  });

  it('puts a token in every form the pages show', async () => {
    const pages = [
      {
        agent: request(t.app),
        paths: [
          '/',
          `/campaigns/${SLUG}`,
          `/campaigns/${SLUG}/thanks`,
          `/campaigns/${SLUG}/representatives`,
          `/campaigns/${SLUG}/letters`,
          '/privacy/my-data',
          '/staff/login',
        ],
      },
      {
        agent: organizer.agent,
        paths: [
          '/staff',
          `/staff/campaigns/${SLUG}`,
          `/staff/campaigns/${SLUG}/edit`,
          '/staff/campaigns/new',
          `/staff/campaigns/${SLUG}/templates`,
          `/staff/campaigns/${SLUG}/targets`,
          `/staff/campaigns/${SLUG}/partners`,
          `/staff/campaigns/${SLUG}/exports`,
          '/staff/account',
        ],
      },
      { agent: admin.agent, paths: ['/staff/accounts', '/staff/audit'] },
    ];
    const missing: string[] = [];
    let checked = 0;
    for (const { agent, paths } of pages) {
      for (const url of paths) {
        const page = await agent.get(url).expect(200);
        for (const [form] of page.text.matchAll(/<form\b[^>]*method="post"[\s\S]*?<\/form>/gi)) {
          checked++;
          if (!/name="_csrf" value="[^"]+"/.test(form))
            missing.push(`${url}: ${form.slice(0, 100)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});

describe('bodies', () => {
  const big = (bytes: number) => 'x'.repeat(bytes);

  /** The OSDI API answers with OSDI's error object, as its specification asks. */
  const osdiError = (status: number, code: string) => ({
    'osdi:error': {
      request_type: 'atomic',
      response_code: status,
      resource_status: [
        expect.objectContaining({
          response_code: status,
          error_descriptions: [expect.objectContaining({ error_code: code })],
        }),
      ],
    },
  });

  it('answers 413 to an oversized JSON body, before any work', async () => {
    for (const route of routes(t.app, 'post').filter((path) => path.startsWith('/api/'))) {
      const answer = await request(t.app)
        .post(concrete(route))
        .set('content-type', 'application/json')
        .send(JSON.stringify({ name: big(20_000) }));
      const expected = route.startsWith('/api/osdi/')
        ? osdiError(413, 'TOO_LARGE')
        : { error: 'payload_too_large', message: expect.any(String) };
      expect({ route, status: answer.status, body: answer.body }).toEqual({
        route,
        status: 413,
        body: expected,
      });
    }
  });

  it('answers 413 to an oversized form, public or staff', async () => {
    const visitor = request.agent(t.app);
    const fields = hiddenFields((await visitor.get(`/campaigns/${SLUG}`).expect(200)).text);
    const sign = await visitor
      .post(`/campaigns/${SLUG}/sign`)
      .type('form')
      .send({ ...fields, name: big(20_000), email: 'big@example.org', zip: '80010' })
      .expect(413);
    expect(sign.text).toContain('too large');
    await visitor
      .post(`/campaigns/${SLUG}/letters`)
      .type('form')
      .send({ ...fields, step: 'lookup', note: big(20_000) })
      .expect(413);
    await organizer.agent
      .post('/staff/campaigns')
      .type('form')
      .send({ _csrf: organizer.token, petitionText: big(300_000) })
      .expect(413);
  });

  it('refuses a CSV upload over its limit with a message, importing nothing', async () => {
    const page = await organizer.agent.get(`/staff/campaigns/${SLUG}/targets`).expect(200);
    const answer = await organizer.agent
      .post(`/staff/campaigns/${SLUG}/targets`)
      .field('_csrf', csrfTokenOf(page.text))
      .field('list', 'Huge')
      .attach(
        'file',
        Buffer.from(`name,title,represents\n${'A,B,everyone\n'.repeat(200_000)}`),
        'huge.csv',
      );
    expect([400, 413]).toContain(answer.status);
    expect(answer.text).toMatch(/larger than 2 MB/);
    expect(await t.platform.db.select().from(customTargets)).toEqual([]);
  });

  it('answers 400 to JSON that does not parse, on every JSON route', async () => {
    const routesSeen = routes(t.app, 'post').filter((route) => route.startsWith('/api/'));
    expect(routesSeen.length).toBeGreaterThanOrEqual(3);
    for (const route of routesSeen) {
      for (const text of ['{"name": "Ida', '{name: 1}', '[1,]', '\u0000']) {
        const answer = await request(t.app)
          .post(concrete(route))
          .set('content-type', 'application/json')
          .send(text);
        if (route.startsWith('/api/osdi/')) {
          expect({ route, text, status: answer.status, body: answer.body }).toEqual({
            route,
            text,
            status: 400,
            body: osdiError(400, 'INVALID_JSON'),
          });
          continue;
        }
        expect({ route, text, status: answer.status, error: answer.body.error }).toEqual({
          route,
          text,
          status: 400,
          error: 'bad_request',
        });
        expect(answer.body.message).toMatch(/not valid JSON/);
      }
    }
  });
});

describe('Content-Security-Policy', () => {
  /** The policy's directives, by name. */
  const policyOf = (header: string | undefined) =>
    Object.fromEntries(
      (header ?? '')
        .split(';')
        .map((part) => part.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([name, ...sources]) => [name!, sources]),
    );

  const expectStrictPolicy = (where: string, header: string | undefined) => {
    const policy = policyOf(header);
    expect({ where, policy }).toEqual({
      where,
      policy: expect.objectContaining({
        'default-src': ["'none'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'frame-ancestors': ["'none'"],
        'form-action': ["'self'"],
      }),
    });
    // Nothing inline, nothing evaluated, no other origin anywhere in it.
    const sources = Object.values(policy).flat();
    expect({
      where,
      loose: sources.filter((source) => /unsafe|\*|^https?:|^\w+\.\w+/.test(source)),
    }).toEqual({ where, loose: [] });
  };

  /** GETs each address with `agent`, keeping where each answer came from. */
  const fetchAll = (agent: ReturnType<typeof request.agent>, urls: string[]) =>
    Promise.all(urls.map(async (url) => ({ where: url, answer: await agent.get(url) })));

  it('is on every page, public and staff, and on errors and JSON', async () => {
    const answers = [
      ...(await fetchAll(request(t.app), [
        '/',
        `/campaigns/${SLUG}`,
        `/campaigns/${SLUG}/thanks`,
        `/campaigns/${SLUG}/representatives`,
        `/campaigns/${SLUG}/letters`,
        '/privacy/my-data',
        '/staff/login',
        '/no-such-page',
        '/healthz',
        `/api/v1/campaigns/${SLUG}/stats`,
        '/static/css/site.css',
        '/static/js/live-count.js',
      ])),
      ...(await fetchAll(organizer.agent, [
        '/staff',
        `/staff/campaigns/${SLUG}`,
        `/staff/campaigns/${SLUG}/edit`,
        `/staff/campaigns/${SLUG}/templates`,
        `/staff/campaigns/${SLUG}/exports`,
      ])),
      {
        where: 'a form without its token',
        answer: await request(t.app)
          .post(`/campaigns/${SLUG}/sign`)
          .type('form')
          .send({ name: 'x' }),
      },
      {
        where: 'JSON that does not parse',
        answer: await request(t.app)
          .post(`/api/v1/campaigns/${SLUG}/signatures`)
          .set('content-type', 'application/json')
          .send('{'),
      },
    ];
    for (const { where, answer } of answers) {
      expectStrictPolicy(where, answer.headers['content-security-policy']);
      expect({ where, nosniff: answer.headers['x-content-type-options'] }).toEqual({
        where,
        nosniff: 'nosniff',
      });
      expect({ where, referrer: answer.headers['referrer-policy'] }).toEqual({
        where,
        referrer: 'no-referrer',
      });
    }
  });

  it('has no page with inline script or style, or a resource from another origin, in its HTML', async () => {
    const pages = [
      ...(await fetchAll(request(t.app), [
        '/',
        `/campaigns/${SLUG}`,
        `/campaigns/${SLUG}/thanks`,
        `/campaigns/${SLUG}/representatives`,
        `/campaigns/${SLUG}/letters`,
        '/privacy/my-data',
        '/staff/login',
        '/no-such-page',
      ])),
      ...(await fetchAll(organizer.agent, [
        '/staff',
        `/staff/campaigns/${SLUG}`,
        `/staff/campaigns/${SLUG}/edit`,
        `/staff/campaigns/${SLUG}/templates`,
        `/staff/campaigns/${SLUG}/targets`,
        `/staff/campaigns/${SLUG}/partners`,
        `/staff/campaigns/${SLUG}/exports`,
      ])),
      ...(await fetchAll(admin.agent, ['/staff/accounts', '/staff/audit'])),
    ];
    for (const { where, answer } of pages) {
      const html = answer.text;
      const inlineScripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(
        ([, attributes = '', content = '']) =>
          !/\bsrc="\//.test(attributes) || content.trim() !== '',
      );
      const inlineStyles = [...html.matchAll(/<style\b|\sstyle="/gi)];
      // What a page loads: scripts, styles, images, frames, icons. (Links to other sites are fine; loads are not.)
      const loads = [
        ...html.matchAll(
          /<(script|img|iframe|source|video|audio|embed|object|link)\b[^>]*\b(src|href|data)="([^"]*)"/gi,
        ),
      ]
        .filter(
          ([tag = '', element = '']) =>
            element.toLowerCase() !== 'link' ||
            /rel="(stylesheet|icon|preload|modulepreload|manifest)"/.test(tag),
        )
        .map((match) => match[3] ?? '')
        .filter((url) => !url.startsWith('/') || url.startsWith('//'));
      expect({
        where,
        inlineScripts: inlineScripts.length,
        inlineStyles: inlineStyles.length,
        loads,
      }).toEqual({ where, inlineScripts: 0, inlineStyles: 0, loads: [] });
    }
  });
});
