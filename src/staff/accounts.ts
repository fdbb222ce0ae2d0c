import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database } from '../db/client';
import { staffAccounts, type StaffAccount, type StaffRole } from '../db/schema';
import { partnerExists } from '../partners/partner-accounts';
import { recordAudit, type Actor } from './audit';
import { CONTROL_IN_LINE } from '../text-safety/characters';
import { hiddenFormatting } from '../text-safety/input';
import { staffRoles } from './roles';

/**
 * Wrong passwords in a row an account takes at once. After that, each attempt from a browser the
 * account has not signed in from waits: FIRST_LOGIN_DELAY_SECONDS after the first one over,
 * doubling with each further one, up to MAX_LOGIN_DELAY_SECONDS (see `authenticate`).
 */
export const FREE_FAILED_LOGINS = 5;
export const FIRST_LOGIN_DELAY_SECONDS = 60;
export const MAX_LOGIN_DELAY_SECONDS = 15 * 60;
export const INVITE_DAYS = 7;

export const staffEmail = z
  .string({ error: 'Enter an email address.' })
  .trim()
  .toLowerCase()
  .pipe(
    z
      .email({ error: 'Enter a valid email address.' })
      .max(254, { error: 'That email address is too long.' }),
  );
export const staffPassword = z
  .string({ error: 'Enter a password.' })
  .min(12, { error: 'Use at least 12 characters.' })
  .max(256, { error: 'Use at most 256 characters.' })
  .refine(
    (value) => !CONTROL_IN_LINE.test(value),
    'Use letters, digits, spaces and punctuation: no invisible control characters.',
  );
/** Shown to colleagues in the console and the audit log: invisible formatting is refused, not stripped (see text-safety/input.ts). */
export const staffName = z
  .string()
  .trim()
  .max(100, { error: 'Use at most 100 characters.' })
  .refine(
    (value) => !CONTROL_IN_LINE.test(value),
    'Write the name on one line, without invisible control characters.',
  )
  .refine(
    (value) => !hiddenFormatting(value),
    'Remove the invisible formatting characters (text-direction controls, zero-width spaces) from the name.',
  )
  .default('');
/** The roles of the coalition's own staff (the command line, role changes); a partner's account is invited, bound to its partner. */
export const staffRole = z.enum(
  staffRoles.filter((role) => role !== 'partner') as [StaffRole, ...StaffRole[]],
  { error: 'Choose admin, organizer or viewer.' },
);
/** Every role an admin may invite someone to. */
export const inviteRole = z.enum(staffRoles as [StaffRole, ...StaffRole[]], {
  error: 'Choose admin, organizer, viewer or partner.',
});

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

export async function findActiveAccount(
  db: Database,
  id: number,
): Promise<StaffAccount | undefined> {
  const [account] = await db
    .select()
    .from(staffAccounts)
    .where(and(eq(staffAccounts.id, id), eq(staffAccounts.status, 'active')));
  return account;
}

export const listAccounts = (db: Database) =>
  db.select().from(staffAccounts).orderBy(asc(staffAccounts.email));

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
      .values({
        email: input.email,
        name: input.name ?? '',
        role: input.role,
        status: 'active',
        passwordHash,
      })
      .onConflictDoNothing()
      .returning();
    if (!account)
      throw new AccountError('email', 'An account with this email address already exists.');
    await recordAudit(tx, actor, {
      action: 'account.create',
      details: { account: account.email, role: account.role },
    });
    return account;
  });
}

/** The wait before an account takes another attempt, after `failures` wrong passwords in a row. */
export const loginDelaySeconds = (failures: number): number =>
  failures < FREE_FAILED_LOGINS
    ? 0
    : Math.min(
        FIRST_LOGIN_DELAY_SECONDS * 2 ** (failures - FREE_FAILED_LOGINS),
        MAX_LOGIN_DELAY_SECONDS,
      );

type KnownAccount = { id: number; email: string };

export type LoginResult =
  | { ok: true; account: StaffAccount }
  /** No active account has this email: nothing is recorded (what was typed as an email may be a password). */
  | { ok: false; reason: 'unknown' }
  /** The account is waiting after failed attempts: refused before the password was looked at. */
  | { ok: false; reason: 'waiting'; account: KnownAccount }
  /** `failures`: wrong passwords in a row now (null from a trusted browser, whose failures count apart). */
  | { ok: false; reason: 'wrong-password'; account: KnownAccount; failures: number | null };

const dummyVerify = async (password: string) =>
  verify(await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))), password).catch(
    () => false,
  );

