import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { campaignById } from '../campaigns/directory';
import type { AppContext } from '../context';
import { queryRows, type Database } from '../db/client';
import { openedLetter } from '../db/sealed-rows';
import { countMoves } from './letter-store';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { staffEmailOf } from '../staff/account-reads';
import { recordAudit, type Actor } from '../staff/audit';
import { customTargetPostalAddress } from '../representatives/custom-targets';
import { activeDistrictJoin, activeOfficialChannels } from '../representatives/store';
import { uspsByFips } from '../representatives/us-states';
import { CONTROL_IN_TEXT } from '../text-safety/characters';

/**
 * Hand delivery, for offices the platform cannot reach electronically: staff prepare a packet for
 * an office (it takes the letters waiting for that office at that moment), print it (PDF or plain
 * text, see packet-documents.ts), hand it over, and mark it delivered: its letters still waiting
 * then move to `delivered` (by hand, on the day given), their counts with them, once.
 *
 * Every list here reads a bounded slice: the offices from the count table (one row per office),
 * the letters through the staff index (campaign, status, office, id) a page at a time. Held and
 * failed letters are in held-and-failed.ts.
 */

export type HandDeliveryContext = Pick<AppContext, 'db' | 'encryption'>;

/** A letter in a packet counts as a packet letter while it waits, and once it was delivered by hand. */
const IN_PACKET = sql.raw(
  `(l.status = 'hand-delivery' OR (l.status = 'delivered' AND l.delivered_as = 'hand'))`,
);

/**
 * A letter that waits for hand delivery and is in no packet still to be delivered. Said as "in no
 * packet, or in one delivered": a packet another transaction has just made (and this statement's
 * snapshot cannot see) then counts as open, so two staff preparing at once never take one letter twice.
 */
const UNPACKED = sql.raw(
  `(l.packet_id IS NULL OR EXISTS (SELECT 1 FROM hand_packets done WHERE done.id = l.packet_id AND done.delivered_at IS NOT NULL))`,
);

// ---------------------------------------------------------------------------------------------
// Offices waiting, and packets

export interface WaitingOffice {
  targetKey: string;
  name: string;
  title: string;
  /** Letters waiting for hand delivery and in no packet yet. */
  waiting: number;
  /** When the oldest of them was written. */
  oldest: Date;
  /** Letters already in packets not yet delivered. */
  inPackets: number;
}

export const OFFICES_PAGE = 50;

/**
 * The offices with letters waiting for hand delivery that are in no packet yet, oldest first, a
 * page of OFFICES_PAGE at a time. From the count table (a row per office), with, per office, the
 * letters of its open packets (bounded by those packets) and its oldest waiting letter (the first
 * entry of the staff index past the packed ones).
 */
export async function officesWaiting(
  db: Database,
  campaignId: number,
  page = 0,
): Promise<{ offices: WaitingOffice[]; more: boolean }> {
  const rows = await queryRows<{
    target_key: string;
    total: string | number;
    packed: string | number;
    oldest: Date | string;
    target_name: string;
    target_title: string;
  }>(
    db,
    sql`SELECT c.key AS target_key, c.count AS total, packed.n AS packed, first.created_at AS oldest, first.target_name, first.target_title
        FROM letter_counts c
        CROSS JOIN LATERAL (
          SELECT count(*) AS n FROM hand_packets p JOIN letters l ON l.packet_id = p.id
          WHERE p.campaign_id = c.campaign_id AND p.target_key = c.key AND p.delivered_at IS NULL AND l.status = 'hand-delivery'
        ) packed
        CROSS JOIN LATERAL (
          SELECT l.created_at, l.target_name, l.target_title FROM letters l
          -- An office whose letters are all in packets is not looked through at all.
          WHERE c.count > packed.n AND l.campaign_id = c.campaign_id AND l.status = 'hand-delivery' AND l.target_key = c.key AND ${UNPACKED}
          ORDER BY l.id LIMIT 1
        ) first
        WHERE c.campaign_id = ${campaignId}::int AND c.dimension = 'target' AND c.status = 'hand-delivery' AND c.count > 0
        ORDER BY first.created_at, c.key
        LIMIT ${OFFICES_PAGE + 1}::int OFFSET ${page * OFFICES_PAGE}::int`,
  );
  const offices = rows.slice(0, OFFICES_PAGE).map((row) => ({
    targetKey: row.target_key,
    name: row.target_name,
    title: row.target_title,
    waiting: Number(row.total) - Number(row.packed),
    oldest: new Date(row.oldest),
    inPackets: Number(row.packed),
  }));
  return { offices, more: rows.length > OFFICES_PAGE };
}

