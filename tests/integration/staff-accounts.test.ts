import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { auditLog, staffAccounts } from '../../src/db/schema';
import {
  createAccount,
  FIRST_LOGIN_DELAY_SECONDS,
  FREE_FAILED_LOGINS,
  loginDelaySeconds,
  MAX_LOGIN_DELAY_SECONDS,
} from '../../src/staff/accounts';
import { TRUSTED_BROWSER_FAILURES } from '../../src/staff/trusted-browsers';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf, signInAs, STAFF_PASSWORD } from '../helpers/staff';

/** Staff accounts through the real app: signing in, the lock-out, sessions, invitations, roles, the audit log. */
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(async () => {
  await t.close();
});

const actions = async () =>
  (await t.platform.db.select().from(auditLog).orderBy(auditLog.id)).map(
    (entry) => `${entry.actor} ${entry.action}`,
  );

async function loginForm() {
  const agent = request.agent(t.app);
  const page = await agent.get('/staff/login').expect(200);
  return { agent, token: csrfTokenOf(page.text) };
}

describe('signing in', () => {
  test('the console sends visitors to the login page and back where they were going', async () => {
    const visit = await request(t.app).get('/staff/accounts').expect(303);
    expect(visit.headers.location).toBe('/staff/login?next=%2Fstaff%2Faccounts');
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const page = await admin.agent.get('/staff').expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('Campaigns');
    expect(page.text).toContain('Test admin');
    expect(await actions()).toContain('admin@staff.example.org login');
  });

  test('the session cookie is httpOnly and SameSite=Lax, and the session lives in Redis', async () => {
    const { agent, token } = await loginForm();
    await t.platform.db.select().from(staffAccounts);
    const answer = await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'admin@staff.example.org', password: STAFF_PASSWORD })
      .expect(303);
    const cookie = (answer.headers['set-cookie'] as unknown as string[]).find((line) =>
      line.startsWith('staff='),
    )!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const keys = await t.platform.redis.keys(`${t.platform.config.redisKeyPrefix}:staff-session:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  test('a wrong password is refused with one message for unknown and known emails', async () => {
    const { agent, token } = await loginForm();
    const unknown = await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'nobody@staff.example.org', password: 'whatever it is' })
      .expect(401);
    const wrong = await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'admin@staff.example.org', password: 'not the password' })
      .expect(401);
    expect(unknown.text).toContain('That email and password do not match an active account.');
    expect(wrong.text).toContain('That email and password do not match an active account.');
    const invalid = await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'not an email', password: '' })
      .expect(400);
    expect(invalid.text).toContain('Enter a valid email address.');
    await t.platform.db
      .update(staffAccounts)
      .set({ failedLogins: 0 })
      .where(eq(staffAccounts.email, 'admin@staff.example.org'));
  });
  test('after signing in, only a path inside the console is followed', async () => {
    for (const [next, expected] of [
      ['/staff/audit', '/staff/audit'],
      ['https://evil.example/', '/staff'],
      ['//evil.example', '/staff'],
      ['/campaigns', '/staff'],
    ]) {
      const { agent, token } = await loginForm();
      const answer = await agent
        .post('/staff/login')
        .type('form')
        .send({ _csrf: token, email: 'admin@staff.example.org', password: STAFF_PASSWORD, next })
        .expect(303);
      expect(answer.headers.location).toBe(expected);
    }
  });

  test('signing out ends the session', async () => {
    const { agent, token } = await signInAs(
      t.app,
      t.platform.db,
      'viewer',
      'leaver@staff.example.org',
    );
    await agent.post('/staff/logout').type('form').send({ _csrf: token }).expect(303);
    await agent.get('/staff').expect(303);
    expect(await actions()).toContain('leaver@staff.example.org logout');
  });
});

describe('the lock-out', () => {
  /** Signs in (or tries to) with `password` from `agent`, a browser that has loaded the login page. */
  const attempt = (
    agent: ReturnType<typeof request.agent>,
    token: string,
    email: string,
    password: string,
  ) => agent.post('/staff/login').type('form').send({ _csrf: token, email, password });
  /** The page as anyone could compare it: without the form's token and the email typed back. */
  const comparable = (answer: request.Response) => ({
    status: answer.status,
    type: answer.headers['content-type'],
    page: answer.text.replace(/value="[^"]*"/g, 'value=""'),
  });
  const stateOf = async (email: string) => {
    const [row] = await queryRows<{
      failed_logins: number;
      waiting: boolean;
      wait_seconds: number | null;
    }>(
      t.platform.db,
      sql`SELECT failed_logins, coalesce(locked_until > now(), false) AS waiting, extract(epoch FROM locked_until - now())::float AS wait_seconds
          FROM staff_accounts WHERE email = ${email}`,
    );
    return row!;
  };
  /** The wait the account asks for, as if it had just started (the test makes time pass by moving it back). */
  const timePasses = (email: string) =>
    t.platform.db
      .update(staffAccounts)
      .set({ lockedUntil: sql`now() - interval '1 second'` })
      .where(eq(staffAccounts.email, email));

  test('answers a known and an unknown account the same, however many attempts', async () => {
    await createAccount(
      t.platform.db,
      { email: 'known@staff.example.org', role: 'viewer', password: STAFF_PASSWORD },
      'command line',
    );
    const { agent, token } = await loginForm();
    for (let round = 1; round <= FREE_FAILED_LOGINS + 3; round++) {
      const known = await attempt(agent, token, 'known@staff.example.org', `guess ${round}`);
      const unknown = await attempt(agent, token, 'unknown@staff.example.org', `guess ${round}`);
      expect({ round, ...comparable(known) }).toEqual({ round, ...comparable(unknown) });
      expect(known.status).toBe(401);
      expect(known.text).toContain('That email and password do not match an active account.');
    }
    // The right password, while the account waits: the same answer again.
    const waiting = await attempt(agent, token, 'known@staff.example.org', STAFF_PASSWORD);
    expect(comparable(waiting)).toEqual(
      comparable(await attempt(agent, token, 'unknown@staff.example.org', STAFF_PASSWORD)),
    );
    expect(await actions()).not.toEqual(
      expect.arrayContaining([expect.stringContaining('unknown@')]),
    );
  });

  test(`after ${FREE_FAILED_LOGINS} wrong passwords each attempt waits longer, the password unchecked meanwhile; the wait ends and the right password works`, async () => {
    const email = 'slowed@staff.example.org';
    await createAccount(
      t.platform.db,
      { email, role: 'viewer', password: STAFF_PASSWORD },
      'command line',
    );
    const { agent, token } = await loginForm();
    for (let failure = 1; failure < FREE_FAILED_LOGINS; failure++)
      await attempt(agent, token, email, `guess ${failure}`).expect(401);
    expect(await stateOf(email)).toMatchObject({
      failed_logins: FREE_FAILED_LOGINS - 1,
      waiting: false,
    });

    // Each failure from here on asks for a wait twice as long as the one before, up to the most.
    for (let failure = FREE_FAILED_LOGINS; failure <= FREE_FAILED_LOGINS + 5; failure++) {
      await attempt(agent, token, email, `guess ${failure}`).expect(401);
      const state = await stateOf(email);
      const wait = loginDelaySeconds(failure);
      expect(wait).toBe(
        Math.min(
          FIRST_LOGIN_DELAY_SECONDS * 2 ** (failure - FREE_FAILED_LOGINS),
          MAX_LOGIN_DELAY_SECONDS,
        ),
      );
      expect(state).toMatchObject({ failed_logins: failure, waiting: true });
      expect(state.wait_seconds).toBeLessThanOrEqual(wait);
      expect(state.wait_seconds).toBeGreaterThan(wait - 30);
      // Meanwhile even the right password is refused, and not counted: hammering does not lengthen the wait.
      await attempt(agent, token, email, STAFF_PASSWORD).expect(401);
      await attempt(agent, token, email, 'another guess').expect(401);
      expect((await stateOf(email)).failed_logins).toBe(failure);
      await timePasses(email);
    }
    expect(loginDelaySeconds(FREE_FAILED_LOGINS + 5)).toBe(MAX_LOGIN_DELAY_SECONDS);

    // The wait over, the right password signs in and the count starts again.
    await attempt(agent, token, email, STAFF_PASSWORD).expect(303);
    expect(await stateOf(email)).toMatchObject({ failed_logins: 0, waiting: false });
    const recorded = (await actions()).filter((action) => action.startsWith(`${email} `));
    expect(recorded).toEqual([
      ...Array(FREE_FAILED_LOGINS + 5).fill(`${email} login-failed`),
      `${email} login`,
    ]);
  });

  test('guesses sent all at once get no more tries than one after another', async () => {
    const email = 'parallel@staff.example.org';
    await createAccount(
      t.platform.db,
      { email, role: 'viewer', password: STAFF_PASSWORD },
      'command line',
    );
    const { agent, token } = await loginForm();
    const answers = await Promise.all(
      Array.from({ length: 3 * FREE_FAILED_LOGINS }, (_, i) =>
        attempt(agent, token, email, `parallel guess ${i}`),
      ),
    );
    expect(answers.every((answer) => answer.status === 401)).toBe(true);
    // Only the attempts that got a turn had their password checked and were counted.
    expect(await stateOf(email)).toMatchObject({
      failed_logins: FREE_FAILED_LOGINS,
      waiting: true,
    });
    expect((await actions()).filter((action) => action === `${email} login-failed`)).toHaveLength(
      FREE_FAILED_LOGINS,
    );
  });

  test('the owner, in a browser that signed in before, is not held by the wait someone else caused', async () => {
    const owner = await signInAs(t.app, t.platform.db, 'organizer', 'owner@staff.example.org');
    const cookies = (
      owner.agent as unknown as { jar: { getCookies: (access: object) => Array<{ name: string }> } }
    ).jar;
    expect(
      cookies
        .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
        .map((cookie) => cookie.name),
    ).toContain('staff-browser');
    await owner.agent.post('/staff/logout').type('form').send({ _csrf: owner.token }).expect(303);

    // Someone else guesses until the account waits.
    const stranger = await loginForm();
    for (let failure = 1; failure <= FREE_FAILED_LOGINS; failure++)
      await attempt(stranger.agent, stranger.token, owner.email, `guess ${failure}`).expect(401);
    expect(await stateOf(owner.email)).toMatchObject({ waiting: true });
    await attempt(stranger.agent, stranger.token, owner.email, STAFF_PASSWORD).expect(401);

    // The owner's browser signs in at once.
    const ownerToken = csrfTokenOf((await owner.agent.get('/staff/login').expect(200)).text);
    await attempt(owner.agent, ownerToken, owner.email, STAFF_PASSWORD).expect(303);
    await owner.agent.get('/staff').expect(200);

    // Its own wrong passwords count against the browser, not the account; too many, and it waits like any other.
    const again = csrfTokenOf((await owner.agent.get('/staff').expect(200)).text);
    await owner.agent.post('/staff/logout').type('form').send({ _csrf: again }).expect(303);
    const token = csrfTokenOf((await owner.agent.get('/staff/login').expect(200)).text);
    const before = await stateOf(owner.email);
    for (let failure = 1; failure <= TRUSTED_BROWSER_FAILURES; failure++)
      await attempt(owner.agent, token, owner.email, `typo ${failure}`).expect(401);
    // (The owner's sign-in started the account's count afresh.)
    expect(before.failed_logins).toBe(0);
    expect((await stateOf(owner.email)).failed_logins).toBe(0);
    for (let failure = 1; failure <= FREE_FAILED_LOGINS; failure++)
      await attempt(stranger.agent, stranger.token, owner.email, `more guesses ${failure}`).expect(
        401,
      );
    expect(await stateOf(owner.email)).toMatchObject({ waiting: true });
    await attempt(owner.agent, token, owner.email, STAFF_PASSWORD).expect(401);
    // A cookie that is not the platform's own is worth nothing.
    const forged = request.agent(t.app);
    const forgedToken = csrfTokenOf((await forged.get('/staff/login').expect(200)).text);
    forged.jar.setCookie(
      `staff-browser=${(await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, owner.email)))[0]!.id}.${'A'.repeat(22)}.${'B'.repeat(43)}`,
      '127.0.0.1',
      '/',
    );
    await attempt(forged, forgedToken, owner.email, STAFF_PASSWORD).expect(401);
  });

  test('an admin clears the failed sign-ins (recorded); a disable, an enable or a role change clears them too', async () => {
    const email = 'cleared@staff.example.org';
    await createAccount(
      t.platform.db,
      { email, role: 'viewer', password: STAFF_PASSWORD },
      'command line',
    );
    const [{ id }] = (await t.platform.db
      .select({ id: staffAccounts.id })
      .from(staffAccounts)
      .where(eq(staffAccounts.email, email))) as [{ id: number }];
    const lockOut = async () => {
      const { agent, token } = await loginForm();
      for (let failure = 1; failure <= FREE_FAILED_LOGINS + 1; failure++) {
        await attempt(agent, token, email, `guess ${failure}`).expect(401);
        await timePasses(email);
      }
      await attempt(agent, token, email, 'last guess').expect(401);
      expect(await stateOf(email)).toMatchObject({ waiting: true });
    };
    const admin = await signInAs(t.app, t.platform.db, 'admin');

    await lockOut();
    const page = await admin.agent.get('/staff/accounts').expect(200);
    expect(page.text).toMatch(
      /\d+ failed sign-ins in a row; from a new browser, not before \d\d:\d\d UTC/,
    );
    expect(page.text).toContain(
      `Clear failed sign-ins<span class="visually-hidden"> of ${email}</span>`,
    );
    const organizer = await signInAs(t.app, t.platform.db, 'organizer');
    await organizer.agent
      .post(`/staff/accounts/${id}`)
      .type('form')
      .send({ _csrf: organizer.token, action: 'unlock' })
      .expect(403);
    await admin.agent
      .post(`/staff/accounts/${id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'unlock' })
      .expect(303);
    expect(await stateOf(email)).toMatchObject({ failed_logins: 0, waiting: false });
    const [audit] = await queryRows<{ actor: string; details: Record<string, unknown> }>(
      t.platform.db,
      sql`SELECT actor, details FROM audit_log WHERE action = 'account.unlock' ORDER BY id DESC LIMIT 1`,
    );
    expect(audit).toEqual({
      actor: 'admin@staff.example.org',
      details: { account: email, failures: FREE_FAILED_LOGINS + 2 },
    });
    // The owner, in a new browser, signs in at once.
    const fresh = await loginForm();
    await attempt(fresh.agent, fresh.token, email, STAFF_PASSWORD).expect(303);

    for (const change of [
      { action: 'disable' },
      { action: 'enable' },
      { action: 'role', role: 'organizer' },
    ]) {
      // A disabled account takes no sign-in at all: its count is as it was left when it was disabled.
      if (change.action === 'enable') {
        await t.platform.db
          .update(staffAccounts)
          .set({
            failedLogins: FREE_FAILED_LOGINS + 1,
            lockedUntil: sql`now() + interval '10 minutes'`,
          })
          .where(eq(staffAccounts.id, id));
      } else await lockOut();
      await admin.agent
        .post(`/staff/accounts/${id}`)
        .type('form')
        .send({ _csrf: admin.token, ...change })
        .expect(303);
      expect({ change, ...(await stateOf(email)) }).toMatchObject({
        change,
        failed_logins: 0,
        waiting: false,
      });
    }
  });
});

