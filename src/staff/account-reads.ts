import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';

/**
 * Reads of `staff_accounts` for other features (the table's writes and sign-in are in
 * ./accounts.ts): who prepared and delivered a hand packet (letters/hand-packets.ts), which partner
 * an account belongs to (partners/partner-accounts.ts), whom to tell when a webhook is turned off
 * (webhooks/jobs/deliver-webhooks.ts). Kept apart from ./accounts.ts, which imports the partners'
 * module and loads the password hasher, neither of which these readers need.
 */

/** An account's email address, as a scalar subquery over its id (SQL): null when there is none (deleted, or no account). */
export const staffEmailOf = (staffId: SQL) =>
  sql`(SELECT a.email FROM staff_accounts a WHERE a.id = ${staffId})`;

/** The partner a partner's account is bound to, as a scalar subquery: null for a staff role, or once the partner was removed. */
export const partnerIdOfAccount = (staffId: number) =>
  sql`(SELECT a.partner_id FROM staff_accounts a WHERE a.id = ${staffId}::int AND a.role = 'partner')`;

/** The email addresses of the active admins and of the active accounts of the partner `partnerId` (none: admins only), in order. */
export async function adminAndPartnerEmails(
  db: Pick<Database, 'execute'>,
  partnerId: number | null,
): Promise<string[]> {
  const rows = await queryRows<{ email: string }>(
    db,
    sql`SELECT email FROM staff_accounts WHERE status = 'active'
          AND (role = 'admin' OR (role = 'partner' AND partner_id = ${partnerId}::int))
        ORDER BY email`,
  );
  return rows.map((row) => row.email);
}