export interface HandPacket {
  id: number;
  campaignId: number;
  targetKey: string;
  targetName: string;
  targetTitle: string;
  /** How many letters it took when it was prepared. */
  letters: number;
  createdAt: Date;
  createdBy: string | null;
  deliveredOn: string | null;
  deliveredAt: Date | null;
  deliveredBy: string | null;
  note: string | null;
}

interface PacketRow {
  id: string | number;
  campaign_id: number;
  target_key: string;
  target_name: string;
  target_title: string;
  letters: number;
  created_at: Date | string;
  created_by: string | null;
  delivered_on: string | null;
  delivered_at: Date | string | null;
  delivered_by: string | null;
  note: string | null;
}

const PACKET_COLUMNS = sql`p.id, p.campaign_id, p.target_key, p.target_name, p.target_title, p.letters, p.created_at,
  ${staffEmailOf(sql.raw('p.created_by'))} AS created_by, p.delivered_on, p.delivered_at, ${staffEmailOf(sql.raw('p.delivered_by'))} AS delivered_by, p.note
  FROM hand_packets p`;

const packetOf = (row: PacketRow): HandPacket => ({
  id: Number(row.id),
  campaignId: Number(row.campaign_id),
  targetKey: row.target_key,
  targetName: row.target_name,
  targetTitle: row.target_title,
  letters: Number(row.letters),
  createdAt: new Date(row.created_at),
  createdBy: row.created_by,
  deliveredOn: row.delivered_on,
  deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
  deliveredBy: row.delivered_by,
  note: row.note,
});

export const RECENT_PACKETS = 20;

/** The campaign's packets not yet delivered (oldest first), and the last RECENT_PACKETS delivered. */
export async function listPackets(
  db: Database,
  campaignId: number,
): Promise<{ open: HandPacket[]; delivered: HandPacket[] }> {
  const [open, delivered] = await Promise.all([
    queryRows<PacketRow>(
      db,
      sql`SELECT ${PACKET_COLUMNS} WHERE p.campaign_id = ${campaignId}::int AND p.delivered_at IS NULL ORDER BY p.id LIMIT 500`,
    ),
    queryRows<PacketRow>(
      db,
      sql`SELECT ${PACKET_COLUMNS} WHERE p.campaign_id = ${campaignId}::int AND p.delivered_at IS NOT NULL ORDER BY p.delivered_at DESC, p.id DESC LIMIT ${RECENT_PACKETS}::int`,
    ),
  ]);
  return { open: open.map(packetOf), delivered: delivered.map(packetOf) };
}

export async function findPacket(
  db: Database,
  campaignId: number,
  packetId: number,
): Promise<HandPacket | undefined> {
  if (!Number.isSafeInteger(packetId) || packetId <= 0) return undefined;
  const [row] = await queryRows<PacketRow>(
    db,
    sql`SELECT ${PACKET_COLUMNS} WHERE p.id = ${packetId}::bigint AND p.campaign_id = ${campaignId}::int`,
  );
  return row && packetOf(row);
}

export type PrepareResult = { outcome: 'prepared'; packet: HandPacket } | { outcome: 'empty' };

/**
 * The most letters one packet takes, oldest first: what one person can print and carry, and what
 * one statement marks delivered well within the staff statement timeout. An office with more
 * waiting gets its next packet from the rest.
 */
export const PACKET_MAX = 5000;

/**
 * Prepares a packet for one office: it takes the letters waiting for hand delivery to that office
 * that are in no packet still to be delivered, as of now, oldest first, up to PACKET_MAX. Two staff preparing at once cannot take
 * the same letter: the second waits for the first's row locks and then finds those letters taken.
 * A letter written afterwards goes in the next packet.
 */
