import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import { ipRateLimit } from '../http/rate-limit';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import {
  AccountError,
  FIRST_LOGIN_DELAY_SECONDS,
  MAX_LOGIN_DELAY_SECONDS,
  acceptInvitation,
  loginDelaySeconds,
  authenticate,
  changePassword,
  findActiveAccount,
  findInvitation,
  staffEmail,
  staffName,
  staffPassword,
} from './accounts';
import { recordAudit } from './audit';
import { createFirstAdmin, setupLinkValid } from './first-account';
import { formErrors } from './forms';
import { beginSession, currentStaff, endSession, flash } from './session';
import { TrustedBrowsers } from './trusted-browsers';

const loginForm = z.object({
  email: staffEmail,
  password: z
    .string({ error: 'Enter your password.' })
    .min(1, 'Enter your password.')
    .max(256, 'Enter your password.'),
  next: z.string().optional(),
});

const newPassword = z
  .object({ password: staffPassword, confirm: z.string().optional() })
  .refine((form) => form.password === form.confirm, {
    path: ['confirm'],
    message: 'The two passwords differ.',
  });

/** Where to go after signing in: only back into the staff console, never to another site. */
const safeNext = (next: unknown) =>
  typeof next === 'string' && /^\/staff(\/[\w\-./?=&%]*)?$/.test(next) && !next.includes('//')
    ? next
    : '/staff';

/**
 * The one answer to every sign-in that fails: an unknown email, a wrong password, an account
 * waiting after failed attempts. The same words, status and page for all, so that nobody can tell
 * from them whether an account exists or is waiting; they tell the owner what to do either way.
 */
export const LOGIN_REFUSED =
  'That email and password do not match an active account. After several failed sign-ins an account takes the next one only after a wait ' +
  `(${FIRST_LOGIN_DELAY_SECONDS / 60} minute at first, up to ${MAX_LOGIN_DELAY_SECONDS / 60}): if you are sure of your password, try again in a few minutes, ` +
  'or ask an admin to clear the failed sign-ins. A browser you have signed in from before does not wait.';

