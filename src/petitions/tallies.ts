import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';
import { raiseSignatureEvents, type Raised } from '../webhooks/events';

export const TALLY_BATCH_SIZE = 2000;

/**
 * The count dimensions, computed the same way by the incremental worker, the rebuild and the
 * privacy actions (src/privacy/erasure.ts). Signatures with no value for a dimension (no state,
 * no district, no source, not verified) add nothing to it; `day` is the UTC date of signing.
 */
export const dimensionsOf = (row: string) =>
  sql.raw(`
  (VALUES ('total', ''), ('verified', CASE WHEN ${row}.verified_at IS NOT NULL THEN '' END),
          ('state', ${row}.state), ('congressional', ${row}.congressional_district),
          ('state-upper', ${row}.state_upper_district), ('state-lower', ${row}.state_lower_district),
          ('source', ${row}.source),
          ('day', to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))) AS d(dimension, key)`);

/** The districts (Census GEOIDs) of a ZIP code, from the representative data; undefined without it. */
export type DistrictsOfZip = (
  zip: string,
) => { cd: string | null; sldu: string | null; sldl: string | null } | undefined;

/** Each signature's districts as a JSON list for `jsonb_to_recordset`, which PGlite and PostgreSQL both read. */
function assignments(
  rows: Array<{ id: number; zip: string }>,
  districtsOf: DistrictsOfZip | undefined,
): string {
  return JSON.stringify(
    rows.map(({ id, zip }) => {
      const districts = districtsOf?.(zip.slice(0, 5));
      return {
        id,
        cd: districts?.cd ?? null,
        sldu: districts?.sldu ?? null,
        sldl: districts?.sldl ?? null,
      };
    }),
  );
}

/**
 * Locks the campaign row so that batches and rebuilds of one campaign never interleave. NO KEY
 * UPDATE does not conflict with the KEY SHARE lock each signature insert's foreign key takes, so
 * signing goes on while a batch or a rebuild runs.
 */
export async function lockCampaign(
  tx: Pick<Database, 'execute'>,
  campaignId: number,
): Promise<boolean> {
  const rows = await queryRows(
    tx,
    sql`SELECT id FROM campaigns WHERE id = ${campaignId}::int FOR NO KEY UPDATE`,
  );
  return rows.length > 0;
}

/** Told, after each commit, which webhook subscriptions got events (so their delivery can be woken). */
export type OnRaised = (raised: Raised) => void;

/** The ids of an array as a subquery. */
const idList = (ids: number[]) => sql`SELECT unnest(${`{${ids.join(',')}}`}::bigint[])`;

/**
 * Adds one campaign's untallied signatures to its counts, in batches. Each batch marks its
 * signatures tallied, fills their districts from their ZIP codes (when representative data is
 * loaded), adds them to the counts and raises their webhook events (webhooks/events.ts) in one
 * transaction, so a signature is counted, and announced, exactly once however often jobs run,
 * fail or overlap. Returns how many were added.
 */
export async function tallyCampaign(
  db: Database,
  campaignId: number,
  options: { batchSize?: number; districtsOf?: DistrictsOfZip; onRaised?: OnRaised } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? TALLY_BATCH_SIZE;
  let total = 0;
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      if (!(await lockCampaign(tx, campaignId)))
        return { picked: 0, added: 0, raised: new Map() as Raised };
      const picked = await queryRows<{ id: number; zip: string }>(
        tx,
        sql`
        SELECT id, zip FROM signatures
        WHERE campaign_id = ${campaignId}::int AND NOT tallied
        ORDER BY id LIMIT ${batchSize}::int`,
      );
      if (picked.length === 0) return { picked: 0, added: 0, raised: new Map() as Raised };
      const [result] = await queryRows<{ added: number }>(
        tx,
        sql`
        WITH batch AS (
          UPDATE signatures s SET tallied = true,
            congressional_district = COALESCE(s.congressional_district, a.cd),
            state_upper_district = COALESCE(s.state_upper_district, a.sldu),
            state_lower_district = COALESCE(s.state_lower_district, a.sldl)
          FROM jsonb_to_recordset(${assignments(picked, options.districtsOf)}::jsonb) AS a(id bigint, cd text, sldu text, sldl text)
          WHERE s.id = a.id AND NOT s.tallied
          RETURNING s.state, s.congressional_district, s.state_upper_district, s.state_lower_district, s.source, s.created_at, s.verified_at
        ), applied AS (
          INSERT INTO signature_counts AS c (campaign_id, dimension, key, count, version, updated_at)
          SELECT ${campaignId}::int, d.dimension, d.key, count(*), nextval('signature_counts_version_seq'), clock_timestamp()
          FROM batch CROSS JOIN LATERAL ${dimensionsOf('batch')}
          WHERE d.key IS NOT NULL
          GROUP BY d.dimension, d.key
          ON CONFLICT (campaign_id, dimension, key)
          DO UPDATE SET count = c.count + EXCLUDED.count, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM batch)::int AS added, (SELECT count(*) FROM applied)::int AS rows`,
      );
      const raised = await raiseSignatureEvents(
        tx,
        campaignId,
        idList(picked.map((row) => Number(row.id))),
      );
      return { picked: picked.length, added: Number(result?.added ?? 0), raised };
    });
    if (batch.raised.size > 0) options.onRaised?.(batch.raised);
    total += batch.added;
    if (batch.picked < batchSize) return total;
  }
}

/**
 * Fills the districts of a campaign's signatures that have none (signed before representative
 * data was imported, or under an older snapshot that lacked their ZIP) and recounts the campaign,
 * in one transaction: a crash in between cannot leave districts filled but not counted.
 * Returns how many signatures got districts.
 */
