import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import { recordAudit, type Actor } from '../staff/audit';
import { csvCell } from '../text-safety/csv';
import type { PartnerScope } from './partner-accounts';

/**
 * A partner's export: the supporters who agreed to hear from that partner (a consent not
 * withdrawn), with what they gave that the partner may use: name, email address, ZIP code, state,
 * when they signed and when they agreed, in the words they agreed to. Where the campaign asks signers to
 * confirm, only confirmed ones. Never a street address. Read in pages by id, each page its own short
 * query (so the embedded database keeps answering other requests), and streamed as CSV; cells that
 * a spreadsheet would run as a formula are neutralised. Audited as it starts.
 */

const PAGE_ROWS = 2000;
const COLUMNS = ['name', 'email', 'zip', 'state', 'signed_at', 'agreed_at', 'agreed_to'];

interface ConsentingRow {
  id: number;
  name: Uint8Array;
  email: Uint8Array;
  zip: string;
  state: string | null;
  signed_at: Date | string;
  agreed_at: Date | string;
  wording: string;
}

export async function startPartnerExport(
  ctx: Pick<AppContext, 'db' | 'encryption'>,
  scope: PartnerScope,
  actor: Actor,
): Promise<{ rows: number; stream: Readable }> {
  const where = sql`s.campaign_id = ${scope.campaignId}::int
    AND (s.verified_at IS NOT NULL OR NOT (SELECT require_verification FROM campaigns WHERE id = ${scope.campaignId}::int))`;
  const consented = sql`JOIN consents k ON k.signature_id = s.id AND k.scope = 'partner' AND k.partner_id = ${scope.partnerId}::int AND k.withdrawn_at IS NULL`;
  const [count] = await queryRows<{ n: number }>(
    ctx.db,
    sql`SELECT count(DISTINCT s.id)::int AS n FROM signatures s ${consented} WHERE ${where}`,
  );
  const rows = Number(count?.n ?? 0);
  await recordAudit(ctx.db, actor, {
    action: 'export.partner-supporters',
    campaignId: scope.campaignId,
    details: { partnerId: scope.partnerId, rows },
  });

  async function* csv(): AsyncGenerator<string> {
    yield `${COLUMNS.join(',')}\n`;
    for (let after = 0; ;) {
      const page = await queryRows<ConsentingRow>(
        ctx.db,
        sql`SELECT DISTINCT ON (s.id) s.id, s.name, s.email, s.zip, s.state, s.created_at AS signed_at, k.given_at AS agreed_at, k.wording
            FROM signatures s ${consented}
            WHERE ${where} AND s.id > ${after}::bigint ORDER BY s.id, k.id LIMIT ${PAGE_ROWS}::int`,
      );
      if (page.length === 0) return;
      after = Number(page[page.length - 1]!.id);
      yield (
        page
          .map((row) =>
            [
              ctx.encryption.open('signatures.name', row.name),
              ctx.encryption.open('signatures.email', row.email),
              row.zip,
              row.state ?? '',
              new Date(row.signed_at).toISOString(),
              new Date(row.agreed_at).toISOString(),
              row.wording,
            ]
              .map((value) => csvCell(value))
              .join(','),
          )
          .join('\n') + '\n'
      );
      if (page.length < PAGE_ROWS) return;
    }
  }
  return { rows, stream: Readable.from(csv()) };
}
