import { Readable } from 'node:stream';
import type { AppContext } from '../context';
import { countSignersConsentingTo, signersConsentingTo } from '../petitions/signature-store';
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

export async function startPartnerExport(
  ctx: Pick<AppContext, 'db' | 'encryption'>,
  scope: PartnerScope,
  actor: Actor,
): Promise<{ rows: number; stream: Readable }> {
  const rows = await countSignersConsentingTo(ctx.db, scope.campaignId, scope.partnerId);
  await recordAudit(ctx.db, actor, {
    action: 'export.partner-supporters',
    campaignId: scope.campaignId,
    details: { partnerId: scope.partnerId, rows },
  });

  async function* csv(): AsyncGenerator<string> {
    yield `${COLUMNS.join(',')}\n`;
    for (let after = 0; ;) {
      const page = await signersConsentingTo(
        ctx.db,
        scope.campaignId,
        scope.partnerId,
        after,
        PAGE_ROWS,
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