export async function assignMissingDistricts(
  db: Database,
  campaignId: number,
  districtsOf: DistrictsOfZip,
  onRaised?: OnRaised,
): Promise<number> {
  const { filled, raised } = await db.transaction(async (tx) => {
    if (!(await lockCampaign(tx, campaignId))) return { filled: 0, raised: new Map() as Raised };
    const filled = await fillDistricts(tx, campaignId, districtsOf, 'all');
    return {
      filled,
      raised: filled > 0 ? (await recount(tx, campaignId)).raised : (new Map() as Raised),
    };
  });
  if (raised.size > 0) onRaised?.(raised);
  return filled;
}

/** Gives districts to the campaign's signatures that have none: all of them, or only those not yet counted. */
async function fillDistricts(
  tx: Pick<Database, 'execute'>,
  campaignId: number,
  districtsOf: DistrictsOfZip,
  which: 'all' | 'untallied',
) {
  const onlyUntallied = which === 'untallied' ? sql`AND NOT tallied` : sql``;
  let filled = 0;
  let after = 0;
  for (;;) {
    const rows = await queryRows<{ id: number; zip: string }>(
      tx,
      sql`
      SELECT id, zip FROM signatures
      WHERE campaign_id = ${campaignId}::int AND congressional_district IS NULL ${onlyUntallied} AND id > ${after}::bigint
      ORDER BY id LIMIT ${TALLY_BATCH_SIZE}::int`,
    );
    if (rows.length === 0) return filled;
    after = Number(rows[rows.length - 1]!.id);
    const [result] = await queryRows<{ filled: number }>(
      tx,
      sql`
      WITH updated AS (
        UPDATE signatures s SET congressional_district = a.cd, state_upper_district = a.sldu, state_lower_district = a.sldl
        FROM jsonb_to_recordset(${assignments(rows, districtsOf)}::jsonb) AS a(id bigint, cd text, sldu text, sldl text)
        WHERE s.id = a.id AND a.cd IS NOT NULL AND s.congressional_district IS NULL
        RETURNING 1
      )
      SELECT count(*)::int AS filled FROM updated`,
    );
    filled += Number(result?.filled ?? 0);
  }
}

/** Campaigns that have signatures not yet in their counts. */
export async function campaignsWithUntallied(db: Database): Promise<number[]> {
  const rows = await queryRows<{ campaign_id: number }>(
    db,
    sql`SELECT DISTINCT campaign_id FROM signatures WHERE NOT tallied`,
  );
  return rows.map((row) => Number(row.campaign_id));
}

/**
 * Recomputes a campaign's counts exactly from its signatures, replacing what was there, plus what
 * erased signatures had contributed (`erased_signature_counts`): an erasure never lowers a count.
 * With `districtsOf`, signatures it is about to count for the first time get their districts too.
 */
export async function rebuildTallies(
  db: Database,
  campaignId: number,
  options: { districtsOf?: DistrictsOfZip; onRaised?: OnRaised } = {},
): Promise<number> {
  const { total, raised } = await db.transaction(async (tx) => {
    if (!(await lockCampaign(tx, campaignId))) return { total: 0, raised: new Map() as Raised };
    if (options.districtsOf) await fillDistricts(tx, campaignId, options.districtsOf, 'untallied');
    return recount(tx, campaignId);
  });
  if (raised.size > 0) options.onRaised?.(raised);
  return total;
}

/**
 * Marks every signature tallied and counts them all again; the caller holds the campaign lock.
 * Signatures counted here for the first time raise their webhook events, as a tally batch does.
 */
async function recount(
  tx: Pick<Database, 'execute'>,
  campaignId: number,
): Promise<{ total: number; raised: Raised }> {
  const marked = await queryRows<{ id: number }>(
    tx,
    sql`UPDATE signatures SET tallied = true WHERE campaign_id = ${campaignId}::int AND NOT tallied RETURNING id`,
  );
  const raised =
    marked.length > 0
      ? await raiseSignatureEvents(tx, campaignId, idList(marked.map((row) => Number(row.id))))
      : (new Map() as Raised);
  await tx.execute(sql`DELETE FROM signature_counts WHERE campaign_id = ${campaignId}::int`);
  // Only signatures marked above: one committed since then is left to the next batch, which
  // would otherwise count it a second time.
  await tx.execute(sql`
    INSERT INTO signature_counts (campaign_id, dimension, key, count, version, updated_at)
    SELECT ${campaignId}::int, counted.dimension, counted.key, sum(counted.n), nextval('signature_counts_version_seq'), clock_timestamp()
    FROM (
      SELECT d.dimension, d.key, count(*) AS n
      FROM signatures s CROSS JOIN LATERAL ${dimensionsOf('s')}
      WHERE s.campaign_id = ${campaignId}::int AND s.tallied AND d.key IS NOT NULL
      GROUP BY d.dimension, d.key
      UNION ALL
      SELECT e.dimension, e.key, e.count FROM erased_signature_counts e WHERE e.campaign_id = ${campaignId}::int
    ) AS counted
    GROUP BY counted.dimension, counted.key`);
  // A total row even at zero, so the counts carry this rebuild's version.
  await tx.execute(sql`
    INSERT INTO signature_counts (campaign_id, dimension, key, count, version, updated_at)
    VALUES (${campaignId}::int, 'total', '', 0, nextval('signature_counts_version_seq'), clock_timestamp())
    ON CONFLICT (campaign_id, dimension, key) DO NOTHING`);
  const [total] = await queryRows<{ count: number }>(
    tx,
    sql`SELECT count FROM signature_counts WHERE campaign_id = ${campaignId}::int AND dimension = 'total'`,
  );
  return { total: Number(total?.count ?? 0), raised };
}
