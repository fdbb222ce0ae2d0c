import type { Express } from 'express';
import request from 'supertest';

/** Opens the campaign page like a browser and returns the agent (with its cookie) and CSRF token. */
export async function openSigningForm(app: Express, path = '/campaigns/ban-facial-recognition') {
  const agent = request.agent(app);
  const page = await agent.get(path).expect(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error('no CSRF token on the campaign page');
  return { agent, token, page };
}

export const validSignature = (overrides: Record<string, unknown> = {}) => ({
  name: 'Grace Hopper',
  email: 'grace@example.org',
  zip: '10001',
  ...overrides,
});
