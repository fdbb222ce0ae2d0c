import { sql } from 'drizzle-orm';
import { queryRows, textArray, type Database } from '../db/client';
import type { Channel, LetterStatus } from '../db/schema';
import { customTargetNames } from '../representatives/custom-targets';
import type { Official } from '../representatives/districts';
import { officeDescription } from '../representatives/labels';
import { activeOfficialsByTargetKey } from '../representatives/store';

export interface LetterCounts {
  /** Per target (`us-house:<bioguide>`, …) and status. */
  byTarget: Record<string, Partial<Record<LetterStatus, number>>>;
  /** Per writer's congressional district (GEOID) and status. */
  byDistrict: Record<string, Partial<Record<LetterStatus, number>>>;
}

/** A campaign's letters by target and by district, from the counts the workers keep (never a scan of the letters). */
export async function letterCounts(db: Database, campaignId: number): Promise<LetterCounts> {
  const rows = await queryRows<{
    dimension: string;
    key: string;
    status: LetterStatus;
    count: number;
  }>(
    db,
    sql`SELECT dimension, key, status, count FROM letter_counts WHERE campaign_id = ${campaignId}::int AND count > 0`,
  );
  const counts: LetterCounts = { byTarget: {}, byDistrict: {} };
  for (const row of rows) {
    const table = row.dimension === 'target' ? counts.byTarget : counts.byDistrict;
    (table[row.key] ??= {})[row.status] = Number(row.count);
  }
  return counts;
}

/**
 * Names and titles of letter targets (`office:id`): officials from the active snapshot, custom
 * targets from the campaign's lists, and for anyone no longer in either (after an election and a
 * new import), the name their letters were written to.
 */
export async function targetNames(
  ctx: { db: Database },
  campaignId: number,
  keys: string[],
): Promise<Map<string, { name: string; title: string }>> {
  const names = new Map<string, { name: string; title: string }>();
  if (keys.length === 0) return names;
  const officials = await activeOfficialsByTargetKey(ctx.db, keys);
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
    const custom = await customTargetNames(ctx.db, campaignId, customIds);
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
          WHERE campaign_id = ${campaignId}::int AND target_key = ANY(${textArray(unknown)}::text[])
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