export async function preparePacket(
  ctx: Pick<AppContext, 'db'>,
  campaignId: number,
  targetKey: string,
  staff: Actor,
): Promise<PrepareResult> {
  const prepared = await ctx.db.transaction(async (tx) => {
    const [office] = await queryRows<{ target_name: string; target_title: string }>(
      tx,
      sql`SELECT target_name, target_title FROM letters
          WHERE campaign_id = ${campaignId}::int AND status = 'hand-delivery' AND target_key = ${targetKey}
          ORDER BY id DESC LIMIT 1`,
    );
    if (!office) return null;
    const [packet] = await queryRows<{ id: string | number }>(
      tx,
      sql`INSERT INTO hand_packets (campaign_id, target_key, target_name, target_title, letters, created_by)
          VALUES (${campaignId}::int, ${targetKey}, ${office.target_name}, ${office.target_title}, 0, ${staff === 'command line' ? null : staff.id}::int)
          RETURNING id`,
    );
    const packetId = Number(packet!.id);
    const [taken] = await queryRows<{ n: number }>(
      tx,
      sql`WITH taken AS (
            UPDATE letters SET packet_id = ${packetId}::bigint, updated_at = now()
            WHERE id IN (
              SELECT l.id FROM letters l
              WHERE l.campaign_id = ${campaignId}::int AND l.status = 'hand-delivery' AND l.target_key = ${targetKey} AND ${UNPACKED}
              ORDER BY l.id LIMIT ${PACKET_MAX}::int FOR UPDATE)
            RETURNING id
          )
          SELECT count(*)::int AS n FROM taken`,
    );
    const letters = Number(taken?.n ?? 0);
    if (letters === 0) {
      await tx.execute(sql`DELETE FROM hand_packets WHERE id = ${packetId}::bigint`);
      return null;
    }
    await tx.execute(
      sql`UPDATE hand_packets SET letters = ${letters}::int WHERE id = ${packetId}::bigint`,
    );
    await recordAudit(tx, staff, {
      action: 'packet.prepare',
      campaignId,
      details: { packetId, target: targetKey, letters },
    });
    return packetId;
  });
  if (prepared === null) return { outcome: 'empty' };
  return { outcome: 'prepared', packet: (await findPacket(ctx.db, campaignId, prepared))! };
}

// ---------------------------------------------------------------------------------------------
// Marking a packet delivered

export const NOTE_MAX = 500;

/** The last calendar day anywhere on Earth (UTC+14): a delivery date after it is in the future for everyone. */
export const latestDayNow = (now: Date) =>
  new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10);
/** Today in UTC, the form's default. */
export const utcDay = (date: Date) => date.toISOString().slice(0, 10);

export const deliveredForm = z.object({
  deliveredOn: z
    .string({ error: 'Enter the date the packet was delivered.' })
    .trim()
    .min(1, 'Enter the date the packet was delivered.')
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter the date as YYYY-MM-DD, for example 2026-03-02.')
    .refine((value) => {
      const day = new Date(`${value}T12:00:00Z`);
      return (
        !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
        (!Number.isNaN(day.getTime()) && utcDay(day) === value)
      );
    }, 'That date does not exist.'),
  note: z
    .string({ error: 'The note must be text.' })
    .overwrite((value) => value.replace(/\r\n?/g, '\n'))
    .trim()
    .max(NOTE_MAX, `Shorten the note to ${NOTE_MAX} characters.`)
    .refine(
      (value) => !CONTROL_IN_TEXT.test(value),
      'Remove invisible control characters from the note.',
    )
    .optional()
    .transform((value) => value || null),
});

export type MarkDeliveredResult =
  | { outcome: 'delivered'; letters: number; packet: HandPacket }
  /** It had been marked delivered already: nothing moved this time. */
  | { outcome: 'already'; packet: HandPacket }
  | { outcome: 'invalid'; errors: FieldErrors }
  | { outcome: 'not-found' };