describe('CSRF', () => {
  test("a staff form posted without its token, or with another session's, is refused with 403", async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const other = await signInAs(t.app, t.platform.db, 'organizer');
    await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ email: 'x@staff.example.org', role: 'viewer' })
      .expect(403);
    await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: other.token, email: 'x@staff.example.org', role: 'viewer' })
      .expect(403);
    await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: 'forged', email: 'x@staff.example.org', role: 'viewer' })
      .expect(403);
    expect(
      await t.platform.db
        .select()
        .from(staffAccounts)
        .where(eq(staffAccounts.email, 'x@staff.example.org')),
    ).toHaveLength(0);
  });
});

describe('accounts', () => {
  test('an admin invites someone; the link sets up the account once, and it signs in', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const invited = await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({
        _csrf: admin.token,
        email: ' New.Person@Staff.Example.org ',
        name: 'New Person',
        role: 'organizer',
      })
      .expect(200);
    const link = /value="(http[^"]+\/staff\/invitations\/[^"]+)"/.exec(invited.text)?.[1];
    expect(link).toBeDefined();
    const path = new URL(link!).pathname;
    const [stored] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'new.person@staff.example.org'));
    expect(stored).toMatchObject({ status: 'invited', role: 'organizer', passwordHash: null });
    expect(stored!.inviteTokenHash).not.toContain(path.split('/').pop());

    const guest = request.agent(t.app);
    const setup = await guest.get(path).expect(200);
    expect(setup.text).toContain('new.person@staff.example.org');
    const short = await guest
      .post(path)
      .type('form')
      .send({
        _csrf: csrfTokenOf(setup.text),
        name: 'New Person',
        password: 'short',
        confirm: 'short',
      })
      .expect(400);
    expect(short.text).toContain('Use at least 12 characters.');
    const differ = await guest
      .post(path)
      .type('form')
      .send({
        _csrf: csrfTokenOf(setup.text),
        name: 'New Person',
        password: 'a long enough password',
        confirm: 'a different password',
      })
      .expect(400);
    expect(differ.text).toContain('The two passwords differ.');
    await guest
      .post(path)
      .type('form')
      .send({
        _csrf: csrfTokenOf(setup.text),
        name: 'New Person',
        password: 'a long enough password',
        confirm: 'a long enough password',
      })
      .expect(303);
    expect((await guest.get('/staff').expect(200)).text).toContain('New Person');
    await request(t.app).get(path).expect(410);

    const { agent, token } = await loginForm();
    await agent
      .post('/staff/login')
      .type('form')
      .send({
        _csrf: token,
        email: 'new.person@staff.example.org',
        password: 'a long enough password',
      })
      .expect(303);
    expect(await actions()).toEqual(
      expect.arrayContaining([
        'admin@staff.example.org account.invite',
        'new.person@staff.example.org account.accept-invitation',
      ]),
    );
    expect(t.logs()).not.toContain(path.split('/').pop());
  });

  test('an expired invitation does not work', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const invited = await admin.agent
      .post('/staff/accounts')
      .type('form')
      .send({ _csrf: admin.token, email: 'late@staff.example.org', role: 'viewer' })
      .expect(200);
    const path = new URL(/value="(http[^"]+\/staff\/invitations\/[^"]+)"/.exec(invited.text)![1]!)
      .pathname;
    await t.platform.db
      .update(staffAccounts)
      .set({ inviteExpiresAt: sql`now() - interval '1 minute'` })
      .where(eq(staffAccounts.email, 'late@staff.example.org'));
    await request(t.app).get(path).expect(410);
  });

  test('disabling an account ends its sessions at once; enabling lets it sign in again', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const victim = await signInAs(t.app, t.platform.db, 'organizer', 'disabled@staff.example.org');
    const [account] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'disabled@staff.example.org'));
    await admin.agent
      .post(`/staff/accounts/${account!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'disable' })
      .expect(303);
    await victim.agent.get('/staff').expect(303);
    const { agent, token } = await loginForm();
    await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'disabled@staff.example.org', password: STAFF_PASSWORD })
      .expect(401);
    await admin.agent
      .post(`/staff/accounts/${account!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'enable' })
      .expect(303);
    await agent
      .post('/staff/login')
      .type('form')
      .send({ _csrf: token, email: 'disabled@staff.example.org', password: STAFF_PASSWORD })
      .expect(303);
  });

  test('a role change takes effect at once', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const staff = await signInAs(t.app, t.platform.db, 'organizer', 'demoted@staff.example.org');
    await staff.agent.get('/staff/campaigns/new').expect(200);
    const [account] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'demoted@staff.example.org'));
    await admin.agent
      .post(`/staff/accounts/${account!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'role', role: 'viewer' })
      .expect(303);
    // The old session ended with the change; signed in again, the account is a viewer.
    await staff.agent.get('/staff/campaigns/new').expect(303);
    const again = await signInAs(t.app, t.platform.db, 'viewer', 'demoted@staff.example.org');
    await again.agent.get('/staff/campaigns/new').expect(403);
    expect(await actions()).toContain('admin@staff.example.org account.role-change');
  });

  test('an admin cannot disable or demote themself, and the last admin stays', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const [me] = await t.platform.db
      .select()
      .from(staffAccounts)
      .where(eq(staffAccounts.email, 'admin@staff.example.org'));
    const self = await admin.agent
      .post(`/staff/accounts/${me!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'disable' })
      .expect(400);
    expect(self.text).toContain('You cannot disable your own account');
    const bad = await admin.agent
      .post(`/staff/accounts/${me!.id}`)
      .type('form')
      .send({ _csrf: admin.token, action: 'explode' })
      .expect(400);
    expect(bad.text).toContain('Choose an account and what to change.');
  });

  test('a changed password ends the other sessions and keeps this one', async () => {
    const first = await signInAs(t.app, t.platform.db, 'organizer', 'changer@staff.example.org');
    const second = await signInAs(t.app, t.platform.db, 'organizer', 'changer@staff.example.org');
    const wrong = await first.agent
      .post('/staff/account/password')
      .type('form')
      .send({
        _csrf: first.token,
        current: 'not it at all',
        password: 'a brand new password',
        confirm: 'a brand new password',
      })
      .expect(400);
    expect(wrong.text).toContain('That is not your current password.');
    await first.agent
      .post('/staff/account/password')
      .type('form')
      .send({
        _csrf: first.token,
        current: STAFF_PASSWORD,
        password: 'a brand new password',
        confirm: 'a brand new password',
      })
      .expect(303);
    await first.agent.get('/staff').expect(200);
    await second.agent.get('/staff').expect(303);
    const [hash] = await queryRows<{ password_hash: string }>(
      t.platform.db,
      sql`SELECT password_hash FROM staff_accounts WHERE email = 'changer@staff.example.org'`,
    );
    expect(hash!.password_hash).toMatch(/^\$argon2id\$/);
  });
});

describe('the audit log', () => {
  test('admins read it, newest first; other roles may not', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const page = await admin.agent.get('/staff/audit').expect(200);
    expect(page.text.indexOf('account.role-change')).toBeLessThan(
      page.text.indexOf('account.invite'),
    );
    const organizer = await signInAs(t.app, t.platform.db, 'organizer');
    await organizer.agent.get('/staff/audit').expect(403);
  });
});
