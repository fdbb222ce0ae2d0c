import { readFileSync } from 'node:fs';
import path from 'node:path';
import { campaigns, type CustomTarget } from '../../src/db/schema';
import {
  MAX_CUSTOM_TARGETS_PER_LIST,
  importCustomTargets,
  listCustomTargets,
  matchCustomTargets,
} from '../../src/representatives/custom-targets';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

const fixture = (name: string) =>
  readFileSync(path.join(__dirname, '..', 'fixtures', 'custom-targets', name), 'utf8');

let t: TestPlatform;
let campaignId: number;
let otherCampaignId: number;

beforeAll(async () => {
  t = await createTestPlatform();
  campaignId = (await t.platform.campaigns.bySlug('ban-facial-recognition'))!.id;
  const [other] = await t.platform.db
    .insert(campaigns)
    .values({
      slug: 'other-city',
      title: 'Other city',
      summary: 'Another campaign.',
      petitionText: 'Ban it.',
      goal: 10,
    })
    .returning();
  otherCampaignId = other!.id;
});
afterAll(() => t.close());

/** A list's rows without the columns each import assigns anew. */
const contentOf = (targets: CustomTarget[]) =>
  targets.map(({ id: _id, createdAt: _createdAt, ...rest }) => rest);
const listed = async (id: number, list?: string) =>
  (await listCustomTargets(t.platform.db, id)).filter(
    (target) => list === undefined || target.list === list,
  );

