import { sql } from 'drizzle-orm';
import { findBursts } from '../../src/abuse/bursts';
import { campaigns } from '../../src/db/schema';
import { hashIp } from '../../src/http/ip-hash';
import { rebuildTallies } from '../../src/petitions/tallies';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { signatureValues } from '../helpers/sealed';
import { signInAs } from '../helpers/staff';

/**
 * The staff report of suspicious bursts, on seeded signatures: what it finds, what it shows, and
 * that it shows no one (no names, no email addresses, IP hashes only in part).
 */
const SLUG = 'ban-facial-recognition';
const REPORT = `/staff/campaigns/${SLUG}/abuse`;
let t: TestPlatform;
let campaignId: number;
let organizer: Awaited<ReturnType<typeof signInAs>>;
let ip: Record<'a' | 'b' | 'c' | 'd', string>;

/**
 * `count` signatures from `ipHash`, `spacing` apart, the first `ago` before now, each email in `domain(i)`
 * (a `#` in it stands for i); the email and name sealed as the platform seals them.
 */
async function seed(
  target: number,
  count: number,
  options: {
    ipHash: string | null;
    ago: string;
    spacing: string;
    domain: (i: number) => string;
    tag: string;
  },
) {
  const rows = Array.from({ length: count }, (_, index) => {
    const i = index + 1;
    const row = signatureValues(t.platform.encryption, {
      email: `${options.tag}-${i}@${options.domain(0).replaceAll('#', String(i))}`,
      name: `Secret Person ${i}`,
    });
    return sql`(${target}::int, ${row.email}::bytea, ${row.emailHash}::bytea, ${row.emailDomainHash}::bytea, ${row.name}::bytea, '10001', ${options.ipHash},
                now() - ${options.ago}::interval + ${i - 1}::int * ${options.spacing}::interval)`;
  });
  await t.platform.db.execute(sql`
    INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, ip_hash, created_at)
    VALUES ${sql.join(rows, sql`, `)}`);
}

beforeAll(async () => {
  t = await createTestPlatform();
  const secret = t.platform.config.secret;
  ip = {
    a: hashIp(secret, '203.0.113.7'),
    b: hashIp(secret, '203.0.113.8'),
    c: hashIp(secret, '198.51.100.9'),
    d: hashIp(secret, '192.0.2.1'),
  };
  campaignId = (await t.platform.campaigns.bySlug(SLUG))!.id;
  const [other] = await t.platform.db
    .insert(campaigns)
    .values({ slug: 'other', title: 'Other', summary: 's', petitionText: 'p', goal: 10 })
    .returning();

  const distinct = () => 'mail#.example';
  await seed(campaignId, 15, {
    ipHash: ip.a,
    ago: '2 hours',
    spacing: '20 seconds',
    domain: distinct,
    tag: 'a',
  }); // a burst: 15 in 5 minutes
  await seed(campaignId, 3, {
    ipHash: ip.a,
    ago: '5 hours',
    spacing: '1 minute',
    domain: distinct,
    tag: 'a-late',
  }); // the same network, calm
  await seed(campaignId, 12, {
    ipHash: ip.b,
    ago: '4 hours',
    spacing: '2 minutes',
    domain: distinct,
    tag: 'b',
  }); // steady: at most 6 per 10 minutes
  await seed(campaignId, 11, {
    ipHash: ip.c,
    ago: '6 hours',
    spacing: '10 seconds',
    domain: distinct,
    tag: 'c',
  }); // just over the threshold
  await seed(campaignId, 8, {
    ipHash: null,
    ago: '3 hours',
    spacing: '20 seconds',
    domain: () => 'burst.example',
    tag: 'd',
  }); // one domain
  await seed(campaignId, 20, {
    ipHash: ip.d,
    ago: '30 hours',
    spacing: '5 seconds',
    domain: distinct,
    tag: 'old',
  }); // before the last 24 hours
  await seed(other!.id, 20, {
    ipHash: ip.a,
    ago: '2 hours',
    spacing: '5 seconds',
    domain: () => 'burst.example',
    tag: 'other',
  }); // another campaign
  await rebuildTallies(t.platform.db, campaignId);
  await t.platform.stats.refresh(campaignId);

  organizer = await signInAs(t.app, t.platform.db, 'organizer');
});
afterAll(() => t.close());

