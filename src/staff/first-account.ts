import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import type { StaffAccount } from '../db/schema';
import { findActiveAccount, hashPassword } from './accounts';
import { recordAudit } from './audit';

/**
 * The first staff account, made in the browser: on a platform with no staff account, `npm start`
 * prints a one-time setup link (`/staff/setup/<token>`) where the first admin chooses their email
 * and password. The token is random (256 bits), kept in Redis only as its hash, valid for an hour,
 * and used once: taking it and creating the account cannot be done twice, nor once an account
 * exists. A new start while there is still no account makes a new link (the old one stops working).
 * `npm run staff:create` stays for scripts.
 */

export const SETUP_LINK_SECONDS = 3600;

type SetupContext = Pick<AppContext, 'db' | 'redis' | 'config'>;

const keyOf = (ctx: Pick<AppContext, 'config'>) => `${ctx.config.redisKeyPrefix}:staff:setup`;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Deletes the key only if it still holds this hash: one caller takes a token, however many try at once. */
const TAKE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export async function hasStaffAccount(ctx: Pick<AppContext, 'db'>): Promise<boolean> {
  const [row] = await queryRows<{ any: boolean }>(
    ctx.db,
    sql`SELECT EXISTS (SELECT 1 FROM staff_accounts) AS any`,
  );
  return Boolean(row?.any);
}

/** The setup link, when the platform has no staff account yet (and none otherwise). */
export async function offerFirstAccountSetup(ctx: SetupContext): Promise<string | undefined> {
  if (await hasStaffAccount(ctx)) return undefined;
  const token = randomBytes(32).toString('base64url');
  await ctx.redis.set(keyOf(ctx), hashOf(token), 'EX', SETUP_LINK_SECONDS);
  return `${ctx.config.publicUrl}/staff/setup/${token}`;
}

/** Whether this is the live setup link of a platform that still has no staff account. */
export async function setupLinkValid(ctx: SetupContext, token: string): Promise<boolean> {
  if (!TOKEN.test(token)) return false;
  const stored = await ctx.redis.get(keyOf(ctx));
  if (!stored) return false;
  const given = Buffer.from(hashOf(token));
  if (!timingSafeEqual(Buffer.from(stored), given)) return false;
  return !(await hasStaffAccount(ctx));
}

/**
 * Takes the link and creates the first admin, or says why not: `gone` when the link was used, has
 * expired, or an account exists meanwhile. The link is taken first (atomically), so that two
 * submissions at once make one account.
 */
export async function createFirstAdmin(
  ctx: SetupContext,
  token: string,
  input: { email: string; name: string; password: string },
): Promise<{ ok: true; account: StaffAccount } | { ok: false; reason: 'gone' }> {
  if (!TOKEN.test(token)) return { ok: false, reason: 'gone' };
  const taken = Number(await ctx.redis.eval(TAKE_IF_EQUAL, 1, keyOf(ctx), hashOf(token)));
  if (taken !== 1) return { ok: false, reason: 'gone' };
  const passwordHash = await hashPassword(input.password);
  const id = await ctx.db.transaction(async (tx) => {
    const [created] = await queryRows<{ id: number }>(
      tx,
      sql`INSERT INTO staff_accounts (email, name, role, status, password_hash)
          SELECT ${input.email}, ${input.name}, 'admin', 'active', ${passwordHash}
          WHERE NOT EXISTS (SELECT 1 FROM staff_accounts)
          RETURNING id`,
    );
    if (!created) return undefined;
    await recordAudit(
      tx,
      { id: Number(created.id), email: input.email },
      {
        action: 'account.create',
        details: { account: input.email, role: 'admin', by: 'setup link' },
      },
    );
    return Number(created.id);
  });
  const account = id === undefined ? undefined : await findActiveAccount(ctx.db, id);
  return account ? { ok: true, account } : { ok: false, reason: 'gone' };
}