/**
 * Marks a packet delivered on the day staff give (not in the future, not before it was prepared)
 * with an optional note: in one statement, the packet is stamped (only if it was not already) and
 * its letters still waiting for hand delivery move to `delivered` by hand, their counts with them.
 * A letter of the packet that moved on meanwhile (its supporter sent it themselves) stays as it is.
 * The letters' delivery time is noon UTC of that day: the same calendar day wherever it is read.
 */
export async function markPacketDelivered(
  ctx: Pick<AppContext, 'db'>,
  campaignId: number,
  packetId: number,
  raw: unknown,
  staff: Actor,
  now = new Date(),
): Promise<MarkDeliveredResult> {
  const packet = await findPacket(ctx.db, campaignId, packetId);
  if (!packet) return { outcome: 'not-found' };
  if (packet.deliveredAt) return { outcome: 'already', packet };
  const parsed = deliveredForm.safeParse(raw);
  if (!parsed.success) return { outcome: 'invalid', errors: fieldErrors(parsed.error) };
  const { deliveredOn, note } = parsed.data;
  if (deliveredOn > latestDayNow(now))
    return {
      outcome: 'invalid',
      errors: {
        deliveredOn: 'The date is in the future: give the day the packet was handed over.',
      },
    };
  // Prepared late in the day somewhere west of UTC may be the next day in UTC: a day's leeway.
  const earliest = utcDay(new Date(packet.createdAt.getTime() - 14 * 3_600_000));
  if (deliveredOn < earliest)
    return {
      outcome: 'invalid',
      errors: {
        deliveredOn: `The packet was prepared on ${utcDay(packet.createdAt)}: give a day from then on.`,
      },
    };

  const moved = await ctx.db.transaction(async (tx) => {
    const [result] = await queryRows<{ packets: number; letters: number }>(
      tx,
      sql`WITH packet AS (
            UPDATE hand_packets SET delivered_on = ${deliveredOn}, delivered_at = now(), delivered_by = ${staff === 'command line' ? null : staff.id}::int, note = ${note}
            WHERE id = ${packetId}::bigint AND campaign_id = ${campaignId}::int AND delivered_at IS NULL
            RETURNING id
          ), moved AS (
            UPDATE letters l SET status = 'delivered', counted_status = 'delivered', delivered_as = 'hand',
                                 delivered_at = ${`${deliveredOn}T12:00:00Z`}::timestamptz, updated_at = now()
            FROM packet p, letters old
            WHERE l.packet_id = p.id AND l.status = 'hand-delivery' AND old.id = l.id
            RETURNING l.id, old.counted_status AS previous, l.counted_status AS next
          ), counted AS (${countMoves('moved')})
          SELECT (SELECT count(*) FROM packet)::int AS packets, (SELECT count(*) FROM moved)::int AS letters`,
    );
    if (!result || Number(result.packets) === 0) return null;
    await recordAudit(tx, staff, {
      action: 'packet.deliver',
      campaignId,
      // The note is staff's own words about the hand-over; the log says only that there is one.
      details: {
        packetId,
        target: packet.targetKey,
        deliveredOn,
        letters: Number(result.letters),
        note: note !== null,
      },
    });
    return Number(result.letters);
  });
  const current = (await findPacket(ctx.db, campaignId, packetId))!;
  return moved === null
    ? { outcome: 'already', packet: current }
    : { outcome: 'delivered', letters: moved, packet: current };
}

// ---------------------------------------------------------------------------------------------
// What a packet prints

/** A letter as printed: when it was written, its subject and text (which end with the writer's name). */
export interface PrintedLetter {
  id: number;
  writtenAt: Date;
  subject: string;
  body: string;
}

export interface AreaCount {
  label: string;
  letters: number;
}

/** The cover page: the office, where to take it, how many letters, and from which districts and ZIP areas (counts, no names). */
export interface PacketCover {
  packetId: number | null;
  campaignTitle: string;
  targetName: string;
  targetTitle: string;
  postalAddresses: Array<{ label: string | null; address: string }>;
  letters: number;
  firstWritten: Date | null;
  lastWritten: Date | null;
  preparedAt: Date;
  deliveredOn: string | null;
  /** Labelled by the district the office is elected from (congressional for statewide and custom offices). */
  districtHeading: string;
  byDistrict: AreaCount[];
  byZipArea: AreaCount[];
}

