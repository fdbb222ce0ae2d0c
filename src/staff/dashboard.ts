import { sql } from 'drizzle-orm';
import { progress } from '../campaigns/page';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import type { Campaign, Channel, LetterStatus, OfficeKind } from '../db/schema';
import { letterCounts } from '../letters/counts';
import { queueNames, type QueueName } from '../queue/jobs';
import type { Official, RepresentativeData } from '../representatives/districts';
import { dataWarnings } from '../representatives/data-status';
import { officeDescription } from '../representatives/labels';
import { stateNames, uspsByFips } from '../representatives/us-states';
import { withTimeout } from '../time-limit';
import { signatureSeries, utcDay, type TimeSeries } from '../graphics/charts';

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
  const [counts, letters, partners, queues, dataCheck] = await Promise.all([
    readSignatureCounts(ctx, campaign.id),
    letterCounts(ctx.db, campaign.id),
    queryRows<{ name: string; source_code: string }>(
      ctx.db,
      sql`SELECT name, source_code FROM partners WHERE campaign_id = ${campaign.id}::int ORDER BY name`,
    ),
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
      };
    })
    .sort(
      (a, b) =>
        b.signatures - a.signatures ||
        b.letters.total - a.letters.total ||
        a.geoid.localeCompare(b.geoid),
    );

  const partnerBySource = new Map(partners.map((partner) => [partner.source_code, partner.name]));
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
    queues,
    representativeData: { loaded: data !== null, asOf: data?.dataAsOf ?? null, ...dataCheck },
  };
}

interface SignatureCountRows {
  total: number;
  verified: number;
  state: Record<string, number>;
  congressional: Record<string, number>;
  source: Record<string, number>;
  day: Record<string, number>;
  updatedAt: string | null;
}

/** The campaign's rows of the count table (a primary-key range read). */
async function readSignatureCounts(
  ctx: DashboardContext,
  campaignId: number,
): Promise<SignatureCountRows> {
  const rows = await queryRows<{
    dimension: string;
    key: string;
    count: string | number;
    updated_at: Date | string;
  }>(
    ctx.db,
    sql`SELECT dimension, key, count, updated_at FROM signature_counts
        WHERE campaign_id = ${campaignId}::int AND dimension IN ('total', 'verified', 'state', 'congressional', 'source', 'day')`,
  );
  const counts: SignatureCountRows = {
    total: 0,
    verified: 0,
    state: {},
    congressional: {},
    source: {},
    day: {},
    updatedAt: null,
  };
  let latest = 0;
  for (const row of rows) {
    const count = Number(row.count);
    latest = Math.max(latest, new Date(row.updated_at).getTime());
    if (row.dimension === 'total') counts.total = count;
    else if (row.dimension === 'verified') counts.verified = count;
    else if (count > 0)
      counts[row.dimension as 'state' | 'congressional' | 'source' | 'day'][row.key] = count;
  }
  counts.updatedAt = latest > 0 ? new Date(latest).toISOString() : null;
  return counts;
}

/** A congressional district as people name it: "CO-1", "AK at-large", "DC (delegate seat)". */
export function districtLabel(geoid: string): string {
  const state = uspsByFips.get(geoid.slice(0, 2));
  const code = geoid.slice(2);
  if (!state || !/^\d{2}$/.test(code)) return geoid;
  if (code === '98') return `${state} (delegate seat)`;
  if (code === '00') return `${state} at-large`;
  return `${state}-${Number(code)}`;
}

export function houseMember(
  data: RepresentativeData | null,
  geoid: string,
): { member: string | null; vacant: boolean } {
  if (!data?.hasDistrict('cd', geoid)) return { member: null, vacant: false };
  const seat = data
    .officialsFor({ cd: geoid, sldu: null, sldl: null })
    .find((official) => official.office === 'us-house');
  return { member: seat?.name ?? null, vacant: seat?.vacant ?? false };
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

/**
 * Names and titles of letter targets (`office:id`): officials from the active snapshot, custom
 * targets from the campaign's lists, and for anyone no longer in either (after an election and a
 * new import), the name their letters were written to.
 */
export async function targetNames(
  ctx: Pick<AppContext, 'db'>,
  campaignId: number,
  keys: string[],
): Promise<Map<string, { name: string; title: string }>> {
  const names = new Map<string, { name: string; title: string }>();
  if (keys.length === 0) return names;
  const officials = await queryRows<{
    office: OfficeKind;
    person_id: string;
    name: string;
    state: string;
    district: string | null;
    party: string | null;
  }>(
    ctx.db,
    sql`SELECT o.office, o.person_id, o.name, o.state, o.district, o.party
        FROM rep_officials o JOIN rep_snapshots s ON s.id = o.snapshot_id AND s.active
        WHERE (o.office, o.person_id) IN (
          SELECT split_part(k, ':', 1), substr(k, strpos(k, ':') + 1) FROM unnest(${`{${keys.map(arrayItem).join(',')}}`}::text[]) AS k)`,
  );
  for (const row of officials) {
    const official: Official = {
      office: row.office,
      name: row.name,
      party: row.party,
      state: row.state,
      district: row.district,
      vacant: false,
      ids: {},
      channels: [] as Channel[],
      source: null,
    };
    names.set(`${row.office}:${row.person_id}`, {
      name: row.name,
      title: officeDescription(official),
    });
  }
  const customIds = keys
    .filter((key) => key.startsWith('custom:'))
    .map((key) => Number(key.slice('custom:'.length)))
    .filter((id) => Number.isSafeInteger(id) && id > 0 && id < 2 ** 31);
  if (customIds.length > 0) {
    const custom = await queryRows<{ id: number; name: string; title: string; list: string }>(
      ctx.db,
      sql`SELECT id, name, title, list FROM custom_targets
          WHERE campaign_id = ${campaignId}::int AND id = ANY(${`{${customIds.join(',')}}`}::int[])`,
    );
    for (const row of custom)
      names.set(`custom:${row.id}`, { name: row.name, title: row.title || row.list });
  }
  const missing = keys.filter((key) => !names.has(key));
  const unknown: string[] = [];
  for (const key of missing) {
    const known = writtenNames.get(`${campaignId}:${key}`);
    if (known) names.set(key, known);
    else unknown.push(key);
  }
  if (unknown.length > 0) {
    const written = await queryRows<{
      target_key: string;
      target_name: string;
      target_title: string;
    }>(
      ctx.db,
      sql`SELECT DISTINCT ON (target_key) target_key, target_name, target_title FROM letters
          WHERE campaign_id = ${campaignId}::int AND target_key = ANY(${`{${unknown.map(arrayItem).join(',')}}`}::text[])
          ORDER BY target_key, id DESC`,
    );
    if (writtenNames.size > 10_000) writtenNames.clear();
    for (const row of written) {
      const name = { name: row.target_name, title: row.target_title };
      writtenNames.set(`${campaignId}:${row.target_key}`, name);
      names.set(row.target_key, name);
    }
  }
  return names;
}

/**
 * Names of targets no longer in the representative data, as their letters were addressed: a
 * target's letters keep their name, so one look in the letters per process is enough.
 */
const writtenNames = new Map<string, { name: string; title: string }>();

/** One element of a PostgreSQL array literal, quoted. */
const arrayItem = (value: string) => `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;

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
