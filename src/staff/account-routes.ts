import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { partnerChoices } from '../partners/partner-accounts';
import {
  AccountError,
  INVITE_DAYS,
  clearFailedLogins,
  inviteAccount,
  inviteRole,
  listAccounts,
  staffEmail,
  staffName,
  staffRole,
  updateAccount,
} from './accounts';
import { AUDIT_PAGE_SIZE, listAudit } from './audit';
import { formErrors } from './forms';
import { currentStaff, flash, requirePermission, type StaffUser } from './session';

const inviteForm = z.object({
  email: staffEmail,
  name: staffName,
  role: inviteRole,
  /** For a partner's account: the partner it belongs to. */
  partner: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number({ error: 'Choose the partner organisation.' }).int().positive().optional(),
  ),
});
const accountChange = z.discriminatedUnion(
  'action',
  [
    z.object({ action: z.literal('disable') }),
    z.object({ action: z.literal('enable') }),
    z.object({ action: z.literal('role'), role: staffRole }),
    z.object({ action: z.literal('unlock') }),
  ],
  { error: 'Choose what to change.' },
);

/** Admins: the accounts (invite, disable, enable, change role, clear failed sign-ins) and the audit log. */
export function accountRoutes(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const admin = requirePermission('accounts.manage');

  const renderAccounts = async (
    req: Request,
    res: Response,
    extra: {
      errors?: FieldErrors;
      values?: Record<string, unknown>;
      invitation?: { email: string; url: string };
    } = {},
    status = 200,
  ) => {
    const me = currentStaff(res)!;
    const partners = await partnerChoices(ctx.db);
    const partnerNames = new Map(partners.map((partner) => [partner.id, partner.label]));
    const accounts = (await listAccounts(ctx.db)).map((account) => ({
      id: account.id,
      email: account.email,
      name: account.name,
      role: account.role,
      status: account.status,
      // Failed sign-ins in a row, and until when the account takes none from a new browser.
      failedLogins: account.failedLogins,
      waitingUntil:
        account.lockedUntil !== null && account.lockedUntil > new Date()
          ? account.lockedUntil.toISOString().slice(11, 16)
          : undefined,
      lastLoginAt: account.lastLoginAt?.toISOString().slice(0, 16).replace('T', ' '),
      invitationExpired:
        account.status === 'invited' && (account.inviteExpiresAt ?? new Date(0)) <= new Date(),
      self: account.id === me.id,
      partner:
        account.role === 'partner'
          ? account.partnerId !== null
            ? (partnerNames.get(account.partnerId) ?? '')
            : 'no partner (removed)'
          : undefined,
    }));
    res.status(status).render('staff/accounts', {
      layout: 'staff',
      title: 'Accounts',
      csrfToken: csrf.token(req, res),
      accounts,
      inviteDays: INVITE_DAYS,
      values: extra.values ?? { role: 'organizer' },
      partners: partners.map((partner) => ({
        ...partner,
        selected: [partner.id, String(partner.id)].includes(
          extra.values?.partner as number | string,
        ),
      })),
      invitation: extra.invitation,
      ...formErrors(extra.errors ?? {}),
    });
  };

  router.get('/staff/accounts', admin, (req, res) => renderAccounts(req, res));

  router.post('/staff/accounts', admin, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { email: body.email, name: body.name, role: body.role, partner: body.partner };
    const parsed = inviteForm.safeParse(body);
    if (!parsed.success)
      return renderAccounts(req, res, { errors: fieldErrors(parsed.error), values }, 400);
    try {
      const { email, name, role, partner } = parsed.data;
      const { account, token } = await inviteAccount(
        ctx.db,
        { email, name, role, partnerId: partner ?? null },
        currentStaff(res) as StaffUser,
      );
      // Shown once, to the admin who passes it on; only its hash is stored.
      const url = `${ctx.config.publicUrl}/staff/invitations/${token}`;
      res.setHeader('Cache-Control', 'no-store');
      return renderAccounts(req, res, { invitation: { email: account.email, url } });
    } catch (error) {
      if (error instanceof AccountError)
        return renderAccounts(req, res, { errors: { [error.field]: error.message }, values }, 400);
      throw error;
    }
  });

  router.post('/staff/accounts/:id', admin, async (req, res) => {
    const id = Number(req.params.id);
    const parsed = accountChange.safeParse(req.body ?? {});
    if (!Number.isSafeInteger(id) || !parsed.success) {
      return renderAccounts(
        req,
        res,
        { errors: { account: 'Choose an account and what to change.' } },
        400,
      );
    }
    if (parsed.data.action === 'unlock') {
      try {
        const account = await clearFailedLogins(ctx.db, id, currentStaff(res) as StaffUser);
        flash(req, `The failed sign-ins of ${account.email} are cleared: it can sign in at once.`);
        return res.redirect(303, '/staff/accounts');
      } catch (error) {
        if (error instanceof AccountError)
          return renderAccounts(req, res, { errors: { account: error.message } }, 400);
        throw error;
      }
    }
    const change =
      parsed.data.action === 'role'
        ? { role: parsed.data.role }
        : {
            status: parsed.data.action === 'disable' ? ('disabled' as const) : ('active' as const),
          };
    try {
      const account = await updateAccount(ctx.db, id, change, currentStaff(res) as StaffUser);
      flash(
        req,
        parsed.data.action === 'role'
          ? `${account.email} is now ${account.role}.`
          : `${account.email} is ${account.status === 'disabled' ? 'disabled' : 'enabled'}.`,
      );
      res.redirect(303, '/staff/accounts');
    } catch (error) {
      if (error instanceof AccountError)
        return renderAccounts(req, res, { errors: { account: error.message } }, 400);
      throw error;
    }
  });

  router.get('/staff/audit', requirePermission('audit.view'), async (req, res) => {
    const before = z.coerce
      .number()
      .int()
      .positive()
      .optional()
      .safeParse(req.query.before || undefined);
    const entries = await listAudit(ctx.db, { before: before.success ? before.data : undefined });
    res.render('staff/audit', {
      layout: 'staff',
      title: 'Audit log',
      csrfToken: csrf.token(req, res),
      entries: entries.map((entry) => ({
        ...entry,
        at: entry.at.toISOString().replace('T', ' ').slice(0, 19),
        details: Object.keys(entry.details).length > 0 ? JSON.stringify(entry.details) : '',
      })),
      older: entries.length === AUDIT_PAGE_SIZE ? entries.at(-1)!.id : undefined,
    });
  });

  return router;
}
