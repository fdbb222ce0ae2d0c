import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { openedLetter } from '../db/sealed-rows';
import type { FieldEncryption } from '../privacy/field-encryption';

export interface HandDeliveryPacket {
  targetKey: string;
  to: string;
  title: string;
  letters: number;
  /** Every letter for this office, one after another, ready to print. */
  text: string;
}

/**
 * The letters waiting for hand delivery, gathered per office: what the staff print or hand over to
 * offices that publish no email address and take no CWC messages.
 */
export async function handDeliveryPackets(ctx: { db: Database; encryption: FieldEncryption }, campaignId: number): Promise<HandDeliveryPacket[]> {
  const { encryption } = ctx;
  const rows = await queryRows<{ target_key: string; target_name: string; target_title: string; subject: Uint8Array; body: Uint8Array; written: string }>(
    ctx.db,
    sql`SELECT target_key, target_name, target_title, subject, body, to_char(created_at, 'YYYY-MM-DD') AS written FROM letters
        WHERE campaign_id = ${campaignId}::int AND status = 'hand-delivery' ORDER BY target_key, id`,
  );
  const packets = new Map<string, HandDeliveryPacket & { parts: string[] }>();
  for (const row of rows.map((sealed) => openedLetter(encryption, sealed))) {
    let packet = packets.get(row.target_key);
    if (!packet) {
      packet = { targetKey: row.target_key, to: row.target_name, title: row.target_title, letters: 0, text: '', parts: [] };
      packets.set(row.target_key, packet);
    }
    packet.letters++;
    packet.parts.push([`Letter ${packet.letters}, written ${row.written}`, `Subject: ${row.subject}`, '', row.body].join('\n'));
  }
  return [...packets.values()].map(({ parts, ...packet }) => ({
    ...packet,
    text: [`Letters from constituents to ${packet.to}, ${packet.title}: ${packet.letters}`, '', ...parts].join('\n\n' + '-'.repeat(72) + '\n\n'),
  }));
}
