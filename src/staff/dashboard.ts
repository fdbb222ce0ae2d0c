import { progress } from '../campaigns/page';
import type { AppContext } from '../context';
import type { Campaign, LetterStatus } from '../db/schema';
import { letterCounts, targetNames } from '../letters/counts';
import { readCountsReport } from '../petitions/signature-store';
import { queueNames, type QueueName } from '../queue/jobs';
import { dataWarnings } from '../representatives/data-status';
import { districtLabel, houseMember } from '../representatives/labels';
import { stateNames, uspsByFips } from '../representatives/us-states';
import { withTimeout } from '../time-limit';
import { listPartners } from '../campaigns/editor';
import { signatureSeries, utcDay, type TimeSeries } from '../graphics/charts';
import { officeCounts, type OfficeCount } from '../stances/office-counts';
import { callCountsByDistrict } from '../stances/store';

/**
 * Everything the campaign dashboard shows, gathered from the count tables (never a count over
 * the signatures), the representative data in memory, the partners and the queues. Counts only:
 * nothing here names a supporter.
 */

export interface LetterStatusCounts {
  delivered: number;
  /** Waiting for their first attempt, or being sent. */
  queued: number;
  retrying: number;
  failed: number;
  handDelivery: number;
  /** Waiting for staff: their office changed hands after they were written. */
  held: number;
  /** Sent by the supporter themselves (as they reported), not by us. */
  selfSent: number;
  /** Written in a rehearsal: they went to the rehearsal address, CWC's validation endpoint or files, not to the office. */
  rehearsed: number;
  total: number;
}

export interface DistrictRow {
  geoid: string;
  /** "CO-1", "AK at-large", "DC (delegate seat)". */
  label: string;
  state: string;
  /** The House member (or delegate) from the representative data; null when unknown or vacant. */
  member: string | null;
  vacant: boolean;
  signatures: number;
  letters: LetterStatusCounts;
  /** Calls supporters living in the district reported making (not "did not call"). */
  calls: number;
}

export interface TargetRow {
  key: string;
  name: string;
  title: string;
  letters: LetterStatusCounts;
}

export type QueueHealth =
  | {
      name: QueueName;
      available: true;
      waiting: number;
      active: number;
      delayed: number;
      failed: number;
      completed: number;
    }
  | { name: QueueName; available: false };

export interface Dashboard {
  campaign: { id: number; slug: string; title: string; status: string; goal: number };
  generatedAt: string;
  signatures: {
    total: number;
    /** Signers who confirmed their email address (the public count, when the campaign asks for it). */
    verified: number;
    verificationRequired: boolean;
    goal: number;
    percent: number;
    today: number;
    /** The last seven UTC days, today included. */
    lastSevenDays: number;
    /** When the counts last changed. */
    updatedAt: string | null;
    /** Counted signatures with no state, or no congressional district (ZIP not matched, or no representative data yet). */
    withoutState: number;
    withoutDistrict: number;
  };
  /** Signatures per UTC day, zero-filled, grouped into weeks or months for long campaigns. */
  series: TimeSeries;
  byState: Array<{ code: string; name: string; signatures: number }>;
  byDistrict: DistrictRow[];
  bySource: Array<{ code: string; partner: string | null; signatures: number }>;
  letters: { totals: LetterStatusCounts; byTarget: TargetRow[] };
  /** Per office the campaign targets: signatures from its constituents, letters delivered, calls reported. */
  offices: OfficeCount[];
  queues: QueueHealth[];
  /** `stale`: not checked against its publishers for over 30 days; `endedTerms`: the campaign's targets whose recorded term has ended. */
  representativeData: {
    loaded: boolean;
    asOf: string | null;
    stale: boolean;
    ageDays: number | null;
    endedTerms: number;
  };
}

export type DashboardContext = Pick<AppContext, 'db' | 'queues' | 'representatives'>;

/** How long a queue may take to answer before it is shown as unavailable. */
export const QUEUE_TIMEOUT_MS = 1500;

