import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database } from '../db/client';
import { staffAccounts, type StaffAccount, type StaffRole } from '../db/schema';
import { recordAudit, type Actor } from './audit';
import { CONTROL_IN_LINE, hiddenFormatting } from '../text-safety/input';
import { staffRoles } from './roles';

/** Failed logins in a row that lock an account, and for how long. */
export const MAX_FAILED_LOGINS = 5;
export const LOCK_MINUTES = 15;
export const INVITE_DAYS = 7;

export const staffEmail = z
  .string({ error: 'Enter an email address.' })
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: 'Enter a valid email address.' }).max(254, { error: 'That email address is too long.' }));
export const staffPassword = z
  .string({ error: 'Enter a password.' })
  .min(12, { error: 'Use at least 12 characters.' })
  .max(256, { error: 'Use at most 256 characters.' })
  .refine((value) => !CONTROL_IN_LINE.test(value), 'Use letters, digits, spaces and punctuation: no invisible control characters.');
/** Shown to colleagues in the console and the audit log: invisible formatting is refused, not stripped (see text-safety/input.ts). */
export const staffName = z
  .string()
  .trim()
  .max(100, { error: 'Use at most 100 characters.' })
  .refine((value) => !CONTROL_IN_LINE.test(value), 'Write the name on one line, without invisible control characters.')
  .refine((value) => !hiddenFormatting(value), 'Remove the invisible formatting characters (text-direction controls, zero-width spaces) from the name.')
  .default('');
export const staffRole = z.enum(staffRoles as [StaffRole, ...StaffRole[]], { error: 'Choose admin, organizer or viewer.' });

export class AccountError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
export const hashPassword = (password: string) => hash(password);

/** Verified against when no account matches, so an unknown email takes as long as a wrong password. */
let dummyHash: Promise<string> | undefined;

export async function findActiveAccount(db: Database, id: number): Promise<StaffAccount | undefined> {
  const [account] = await db.select().from(staffAccounts).where(and(eq(staffAccounts.id, id), eq(staffAccounts.status, 'active')));
  return account;
}

export const listAccounts = (db: Database) => db.select().from(staffAccounts).orderBy(asc(staffAccounts.email));

/** The first account, from the command line; an email already taken is an error. */
export async function createAccount(
  db: Database,
  input: { email: string; name?: string; role: StaffRole; password: string },
  actor: Actor,
): Promise<StaffAccount> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [account] = await tx
      .insert(staffAccounts)
      .values({ email: input.email, name: input.name ?? '', role: input.role, status: 'active', passwordHash })
      .onConflictDoNothing()
      .returning();
    if (!account) throw new AccountError('email', 'An account with this email address already exists.');
    await recordAudit(tx, actor, { action: 'account.create', details: { account: account.email, role: account.role } });
    return account;
  });
}

export type LoginResult =
  | { ok: true; account: StaffAccount }
  /** `account`: the account the email belongs to, if any (for the audit log); `locked`: this failure locked it. */
  | { ok: false; account?: { id: number; email: string }; lockedUntil?: Date; locked?: boolean };

/**
 * Checks an email and password. Each wrong password counts against the account; the
 * MAX_FAILED_LOGINS-th in a row locks it for LOCK_MINUTES, during which even the right password
 * is refused. A success resets the count.
 */
export async function authenticate(db: Database, email: string, password: string): Promise<LoginResult> {
  const [account] = await db.select().from(staffAccounts).where(eq(staffAccounts.email, email));
  if (!account?.passwordHash || account.status !== 'active') {
    await verify((await (dummyHash ??= hashPassword(randomBytes(16).toString('hex')))), password).catch(() => false);
    return { ok: false };
  }
  const known = { id: account.id, email: account.email };
  if (account.lockedUntil && account.lockedUntil > new Date()) return { ok: false, account: known, lockedUntil: account.lockedUntil };
  if (await verify(account.passwordHash, password).catch(() => false)) {
    const [signedIn] = await db
      .update(staffAccounts)
      .set({ failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() })
      .where(eq(staffAccounts.id, account.id))
      .returning();
    return { ok: true, account: signedIn ?? account };
  }
  // One statement, so parallel guesses cannot each read the same count.
  const [failed] = await queryRows<{ locked_until: Date | null }>(db, sql`
    UPDATE staff_accounts SET
      failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1 ELSE failed_logins + 1 END,
      locked_until = CASE
        WHEN locked_until IS NOT NULL AND locked_until <= now() THEN NULL
        WHEN failed_logins + 1 >= ${MAX_FAILED_LOGINS}::int THEN now() + make_interval(mins => ${LOCK_MINUTES}::int)
        ELSE locked_until END
    WHERE id = ${account.id}::int
    RETURNING locked_until`);
  const lockedUntil = failed?.locked_until ? new Date(failed.locked_until) : undefined;
  return lockedUntil && lockedUntil > new Date() ? { ok: false, account: known, lockedUntil, locked: true } : { ok: false, account: known };
}

