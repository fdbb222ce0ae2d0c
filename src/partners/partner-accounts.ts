import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { UsageError } from '../cli';
import { queryRows, type Database } from '../db/client';
import { partners } from '../db/schema';
import { partnerIdOfAccount } from '../staff/account-reads';

/** A partner organisation as a partner's account sees it: itself and its campaign. */
export interface PartnerScope {
  partnerId: number;
  partnerName: string;
  sourceCode: string;
  campaignId: number;
  campaignSlug: string;
  campaignTitle: string;
}

/** Every partner of every campaign, for the invitation form's choice: "Partner (campaign)". */
export async function partnerChoices(db: Database): Promise<Array<{ id: number; label: string }>> {
  const rows = await queryRows<{ id: number; name: string; title: string }>(
    db,
    sql`SELECT p.id, p.name, c.title FROM partners p JOIN campaigns c ON c.id = p.campaign_id ORDER BY c.title, p.name, p.id`,
  );
  return rows.map((row) => ({ id: Number(row.id), label: `${row.name} (${row.title})` }));
}

/** The partner a staff account belongs to, with its campaign; none for a staff role, or once the partner was removed. */
export async function partnerOfAccount(
  db: Database,
  staffId: number,
): Promise<PartnerScope | undefined> {
  const [row] = await queryRows<{
    partner_id: number;
    name: string;
    source_code: string;
    campaign_id: number;
    slug: string;
    title: string;
  }>(
    db,
    sql`SELECT p.id AS partner_id, p.name, p.source_code, c.id AS campaign_id, c.slug, c.title
        FROM partners p JOIN campaigns c ON c.id = p.campaign_id
        WHERE p.id = ${partnerIdOfAccount(staffId)}`,
  );
  return row
    ? {
        partnerId: Number(row.partner_id),
        partnerName: row.name,
        sourceCode: row.source_code,
        campaignId: Number(row.campaign_id),
        campaignSlug: row.slug,
        campaignTitle: row.title,
      }
    : undefined;
}

/** A campaign's partner organisation found by its source code: its id, name and code. */
export async function partnerBySourceCode(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  sourceCode: string,
): Promise<{ id: number; name: string; sourceCode: string } | undefined> {
  const [partner] = await queryRows<{ id: number; name: string; source_code: string }>(
    db,
    sql`SELECT id, name, source_code FROM partners WHERE campaign_id = ${campaignId}::int AND source_code = ${sourceCode}`,
  );
  return partner && { id: Number(partner.id), name: partner.name, sourceCode: partner.source_code };
}

/** A partner's name, as a scalar subquery over its id (SQL): null when there is none (removed, or no partner). */
export const partnerNameOf = (partnerId: SQL) =>
  sql`(SELECT p.name FROM partners p WHERE p.id = ${partnerId})`;

/**
 * The partner of a campaign that a command's `--partner <source code>` names (the code trimmed and
 * lower-cased, as the console stores it), or a UsageError (one error line, exit code 2).
 */
export async function partnerForCommand(
  db: Pick<Database, 'execute'>,
  campaign: { id: number; slug: string },
  sourceCode: string,
): Promise<{ id: number; name: string; sourceCode: string }> {
  const partner = await partnerBySourceCode(db, campaign.id, sourceCode.trim().toLowerCase());
  if (!partner)
    throw new UsageError(
      `--partner: ${campaign.slug} has no partner with source code "${sourceCode}"`,
    );
  return partner;
}

/** Whether there is a partner with this id (in the caller's transaction). */
export async function partnerExists(
  db: Pick<Database, 'execute'>,
  partnerId: number,
): Promise<boolean> {
  const rows = await queryRows(db, sql`SELECT id FROM partners WHERE id = ${partnerId}::int`);
  return rows.length > 0;
}

/** Every origin (web site) staff listed for any partner, each once. */
export async function partnerOrigins(db: Pick<Database, 'execute'>): Promise<string[]> {
  const rows = await queryRows<{ origin: string }>(
    db,
    sql`SELECT DISTINCT unnest(origins) AS origin FROM partners`,
  );
  return rows.map((row) => row.origin);
}

const PARTNER_COLUMNS = getTableColumns(partners);

/**
 * The partners, each with its id and the columns `fields` names (under their SQL names), as a
 * table to join in one statement: `LEFT JOIN ${partnersWith('name')} p ON p.id = t.partner_id`.
 * It has no parameters (a COPY statement may hold it) and PostgreSQL flattens it into the query.
 */
export const partnersWith = (...fields: Array<keyof typeof PARTNER_COLUMNS>) =>
  sql.raw(
    `(SELECT ${[...new Set(['id', ...fields.map((field) => PARTNER_COLUMNS[field].name)])].join(', ')} FROM partners)`,
  );
