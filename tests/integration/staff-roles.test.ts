import type { Router } from 'express';
import request from 'supertest';
import type { StaffRole } from '../../src/db/schema';
import { can, staffRoles, type Permission } from '../../src/staff/roles';
import { staffConsole } from '../../src/staff/routes';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { signInAs } from '../helpers/staff';

/**
 * The role matrix: every staff route, asked by a visitor and by each role, answers as the route's
 * permission says: a visitor is sent to sign in (or refused), a role without the permission gets
 * 403, a role with it gets anything else. A test below fails when a route is added without a row
 * here, so no new route goes unchecked.
 */
type Access = Permission | 'signed-in' | 'anyone';

const SLUG = 'ban-facial-recognition';
const matrix: Array<{
  method: 'get' | 'post';
  route: string;
  path: string;
  access: Access;
  body?: Record<string, string>;
}> = [
  { method: 'get', route: '/staff/login', path: '/staff/login', access: 'anyone' },
  { method: 'post', route: '/staff/login', path: '/staff/login', access: 'anyone' },
  { method: 'post', route: '/staff/logout', path: '/staff/logout', access: 'anyone' },
  {
    method: 'get',
    route: '/staff/invitations/:token',
    path: '/staff/invitations/not-a-token',
    access: 'anyone',
  },
  {
    method: 'post',
    route: '/staff/invitations/:token',
    path: '/staff/invitations/not-a-token',
    access: 'anyone',
  },
  {
    method: 'get',
    route: '/staff/setup/:token',
    path: '/staff/setup/not-a-token',
    access: 'anyone',
  },
  {
    method: 'post',
    route: '/staff/setup/:token',
    path: '/staff/setup/not-a-token',
    access: 'anyone',
  },
  { method: 'get', route: '/staff/account', path: '/staff/account', access: 'signed-in' },
  {
    method: 'post',
    route: '/staff/account/password',
    path: '/staff/account/password',
    access: 'signed-in',
  },
  { method: 'get', route: '/staff', path: '/staff', access: 'dashboard.view' },
  {
    method: 'get',
    route: '/staff/campaigns/:slug',
    path: `/staff/campaigns/${SLUG}`,
    access: 'dashboard.view',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/dashboard.json',
    path: `/staff/campaigns/${SLUG}/dashboard.json`,
    access: 'dashboard.view',
  },
  {
    method: 'get',
    route: '/staff/campaigns/new',
    path: '/staff/campaigns/new',
    access: 'campaigns.edit',
  },
  { method: 'post', route: '/staff/campaigns', path: '/staff/campaigns', access: 'campaigns.edit' },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/edit',
    path: `/staff/campaigns/${SLUG}/edit`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/edit',
    path: `/staff/campaigns/${SLUG}/edit`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/delivery-mode',
    path: `/staff/campaigns/${SLUG}/delivery-mode`,
    access: 'campaigns.deliveryMode',
    body: { mode: 'rehearsal' },
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/templates',
    path: `/staff/campaigns/${SLUG}/templates`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/templates/:level',
    path: `/staff/campaigns/${SLUG}/templates/federal`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/templates/:level/preview',
    path: `/staff/campaigns/${SLUG}/templates/federal/preview`,
    access: 'campaigns.edit',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/targets',
    path: `/staff/campaigns/${SLUG}/targets`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/targets',
    path: `/staff/campaigns/${SLUG}/targets`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/targets/delete',
    path: `/staff/campaigns/${SLUG}/targets/delete`,
    access: 'campaigns.edit',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/partners',
    path: `/staff/campaigns/${SLUG}/partners`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/partners',
    path: `/staff/campaigns/${SLUG}/partners`,
    access: 'campaigns.edit',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/partners/:id',
    path: `/staff/campaigns/${SLUG}/partners/999`,
    access: 'campaigns.edit',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/exports',
    path: `/staff/campaigns/${SLUG}/exports`,
    access: 'exports.counts',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/exports/progress',
    path: `/staff/campaigns/${SLUG}/exports/progress`,
    access: 'exports.counts',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/exports',
    path: `/staff/campaigns/${SLUG}/exports`,
    access: 'exports.counts',
    body: { kind: 'state' },
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/exports',
    path: `/staff/campaigns/${SLUG}/exports`,
    access: 'exports.signatures',
    body: { kind: 'signatures' },
  },
  {
    method: 'get',
    route: '/staff/exports/:id/download',
    path: '/staff/exports/no-such-export/download',
    access: 'exports.counts',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/abuse',
    path: `/staff/campaigns/${SLUG}/abuse`,
    access: 'abuse.view',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/delivery',
    path: `/staff/campaigns/${SLUG}/delivery`,
    access: 'letters.deliver',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/delivery/packets',
    path: `/staff/campaigns/${SLUG}/delivery/packets`,
    access: 'letters.deliver',
    body: { target: 'us-house:none' },
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/delivery/packets/:id',
    path: `/staff/campaigns/${SLUG}/delivery/packets/999`,
    access: 'letters.deliver',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/delivery/packets/:id/delivered',
    path: `/staff/campaigns/${SLUG}/delivery/packets/999/delivered`,
    access: 'letters.deliver',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/delivery/packets/:id/letters.pdf',
    path: `/staff/campaigns/${SLUG}/delivery/packets/999/letters.pdf`,
    access: 'letters.deliver',
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/delivery/packets/:id/letters.txt',
    path: `/staff/campaigns/${SLUG}/delivery/packets/999/letters.txt`,
    access: 'letters.deliver',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/delivery/held',
    path: `/staff/campaigns/${SLUG}/delivery/held`,
    access: 'letters.deliver',
    body: { letter: '999', action: 'release' },
  },
  { method: 'get', route: '/staff/data', path: '/staff/data', access: 'data.view' },
  {
    method: 'post',
    route: '/staff/data/refresh',
    path: '/staff/data/refresh',
    access: 'data.refresh',
  },
  { method: 'get', route: '/staff/accounts', path: '/staff/accounts', access: 'accounts.manage' },
  { method: 'post', route: '/staff/accounts', path: '/staff/accounts', access: 'accounts.manage' },
  {
    method: 'post',
    route: '/staff/accounts/:id',
    path: '/staff/accounts/999',
    access: 'accounts.manage',
  },
  { method: 'get', route: '/staff/audit', path: '/staff/audit', access: 'audit.view' },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/integrations',
    path: `/staff/campaigns/${SLUG}/integrations`,
    access: 'integrations.manage',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/integrations/tokens',
    path: `/staff/campaigns/${SLUG}/integrations/tokens`,
    access: 'integrations.manage',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/integrations/tokens/:id/revoke',
    path: `/staff/campaigns/${SLUG}/integrations/tokens/999/revoke`,
    access: 'integrations.manage',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/integrations/webhooks',
    path: `/staff/campaigns/${SLUG}/integrations/webhooks`,
    access: 'integrations.manage',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/integrations/action-network',
    path: `/staff/campaigns/${SLUG}/integrations/action-network`,
    access: 'integrations.manage',
  },
  {
    method: 'post',
    route: '/staff/campaigns/:slug/integrations/webhooks/:id',
    path: `/staff/campaigns/${SLUG}/integrations/webhooks/999`,
    access: 'integrations.manage',
    body: { action: 'disable' },
  },
  {
    method: 'get',
    route: '/staff/campaigns/:slug/integrations/webhooks/:id',
    path: `/staff/campaigns/${SLUG}/integrations/webhooks/999`,
    access: 'integrations.manage',
  },
  { method: 'get', route: '/staff/partner', path: '/staff/partner', access: 'partner.portal' },
  {
    method: 'post',
    route: '/staff/partner/export',
    path: '/staff/partner/export',
    access: 'partner.portal',
  },
  {
    method: 'get',
    route: '/staff/partner/webhooks',
    path: '/staff/partner/webhooks',
    access: 'partner.portal',
  },
  {
    method: 'post',
    route: '/staff/partner/webhooks',
    path: '/staff/partner/webhooks',
    access: 'partner.portal',
  },
  {
    method: 'post',
    route: '/staff/partner/action-network',
    path: '/staff/partner/action-network',
    access: 'partner.portal',
  },
  {
    method: 'post',
    route: '/staff/partner/webhooks/:id',
    path: '/staff/partner/webhooks/999',
    access: 'partner.portal',
    body: { action: 'disable' },
  },
  {
    method: 'get',
    route: '/staff/partner/webhooks/:id',
    path: '/staff/partner/webhooks/999',
    access: 'partner.portal',
  },
];

