import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import {
  attentionLetters,
  attentionOffices,
  formatCursor,
  HELD_BATCH,
  moveHeldLetters,
  parseCursor,
  type AttentionLetter,
  type HeldAction,
  type HeldSelection,
} from '../letters/held-and-failed';
import {
  findPacket,
  latestDayNow,
  listPackets,
  markPacketDelivered,
  NOTE_MAX,
  officesWaiting,
  packetSource,
  preparePacket,
  utcDay,
  type HandPacket,
} from '../letters/hand-packets';
import { longDate, writePacketPdf, writePacketText } from '../letters/packet-documents';
import type { FieldErrors } from '../kernel/field-errors';
import { recordAudit } from './audit';
import { campaignOf, loadStaffCampaign } from './campaign-param';
import { formErrors } from './forms';
import { currentStaff, flash, requirePermission, type StaffUser } from './session';

/**
 * The campaign's delivery page (`/staff/campaigns/:slug/delivery`), for organizers and admins:
 * offices with letters waiting for hand delivery and their packets (prepare, print as PDF or
 * text, mark delivered), held letters (release or cancel) and failed ones with their reason.
 * Viewers do not see it: its packets and lists lead to letters, which name their writers; the
 * dashboard gives them the counts.
 */

const utc = (date: Date | null) =>
  date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