/** The rows of a table on the page, as text cells. */
function tableRows(html: string, id: string): string[][] {
  const table = new RegExp(`<table[^>]*id="${id}"[^>]*>([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) =>
      cell[1]!.replace(/<[^>]+>/g, '').trim(),
    ),
  );
}

describe('finding bursts', () => {
  it('finds each network and domain over its threshold within a sliding window, in the period only', async () => {
    const bursts = await findBursts(t.platform, campaignId, {
      window: 10,
      ips: 10,
      domains: 5,
      hours: 24,
    });
    expect(
      bursts.map((burst) => ({
        kind: burst.kind,
        key: burst.key,
        signatures: burst.signatures,
        peak: burst.peak,
        allInSpan: burst.allInSpan,
      })),
    ).toEqual([
      { kind: 'ip', key: ip.a, signatures: 15, peak: 15, allInSpan: 15 },
      { kind: 'ip', key: ip.c, signatures: 11, peak: 11, allInSpan: 11 },
      { kind: 'domain', key: 'burst.example', signatures: 8, peak: 8, allInSpan: 8 },
    ]);
    const [a] = bursts;
    expect(a!.lastAt.getTime() - a!.firstAt.getTime()).toBe(14 * 20_000);

    // A longer period reaches the old burst; a smaller window splits nothing here but lowers the peaks.
    const longer = await findBursts(t.platform, campaignId, {
      window: 10,
      ips: 10,
      domains: 5,
      hours: 48,
    });
    expect(longer.map((burst) => burst.key)).toEqual([ip.d, ip.a, ip.c, 'burst.example']);
    const narrow = await findBursts(t.platform, campaignId, {
      window: 2,
      ips: 5,
      domains: 100,
      hours: 24,
    });
    expect(narrow.find((burst) => burst.key === ip.a)).toMatchObject({ signatures: 15, peak: 7 });
    // The steady network stays under any window's threshold of 6.
    expect(
      (
        await findBursts(t.platform, campaignId, { window: 10, ips: 6, domains: 100, hours: 24 })
      ).map((burst) => burst.key),
    ).not.toContain(ip.b);
    expect(
      (
        await findBursts(t.platform, campaignId, { window: 10, ips: 5, domains: 100, hours: 24 })
      ).map((burst) => burst.key),
    ).toContain(ip.b);
  });
});

describe('GET /staff/campaigns/:slug/abuse', () => {
  it("shows the bursts with counts, times and shares, and nobody's name or address", async () => {
    const page = await organizer.agent
      .get(`${REPORT}?window=10&ips=10&domains=5&hours=24`)
      .expect(200);
    const total = 15 + 3 + 12 + 11 + 8 + 20;
    expect(page.text).toContain(`The campaign has ${total} signatures.`);

    const ips = tableRows(page.text, 'bursts-ip');
    expect(ips).toEqual([
      [
        `${ip.a.slice(0, 8)}…`,
        '15',
        '15',
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        expect.any(String),
        `${((15 / total) * 100).toFixed(1)}%`,
        '100.0%',
      ],
      [
        `${ip.c.slice(0, 8)}…`,
        '11',
        '11',
        expect.any(String),
        expect.any(String),
        `${((11 / total) * 100).toFixed(1)}%`,
        '100.0%',
      ],
    ]);
    expect(tableRows(page.text, 'bursts-domain')).toEqual([
      [
        'burst.example',
        '8',
        '8',
        expect.any(String),
        expect.any(String),
        `${((8 / total) * 100).toFixed(1)}%`,
        '100.0%',
      ],
    ]);

    for (const hash of Object.values(ip)) expect(page.text).not.toContain(hash.slice(0, 12));
    expect(page.text).not.toMatch(/Secret Person|@mail|@burst\.example|[\w-]+@[\w-]+\.example/);
    expect(page.text).toContain('aria-current="page">Abuse</a>');
  });

  it('uses its defaults without a query, and lists what the controls dropped', async () => {
    t.platform.abuse.record({ id: campaignId, slug: SLUG }, 'sign-form', 'too-fast');
    t.platform.abuse.record({ id: campaignId, slug: SLUG }, 'letters-api', 'email-limit');
    const page = await organizer.agent.get(REPORT).expect(200);
    expect(page.text).toMatch(/id="field-window"[^>]*value="10"/);
    expect(tableRows(page.text, 'bursts-ip').map((row) => row[0])).toEqual([
      `${ip.a.slice(0, 8)}…`,
      `${ip.c.slice(0, 8)}…`,
    ]);
    // Domains need more than 100 by default.
    expect(tableRows(page.text, 'bursts-domain')).toEqual([['No bursts from one email domain.']]);
    const dropped = tableRows(page.text, 'dropped');
    expect(dropped).toEqual(
      expect.arrayContaining([
        [expect.any(String), 'Signing form', 'sent too fast', '1'],
        [expect.any(String), 'Letter API', 'over the per-email limit', '1'],
      ]),
    );
  });

  it.each([
    ['window=0', 'window'],
    ['window=abc', 'window'],
    ['hours=1000', 'hours'],
    ['ips=-1', 'ips'],
    ['domains=1.5', 'domains'],
    ['window=5&window=6', 'window'],
  ])("answers %s with 400 and the field's message", async (query, fieldName) => {
    const page = await organizer.agent.get(`${REPORT}?${query}`).expect(400);
    expect(page.text).toContain(`href="#field-${fieldName}"`);
    expect(page.text).not.toContain('id="bursts-ip"');
  });

  it('is for organizers and admins, not viewers', async () => {
    const viewer = await signInAs(t.app, t.platform.db, 'viewer');
    await viewer.agent.get(REPORT).expect(403);
    const admin = await signInAs(t.app, t.platform.db, 'admin');
    await admin.agent.get(REPORT).expect(200);
    await organizer.agent.get('/staff/campaigns/no-such-campaign/abuse').expect(404);
  });
});