export async function campaignDashboard(
  ctx: DashboardContext,
  campaign: Campaign,
  now = new Date(),
): Promise<Dashboard> {
  const lettersRead = letterCounts(ctx.db, campaign.id);
  const [counts, letters, calls, offices, partners, queues, dataCheck] = await Promise.all([
    readCountsReport(ctx.db, campaign.id),
    lettersRead,
    callCountsByDistrict(ctx.db, campaign.id),
    officeCounts(ctx.db, campaign, lettersRead),
    listPartners(ctx.db, campaign.id),
    queueHealth(ctx),
    dataWarnings(ctx.db, campaign.targetOffices, now),
  ]);
  const data = ctx.representatives.current;
  const today = utcDay(now);
  const todayTime = Date.parse(`${today}T00:00:00Z`);
  const sevenDaysAgo = utcDay(new Date(todayTime - 6 * 86_400_000));
  const lastSevenDays = Object.entries(counts.day)
    .filter(([day]) => day >= sevenDaysAgo && day <= today)
    .reduce((sum, [, count]) => sum + count, 0);

  const byState = Object.entries(counts.state)
    .map(([code, signatures]) => ({ code, name: stateNames.get(code) ?? code, signatures }))
    .sort((a, b) => b.signatures - a.signatures || a.name.localeCompare(b.name));

  const districtKeys = new Set([
    ...Object.keys(counts.congressional),
    ...Object.keys(letters.byDistrict),
    ...Object.keys(calls.congressional),
  ]);
  const byDistrict = [...districtKeys]
    .map((geoid): DistrictRow => {
      const { member, vacant } = houseMember(data, geoid);
      return {
        geoid,
        label: districtLabel(geoid),
        state: uspsByFips.get(geoid.slice(0, 2)) ?? '',
        member,
        vacant,
        signatures: counts.congressional[geoid] ?? 0,
        letters: letterStatusCounts(letters.byDistrict[geoid]),
        calls: calls.congressional[geoid] ?? 0,
      };
    })
    .sort(
      (a, b) =>
        b.signatures - a.signatures ||
        b.letters.total - a.letters.total ||
        b.calls - a.calls ||
        a.geoid.localeCompare(b.geoid),
    );

  const partnerBySource = new Map(partners.map((partner) => [partner.sourceCode, partner.name]));
  const bySource = [...new Set([...Object.keys(counts.source), ...partnerBySource.keys()])]
    .map((code) => ({
      code,
      partner: partnerBySource.get(code) ?? null,
      signatures: counts.source[code] ?? 0,
    }))
    .sort((a, b) => b.signatures - a.signatures || a.code.localeCompare(b.code));

  const names = await targetNames(ctx, campaign.id, Object.keys(letters.byTarget));
  const byTarget = Object.entries(letters.byTarget)
    .map(([key, statuses]): TargetRow => ({
      key,
      ...(names.get(key) ?? { name: key, title: '' }),
      letters: letterStatusCounts(statuses),
    }))
    .sort((a, b) => b.letters.total - a.letters.total || a.name.localeCompare(b.name));
  const totals = byTarget.reduce(
    (sum, row) => addCounts(sum, row.letters),
    letterStatusCounts(undefined),
  );

  const sum = (record: Record<string, number>) =>
    Object.values(record).reduce((total, count) => total + count, 0);
  const goal = progress(counts.total, campaign.goal);
  return {
    campaign: {
      id: campaign.id,
      slug: campaign.slug,
      title: campaign.title,
      status: campaign.status,
      goal: campaign.goal,
    },
    generatedAt: now.toISOString(),
    signatures: {
      total: counts.total,
      verified: counts.verified,
      verificationRequired: campaign.requireVerification,
      goal: campaign.goal,
      percent: goal.percent,
      today: counts.day[today] ?? 0,
      lastSevenDays,
      updatedAt: counts.updatedAt,
      withoutState: Math.max(0, counts.total - sum(counts.state)),
      withoutDistrict: Math.max(0, counts.total - sum(counts.congressional)),
    },
    series: signatureSeries(counts.day, today),
    byState,
    byDistrict,
    bySource,
    letters: { totals, byTarget },
    offices,
    queues,
    representativeData: { loaded: data !== null, asOf: data?.dataAsOf ?? null, ...dataCheck },
  };
}

const STATUS_FIELD: Record<LetterStatus, Exclude<keyof LetterStatusCounts, 'total'>> = {
  delivered: 'delivered',
  queued: 'queued',
  sending: 'queued',
  retrying: 'retrying',
  failed: 'failed',
  'hand-delivery': 'handDelivery',
  held: 'held',
  'self-sent': 'selfSent',
  rehearsed: 'rehearsed',
};

export function letterStatusCounts(
  statuses: Partial<Record<LetterStatus, number>> | undefined,
): LetterStatusCounts {
  const counts: LetterStatusCounts = {
    delivered: 0,
    queued: 0,
    retrying: 0,
    failed: 0,
    handDelivery: 0,
    held: 0,
    selfSent: 0,
    rehearsed: 0,
    total: 0,
  };
  for (const [status, count] of Object.entries(statuses ?? {}) as Array<[LetterStatus, number]>) {
    const field = STATUS_FIELD[status];
    if (!field || !(count > 0)) continue;
    counts[field] += count;
    counts.total += count;
  }
  return counts;
}

function addCounts(a: LetterStatusCounts, b: LetterStatusCounts): LetterStatusCounts {
  return {
    delivered: a.delivered + b.delivered,
    queued: a.queued + b.queued,
    retrying: a.retrying + b.retrying,
    failed: a.failed + b.failed,
    handDelivery: a.handDelivery + b.handDelivery,
    held: a.held + b.held,
    selfSent: a.selfSent + b.selfSent,
    rehearsed: a.rehearsed + b.rehearsed,
    total: a.total + b.total,
  };
}

/** Each queue's job counts, or "unavailable" when Redis does not answer in time. */
export async function queueHealth(ctx: Pick<AppContext, 'queues'>): Promise<QueueHealth[]> {
  return Promise.all(
    queueNames.map(async (name): Promise<QueueHealth> => {
      try {
        const counts = await withTimeout(
          ctx.queues
            .get(name)
            .getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
          QUEUE_TIMEOUT_MS,
        );
        return {
          name,
          available: true,
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          completed: counts.completed ?? 0,
        };
      } catch {
        return { name, available: false };
      }
    }),
  );
}