describe('importCustomTargets', () => {
  it('stores every row of the file in the named list, in file order', async () => {
    const result = await importCustomTargets(
      t.platform.db,
      campaignId,
      'Oakland City Council',
      fixture('oakland.csv'),
    );
    expect(result).toEqual({ ok: true, imported: 5 });

    const stored = await listCustomTargets(t.platform.db, campaignId);
    expect(stored.map((target) => target.name)).toEqual([
      'Ada Okafor',
      'Ben Liu',
      'Carla Reyes',
      'Dana Whitfield',
      'Eli Moreno',
    ]);
    expect(stored[0]).toMatchObject({
      campaignId,
      list: 'Oakland City Council',
      title: 'Council Member, District 1',
      email: 'aokafor@oakland.example.org',
      phone: '(510) 555-0101',
      postalAddress: '1 Frank H. Ogawa Plaza Oakland, CA 94612',
      scope: 'city',
      scopeState: 'CA',
      scopeCity: 'oakland',
      scopeZips: null,
    });
    expect(stored[1]).toMatchObject({ scope: 'zips', scopeZips: ['94607', '94612'] });
    expect(stored[3]).toMatchObject({ scope: 'district', scopeLayer: 'sldu', scopeGeoid: '06007' });

    const place = { state: 'CA', city: 'Oakland', zip: '94612', districts: { sldu: '06007' } };
    expect(matchCustomTargets(stored, place)).toHaveLength(5);
    expect(
      matchCustomTargets(stored, { state: 'CA', city: 'Fresno', zip: '93701', districts: {} }).map(
        (target) => target.name,
      ),
    ).toEqual(['Eli Moreno']);
  });

  it('replaces the list on a re-import instead of adding to it', async () => {
    const before = await listed(campaignId, 'Oakland City Council');
    expect(
      await importCustomTargets(
        t.platform.db,
        campaignId,
        ' Oakland City Council ',
        fixture('oakland.csv'),
      ),
    ).toEqual({
      ok: true,
      imported: 5,
    });
    const after = await listed(campaignId, 'Oakland City Council');
    expect(after).toHaveLength(5);
    expect(contentOf(after)).toEqual(contentOf(before));

    const shorter =
      'name,title,email,represents\nZoe Hart,Mayor,mayor@oakland.example.org,"city:Oakland, CA"\n';
    expect(
      await importCustomTargets(t.platform.db, campaignId, 'Oakland City Council', shorter),
    ).toEqual({ ok: true, imported: 1 });
    expect((await listed(campaignId, 'Oakland City Council')).map((target) => target.name)).toEqual(
      ['Zoe Hart'],
    );
  });

  it('writes nothing from a file with one bad row, and says which row', async () => {
    await importCustomTargets(
      t.platform.db,
      campaignId,
      'Oakland City Council',
      fixture('oakland.csv'),
    );
    const before = await listCustomTargets(t.platform.db, campaignId);

    const result = await importCustomTargets(
      t.platform.db,
      campaignId,
      'Oakland City Council',
      fixture('one-bad-row.csv'),
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        { row: 4, field: 'email', message: 'Write a valid email address, like clerk@example.org.' },
      ],
    });
    expect(
      await importCustomTargets(
        t.platform.db,
        campaignId,
        'Fresh list',
        fixture('one-bad-row.csv'),
      ),
    ).toMatchObject({ ok: false });
    expect(await listCustomTargets(t.platform.db, campaignId)).toEqual(before);
  });

  it('rejects an empty or overlong list name without writing', async () => {
    const before = await listCustomTargets(t.platform.db, campaignId);
    expect(
      await importCustomTargets(t.platform.db, campaignId, '  ', fixture('oakland.csv')),
    ).toEqual({
      ok: false,
      errors: [{ row: 0, field: 'list', message: 'The list needs a name.' }],
    });
    expect(
      await importCustomTargets(t.platform.db, campaignId, 'L'.repeat(101), fixture('oakland.csv')),
    ).toEqual({
      ok: false,
      errors: [{ row: 0, field: 'list', message: 'Shorten the list name to 100 characters.' }],
    });
    expect(await listCustomTargets(t.platform.db, campaignId)).toEqual(before);
  });

  it("leaves other lists and another campaign's list of the same name untouched", async () => {
    const police =
      'name,title,phone,represents\nRay Fox,Police Commissioner,(510) 555-0199,everyone\n';
    await importCustomTargets(t.platform.db, campaignId, 'Police Commission', police);
    await importCustomTargets(
      t.platform.db,
      otherCampaignId,
      'Oakland City Council',
      fixture('oakland.csv'),
    );
    const otherBefore = await listCustomTargets(t.platform.db, otherCampaignId);
    const policeBefore = await listed(campaignId, 'Police Commission');

    const replacement =
      'name,title,email,represents\nZoe Hart,Mayor,mayor@oakland.example.org,"city:Oakland, CA"\n';
    expect(
      await importCustomTargets(t.platform.db, campaignId, 'Oakland City Council', replacement),
    ).toEqual({ ok: true, imported: 1 });

    expect(await listCustomTargets(t.platform.db, otherCampaignId)).toEqual(otherBefore);
    expect(otherBefore).toHaveLength(5);
    expect(await listed(campaignId, 'Police Commission')).toEqual(policeBefore);
    // Ordered by list name, then file order.
    expect(
      (await listCustomTargets(t.platform.db, campaignId)).map((target) => [
        target.list,
        target.name,
      ]),
    ).toEqual([
      ['Oakland City Council', 'Zoe Hart'],
      ['Police Commission', 'Ray Fox'],
    ]);
  });

  it('keeps one copy of the list when the same import runs twice at once', async () => {
    const results = await Promise.all([
      importCustomTargets(t.platform.db, campaignId, 'Concurrent', fixture('oakland.csv')),
      importCustomTargets(t.platform.db, campaignId, 'Concurrent', fixture('oakland.csv')),
    ]);
    expect(results).toEqual([
      { ok: true, imported: 5 },
      { ok: true, imported: 5 },
    ]);
    expect(await listed(campaignId, 'Concurrent')).toHaveLength(5);
  });

  it('imports a list of the largest allowed size', async () => {
    const rows = Array.from(
      { length: MAX_CUSTOM_TARGETS_PER_LIST },
      (_, i) => `Person ${i},Clerk,p${i}@example.org,zips:${String(i).padStart(5, '0')}`,
    );
    const csv = ['name,title,email,represents', ...rows].join('\n');
    expect(await importCustomTargets(t.platform.db, otherCampaignId, 'Everyone', csv)).toEqual({
      ok: true,
      imported: 5000,
    });
    const stored = await listed(otherCampaignId, 'Everyone');
    expect(stored).toHaveLength(5000);
    expect(stored[4999]).toMatchObject({ name: 'Person 4999', scopeZips: ['04999'] });
  });
});
