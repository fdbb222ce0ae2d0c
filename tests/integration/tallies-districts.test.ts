import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { queryRows } from '../../src/db/client';
import { assignMissingDistricts, rebuildTallies, tallyCampaign } from '../../src/petitions/tallies';
import { importRepresentativeData } from '../../src/representatives/import';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * Counts by district: the tally fills each signature's districts from its ZIP code, and
 * signatures counted before any representative data get theirs, exactly once, when it arrives.
 */
const slug = 'ban-facial-recognition';
let t: TestPlatform;
let campaignId: number;

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug(slug))!.id;
});
afterAll(() => t.close());

const sign = (email: string, zip: string) =>
  request(t.app)
    .post(`/api/v1/campaigns/${slug}/signatures`)
    .send({ name: 'District Signer', email, zip })
    .expect(202);

async function counts() {
  const rows = await queryRows<{ dimension: string; key: string; count: string }>(
    t.platform.db,
    sql`SELECT dimension, key, count FROM signature_counts WHERE campaign_id = ${campaignId} AND dimension NOT IN ('source', 'day') ORDER BY 1, 2`,
  );
  return Object.fromEntries(rows.map((row) => [`${row.dimension}:${row.key}`, Number(row.count)]));
}

const districtsOf = (zip: string) => t.platform.representatives.districtsOfZip(zip);

it('fills districts late for signatures counted before the data, once, then as each is tallied', async () => {
  await sign('early-1@example.org', '80010');
  await sign('early-2@example.org', '80020');
  await tallyCampaign(t.platform.db, campaignId, { districtsOf });
  expect(await counts()).toEqual({ 'total:': 2, 'state:CO': 2 });

  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  expect(await assignMissingDistricts(t.platform.db, campaignId, districtsOf)).toBe(2);
  // 80020 spans districts: it is counted in those at its centre.
  const filled = {
    'total:': 2,
    'state:CO': 2,
    'congressional:0801': 1,
    'congressional:0802': 1,
    'state-upper:08001': 1,
    'state-upper:08002': 1,
    'state-lower:08001': 1,
    'state-lower:08003': 1,
  };
  expect(await counts()).toEqual(filled);
  // The public counter shows congressional districts; state districts stay out of its other lists.
  await t.platform.stats.refresh(campaignId);
  const stats = await t.platform.stats.get(campaignId);
  expect(stats.byDistrict).toEqual({ '0801': 1, '0802': 1 });
  expect(stats.bySource).toEqual({});
  expect(await assignMissingDistricts(t.platform.db, campaignId, districtsOf)).toBe(0);
  expect(await counts()).toEqual(filled);

  await sign('later@example.org', '80010');
  await sign('no-zcta@example.org', '80999');
  expect(await tallyCampaign(t.platform.db, campaignId, { districtsOf })).toBe(2);
  const after = await counts();
  expect(after).toMatchObject({
    'total:': 4,
    'congressional:0801': 2,
    'state-upper:08001': 2,
    'state-lower:08001': 2,
  });

  // A ZIP with no ZCTA keeps no district, and a rebuild from the signatures gives the same counts.
  const [unknown] = await queryRows<{ congressional_district: string | null }>(
    t.platform.db,
    sql`SELECT congressional_district FROM signatures WHERE email_hash = ${t.platform.encryption.emailHash('no-zcta@example.org')}::bytea`,
  );
  expect(unknown?.congressional_district).toBeNull();
  await rebuildTallies(t.platform.db, campaignId);
  expect(await counts()).toEqual(after);

  // A rebuild counting a signature for the first time gives it its districts as well.
  await sign('rebuilt@example.org', '80010');
  await rebuildTallies(t.platform.db, campaignId, { districtsOf });
  expect(await counts()).toMatchObject({
    'total:': 5,
    'congressional:0801': 3,
    'state-lower:08001': 3,
  });
});