/**
 * Checks an email and password, slowing guessers without locking the owner out.
 *
 * - Every answer but a success is the same to the caller (the routes show one message), and takes
 *   one Argon2 verification: an unknown email and a waiting account are checked against a dummy hash.
 * - Each attempt on an account from an untrusted browser is counted *before* the password is
 *   checked, in one statement that also refuses it while the account waits (`locked_until`, "no
 *   attempt before"): parallel guesses cannot share a slot, and an attempt made while the account
 *   waits is refused without being counted, so hammering does not make the wait longer than the
 *   doubling does. A success resets the count.
 * - `trustedFor`: the account the request's trusted-browser cookie vouches for (trusted-browsers.ts).
 *   A browser that has signed in to the account before is not held by the wait, and its wrong
 *   passwords do not count against the account (the caller counts them against the browser): an
 *   attacker elsewhere can slow down guessing but cannot lock the owner out. An admin can clear the
 *   count (`clearFailedLogins`) for an owner on a new browser.
 */
export async function authenticate(
  db: Database,
  email: string,
  password: string,
  options: { trustedFor?: number } = {},
): Promise<LoginResult> {
  const [account] = await db.select().from(staffAccounts).where(eq(staffAccounts.email, email));
  if (!account?.passwordHash || account.status !== 'active') {
    await dummyVerify(password);
    return { ok: false, reason: 'unknown' };
  }
  const known = { id: account.id, email: account.email };
  const trusted = options.trustedFor === account.id;
  let failures: number | null = null;
  if (!trusted) {
    const [claimed] = await queryRows<{ failed_logins: number }>(
      db,
      sql`
      UPDATE staff_accounts SET
        failed_logins = failed_logins + 1,
        locked_until = CASE WHEN failed_logins + 1 >= ${FREE_FAILED_LOGINS}::int
          THEN now() + make_interval(secs => least(${FIRST_LOGIN_DELAY_SECONDS}::int * power(2, failed_logins + 1 - ${FREE_FAILED_LOGINS}::int), ${MAX_LOGIN_DELAY_SECONDS}::int))
          ELSE NULL END
      WHERE id = ${account.id}::int AND (locked_until IS NULL OR locked_until <= now())
      RETURNING failed_logins`,
    );
    if (!claimed) {
      await dummyVerify(password);
      return { ok: false, reason: 'waiting', account: known };
    }
    failures = Number(claimed.failed_logins);
  }
  if (await verify(account.passwordHash, password).catch(() => false)) {
    const [signedIn] = await db
      .update(staffAccounts)
      .set({ failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() })
      .where(eq(staffAccounts.id, account.id))
      .returning();
    return { ok: true, account: signedIn ?? account };
  }
  return { ok: false, reason: 'wrong-password', account: known, failures };
}

/** An admin clears an account's failed sign-ins (its owner, on a new browser, can then sign in at once). */
export async function clearFailedLogins(
  db: Database,
  id: number,
  actor: Actor,
): Promise<StaffAccount> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(staffAccounts).where(eq(staffAccounts.id, id));
    if (!before) throw new AccountError('account', 'There is no such account.');
    const [account] = await tx
      .update(staffAccounts)
      .set({ failedLogins: 0, lockedUntil: null })
      .where(eq(staffAccounts.id, id))
      .returning();
    await recordAudit(tx, actor, {
      action: 'account.unlock',
      details: { account: before.email, failures: before.failedLogins },
    });
    return account!;
  });
}

/** Sets a new password after checking the current one; every other session of the account ends. */
export async function changePassword(
  db: Database,
  account: { id: number; email: string },
  current: string,
  next: string,
): Promise<void> {
  const [stored] = await db.select().from(staffAccounts).where(eq(staffAccounts.id, account.id));
  if (!stored?.passwordHash || !(await verify(stored.passwordHash, current).catch(() => false))) {
    throw new AccountError('current', 'That is not your current password.');
  }
  const passwordHash = await hashPassword(next);
  await db.transaction(async (tx) => {
    await tx
      .update(staffAccounts)
      .set({ passwordHash, sessionsValidAfter: new Date() })
      .where(eq(staffAccounts.id, account.id));
    await recordAudit(tx, account, { action: 'account.password-change' });
  });
}

