import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client';

export const TALLY_BATCH_SIZE = 2000;

/**
 * The count dimensions, computed the same way by the incremental worker and the rebuild.
 * Signatures with no value for a dimension (no state, no district, no source) add nothing to it.
 */
const dimensionsOf = (row: string) => sql.raw(`
  (VALUES ('total', ''), ('state', ${row}.state), ('congressional', ${row}.congressional_district),
          ('source', ${row}.source)) AS d(dimension, key)`);

/**
 * Locks the campaign row so that batches and rebuilds of one campaign never interleave. NO KEY
 * UPDATE does not conflict with the KEY SHARE lock each signature insert's foreign key takes, so
 * signing goes on while a batch or a rebuild runs.
 */
async function lockCampaign(tx: Pick<Database, 'execute'>, campaignId: number): Promise<boolean> {
  const rows = await queryRows(tx, sql`SELECT id FROM campaigns WHERE id = ${campaignId}::int FOR NO KEY UPDATE`);
  return rows.length > 0;
}

/**
 * Adds one campaign's untallied signatures to its counts, in batches. Each batch marks its
 * signatures tallied and adds them to the counts in one transaction, so a signature is counted
 * exactly once however often jobs run, fail or overlap. Returns how many were added.
 */
export async function tallyCampaign(db: Database, campaignId: number, batchSize = TALLY_BATCH_SIZE): Promise<number> {
  let total = 0;
  for (;;) {
    const added = await db.transaction(async (tx) => {
      if (!(await lockCampaign(tx, campaignId))) return 0;
      const [result] = await queryRows<{ added: number }>(tx, sql`
        WITH batch AS (
          UPDATE signatures SET tallied = true
          WHERE id IN (
            SELECT id FROM signatures
            WHERE campaign_id = ${campaignId}::int AND NOT tallied
            ORDER BY id LIMIT ${batchSize}::int
          )
          RETURNING state, congressional_district, source
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
        SELECT (SELECT count(*) FROM batch)::int AS added, (SELECT count(*) FROM applied)::int AS rows`);
      return Number(result?.added ?? 0);
    });
    total += added;
    if (added < batchSize) return total;
  }
}

/** Campaigns that have signatures not yet in their counts. */
export async function campaignsWithUntallied(db: Database): Promise<number[]> {
  const rows = await queryRows<{ campaign_id: number }>(db, sql`SELECT DISTINCT campaign_id FROM signatures WHERE NOT tallied`);
  return rows.map((row) => Number(row.campaign_id));
}

/** Recomputes a campaign's counts exactly from its signatures, replacing what was there. */
export async function rebuildTallies(db: Database, campaignId: number): Promise<number> {
  return db.transaction(async (tx) => {
    if (!(await lockCampaign(tx, campaignId))) return 0;
    await tx.execute(sql`UPDATE signatures SET tallied = true WHERE campaign_id = ${campaignId}::int AND NOT tallied`);
    await tx.execute(sql`DELETE FROM signature_counts WHERE campaign_id = ${campaignId}::int`);
    // Only signatures marked above: one committed since then is left to the next batch, which
    // would otherwise count it a second time.
    await tx.execute(sql`
      INSERT INTO signature_counts (campaign_id, dimension, key, count, version, updated_at)
      SELECT ${campaignId}::int, d.dimension, d.key, count(*), nextval('signature_counts_version_seq'), clock_timestamp()
      FROM signatures s CROSS JOIN LATERAL ${dimensionsOf('s')}
      WHERE s.campaign_id = ${campaignId}::int AND s.tallied AND d.key IS NOT NULL
      GROUP BY d.dimension, d.key`);
    // A total row even at zero, so the counts carry this rebuild's version.
    await tx.execute(sql`
      INSERT INTO signature_counts (campaign_id, dimension, key, count, version, updated_at)
      VALUES (${campaignId}::int, 'total', '', 0, nextval('signature_counts_version_seq'), clock_timestamp())
      ON CONFLICT (campaign_id, dimension, key) DO NOTHING`);
    const [total] = await queryRows<{ count: number }>(
      tx,
      sql`SELECT count FROM signature_counts WHERE campaign_id = ${campaignId}::int AND dimension = 'total'`,
    );
    return Number(total?.count ?? 0);
  });
}
