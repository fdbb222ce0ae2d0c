import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import type { Redis } from 'ioredis';
import type { AppContext } from '../context';
import type { StaffAccount, StaffRole } from '../db/schema';
import { findActiveAccount } from './accounts';
import { can, type Permission } from './roles';

/** Staff sessions end after this long without a request. */
export const SESSION_IDLE_SECONDS = 8 * 60 * 60;

declare module 'express-session' {
  interface SessionData {
    staffId?: number;
    /** When the staff member signed in (ms): a password change or a disable ends older sessions. */
    signedInAt?: number;
    /** A one-time message for the next page ("Campaign saved."). */
    flash?: string;
  }
}

/** The signed-in staff member, on `res.locals.staff` for routes and views. */
export interface StaffUser {
  id: number;
  email: string;
  name: string;
  role: StaffRole;
}

/** express-session's store over our ioredis client: one JSON value per session, with its idle TTL. */
export class RedisSessionStore extends session.Store {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    super();
  }

  private key(sid: string) {
    return `${this.prefix}${sid}`;
  }

  override get(
    sid: string,
    callback: (error: unknown, data?: session.SessionData | null) => void,
  ): void {
    this.redis.get(this.key(sid)).then(
      (value) => callback(null, value ? (JSON.parse(value) as session.SessionData) : null),
      (error: unknown) => callback(error),
    );
  }

  override set(sid: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
    this.redis.set(this.key(sid), JSON.stringify(data), 'EX', SESSION_IDLE_SECONDS).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override touch(
    sid: string,
    _data: session.SessionData,
    callback?: (error?: unknown) => void,
  ): void {
    this.redis.expire(this.key(sid), SESSION_IDLE_SECONDS).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.redis.del(this.key(sid)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }
}

/**
 * The staff session cookie (httpOnly, SameSite=Lax, Secure and `__Host-` over HTTPS), its data in
 * Redis, and the signed-in account, checked on every request: a disabled account, or a session
 * older than the account's last password change, is signed out at once.
 */
export function staffSession(ctx: AppContext): RequestHandler[] {
  const https = ctx.config.publicUrl.startsWith('https:');
  const sessions = session({
    name: https ? '__Host-staff' : 'staff',
    secret: ctx.config.secret,
    store: new RedisSessionStore(ctx.redis, `${ctx.config.redisKeyPrefix}:staff-session:`),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: https,
      path: '/',
      maxAge: SESSION_IDLE_SECONDS * 1000,
    },
  });
  const loadStaff: RequestHandler = async (req, res, next) => {
    const { staffId, signedInAt } = req.session;
    if (staffId === undefined) return next();
    const account = await findActiveAccount(ctx.db, staffId);
    if (!account || account.sessionsValidAfter.getTime() > (signedInAt ?? 0)) {
      await endSession(req);
      return next();
    }
    res.locals.staff = staffUser(account);
    if (req.session.flash) {
      res.locals.flash = req.session.flash;
      delete req.session.flash;
    }
    next();
  };
  return [sessions, loadStaff];
}

export const staffUser = (account: StaffAccount): StaffUser => ({
  id: account.id,
  email: account.email,
  name: account.name,
  role: account.role,
});

export function currentStaff(res: Response): StaffUser | undefined {
  return res.locals.staff as StaffUser | undefined;
}

/** Starts a fresh session for the account (a new id, so a planted cookie is worth nothing). */
export async function beginSession(req: Request, account: StaffAccount): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    req.session.regenerate((error) => (error ? reject(error as Error) : resolve())),
  );
  req.session.staffId = account.id;
  req.session.signedInAt = Date.now();
  await new Promise<void>((resolve, reject) =>
    req.session.save((error) => (error ? reject(error as Error) : resolve())),
  );
}

/** Shows `message` on the next page the staff member sees (after a redirect). */
export function flash(req: Request, message: string): void {
  req.session.flash = message;
}

export async function endSession(req: Request): Promise<void> {
  await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
}

/**
 * Lets the request through when the staff member may do `permission`; sends a visitor who is not
 * signed in to the login page (back here afterwards), and answers 403 to one who may not.
 */
export function requirePermission(permission: Permission): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const staff = currentStaff(res);
    if (!staff) {
      if (req.method === 'GET')
        return res.redirect(303, `/staff/login?next=${encodeURIComponent(req.originalUrl)}`);
      return res.status(401).render('error', {
        layout: 'staff',
        title: 'Please sign in',
        message: 'Your session has ended. Please sign in again.',
      });
    }
    if (!can(staff.role, permission)) {
      return res.status(403).render('error', {
        layout: 'staff',
        title: 'Not allowed',
        message: 'Your role does not allow this. An admin can change your role.',
      });
    }
    next();
  };
}
