import { Router } from 'express';
import type { AppContext } from '../context';
import type { OfficeKind, RepChangeKind } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { heldLetterCounts } from '../letters/held-letters';
import {
  dataFreshness,
  endedTerms,
  seatTitle,
  STALE_AFTER_DAYS,
} from '../representatives/data-status';
import { redactUrl } from '../representatives/download';
import { DATA_REFRESH_SCHEDULE, requestDataRefresh } from '../representatives/jobs/refresh-data';
import {
  recentChanges,
  recentRefreshes,
  type ChangeRecord,
  type RefreshRecord,
} from '../representatives/history';
import { withTimeout } from '../time-limit';
import { recordAudit } from './audit';
import { can } from './roles';
import { currentStaff, flash, requirePermission } from './session';

/** How many refreshes and changes the page lists. */
const REFRESHES_SHOWN = 10;
const CHANGES_SHOWN = 50;
/** How long the page waits for the queue to say when the next refresh is due. */
const QUEUE_TIMEOUT_MS = 1500;

const utc = (date: Date | null) =>
  date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : null;

const KIND_LABEL: Record<RepChangeKind, string> = {
  vacant: 'Seat vacant',
  gone: 'Gone',
  added: 'Added',
  filled: 'Seat filled',
  contact: 'Contact changed',
};

const CHANNEL_LABEL: Record<string, string> = {
  email: 'email',
  phone: 'phone',
  'contact-form': 'contact form',
  cwc: 'CWC office',
};

/** What changed, in a few words. */
function changeSummary(change: ChangeRecord): string {
  const details = change.details;
  const nameOf = (value: unknown) =>
    value && typeof value === 'object' && 'name' in value ? String(value.name) : '';
  if (change.kind === 'gone') return `Replaced by ${nameOf(details.replacedBy)}`;
  if (change.kind === 'added') return `Replaces ${nameOf(details.replaces)}`;
  if (change.kind === 'vacant') return 'Left the office; nobody holds the seat in the data';
  if (change.kind === 'filled') return 'Took a seat that was vacant';
  return Object.entries(details)
    .map(([type, value]) => {
      const { before = [], after = [] } = value as { before?: string[]; after?: string[] };
      const list = (values: string[]) => (values.length > 0 ? values.join(', ') : 'none');
      return `${CHANNEL_LABEL[type] ?? type}: ${list(before)} → ${list(after)}`;
    })
    .join('; ');
}

function refreshRow(refresh: RefreshRecord) {
  const outcome = refresh.outcome ?? 'running';
  return {
    startedAt: utc(refresh.startedAt),
    finishedAt: utc(refresh.finishedAt),
    outcome,
    label: { imported: 'Imported', unchanged: 'Unchanged', failed: 'Failed', running: 'Running' }[
      outcome
    ],
    source: refresh.source,
    snapshotId: refresh.snapshotId,
    error: refresh.error,
  };
}

/**
 * The representative data page (`/staff/data`), for all staff: how current the data is (each
 * source's date, when it was imported and last checked), the last refreshes and changes, and what
 * needs attention: data not checked for over 30 days, targets whose recorded term has ended, and
 * letters held because their office changed hands. Admins can start a refresh now.
 */
export function dataRoutes(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  router.get('/staff/data', requirePermission('data.view'), async (req, res) => {
    const now = new Date();
    const campaigns = (await ctx.campaigns.list()).filter((campaign) => campaign.status === 'open');
    const offices = [...new Set(campaigns.flatMap((campaign) => campaign.targetOffices))].filter(
      (office): office is OfficeKind => office !== 'custom',
    );
    const [freshness, refreshes, changes, ended, held, nextRefresh] = await Promise.all([
      dataFreshness(ctx.db, now),
      recentRefreshes(ctx.db, REFRESHES_SHOWN),
      recentChanges(ctx.db, CHANGES_SHOWN),
      endedTerms(ctx.db, offices, now.toISOString().slice(0, 10)),
      heldLetterCounts(ctx.db),
      nextScheduledRefresh(ctx),
    ]);
    const writtenBy = (office: OfficeKind) =>
      campaigns
        .filter((campaign) => campaign.targetOffices.includes(office))
        .map((campaign) => campaign.title)
        .join(', ');
    const staff = currentStaff(res)!;
    res.render('staff/data', {
      layout: 'staff',
      title: 'Representative data',
      styles: ['/static/css/staff-dashboard.css'],
      csrfToken: csrf.token(req, res),
      loaded: freshness.snapshotId !== null,
      freshness: {
        ...freshness,
        importedAt: utc(freshness.importedAt),
        checkedAt: utc(freshness.checkedAt),
      },
      staleAfterDays: STALE_AFTER_DAYS,
      sources: freshness.sources,
      schedule: ctx.config.repDataRefresh,
      source: ctx.config.repDataMirror ? redactUrl(ctx.config.repDataMirror) : null,
      nextRefresh: utc(nextRefresh),
      refreshes: refreshes.map(refreshRow),
      changes: changes.map((change) => ({
        at: utc(change.at),
        kind: change.kind,
        label: KIND_LABEL[change.kind],
        office: seatTitle(change.office, change.state, change.district),
        name: change.name,
        summary: changeSummary(change),
      })),
      ended: ended.map((term) => ({ ...term, writtenBy: writtenBy(term.office) })),
      held,
      heldTotal: held.reduce((sum, campaign) => sum + campaign.held, 0),
      canRefresh: can(staff.role, 'data.refresh'),
    });
  });

  router.post('/staff/data/refresh', requirePermission('data.refresh'), async (req, res) => {
    const staff = currentStaff(res)!;
    try {
      await withTimeout(requestDataRefresh(ctx.queues), QUEUE_TIMEOUT_MS * 2);
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not queue a representative data refresh');
      flash(
        req,
        'The refresh could not be queued: the job queue did not answer. Try again in a moment.',
      );
      return res.redirect(303, '/staff/data');
    }
    await recordAudit(ctx.db, staff, { action: 'data.refresh' });
    flash(
      req,
      'A refresh has been queued. This page shows its outcome once it is done (a minute or two).',
    );
    res.redirect(303, '/staff/data');
  });

  return router;
}

/** When the scheduled refresh runs next, if it is on and the queue answers. */
async function nextScheduledRefresh(
  ctx: Pick<AppContext, 'config' | 'queues'>,
): Promise<Date | null> {
  if (ctx.config.repDataRefresh === 'off') return null;
  try {
    const scheduler = await withTimeout(
      ctx.queues.get('representatives').getJobScheduler(DATA_REFRESH_SCHEDULE),
      QUEUE_TIMEOUT_MS,
    );
    return scheduler?.next ? new Date(scheduler.next) : null;
  } catch {
    return null;
  }
}
