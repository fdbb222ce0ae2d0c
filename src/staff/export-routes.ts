import { stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { campaignById } from '../campaigns/directory';
import type { AppContext } from '../context';
import type { Campaign, ExportKind, StaffExport } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { recordAudit } from './audit';
import { campaignOf, loadStaffCampaign } from './campaign-param';
import {
  DIRECT_EXPORT_MAX_ROWS,
  downloadState,
  EXPORT_FILE_HOURS,
  exportFileName,
  exportFilePath,
  exportKindInfo,
  exportKinds,
  exportPermission,
  ExportQueueUnavailableError,
  findExport,
  listExports,
  sendExport,
  startExport,
  type ExportListing,
} from './exports';
import { formErrors } from './forms';
import { requestExportFile } from './jobs/write-export';
import { can } from './roles';
import { currentStaff, flash, requirePermission, type StaffUser } from './session';

const kindField = z.enum(exportKinds, { error: 'Choose what to export.' });

const STATUS_LABEL: Record<StaffExport['status'], string> = {
  queued: 'Waiting to start',
  running: 'Being written',
  ready: 'Ready',
  failed: 'Failed',
  expired: 'Expired',
};

const utc = (date: Date | null) =>
  date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
const pending = (record: StaffExport) => record.status === 'queued' || record.status === 'running';

/**
 * Exports, under /staff: a campaign's export page (start one; see each one's progress, download
 * link and expiry), its progress as JSON for the page's script, and the download of a finished
 * file. Viewers may export counts; only organizers and admins signatures, which name people.
 */
export function exportRoutes(ctx: AppContext, _csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const page = '/staff/campaigns/:slug/exports';
  const anyExport = requirePermission('exports.counts');
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;

  const loadCampaign = loadStaffCampaign(ctx);
  const pageUrl = (campaign: Campaign) =>
    `/staff/campaigns/${encodeURIComponent(campaign.slug)}/exports`;

  const exportView = (record: ExportListing, staff: StaffUser) => {
    const state = downloadState(record);
    const total = record.rowsTotal ?? 0;
    return {
      id: record.id,
      title: exportKindInfo[record.kind]?.title ?? record.kind,
      startedBy: record.staffEmail ?? 'a removed account',
      createdAt: utc(record.createdAt),
      status: record.status,
      statusLabel: state === 'direct' ? 'Downloaded' : STATUS_LABEL[record.status],
      pending: pending(record),
      rowsWritten: record.rowsWritten,
      rowsTotal: total,
      // Rows are counted as the job starts; a few signed meanwhile may take it past 100 %.
      percent: total > 0 ? Math.min(100, Math.floor((100 * record.rowsWritten) / total)) : 0,
      rows: record.status === 'ready' ? record.rowsWritten : null,
      downloadUrl:
        state === 'ready' && can(staff.role, exportPermission(record.kind))
          ? `/staff/exports/${record.id}/download`
          : null,
      expiresAt: state === 'ready' ? utc(record.expiresAt) : null,
      direct: state === 'direct',
      error: record.status === 'failed' ? record.error : null,
    };
  };

  const renderPage = async (
    res: Response,
    campaign: Campaign,
    errors: Record<string, string> = {},
    status = 200,
  ) => {
    const staff = staffOf(res);
    const listing = await listExports(ctx.db, campaign.id);
    res.status(status).render('staff/exports', {
      layout: 'staff',
      title: `Exports · ${campaign.title}`,
      campaign,
      scripts: ['/static/js/export-progress.js'],
      // "Constituents of each office" is what most lobby visits need, and every role may export it.
      kinds: exportKinds.map((kind) => ({
        kind,
        ...exportKindInfo[kind],
        allowed: can(staff.role, exportPermission(kind)),
        preselected: kind === 'congressional',
      })),
      mayExportSignatures: can(staff.role, 'exports.signatures'),
      exports: listing.map((record) => exportView(record, staff)),
      anyPending: listing.some(pending),
      progressUrl: `${pageUrl(campaign)}/progress`,
      directMaxRows: DIRECT_EXPORT_MAX_ROWS,
      fileHours: EXPORT_FILE_HOURS,
      ...formErrors(errors),
    });
  };

  router.get(page, anyExport, loadCampaign, async (_req, res) => {
    await renderPage(res, campaignOf(res));
  });

  router.get(`${page}/progress`, anyExport, loadCampaign, async (_req, res) => {
    const listing = await listExports(ctx.db, campaignOf(res).id);
    res.json({
      exports: listing.map((record) => ({
        id: record.id,
        status: record.status,
        rowsWritten: record.rowsWritten,
        rowsTotal: record.rowsTotal,
      })),
    });
  });

  router.post(page, anyExport, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const staff = staffOf(res);
    const parsed = kindField.safeParse((req.body as Record<string, unknown> | undefined)?.kind);
    if (!parsed.success)
      return renderPage(
        res,
        campaign,
        { kind: parsed.error.issues[0]?.message ?? 'Choose what to export.' },
        400,
      );
    const kind: ExportKind = parsed.data;
    if (!can(staff.role, exportPermission(kind))) {
      return res.status(403).render('error', {
        layout: 'staff',
        title: 'Not allowed',
        message:
          'Your role may export counts only: signatures name people. An admin can change your role.',
      });
    }

    let started: Awaited<ReturnType<typeof startExport>>;
    try {
      started = await startExport(
        { ...ctx, queueExportFile: (exportId) => requestExportFile(ctx.queues, exportId) },
        { campaignId: campaign.id, kind, staff },
      );
    } catch (error) {
      if (!(error instanceof ExportQueueUnavailableError)) throw error;
      ctx.logger.error({ err: error.cause }, 'could not queue an export');
      return renderPage(
        res,
        campaign,
        { form: 'The export could not be started just now. Please try again in a moment.' },
        503,
      );
    }
    if (started.mode === 'in-progress') {
      flash(
        req,
        `This ${exportKindInfo[kind].title.toLowerCase()} export is already being written; it is listed below.`,
      );
      return res.redirect(303, `${pageUrl(campaign)}#export-${started.record.id}`);
    }
    if (started.mode === 'job') {
      flash(
        req,
        `The export is being written (${(started.record.rowsTotal ?? 0).toLocaleString('en-US')} rows). Its download link appears below when it is ready.`,
      );
      return res.redirect(303, `${pageUrl(campaign)}#export-${started.record.id}`);
    }

    res.status(200);
    res.attachment(exportFileName(campaign.slug, started.record));
    res.type('text/csv; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    try {
      const sent = await sendExport(ctx, started.record, res);
      ctx.logger.info(
        { exportId: started.record.id, kind, rows: sent.rows, bytes: sent.bytes },
        'export sent',
      );
    } catch (error) {
      // The response is already under way (and now cut off): nothing else can be sent.
      ctx.logger.warn(
        { err: error, exportId: started.record.id, kind },
        'export download did not complete',
      );
    }
  });

  router.get('/staff/exports/:id/download', anyExport, async (req, res) => {
    const staff = staffOf(res);
    const gone = (status: number, message: string) =>
      res
        .status(status)
        .render('error', { layout: 'staff', title: 'Export not available', message });
    const record = await findExport(ctx.db, String(req.params.id));
    if (!record) return gone(404, 'There is no export at this address.');
    if (!can(staff.role, exportPermission(record.kind))) {
      return res.status(403).render('error', {
        layout: 'staff',
        title: 'Not allowed',
        message: 'Your role may download count exports only.',
      });
    }
    const state = downloadState(record);
    if (state === 'pending')
      return gone(409, 'This export is still being written. Its page shows its progress.');
    if (state === 'failed')
      return gone(410, "This export failed. Start it again from the campaign's export page.");
    if (state === 'direct')
      return gone(
        410,
        'This export was downloaded as it was made; no copy is kept. Start it again to download it.',
      );
    if (state === 'expired')
      return gone(
        410,
        `Export files are removed ${EXPORT_FILE_HOURS} hours after they are made. Start it again to download it.`,
      );
    const file = exportFilePath(ctx.config.dataDir, record.id);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      ctx.logger.error(
        { exportId: record.id },
        'an export marked ready has no file (is DATA_DIR shared between web and worker processes?)',
      );
      return gone(410, 'The file of this export is missing. Start it again.');
    }
    const campaign = await campaignById(ctx.db, record.campaignId);
    await recordAudit(ctx.db, staff, {
      action: 'export.download',
      campaignId: record.campaignId,
      details: { exportId: record.id, kind: record.kind, rows: record.rowsWritten },
    });
    res.setHeader('Cache-Control', 'no-store');
    await new Promise<void>((resolve) => {
      res.download(
        file,
        exportFileName(campaign?.slug ?? 'campaign', record),
        { cacheControl: false, headers: { 'Content-Type': 'text/csv; charset=utf-8' } },
        (error) => {
          if (error && !res.headersSent) {
            ctx.logger.error({ err: error, exportId: record.id }, 'export download failed');
            gone(410, 'The file of this export could not be read. Start it again.');
          }
          resolve();
        },
      );
    });
  });

  return router;
}