/** Sets a new password after checking the current one; every other session of the account ends. */
export async function changePassword(db: Database, account: { id: number; email: string }, current: string, next: string): Promise<void> {
  const [stored] = await db.select().from(staffAccounts).where(eq(staffAccounts.id, account.id));
  if (!stored?.passwordHash || !(await verify(stored.passwordHash, current).catch(() => false))) {
    throw new AccountError('current', 'That is not your current password.');
  }
  const passwordHash = await hashPassword(next);
  await db.transaction(async (tx) => {
    await tx.update(staffAccounts).set({ passwordHash, sessionsValidAfter: new Date() }).where(eq(staffAccounts.id, account.id));
    await recordAudit(tx, account, { action: 'account.password-change' });
  });
}

/** Invites someone: an account without a password, and a link (returned once) to choose one. */
export async function inviteAccount(
  db: Database,
  input: { email: string; name: string; role: StaffRole },
  actor: { id: number; email: string },
): Promise<{ account: StaffAccount; token: string }> {
  const token = randomBytes(24).toString('base64url');
  return db.transaction(async (tx) => {
    const [account] = await tx
      .insert(staffAccounts)
      .values({
        ...input,
        status: 'invited',
        inviteTokenHash: tokenHash(token),
        inviteExpiresAt: sql`now() + make_interval(days => ${INVITE_DAYS}::int)`,
      })
      .onConflictDoNothing()
      .returning();
    if (!account) throw new AccountError('email', 'An account with this email address already exists.');
    await recordAudit(tx, actor, { action: 'account.invite', details: { account: account.email, role: account.role } });
    return { account, token };
  });
}

/** The invited account a link is for, while the invitation holds. */
export async function findInvitation(db: Database, token: string): Promise<StaffAccount | undefined> {
  const [account] = await db
    .select()
    .from(staffAccounts)
    .where(and(eq(staffAccounts.inviteTokenHash, tokenHash(token)), eq(staffAccounts.status, 'invited'), sql`${staffAccounts.inviteExpiresAt} > now()`));
  return account;
}

/** Takes up an invitation: the account becomes active with the chosen password; the link stops working. */
export async function acceptInvitation(db: Database, token: string, input: { name: string; password: string }): Promise<StaffAccount> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [account] = await tx
      .update(staffAccounts)
      .set({ name: input.name, passwordHash, status: 'active', inviteTokenHash: null, inviteExpiresAt: null, sessionsValidAfter: new Date() })
      .where(and(eq(staffAccounts.inviteTokenHash, tokenHash(token)), eq(staffAccounts.status, 'invited'), sql`${staffAccounts.inviteExpiresAt} > now()`))
      .returning();
    if (!account) throw new AccountError('token', 'This invitation has expired or was already used. Ask an admin for a new one.');
    await recordAudit(tx, account, { action: 'account.accept-invitation' });
    return account;
  });
}

/**
 * Disables or re-enables an account, or changes its role. Ends the account's sessions. Refuses to
 * leave the platform without an active admin, and an admin cannot disable or demote themself.
 */
export async function updateAccount(
  db: Database,
  id: number,
  change: { status: 'active' | 'disabled' } | { role: StaffRole },
  actor: { id: number; email: string },
): Promise<StaffAccount> {
  if (id === actor.id) throw new AccountError('account', 'You cannot disable your own account or change your own role.');
  return db.transaction(async (tx) => {
    // Serialises account changes, so two admins cannot each remove the other.
    await tx.execute(sql`LOCK TABLE staff_accounts IN SHARE ROW EXCLUSIVE MODE`);
    const [before] = await tx.select().from(staffAccounts).where(eq(staffAccounts.id, id));
    if (!before) throw new AccountError('account', 'There is no such account.');
    const [account] = await tx
      .update(staffAccounts)
      .set({ ...change, sessionsValidAfter: new Date() })
      .where(eq(staffAccounts.id, id))
      .returning();
    const [admins] = await queryRows<{ count: number }>(tx, sql`
      SELECT count(*)::int AS count FROM staff_accounts WHERE role = 'admin' AND status = 'active' AND id <> ${id}::int`);
    const stillAdmin = account!.role === 'admin' && account!.status === 'active';
    if (!stillAdmin && (admins?.count ?? 0) === 0) throw new AccountError('account', 'The platform needs at least one active admin.');
    await recordAudit(tx, actor, {
      action: 'status' in change ? (change.status === 'disabled' ? 'account.disable' : 'account.enable') : 'account.role-change',
      details: { account: account!.email, ...('role' in change ? { from: before.role, to: change.role } : {}) },
    });
    return account!;
  });
}
