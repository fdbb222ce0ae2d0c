import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { copyInteger as integer, copyLiteral as literal } from '../db/copy-values';
import { queryRows, type CopyOut, type ExportDatabase } from '../db/client';
import { neutralisedSql as neutralised } from '../text-safety/csv';
import { targetNames } from './counts';

/**
 * Letters per office, from the letter counts (a row per office and status), with how many of the
 * delivered ones went by hand (the letters of the campaign's delivered packets, by index). Names
 * and titles are looked up before the COPY (`names`, a VALUES list of quoted literals), as the
 * dashboard names targets: from the representative data, the campaign's lists, or the letters.
 * "Delivered by us" is every delivered letter not delivered by hand.
 */
export function lettersExportQuery(
  campaignId: number,
  names: Map<string, { name: string; title: string }> = new Map(),
): string {
  const id = integer(campaignId);
  const named =
    names.size > 0
      ? `(VALUES ${[...names].map(([key, target]) => `(${literal(key)}, ${literal(target.name)}, ${literal(target.title)})`).join(', ')}) AS n(key, name, title)`
      : `(SELECT NULL::text AS key, NULL::text AS name, NULL::text AS title WHERE false) AS n`;
  return `SELECT ${neutralised('coalesce(n.name, c.key)')} AS office_holder,
      ${neutralised('n.title')} AS office,
      c.delivered - coalesce(h.letters, 0) AS delivered_by_us,
      coalesce(h.letters, 0) AS delivered_by_hand,
      c.self_sent AS sent_by_supporter,
      c.rehearsed AS rehearsal_only,
      c.waiting AS waiting_to_send,
      c.hand AS waiting_for_hand_delivery,
      c.held,
      c.failed,
      c.total,
      ${neutralised('c.key')} AS target
    FROM (
      SELECT key,
        coalesce(sum(count) FILTER (WHERE status = 'delivered'), 0)::bigint AS delivered,
        coalesce(sum(count) FILTER (WHERE status = 'self-sent'), 0)::bigint AS self_sent,
        coalesce(sum(count) FILTER (WHERE status = 'rehearsed'), 0)::bigint AS rehearsed,
        coalesce(sum(count) FILTER (WHERE status IN ('queued', 'sending', 'retrying')), 0)::bigint AS waiting,
        coalesce(sum(count) FILTER (WHERE status = 'hand-delivery'), 0)::bigint AS hand,
        coalesce(sum(count) FILTER (WHERE status = 'held'), 0)::bigint AS held,
        coalesce(sum(count) FILTER (WHERE status = 'failed'), 0)::bigint AS failed,
        sum(count)::bigint AS total
      FROM letter_counts WHERE campaign_id = ${id} AND dimension = 'target'
      GROUP BY key HAVING sum(count) > 0
    ) c
    LEFT JOIN (
      SELECT p.target_key, count(*) AS letters FROM hand_packets p JOIN letters l ON l.packet_id = p.id
      WHERE p.campaign_id = ${id} AND p.delivered_at IS NOT NULL AND l.status = 'delivered' AND l.delivered_as = 'hand'
      GROUP BY p.target_key
    ) h ON h.target_key = c.key
    LEFT JOIN ${named} ON n.key = c.key
    ORDER BY c.total DESC, c.key`;
}

/** The letters export: the offices' names first (a query or two, bounded by the number of offices), then one COPY. */
export function lettersExportCsv(database: ExportDatabase, campaignId: number): CopyOut {
  let settle: { resolve: (rows: number) => void; reject: (error: unknown) => void } | undefined;
  const rows = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
  rows.catch(() => undefined);
  async function* csv(): AsyncGenerator<Buffer> {
    try {
      const keys = await queryRows<{ key: string }>(
        database.db,
        sql`SELECT DISTINCT key FROM letter_counts WHERE campaign_id = ${campaignId}::int AND dimension = 'target' AND count > 0`,
      );
      const names = await targetNames(
        { db: database.db },
        campaignId,
        keys.map((row) => row.key),
      );
      const copied = database.copyOut(lettersExportQuery(campaignId, names), {
        header: true,
        quote: ['office_holder', 'office', 'target'],
      });
      for await (const chunk of copied.stream) yield chunk as Buffer;
      settle!.resolve(await copied.rows);
    } catch (error) {
      settle!.reject(error);
      throw error;
    } finally {
      settle!.reject(new Error('the export was abandoned before its end'));
    }
  }
  return { stream: Readable.from(csv(), { objectMode: false }), rows };
}
