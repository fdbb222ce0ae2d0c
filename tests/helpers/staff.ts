import type { Express } from 'express';
import request from 'supertest';
import { eq } from 'drizzle-orm';
import type { Database } from '../../src/db/client';
import { campaigns, partners, staffAccounts, type StaffRole } from '../../src/db/schema';
import { createAccount } from '../../src/staff/accounts';

export const STAFF_PASSWORD = 'correct horse battery staple';

/** The CSRF token of a staff page's forms. */
export function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

/** A partner of the demo campaign for partner accounts (made once): its id. */
async function testPartner(db: Database): Promise<number> {
  const [existing] = await db
    .select()
    .from(partners)
    .where(eq(partners.sourceCode, 'test-partner'));
  if (existing) return existing.id;
  const [campaign] = await db.select().from(campaigns).limit(1);
  const [made] = await db
    .insert(partners)
    .values({ campaignId: campaign!.id, name: 'Test Partner', sourceCode: 'test-partner' })
    .returning();
  return made!.id;
}

/**
 * Creates an account with `role` (unless one with this email exists) and signs in through the
 * login form like a browser. Returns the agent (with its session cookie) and a CSRF token for the
 * staff forms; fetch a fresh one with `csrfTokenOf` after a page load if the session changes. A
 * partner's account belongs to `partnerId`, or to a test partner of the demo campaign.
 */
export async function signInAs(
  app: Express,
  db: Database,
  role: StaffRole,
  email = `${role}@staff.example.org`,
  options: { partnerId?: number } = {},
) {
  await createAccount(
    db,
    { email, name: `Test ${role}`, role, password: STAFF_PASSWORD },
    'command line',
  ).catch((error: Error) => {
    if (!/already exists/.test(error.message)) throw error;
  });
  if (role === 'partner')
    await db
      .update(staffAccounts)
      .set({ partnerId: options.partnerId ?? (await testPartner(db)) })
      .where(eq(staffAccounts.email, email));
  const agent = request.agent(app);
  const login = await agent.get('/staff/login').expect(200);
  await agent
    .post('/staff/login')
    .type('form')
    .send({ _csrf: csrfTokenOf(login.text), email, password: STAFF_PASSWORD })
    .expect(303);
  // A partner's account lands on its own page.
  const home =
    role === 'partner'
      ? await agent.get('/staff/partner').expect(200)
      : await agent.get('/staff').expect(200);
  return { agent, token: csrfTokenOf(home.text), email };
}