let t: TestPlatform;
let agents: Record<StaffRole, Awaited<ReturnType<typeof signInAs>>>;

beforeAll(async () => {
  t = await createTestPlatform();
  agents = {} as typeof agents;
  for (const role of staffRoles) agents[role] = await signInAs(t.app, t.platform.db, role);
});
afterAll(async () => {
  await t.close();
});

/** Every route the staff console registers, as `METHOD path`. */
function registeredRoutes(router: Router): string[] {
  const found: string[] = [];
  const walk = (stack: Router['stack']) => {
    for (const layer of stack) {
      if (layer.route) {
        const route = layer.route as unknown as { path: string; methods: Record<string, boolean> };
        for (const method of Object.keys(route.methods))
          found.push(`${method.toUpperCase()} ${route.path}`);
      } else if ((layer.handle as unknown as Router).stack) {
        walk((layer.handle as unknown as Router).stack);
      }
    }
  };
  walk(router.stack);
  return found;
}

test('the matrix lists every staff route', () => {
  const registered = new Set(registeredRoutes(staffConsole(t.platform)));
  const listed = new Set(matrix.map((row) => `${row.method.toUpperCase()} ${row.route}`));
  expect([...registered].sort()).toEqual([...listed].sort());
});

const send = (
  agent: ReturnType<typeof request.agent>,
  row: (typeof matrix)[number],
  token: string | undefined,
) =>
  row.method === 'get'
    ? agent.get(row.path)
    : agent
        .post(row.path)
        .type('form')
        .send({ ...(token ? { _csrf: token } : {}), ...row.body });

describe.each(matrix)('$method $path ($access)', (row) => {
  test('a visitor who is not signed in', async () => {
    const answer = await send(request(t.app), row, undefined);
    if (row.access === 'anyone') {
      // Open to all; a form posted without a session's CSRF token is refused (403) like any other.
      expect(row.method === 'get' ? [200, 303, 410] : [403]).toContain(answer.status);
    } else if (row.method === 'get') {
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toMatch(/^\/staff\/(login|account)/);
    } else {
      // No session, so no valid CSRF token either: refused before anything else.
      expect([401, 403]).toContain(answer.status);
    }
  });

  test.each(staffRoles)('%s', async (role) => {
    // Signing out ends the session, so it gets a session of its own.
    const { agent, token } =
      row.path === '/staff/logout' ? await signInAs(t.app, t.platform.db, role) : agents[role];
    const answer = await send(agent, row, token);
    const allowed = row.access === 'anyone' || row.access === 'signed-in' || can(role, row.access);
    if (role === 'partner' && row.path === '/staff') {
      // A partner's account is sent to its own page instead of the campaigns list.
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/staff/partner');
    } else if (allowed) {
      expect(answer.status).not.toBe(403);
      expect(answer.status).not.toBe(401);
      expect(answer.status).toBeLessThan(500);
    } else {
      expect(answer.status).toBe(403);
    }
  });
});