/** Signing in and out, taking up an invitation, and changing one's own password. */
export function authRoutes(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const trustedBrowsers = new TrustedBrowsers({
    secret: ctx.config.secret,
    redis: ctx.redis,
    prefix: ctx.config.redisKeyPrefix,
    https: ctx.config.publicUrl.startsWith('https:'),
  });
  const loginLimit = ipRateLimit({
    redis: ctx.redis,
    prefix: `${ctx.config.redisKeyPrefix}:rl:staff-login`,
    secret: ctx.config.secret,
    limit: ctx.config.staffLoginRateLimit,
    windowSeconds: 15 * 60,
    logger: ctx.logger,
    onLimited: (req, res, retryAfter) =>
      renderLogin(
        req,
        res,
        {
          form: `Too many sign-in attempts from your network. Try again in ${Math.max(1, Math.ceil(retryAfter / 60))} minutes.`,
        },
        {},
        429,
      ),
  });

  const renderLogin = (
    req: Request,
    res: Response,
    errors: FieldErrors,
    values: Record<string, unknown>,
    status = 200,
  ) =>
    res.status(status).render('staff/login', {
      layout: 'staff',
      title: 'Sign in',
      csrfToken: csrf.token(req, res),
      ...formErrors(errors),
      values,
      next: safeNext(values.next ?? req.query.next),
    });

  router.get('/staff/login', (req, res) => {
    if (currentStaff(res)) return res.redirect(303, safeNext(req.query.next));
    renderLogin(req, res, {}, {});
  });

  router.post('/staff/login', loginLimit, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { email: body.email, next: body.next };
    const parsed = loginForm.safeParse(body);
    if (!parsed.success) return renderLogin(req, res, fieldErrors(parsed.error), values, 400);
    const trustedFor = await trustedBrowsers.accountOf(req);
    const result = await authenticate(ctx.db, parsed.data.email, parsed.data.password, {
      trustedFor,
    });
    if (!result.ok) {
      // Only wrong passwords for real accounts are recorded: what someone typed as an email may be a
      // password, and an attempt refused while the account waits tried no password.
      if (result.reason === 'wrong-password') {
        if (result.failures === null) await trustedBrowsers.failed(req);
        await recordAudit(ctx.db, result.account, {
          action: 'login-failed',
          details:
            result.failures === null
              ? { browser: 'trusted' }
              : { failures: result.failures, waitSeconds: loginDelaySeconds(result.failures) },
        });
      }
      return renderLogin(req, res, { form: LOGIN_REFUSED }, values, 401);
    }
    trustedBrowsers.trust(res, result.account.id);
    await beginSession(req, result.account);
    await recordAudit(ctx.db, result.account, { action: 'login' });
    res.redirect(303, safeNext(parsed.data.next));
  });

  router.post('/staff/logout', async (req, res) => {
    const staff = currentStaff(res);
    if (staff) await recordAudit(ctx.db, staff, { action: 'logout' });
    await endSession(req);
    res.redirect(303, '/staff/login');
  });

  // --- The first account, from the setup link `npm start` prints (./first-account.ts) ---------------

  const renderSetup = (
    req: Request,
    res: Response,
    errors: FieldErrors,
    values: Record<string, unknown>,
    status = 200,
  ) =>
    res.status(status).render('staff/setup', {
      layout: 'staff',
      title: 'Set up the first admin account',
      csrfToken: csrf.token(req, res),
      ...formErrors(errors),
      values,
    });
  const setupGone = (res: Response) =>
    res.status(410).render('error', {
      layout: 'staff',
      title: 'This setup link does not work',
      message:
        'It was used already, it is over an hour old, or the platform has a staff account now. Sign in, or ask an admin for an invitation. ' +
        'With no account yet, restarting the platform prints a new link (or run npm run staff:create).',
    });

  router.get('/staff/setup/:token', async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!(await setupLinkValid(ctx, String(req.params.token)))) return setupGone(res);
    renderSetup(req, res, {}, {});
  });

  router.post('/staff/setup/:token', async (req, res) => {
    const token = String(req.params.token);
    if (!(await setupLinkValid(ctx, token))) return setupGone(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = newPassword
      .and(z.object({ email: staffEmail, name: staffName }))
      .safeParse(body);
    if (!parsed.success)
      return renderSetup(
        req,
        res,
        fieldErrors(parsed.error),
        { email: body.email, name: body.name },
        400,
      );
    const created = await createFirstAdmin(ctx, token, {
      email: parsed.data.email,
      name: parsed.data.name,
      password: parsed.data.password,
    });
    if (!created.ok) return setupGone(res);
    trustedBrowsers.trust(res, created.account.id);
    await beginSession(req, created.account);
    ctx.logger.info(
      { staffId: created.account.id },
      'the first staff account was made from the setup link',
    );
    flash(req, 'Welcome. Your admin account is ready: invite your colleagues from Accounts.');
    res.redirect(303, '/staff');
  });

  const renderInvitation = (
    req: Request,
    res: Response,
    email: string,
    errors: FieldErrors,
    values: Record<string, unknown>,
    status = 200,
  ) =>
    res.status(status).render('staff/invitation', {
      layout: 'staff',
      title: 'Set up your account',
      csrfToken: csrf.token(req, res),
      email,
      ...formErrors(errors),
      values,
    });

  router.get('/staff/invitations/:token', async (req, res) => {
    const account = await findInvitation(ctx.db, String(req.params.token));
    if (!account) return invitationGone(res);
    renderInvitation(req, res, account.email, {}, { name: account.name });
  });

  router.post('/staff/invitations/:token', async (req, res) => {
    const token = String(req.params.token);
    const account = await findInvitation(ctx.db, token);
    if (!account) return invitationGone(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = newPassword.and(z.object({ name: staffName })).safeParse(body);
    if (!parsed.success)
      return renderInvitation(
        req,
        res,
        account.email,
        fieldErrors(parsed.error),
        { name: body.name },
        400,
      );
    try {
      const active = await acceptInvitation(ctx.db, token, {
        name: parsed.data.name,
        password: parsed.data.password,
      });
      trustedBrowsers.trust(res, active.id);
      await beginSession(req, active);
      flash(req, 'Welcome. Your account is ready.');
      res.redirect(303, '/staff');
    } catch (error) {
      if (error instanceof AccountError) return invitationGone(res);
      throw error;
    }
  });

  const renderAccount = (req: Request, res: Response, errors: FieldErrors, status = 200) =>
    res.status(status).render('staff/account', {
      layout: 'staff',
      title: 'Your account',
      csrfToken: csrf.token(req, res),
      ...formErrors(errors),
    });

  router.get('/staff/account', (req, res) => {
    if (!currentStaff(res)) return res.redirect(303, '/staff/login?next=/staff/account');
    renderAccount(req, res, {});
  });

  router.post('/staff/account/password', async (req, res) => {
    const staff = currentStaff(res);
    if (!staff) return res.redirect(303, '/staff/login?next=/staff/account');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = newPassword
      .and(z.object({ current: z.string().min(1, 'Enter your current password.') }))
      .safeParse(body);
    if (!parsed.success) return renderAccount(req, res, fieldErrors(parsed.error), 400);
    try {
      await changePassword(ctx.db, staff, parsed.data.current, parsed.data.password);
    } catch (error) {
      if (error instanceof AccountError)
        return renderAccount(req, res, { [error.field]: error.message }, 400);
      throw error;
    }
    // Every other session of the account has ended; this one goes on under a new id.
    const account = await findActiveAccount(ctx.db, staff.id);
    if (account) await beginSession(req, account);
    flash(req, 'Your password is changed. Any other sessions of yours are signed out.');
    res.redirect(303, '/staff/account');
  });

  return router;
}

function invitationGone(res: Response) {
  res.status(410).render('error', {
    layout: 'staff',
    title: 'This invitation cannot be used',
    message: 'It has expired or was already used. Ask an admin of the campaign for a new one.',
  });
}