/** What the documents are made from: the cover, and the letters read a page at a time in id order. */
export interface PacketSource {
  cover: PacketCover;
  letters(afterId: number, limit: number): Promise<PrintedLetter[]>;
}

/** How many letters one query reads (and at most how many a document holds at a time). */
export const PACKET_PAGE_LETTERS = 100;
/** At most this many districts and ZIP areas on the cover; the rest are summed up. */
export const COVER_AREAS = 40;

/** Which letters a document holds: a packet's, or (for the command line) those of an office waiting in no packet. */
export type PacketSelection = { packet: HandPacket } | { campaignId: number; targetKey: string };

function selectionSql(selection: PacketSelection): SQL {
  if ('packet' in selection) {
    const { packet } = selection;
    // While it waits, through the staff index in id order; once delivered, by packet.
    return packet.deliveredAt === null
      ? sql`l.campaign_id = ${packet.campaignId}::int AND l.status = 'hand-delivery' AND l.target_key = ${packet.targetKey} AND l.packet_id = ${packet.id}::bigint`
      : sql`l.packet_id = ${packet.id}::bigint AND ${IN_PACKET}`;
  }
  return sql`l.campaign_id = ${selection.campaignId}::int AND l.status = 'hand-delivery' AND l.target_key = ${selection.targetKey} AND ${UNPACKED}`;
}

/** A congressional GEOID as people name it: "CO-1", "AK at-large", "DC (delegate seat)". */
function congressionalLabel(geoid: string): string {
  const state = uspsByFips.get(geoid.slice(0, 2));
  const code = geoid.slice(2);
  if (!state || !/^\d{2}$/.test(code)) return geoid;
  if (code === '98') return `${state} (delegate seat)`;
  if (code === '00') return `${state} at-large`;
  return `${state}-${Number(code)}`;
}

const LAYER_OF_OFFICE: Record<
  string,
  { column: string; layer: 'cd' | 'sldu' | 'sldl'; heading: string }
> = {
  'state-upper': {
    column: 'state_upper_district',
    layer: 'sldu',
    heading: 'By state senate district',
  },
  'state-lower': {
    column: 'state_lower_district',
    layer: 'sldl',
    heading: 'By state house district',
  },
};
const CONGRESSIONAL = {
  column: 'congressional_district',
  layer: 'cd' as const,
  heading: 'By congressional district',
};

/** Keeps the first COVER_AREAS and sums the rest up in one line. */
function capped(rows: AreaCount[], rest: (count: number) => string): AreaCount[] {
  if (rows.length <= COVER_AREAS) return rows;
  const kept = rows.slice(0, COVER_AREAS - 1);
  const others = rows.slice(COVER_AREAS - 1);
  return [
    ...kept,
    { label: rest(others.length), letters: others.reduce((sum, row) => sum + row.letters, 0) },
  ];
}

/**
 * The cover and the page reader of a packet (or of an office's unpacked letters). The cover's
 * counts are one grouped query over the packet's letters; the letters are read PACKET_PAGE_LETTERS
 * at a time by the documents as they write, and opened then.
 */
