import type { Express } from 'express';
import request from 'supertest';
import type { Database } from '../../src/db/client';
import type { StaffRole } from '../../src/db/schema';
import { createAccount } from '../../src/staff/accounts';

export const STAFF_PASSWORD = 'correct horse battery staple';

/** The CSRF token of a staff page's forms. */
export function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

/**
 * Creates an account with `role` (unless one with this email exists) and signs in through the
 * login form like a browser. Returns the agent (with its session cookie) and a CSRF token for the
 * staff forms; fetch a fresh one with `csrfTokenOf` after a page load if the session changes.
 */
export async function signInAs(app: Express, db: Database, role: StaffRole, email = `${role}@staff.example.org`) {
  await createAccount(db, { email, name: `Test ${role}`, role, password: STAFF_PASSWORD }, 'command line').catch((error: Error) => {
    if (!/already exists/.test(error.message)) throw error;
  });
  const agent = request.agent(app);
  const login = await agent.get('/staff/login').expect(200);
  await agent
    .post('/staff/login')
    .type('form')
    .send({ _csrf: csrfTokenOf(login.text), email, password: STAFF_PASSWORD })
    .expect(303);
  const home = await agent.get('/staff').expect(200);
  return { agent, token: csrfTokenOf(home.text), email };
}
