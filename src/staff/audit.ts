import { desc, eq, lt, and, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { auditLog, campaigns } from '../db/schema';

/** Who did something: a signed-in staff member, or someone at the command line. */
export type Actor = { id: number; email: string } | 'command line';

export interface AuditEntry {
  action: string;
  campaignId?: number | null;
  /** What was done, never personal data of supporters. */
  details?: Record<string, unknown>;
}

export async function recordAudit(
  db: Pick<Database, 'insert'>,
  actor: Actor,
  entry: AuditEntry,
): Promise<void> {
  await db.insert(auditLog).values({
    staffId: actor === 'command line' ? null : actor.id,
    actor: actor === 'command line' ? actor : actor.email,
    action: entry.action,
    campaignId: entry.campaignId ?? null,
    details: entry.details ?? {},
  });
}

/**
 * Entries for work the platform did by itself, no person asking (a day's token use summed up, a
 * failing webhook turned off): the actor `platform`, with no account. All in one statement.
 */
export async function recordPlatformAudit(
  db: Pick<Database, 'insert'>,
  entries: readonly AuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await db.insert(auditLog).values(
    entries.map((entry) => ({
      actor: 'platform',
      action: entry.action,
      campaignId: entry.campaignId ?? null,
      details: entry.details ?? {},
    })),
  );
}

export const AUDIT_PAGE_SIZE = 100;

/** Newest first, a page at a time: entries older than `before` (an entry id). */
export async function listAudit(db: Database, options: { before?: number; action?: string } = {}) {
  const conditions: SQL[] = [];
  if (options.before !== undefined) conditions.push(lt(auditLog.id, options.before));
  if (options.action) conditions.push(eq(auditLog.action, options.action));
  return db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      actor: auditLog.actor,
      action: auditLog.action,
      campaign: campaigns.slug,
      details: auditLog.details,
    })
    .from(auditLog)
    .leftJoin(campaigns, eq(campaigns.id, auditLog.campaignId))
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(AUDIT_PAGE_SIZE);
}