export async function packetSource(
  ctx: HandDeliveryContext,
  selection: PacketSelection,
): Promise<PacketSource> {
  const where = selectionSql(selection);
  const targetKey = 'packet' in selection ? selection.packet.targetKey : selection.targetKey;
  const campaignId = 'packet' in selection ? selection.packet.campaignId : selection.campaignId;
  const office = targetKey.split(':')[0]!;
  const layer = LAYER_OF_OFFICE[office] ?? CONGRESSIONAL;

  const campaign = await campaignById(ctx.db, campaignId);
  const [summary] = await queryRows<{
    n: number;
    first: Date | string | null;
    last: Date | string | null;
    target_name: string | null;
    target_title: string | null;
  }>(
    ctx.db,
    sql`SELECT count(*)::int AS n, min(l.created_at) AS first, max(l.created_at) AS last,
               (array_agg(l.target_name ORDER BY l.id DESC))[1] AS target_name, (array_agg(l.target_title ORDER BY l.id DESC))[1] AS target_title
        FROM letters l WHERE ${where}`,
  );
  const districts = await queryRows<{ geoid: string | null; name: string | null; n: number }>(
    ctx.db,
    sql`SELECT g.geoid, d.name, g.n FROM (
          SELECT a.${sql.raw(layer.column)} AS geoid, count(*)::int AS n
          FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE ${where} GROUP BY 1
        ) g
        LEFT JOIN ${activeDistrictJoin(layer.layer, sql.raw('g.geoid'))}
        ORDER BY g.n DESC, g.geoid`,
  );
  const zips = await queryRows<{ area: string | null; n: number }>(
    ctx.db,
    sql`SELECT left(a.zip, 3) AS area, count(*)::int AS n
        FROM letters l JOIN letter_actions a ON a.id = l.action_id WHERE ${where}
        GROUP BY 1 ORDER BY 2 DESC, 1`,
  );

  const packet = 'packet' in selection ? selection.packet : null;
  const cover: PacketCover = {
    packetId: packet?.id ?? null,
    campaignTitle: campaign?.title ?? '',
    targetName: packet?.targetName ?? summary?.target_name ?? targetKey,
    targetTitle: packet?.targetTitle ?? summary?.target_title ?? '',
    postalAddresses: await postalAddresses(ctx.db, campaignId, targetKey),
    letters: Number(summary?.n ?? 0),
    firstWritten: summary?.first ? new Date(summary.first) : null,
    lastWritten: summary?.last ? new Date(summary.last) : null,
    preparedAt: packet?.createdAt ?? new Date(),
    deliveredOn: packet?.deliveredOn ?? null,
    districtHeading: layer.heading,
    byDistrict: capped(
      districts.map((row) => ({
        label:
          row.geoid === null
            ? 'District not known'
            : layer.layer === 'cd'
              ? congressionalLabel(row.geoid)
              : (row.name ?? row.geoid),
        letters: Number(row.n),
      })),
      (count) => `${count} other districts`,
    ),
    byZipArea: capped(
      zips.map((row) => ({
        label:
          row.area && /^\d{3}$/.test(row.area) ? `ZIP codes ${row.area}xx` : 'ZIP code not known',
        letters: Number(row.n),
      })),
      (count) => `${count} other ZIP areas`,
    ),
  };

  return {
    cover,
    async letters(afterId, limit) {
      const rows = await queryRows<{
        id: string | number;
        created_at: Date | string;
        subject: Uint8Array;
        body: Uint8Array;
      }>(
        ctx.db,
        sql`SELECT l.id, l.created_at, l.subject, l.body FROM letters l
            WHERE ${where} AND l.id > ${afterId}::bigint ORDER BY l.id LIMIT ${limit}::int`,
      );
      return rows.map((row) => {
        const opened = openedLetter(ctx.encryption, row);
        return {
          id: Number(row.id),
          writtenAt: new Date(row.created_at),
          subject: opened.subject,
          body: opened.body,
        };
      });
    },
  };
}

/**
 * The office's postal addresses: from the active representative data (the publishers' `postal`
 * channels), or a custom target's own. None when the office is no longer in the data.
 */
async function postalAddresses(
  db: Database,
  campaignId: number,
  targetKey: string,
): Promise<Array<{ label: string | null; address: string }>> {
  const colon = targetKey.indexOf(':');
  const office = targetKey.slice(0, colon);
  const id = targetKey.slice(colon + 1);
  if (office === 'custom') {
    if (!/^\d{1,9}$/.test(id)) return [];
    const address = await customTargetPostalAddress(db, campaignId, Number(id));
    return address ? [{ label: null, address }] : [];
  }
  const channels = await activeOfficialChannels(db, office, id);
  return (channels ?? []).flatMap((channel) =>
    channel.type === 'postal' ? [{ label: channel.label ?? null, address: channel.address }] : [],
  );
}