/** Invites someone: an account without a password, and a link (returned once) to choose one. */
export async function inviteAccount(
  db: Database,
  input: { email: string; name: string; role: StaffRole; partnerId?: number | null },
  actor: { id: number; email: string },
): Promise<{ account: StaffAccount; token: string }> {
  // A partner's account is bound to its partner, and only a partner's account is.
  if (input.role === 'partner' && !input.partnerId)
    throw new AccountError('partner', 'Choose the partner organisation this account belongs to.');
  const partnerId = input.role === 'partner' ? input.partnerId! : null;
  const token = randomBytes(24).toString('base64url');
  return db.transaction(async (tx) => {
    if (partnerId !== null) {
      if (!(await partnerExists(tx, partnerId)))
        throw new AccountError('partner', 'There is no such partner organisation.');
    }
    const [account] = await tx
      .insert(staffAccounts)
      .values({
        email: input.email,
        name: input.name,
        role: input.role,
        partnerId,
        status: 'invited',
        inviteTokenHash: tokenHash(token),
        inviteExpiresAt: sql`now() + make_interval(days => ${INVITE_DAYS}::int)`,
      })
      .onConflictDoNothing()
      .returning();
    if (!account)
      throw new AccountError('email', 'An account with this email address already exists.');
    await recordAudit(tx, actor, {
      action: 'account.invite',
      details: {
        account: account.email,
        role: account.role,
        ...(partnerId !== null ? { partnerId } : {}),
      },
    });
    return { account, token };
  });
}

/** The invited account a link is for, while the invitation holds. */
export async function findInvitation(
  db: Database,
  token: string,
): Promise<StaffAccount | undefined> {
  const [account] = await db
    .select()
    .from(staffAccounts)
    .where(
      and(
        eq(staffAccounts.inviteTokenHash, tokenHash(token)),
        eq(staffAccounts.status, 'invited'),
        sql`${staffAccounts.inviteExpiresAt} > now()`,
      ),
    );
  return account;
}

/** Takes up an invitation: the account becomes active with the chosen password; the link stops working. */
export async function acceptInvitation(
  db: Database,
  token: string,
  input: { name: string; password: string },
): Promise<StaffAccount> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [account] = await tx
      .update(staffAccounts)
      .set({
        name: input.name,
        passwordHash,
        status: 'active',
        inviteTokenHash: null,
        inviteExpiresAt: null,
        sessionsValidAfter: new Date(),
      })
      .where(
        and(
          eq(staffAccounts.inviteTokenHash, tokenHash(token)),
          eq(staffAccounts.status, 'invited'),
          sql`${staffAccounts.inviteExpiresAt} > now()`,
        ),
      )
      .returning();
    if (!account)
      throw new AccountError(
        'token',
        'This invitation has expired or was already used. Ask an admin for a new one.',
      );
    await recordAudit(tx, account, { action: 'account.accept-invitation' });
    return account;
  });
}

/**
 * Disables or re-enables an account, or changes its role. Ends the account's sessions and clears
 * its failed sign-ins. Refuses to
 * leave the platform without an active admin, and an admin cannot disable or demote themself.
 */
export async function updateAccount(
  db: Database,
  id: number,
  change: { status: 'active' | 'disabled' } | { role: StaffRole },
  actor: { id: number; email: string },
): Promise<StaffAccount> {
  if (id === actor.id)
    throw new AccountError(
      'account',
      'You cannot disable your own account or change your own role.',
    );
  return db.transaction(async (tx) => {
    // Serialises account changes, so two admins cannot each remove the other.
    await tx.execute(sql`LOCK TABLE staff_accounts IN SHARE ROW EXCLUSIVE MODE`);
    const [before] = await tx.select().from(staffAccounts).where(eq(staffAccounts.id, id));
    if (!before) throw new AccountError('account', 'There is no such account.');
    // A partner's account is bound to its partner: it never becomes staff, nor staff a partner.
    if ('role' in change && (before.role === 'partner') !== (change.role === 'partner')) {
      throw new AccountError(
        'account',
        "A partner organisation's account cannot take a staff role, nor a staff account the partner role: invite a new account instead.",
      );
    }
    const [account] = await tx
      .update(staffAccounts)
      // A disable, an enable or a role change also starts the failed sign-ins afresh.
      .set({ ...change, sessionsValidAfter: new Date(), failedLogins: 0, lockedUntil: null })
      .where(eq(staffAccounts.id, id))
      .returning();
    const [admins] = await queryRows<{ count: number }>(
      tx,
      sql`
      SELECT count(*)::int AS count FROM staff_accounts WHERE role = 'admin' AND status = 'active' AND id <> ${id}::int`,
    );
    const stillAdmin = account!.role === 'admin' && account!.status === 'active';
    if (!stillAdmin && (admins?.count ?? 0) === 0)
      throw new AccountError('account', 'The platform needs at least one active admin.');
    await recordAudit(tx, actor, {
      action:
        'status' in change
          ? change.status === 'disabled'
            ? 'account.disable'
            : 'account.enable'
          : 'account.role-change',
      details: {
        account: account!.email,
        ...('role' in change ? { from: before.role, to: change.role } : {}),
      },
    });
    return account!;
  });
}