const plural = (count: number, one: string, many: string) =>
  `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
/** A file name part from an office's name: letters, digits and dashes. */
const fileSlug = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/[\s_]+/g, '-')
    .toLowerCase()
    .slice(0, 40) || 'office';

export function deliveryRoutes(ctx: AppContext): Router {
  const router = Router();
  const allowed = requirePermission('letters.deliver');
  const loadCampaign = loadStaffCampaign(ctx);
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;
  const base = '/staff/campaigns/:slug/delivery';
  const pageUrl = (campaign: Campaign) =>
    `/staff/campaigns/${encodeURIComponent(campaign.slug)}/delivery`;
  const packetUrl = (campaign: Campaign, packet: Pick<HandPacket, 'id'>) =>
    `${pageUrl(campaign)}/packets/${packet.id}`;

  const packetView = (campaign: Campaign, packet: HandPacket) => ({
    ...packet,
    url: packetUrl(campaign, packet),
    pdfUrl: `${packetUrl(campaign, packet)}/letters.pdf`,
    textUrl: `${packetUrl(campaign, packet)}/letters.txt`,
    created: utc(packet.createdAt),
    delivered: packet.deliveredOn ? longDate(new Date(`${packet.deliveredOn}T12:00:00Z`)) : null,
  });

  const letterView = (letter: AttentionLetter) => ({
    ...letter,
    written: utc(letter.writtenAt),
    changed: utc(letter.updatedAt),
  });

  router.get(base, allowed, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const officePage = Math.min(
      Math.max(
        Number.parseInt(typeof req.query.offices === 'string' ? req.query.offices : '0', 10) || 0,
        0,
      ),
      10_000,
    );
    const heldAfter = parseCursor(req.query.held);
    const failedAfter = parseCursor(req.query.failed);
    const [waiting, packets, heldOffices, held, failed] = await Promise.all([
      officesWaiting(ctx.db, campaign.id, officePage),
      listPackets(ctx.db, campaign.id),
      attentionOffices(ctx.db, campaign.id, 'held'),
      attentionLetters(ctx.db, campaign.id, 'held', heldAfter),
      attentionLetters(ctx.db, campaign.id, 'failed', failedAfter),
    ]);
    const link = (query: Record<string, string | undefined>) => {
      const params = new URLSearchParams(
        Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      const text = params.toString();
      return `${pageUrl(campaign)}${text ? `?${text}` : ''}`;
    };
    res.render('staff/delivery', {
      layout: 'staff',
      title: `Delivery · ${campaign.title}`,
      campaign,
      offices: waiting.offices.map((office) => ({ ...office, oldestText: utc(office.oldest) })),
      officesPage: officePage,
      moreOffices: waiting.more ? link({ offices: String(officePage + 1) }) : null,
      earlierOffices:
        officePage > 0
          ? link({ offices: officePage > 1 ? String(officePage - 1) : undefined })
          : null,
      openPackets: packets.open.map((packet) => packetView(campaign, packet)),
      deliveredPackets: packets.delivered.map((packet) => packetView(campaign, packet)),
      heldOffices,
      heldBatch: HELD_BATCH,
      held: held.letters.map(letterView),
      moreHeld: held.next ? `${link({ held: formatCursor(held.next) })}#held` : null,
      heldFromStart: heldAfter ? `${link({})}#held` : null,
      failed: failed.letters.map(letterView),
      moreFailed: failed.next ? `${link({ failed: formatCursor(failed.next) })}#failed` : null,
      failedFromStart: failedAfter ? `${link({})}#failed` : null,
    });
  });

  router.post(`${base}/packets`, allowed, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const target = (req.body as Record<string, unknown> | undefined)?.target;
    if (typeof target !== 'string' || target.length === 0 || target.length > 200) {
      flash(req, 'Choose an office to prepare a packet for.');
      return res.redirect(303, pageUrl(campaign));
    }
    const result = await preparePacket(ctx, campaign.id, target, staffOf(res));
    if (result.outcome === 'empty') {
      flash(req, 'No letters are waiting for that office outside a packet: nothing was prepared.');
      return res.redirect(303, pageUrl(campaign));
    }
    flash(
      req,
      `Packet ${result.packet.id} prepared for ${result.packet.targetName}: ${plural(result.packet.letters, 'letter', 'letters')}. Print it, deliver it, then mark it delivered here.`,
    );
    res.redirect(303, packetUrl(campaign, result.packet));
  });

  const loadPacket = async (req: Request, res: Response) => {
    const packet = await findPacket(ctx.db, campaignOf(res).id, Number(req.params.id));
    if (!packet)
      res.status(404).render('error', {
        layout: 'staff',
        title: 'No such packet',
        message: 'This campaign has no packet at this address.',
      });
    return packet;
  };

  const renderPacket = (
    res: Response,
    packet: HandPacket,
    values: Record<string, unknown> = {},
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const now = new Date();
    res.status(status).render('staff/packet', {
      layout: 'staff',
      title: `Packet ${packet.id} · ${campaign.title}`,
      campaign,
      packet: packetView(campaign, packet),
      values: { deliveredOn: utcDay(now), ...values },
      latestDay: latestDayNow(now),
      noteMax: NOTE_MAX,
      deliveryUrl: pageUrl(campaign),
      ...formErrors(errors),
    });
  };

  router.get(`${base}/packets/:id`, allowed, loadCampaign, async (req, res) => {
    const packet = await loadPacket(req, res);
    if (packet) renderPacket(res, packet);
  });

  router.post(`${base}/packets/:id/delivered`, allowed, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const packet = await loadPacket(req, res);
    if (!packet) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const result = await markPacketDelivered(ctx, campaign.id, packet.id, body, staffOf(res));
    if (result.outcome === 'not-found')
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No such packet',
        message: 'This campaign has no packet at this address.',
      });
    if (result.outcome === 'invalid') return renderPacket(res, packet, body, result.errors, 400);
    if (result.outcome === 'already') {
      flash(
        req,
        `Packet ${packet.id} was already marked delivered${result.packet.deliveredOn ? ` (${result.packet.deliveredOn})` : ''}: nothing changed.`,
      );
    } else {
      flash(
        req,
        `Packet ${packet.id} marked delivered on ${result.packet.deliveredOn}: ${plural(result.letters, 'letter', 'letters')} delivered by hand.`,
      );
    }
    res.redirect(303, packetUrl(campaign, packet));
  });

  for (const format of ['pdf', 'txt'] as const) {
    router.get(`${base}/packets/:id/letters.${format}`, allowed, loadCampaign, async (req, res) => {
      const campaign = campaignOf(res);
      const packet = await loadPacket(req, res);
      if (!packet) return;
      const source = await packetSource(ctx, { packet });
      // The documents hold letters with their writers' names: who took them is recorded, as for exports.
      await recordAudit(ctx.db, staffOf(res), {
        action: 'packet.download',
        campaignId: campaign.id,
        details: { packetId: packet.id, format, letters: source.cover.letters },
      });
      res.status(200);
      res.type(format === 'pdf' ? 'application/pdf' : 'text/plain; charset=utf-8');
      res.attachment(
        `${campaign.slug}-packet-${packet.id}-${fileSlug(packet.targetName)}.${format}`,
      );
      res.setHeader('Cache-Control', 'no-store');
      try {
        const written =
          format === 'pdf' ? await writePacketPdf(source, res) : await writePacketText(source, res);
        ctx.logger.info({ packetId: packet.id, format, letters: written.letters }, 'packet sent');
      } catch (error) {
        // The response is under way (and now cut off): nothing else can be sent.
        ctx.logger.warn(
          { err: error, packetId: packet.id, format },
          'packet download did not complete',
        );
        res.destroy();
      }
    });
  }

  router.post(`${base}/held`, allowed, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const action: HeldAction | undefined =
      body.action === 'release' || body.action === 'cancel' ? body.action : undefined;
    const letterId =
      typeof body.letter === 'string' && /^\d{1,18}$/.test(body.letter)
        ? Number(body.letter)
        : undefined;
    const targetKey =
      typeof body.target === 'string' && body.target.length > 0 && body.target.length <= 200
        ? body.target
        : undefined;
    const selection: HeldSelection | undefined =
      letterId !== undefined ? { letterId } : targetKey !== undefined ? { targetKey } : undefined;
    if (!action || !selection) {
      flash(req, 'Choose a held letter (or an office) and what to do with it.');
      return res.redirect(303, `${pageUrl(campaign)}#held`);
    }
    const result = await moveHeldLetters(ctx, campaign.id, selection, action, staffOf(res));
    if (result.outcome === 'none') {
      flash(req, 'Nothing changed: no such letter is held any more.');
    } else {
      const done = action === 'release' ? 'released' : 'cancelled';
      const remaining =
        result.remaining > 0
          ? ` ${plural(result.remaining, 'letter is', 'letters are')} still held for that office: do it again for the next ${HELD_BATCH.toLocaleString('en-US')}.`
          : '';
      flash(req, `${plural(result.letters, 'held letter', 'held letters')} ${done}.${remaining}`);
    }
    res.redirect(303, `${pageUrl(campaign)}#held`);
  });

  return router;
}
