import type { StaffRole } from '../db/schema';

export const staffRoles: readonly StaffRole[] = ['admin', 'organizer', 'viewer', 'partner'];

/**
 * What each role may do. Viewers watch: dashboards and counts, which name no one. Organizers run
 * campaigns: they edit them and export signatures, which carry personal data. Admins also manage
 * accounts and read the audit log. A partner organisation's account sees nothing of the above: only
 * its own partner page (src/partners). README's "Staff roles" table says the same in words.
 */
const allowed = {
  'dashboard.view': ['admin', 'organizer', 'viewer'],
  'exports.counts': ['admin', 'organizer', 'viewer'],
  'exports.signatures': ['admin', 'organizer'],
  // Bursts show truncated IP hashes and email domains, never a person: for those who run campaigns.
  'abuse.view': ['admin', 'organizer'],
  'campaigns.edit': ['admin', 'organizer'],
  // Going live sends letters to real offices: an admin's decision.
  'campaigns.deliveryMode': ['admin'],
  // Hand delivery prints and marks letters, which carry their writers' names: for those who run campaigns.
  'letters.deliver': ['admin', 'organizer'],
  // How current the representative data is, what changed, and letters held for it: all staff.
  'data.view': ['admin', 'organizer', 'viewer'],
  // Fetching the officials again now, rather than at the next scheduled refresh.
  'data.refresh': ['admin'],
  'accounts.manage': ['admin'],
  'audit.view': ['admin'],
  // API tokens, webhooks and Action Network pushes send supporters' data out of the platform.
  'integrations.manage': ['admin'],
  // A partner's own page: its numbers, embed code, webhooks and its consenting supporters' export.
  'partner.portal': ['partner'],
} as const satisfies Record<string, readonly StaffRole[]>;

export type Permission = keyof typeof allowed;

export const can = (role: StaffRole, permission: Permission): boolean =>
  (allowed[permission] as readonly StaffRole[]).includes(role);

export const isStaffRole = (value: unknown): value is StaffRole =>
  staffRoles.includes(value as StaffRole);
