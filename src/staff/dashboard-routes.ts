import { Router, type Response } from 'express';
import type { AppContext } from '../context';
import { barChart, bucketLabel, formatNumber, safeId, timeSeriesChart } from '../graphics/charts';
import { campaignDashboard, type Dashboard } from './dashboard';
import { districtLabel, houseMember } from '../representatives/labels';
import { renderDistrictMap, type MapOutline } from '../graphics/district-map';
import { can } from './roles';
import { currentStaff, requirePermission, type StaffUser } from './session';

/**
 * The campaign dashboard (`/staff/campaigns/:slug`) and its JSON twin
 * (`/staff/campaigns/:slug/dashboard.json`), for anyone who may view dashboards.
 */
export function dashboardRoutes(ctx: AppContext): Router {
  const router = Router();
  const allowed = requirePermission('dashboard.view');

  router.get('/staff/campaigns/:slug', allowed, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return notFound(res);
    const [dashboard, outline] = await Promise.all([
      campaignDashboard(ctx, campaign),
      // The page is still worth having without its map.
      ctx.districtMaps.outline().catch((error: unknown) => {
        ctx.logger.warn({ err: error }, 'district map could not be built');
        return null;
      }),
    ]);
    const memberOf = (geoid: string) => houseMember(ctx.representatives.current, geoid).member;
    res.render('staff/dashboard', {
      layout: 'staff',
      title: `Dashboard · ${campaign.title}`,
      styles: ['/static/css/staff-dashboard.css'],
      mayDeliver: can((currentStaff(res) as StaffUser).role, 'letters.deliver'),
      ...dashboardView(dashboard, outline, memberOf),
    });
  });

  router.get('/staff/campaigns/:slug/dashboard.json', allowed, async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign)
      return res
        .status(404)
        .json({ error: 'not_found', message: 'There is no campaign at this address.' });
    res.json(await campaignDashboard(ctx, campaign));
  });

  return router;
}

function notFound(res: Response) {
  res.status(404).render('error', {
    layout: 'staff',
    title: 'Campaign not found',
    message: 'There is no campaign at this address.',
  });
}

/** The dashboard's line about the representative data, when it needs attention (details on /staff/data). */
function dataWarning(data: Dashboard['representativeData']): string | null {
  const parts = [
    data.stale ? `The representative data was last checked ${data.ageDays} days ago.` : '',
    data.endedTerms > 0
      ? `${data.endedTerms} of this campaign's targets ${data.endedTerms === 1 ? 'has' : 'have'} a recorded term that has ended.`
      : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : null;
}

/** The Per office table's rows on the page: a campaign in every state targets thousands of offices. */
export const OFFICE_ROWS_SHOWN = 500;

const timestamp = (iso: string | null) =>
  iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : null;

/** What the page shows: the dashboard's numbers, its charts and map as SVG, and the rows of its tables. */
export function dashboardView(
  dashboard: Dashboard,
  outline: MapOutline | null,
  memberOf: (geoid: string) => string | null = () => null,
) {
  const { signatures, series, letters } = dashboard;
  const districtAnchor = (geoid: string) => `cd-${safeId(geoid)}`;
  const districtNames = new Map(
    dashboard.byDistrict.map((row) => [
      row.geoid,
      row.member ? `${row.label} · ${row.member}` : row.label,
    ]),
  );
  const sourceLabel = (row: Dashboard['bySource'][number]) =>
    row.partner ? `${row.partner} (${row.code})` : row.code;

  return {
    campaign: dashboard.campaign,
    generatedAt: timestamp(dashboard.generatedAt),
    updatedAt: timestamp(signatures.updatedAt),
    signatures,
    letterTotals: letters.totals,
    // Drawn twice: wide for laptops, narrow (fewer labels, larger text for its size) for phones; CSS shows one.
    timeChart: timeSeriesChart(series, {
      id: 'chart-signatures',
      title: `Signatures over time: ${dashboard.campaign.title}`,
      width: 960,
      height: 320,
    }),
    timeChartNarrow: timeSeriesChart(series, {
      id: 'chart-signatures-narrow',
      title: `Signatures over time: ${dashboard.campaign.title}`,
      width: 360,
      height: 260,
    }),
    bucket: series.bucket,
    seriesRows: [...series.points].reverse().map((point) => ({
      label: bucketLabel(point, series.bucket),
      count: point.count,
      cumulative: point.cumulative,
    })),
    districtMap: outline
      ? renderDistrictMap(outline, {
          id: 'map-districts',
          title: `Signatures by congressional district: ${dashboard.campaign.title}`,
          counts: Object.fromEntries(
            dashboard.byDistrict.map((row) => [row.geoid, row.signatures]),
          ),
          describe: (geoid) => ({
            label:
              districtNames.get(geoid) ??
              [districtLabel(geoid), memberOf(geoid)].filter(Boolean).join(' · '),
          }),
        })
      : null,
    districtChart: barChart(
      dashboard.byDistrict.map((row) => ({
        label: districtNames.get(row.geoid)!,
        value: row.signatures,
      })),
      { id: 'chart-districts', title: 'Congressional districts with the most signatures' },
    ),
    districtRows: dashboard.byDistrict.map((row) => ({
      ...row,
      anchor: districtAnchor(row.geoid),
    })),
    stateChart: barChart(
      dashboard.byState.map((row) => ({ label: row.name, value: row.signatures })),
      { id: 'chart-states', title: 'States with the most signatures' },
    ),
    stateRows: dashboard.byState.map((row) => ({ ...row, anchor: `state-${safeId(row.code)}` })),
    sourceChart: barChart(
      dashboard.bySource.map((row) => ({ label: sourceLabel(row), value: row.signatures })),
      { id: 'chart-sources', title: 'Sources and partners that brought the most signatures' },
    ),
    sourceRows: dashboard.bySource.map((row) => ({ ...row, anchor: `source-${safeId(row.code)}` })),
    sourcesTotal: dashboard.bySource.reduce((sum, row) => sum + row.signatures, 0),
    targetRows: letters.byTarget,
    // All of them are in the JSON and the CSV; the page shows the first ones (most signatures first).
    offices: dashboard.offices.slice(0, OFFICE_ROWS_SHOWN),
    officesTotal: dashboard.offices.length,
    officesCut: dashboard.offices.length > OFFICE_ROWS_SHOWN,
    queues: dashboard.queues,
    representativeData: dashboard.representativeData,
    dataWarning: dataWarning(dashboard.representativeData),
    headline: [
      {
        label: 'Signatures',
        value: formatNumber(signatures.total),
        note: `${formatNumber(signatures.verified)} verified${signatures.verificationRequired ? ' (the public count)' : ''} · ${signatures.percent}% of the ${formatNumber(signatures.goal)} goal`,
      },
      {
        label: 'Last 7 days',
        value: formatNumber(signatures.lastSevenDays),
        note: `${formatNumber(signatures.today)} today (UTC)`,
      },
      {
        label: 'Letters delivered',
        value: formatNumber(letters.totals.delivered),
        note: `of ${formatNumber(letters.totals.total)} written${letters.totals.selfSent > 0 ? `; ${formatNumber(letters.totals.selfSent)} more sent by supporters themselves` : ''}`,
      },
      {
        label: 'Letters failed',
        value: formatNumber(letters.totals.failed),
        note: `${formatNumber(letters.totals.retrying)} retrying, ${formatNumber(letters.totals.queued)} queued`,
        alert: letters.totals.failed > 0,
      },
    ],
  };
}
