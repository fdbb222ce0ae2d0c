import path from 'node:path';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { apiTokens, auditLog, partners, webhookSubscriptions } from '../../src/db/schema';
import { runCommand } from '../helpers/command';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { encryptionEnv } from '../helpers/worker-process';

/** `npm run api:token` and `npm run webhooks:add`, run as commands against the test database. */
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
  const campaign = await t.platform.campaigns.bySlug('ban-facial-recognition');
  await t.platform.db
    .insert(partners)
    .values({ campaignId: campaign!.id, name: 'Friends of Privacy', sourceCode: 'friends' });
});
afterAll(() => t.close());

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: t.platform.config.databaseUrl,
  APP_SECRET: t.platform.config.secret,
  ...encryptionEnv(t.platform.config),
  DATA_DIR: t.platform.config.dataDir,
  ...extra,
});
const apiToken = (args: string[]) => runCommand(path.join('osdi', 'create-token.ts'), args, env());
const webhooksAdd = (args: string[], extra: Record<string, string> = {}) =>
  runCommand(path.join('webhooks', 'add-webhook.ts'), args, env(extra));

describe('api:token', () => {
  it('prints its usage for --help, and does nothing; so does every other command', async () => {
    const result = await apiToken(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run api:token -- --name/);
    expect(await t.platform.db.select().from(apiTokens)).toEqual([]);
    const usages = await Promise.all(
      (
        [
          [path.join('representatives', 'import-targets.ts'), 'targets:import'],
          [path.join('petitions', 'rebuild-tallies.ts'), 'tallies:rebuild'],
          [path.join('db', 'migrate.ts'), 'db:migrate'],
          [path.join('privacy', 'new-keys.ts'), 'keys:new'],
          [path.join('webhooks', 'add-webhook.ts'), 'webhooks:add'],
        ] as const
      ).map(async ([file, name]) => {
        const answer = await runCommand(file, ['--help'], env());
        return [name, answer.code, answer.stdout.startsWith(`Usage: npm run ${name}`)];
      }),
    );
    expect(usages).toEqual(usages.map(([name]) => [name, 0, true]));
  });

  it('prints a new token once, alone on standard output, that the API takes', async () => {
    const result = await apiToken([
      '--name',
      'Friends CRM',
      '--campaign',
      'ban-facial-recognition',
      '--partner',
      'friends',
      '--scope',
      'read,sign',
    ]);
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(token).toMatch(/^osdi_[\w-]{43}$/);
    expect(result.stderr).toContain(
      'Created the API token "Friends CRM" (read, sign) for ban-facial-recognition, partner friends',
    );
    const [record] = await t.platform.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.name, 'Friends CRM'));
    expect(record).toMatchObject({
      scopes: ['read', 'sign'],
      partnerId: expect.any(Number),
      hint: token.slice(0, 9),
    });
    expect(JSON.stringify(record)).not.toContain(token.slice(9));
    await request(t.app)
      .get('/api/osdi/v1/petitions/ban-facial-recognition/signatures')
      .set('OSDI-API-Token', token)
      .expect(200);
    const [entry] = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'api-token.create'));
    expect(entry).toMatchObject({
      actor: 'command line',
      details: { name: 'Friends CRM', scopes: ['read', 'sign'] },
    });
  });

  test.each([
    [[], '--name is required'],
    [['--name', ''], '--name: Give the token a name'],
    [['--name', 'x', '--scope', 'write'], '--scope: Scopes are read, sign, or read,sign.'],
    [['--name', 'x', '--partner', 'friends'], '--partner needs --campaign'],
    [['--name', 'x', '--campaign', 'no-such'], '--campaign: no campaign with slug "no-such"'],
    [
      ['--name', 'x', '--campaign', 'ban-facial-recognition', '--partner', 'nobody'],
      '--partner: ban-facial-recognition has no partner with source code "nobody"',
    ],
    [['--name', 'x', '--colour', 'red'], "Unknown option '--colour'"],
  ])('bad input %j: one error line, exit code 2, nothing written', async (args, message) => {
    const before = (await t.platform.db.select().from(apiTokens)).length;
    const result = await apiToken(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`api:token: ${message}`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(await t.platform.db.select().from(apiTokens)).toHaveLength(before);
  });
});

describe('webhooks:add', () => {
  it('subscribes a receiver and prints its secret once', async () => {
    const result = await webhooksAdd([
      '--campaign',
      'ban-facial-recognition',
      '--partner',
      'friends',
      '--url',
      'https://crm.friends.example/hooks',
      '--events',
      'signature,person.erased',
    ]);
    expect(result.code).toBe(0);
    const secret = result.stdout.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const [subscription] = await t.platform.db.select().from(webhookSubscriptions);
    expect(subscription).toMatchObject({
      kind: 'webhook',
      url: 'https://crm.friends.example/hooks',
      events: ['signature', 'person.erased'],
      status: 'active',
      partnerId: expect.any(Number),
    });
    // Sealed at rest: only the platform's keys open it.
    expect(Buffer.from(subscription!.secret).toString('latin1')).not.toContain(secret.slice(6));
    expect(t.platform.encryption.open('webhook_subscriptions.secret', subscription!.secret)).toBe(
      secret,
    );
  });

  test.each([
    [['--url', 'https://x.example'], '--campaign is required'],
    [['--campaign', 'ban-facial-recognition'], '--url is required'],
    [
      ['--campaign', 'ban-facial-recognition', '--url', 'not a url'],
      '--url: The URL must be a full URL',
    ],
    [
      ['--campaign', 'ban-facial-recognition', '--url', 'http://crm.example/hooks'],
      '--url: The URL must start with https://',
    ],
    [
      ['--campaign', 'ban-facial-recognition', '--url', 'https://127.0.0.1/hooks'],
      '--url: The URL must be a public address',
    ],
    [
      ['--campaign', 'ban-facial-recognition', '--url', 'https://localhost:8443/hooks'],
      '--url: The URL must be a public address',
    ],
    [
      ['--campaign', 'ban-facial-recognition', '--url', 'https://user:pw@crm.example/hooks'],
      '--url: The URL must not hold a user name or password',
    ],
    [
      [
        '--campaign',
        'ban-facial-recognition',
        '--url',
        'https://crm.example/hooks',
        '--events',
        'donation',
      ],
      '--events: Events are signature, outreach and person.erased.',
    ],
    [
      ['--campaign', 'no-such', '--url', 'https://crm.example/hooks'],
      '--campaign: no campaign with slug "no-such"',
    ],
    [
      [
        '--campaign',
        'ban-facial-recognition',
        '--partner',
        'nobody',
        '--url',
        'https://crm.example/hooks',
      ],
      '--partner: ban-facial-recognition has no partner',
    ],
  ])('bad input %j: one error line, exit code 2, nothing written', async (args, message) => {
    const before = (await t.platform.db.select().from(webhookSubscriptions)).length;
    const result = await webhooksAdd(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`webhooks:add: ${message}`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await t.platform.db.select().from(webhookSubscriptions)).toHaveLength(before);
  });
});
