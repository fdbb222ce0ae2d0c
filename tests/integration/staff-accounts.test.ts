import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { auditLog, staffAccounts } from '../../src/db/schema';
import { LOCK_MINUTES, MAX_FAILED_LOGINS } from '../../src/staff/accounts';
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

const actions = async () => (await t.platform.db.select().from(auditLog).orderBy(auditLog.id)).map((entry) => `${entry.actor} ${entry.action}`);

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
    const answer = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'admin@staff.example.org', password: STAFF_PASSWORD }).expect(303);
    const cookie = (answer.headers['set-cookie'] as unknown as string[]).find((line) => line.startsWith('staff='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const keys = await t.platform.redis.keys(`${t.platform.config.redisKeyPrefix}:staff-session:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  test('a wrong password is refused with one message for unknown and known emails', async () => {
    const { agent, token } = await loginForm();
    const unknown = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'nobody@staff.example.org', password: 'whatever it is' }).expect(401);
    const wrong = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'admin@staff.example.org', password: 'not the password' }).expect(401);
    expect(unknown.text).toContain('That email and password do not match an active account.');
    expect(wrong.text).toContain('That email and password do not match an active account.');
    const invalid = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'not an email', password: '' }).expect(400);
    expect(invalid.text).toContain('Enter a valid email address.');
    await t.platform.db.update(staffAccounts).set({ failedLogins: 0 }).where(eq(staffAccounts.email, 'admin@staff.example.org'));
  });

  test(`${MAX_FAILED_LOGINS} failures in a row lock the account, even against the right password, until the lock ends`, async () => {
    await signInAs(t.app, t.platform.db, 'viewer', 'locked@staff.example.org');
    const { agent, token } = await loginForm();
    for (let attempt = 1; attempt < MAX_FAILED_LOGINS; attempt++) {
      await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'locked@staff.example.org', password: `guess number ${attempt}` }).expect(401);
    }
    const locking = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'locked@staff.example.org', password: 'the last guess' }).expect(423);
    expect(locking.text).toContain(`Try again in ${LOCK_MINUTES} minutes`);
    await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'locked@staff.example.org', password: STAFF_PASSWORD }).expect(423);

    // When the lock has run out, the right password works again and the count starts over.
    await t.platform.db.update(staffAccounts).set({ lockedUntil: sql`now() - interval '1 second'` }).where(eq(staffAccounts.email, 'locked@staff.example.org'));
    await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'locked@staff.example.org', password: STAFF_PASSWORD }).expect(303);
    const [account] = await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'locked@staff.example.org'));
    expect(account).toMatchObject({ failedLogins: 0, lockedUntil: null });
    const recorded = (await actions()).filter((action) => action.startsWith('locked@'));
    expect(recorded).toEqual([
      'locked@staff.example.org login',
      ...Array(MAX_FAILED_LOGINS - 1).fill('locked@staff.example.org login-failed'),
      'locked@staff.example.org account.locked',
      'locked@staff.example.org login-failed',
      'locked@staff.example.org login',
    ]);
    expect(await actions()).not.toEqual(expect.arrayContaining([expect.stringContaining('nobody@')]));
  });

  test('after signing in, only a path inside the console is followed', async () => {
    for (const [next, expected] of [['/staff/audit', '/staff/audit'], ['https://evil.example/', '/staff'], ['//evil.example', '/staff'], ['/campaigns', '/staff']]) {
      const { agent, token } = await loginForm();
      const answer = await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'admin@staff.example.org', password: STAFF_PASSWORD, next }).expect(303);
      expect(answer.headers.location).toBe(expected);
    }
  });

  test('signing out ends the session', async () => {
    const { agent, token } = await signInAs(t.app, t.platform.db, 'viewer', 'leaver@staff.example.org');
    await agent.post('/staff/logout').type('form').send({ _csrf: token }).expect(303);
    await agent.get('/staff').expect(303);
    expect(await actions()).toContain('leaver@staff.example.org logout');
  });
});

describe('CSRF', () => {
  test('a staff form posted without its token, or with another session\'s, is refused with 403', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const other = await signInAs(t.app, t.platform.db, 'organizer');
    await admin.agent.post('/staff/accounts').type('form').send({ email: 'x@staff.example.org', role: 'viewer' }).expect(403);
    await admin.agent.post('/staff/accounts').type('form').send({ _csrf: other.token, email: 'x@staff.example.org', role: 'viewer' }).expect(403);
    await admin.agent.post('/staff/accounts').type('form').send({ _csrf: 'forged', email: 'x@staff.example.org', role: 'viewer' }).expect(403);
    expect(await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'x@staff.example.org'))).toHaveLength(0);
  });
});

describe('accounts', () => {
  test('an admin invites someone; the link sets up the account once, and it signs in', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const invited = await admin.agent.post('/staff/accounts').type('form').send({ _csrf: admin.token, email: ' New.Person@Staff.Example.org ', name: 'New Person', role: 'organizer' }).expect(200);
    const link = /value="(http[^"]+\/staff\/invitations\/[^"]+)"/.exec(invited.text)?.[1];
    expect(link).toBeDefined();
    const path = new URL(link!).pathname;
    const [stored] = await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'new.person@staff.example.org'));
    expect(stored).toMatchObject({ status: 'invited', role: 'organizer', passwordHash: null });
    expect(stored!.inviteTokenHash).not.toContain(path.split('/').pop());

    const guest = request.agent(t.app);
    const setup = await guest.get(path).expect(200);
    expect(setup.text).toContain('new.person@staff.example.org');
    const short = await guest.post(path).type('form').send({ _csrf: csrfTokenOf(setup.text), name: 'New Person', password: 'short', confirm: 'short' }).expect(400);
    expect(short.text).toContain('Use at least 12 characters.');
    const differ = await guest.post(path).type('form').send({ _csrf: csrfTokenOf(setup.text), name: 'New Person', password: 'a long enough password', confirm: 'a different password' }).expect(400);
    expect(differ.text).toContain('The two passwords differ.');
    await guest.post(path).type('form').send({ _csrf: csrfTokenOf(setup.text), name: 'New Person', password: 'a long enough password', confirm: 'a long enough password' }).expect(303);
    expect((await guest.get('/staff').expect(200)).text).toContain('New Person');
    await request(t.app).get(path).expect(410);

    const { agent, token } = await loginForm();
    await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'new.person@staff.example.org', password: 'a long enough password' }).expect(303);
    expect(await actions()).toEqual(expect.arrayContaining(['admin@staff.example.org account.invite', 'new.person@staff.example.org account.accept-invitation']));
    expect(t.logs()).not.toContain(path.split('/').pop());
  });

  test('an expired invitation does not work', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const invited = await admin.agent.post('/staff/accounts').type('form').send({ _csrf: admin.token, email: 'late@staff.example.org', role: 'viewer' }).expect(200);
    const path = new URL(/value="(http[^"]+\/staff\/invitations\/[^"]+)"/.exec(invited.text)![1]!).pathname;
    await t.platform.db.update(staffAccounts).set({ inviteExpiresAt: sql`now() - interval '1 minute'` }).where(eq(staffAccounts.email, 'late@staff.example.org'));
    await request(t.app).get(path).expect(410);
  });

  test('disabling an account ends its sessions at once; enabling lets it sign in again', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const victim = await signInAs(t.app, t.platform.db, 'organizer', 'disabled@staff.example.org');
    const [account] = await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'disabled@staff.example.org'));
    await admin.agent.post(`/staff/accounts/${account!.id}`).type('form').send({ _csrf: admin.token, action: 'disable' }).expect(303);
    await victim.agent.get('/staff').expect(303);
    const { agent, token } = await loginForm();
    await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'disabled@staff.example.org', password: STAFF_PASSWORD }).expect(401);
    await admin.agent.post(`/staff/accounts/${account!.id}`).type('form').send({ _csrf: admin.token, action: 'enable' }).expect(303);
    await agent.post('/staff/login').type('form').send({ _csrf: token, email: 'disabled@staff.example.org', password: STAFF_PASSWORD }).expect(303);
  });

  test('a role change takes effect at once', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const staff = await signInAs(t.app, t.platform.db, 'organizer', 'demoted@staff.example.org');
    await staff.agent.get('/staff/campaigns/new').expect(200);
    const [account] = await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'demoted@staff.example.org'));
    await admin.agent.post(`/staff/accounts/${account!.id}`).type('form').send({ _csrf: admin.token, action: 'role', role: 'viewer' }).expect(303);
    // The old session ended with the change; signed in again, the account is a viewer.
    await staff.agent.get('/staff/campaigns/new').expect(303);
    const again = await signInAs(t.app, t.platform.db, 'viewer', 'demoted@staff.example.org');
    await again.agent.get('/staff/campaigns/new').expect(403);
    expect(await actions()).toContain('admin@staff.example.org account.role-change');
  });

  test('an admin cannot disable or demote themself, and the last admin stays', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const [me] = await t.platform.db.select().from(staffAccounts).where(eq(staffAccounts.email, 'admin@staff.example.org'));
    const self = await admin.agent.post(`/staff/accounts/${me!.id}`).type('form').send({ _csrf: admin.token, action: 'disable' }).expect(400);
    expect(self.text).toContain('You cannot disable your own account');
    const bad = await admin.agent.post(`/staff/accounts/${me!.id}`).type('form').send({ _csrf: admin.token, action: 'explode' }).expect(400);
    expect(bad.text).toContain('Choose an account and what to change.');
  });

  test('a changed password ends the other sessions and keeps this one', async () => {
    const first = await signInAs(t.app, t.platform.db, 'organizer', 'changer@staff.example.org');
    const second = await signInAs(t.app, t.platform.db, 'organizer', 'changer@staff.example.org');
    const wrong = await first.agent.post('/staff/account/password').type('form').send({ _csrf: first.token, current: 'not it at all', password: 'a brand new password', confirm: 'a brand new password' }).expect(400);
    expect(wrong.text).toContain('That is not your current password.');
    await first.agent.post('/staff/account/password').type('form').send({ _csrf: first.token, current: STAFF_PASSWORD, password: 'a brand new password', confirm: 'a brand new password' }).expect(303);
    await first.agent.get('/staff').expect(200);
    await second.agent.get('/staff').expect(303);
    const [hash] = await queryRows<{ password_hash: string }>(t.platform.db, sql`SELECT password_hash FROM staff_accounts WHERE email = 'changer@staff.example.org'`);
    expect(hash!.password_hash).toMatch(/^\$argon2id\$/);
  });
});

describe('the audit log', () => {
  test('admins read it, newest first; other roles may not', async () => {
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    const page = await admin.agent.get('/staff/audit').expect(200);
    expect(page.text.indexOf('account.role-change')).toBeLessThan(page.text.indexOf('account.invite'));
    const organizer = await signInAs(t.app, t.platform.db, 'organizer');
    await organizer.agent.get('/staff/audit').expect(403);
  });
});
