import path from 'node:path';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, staffAccounts } from '../../src/db/schema';
import { runCommand } from '../helpers/command';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf } from '../helpers/staff';
import { encryptionEnv } from '../helpers/worker-process';

/** `npm run staff:create`, run as a command (from the sources through tsx) against the test database. */
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(async () => {
  await t.close();
});

const staffCreate = (args: string[], stdin: string) =>
  runCommand(
    path.join('staff', 'create-staff.ts'),
    args,
    {
      DATABASE_URL: t.platform.config.databaseUrl,
      APP_SECRET: t.platform.config.secret,
      ...encryptionEnv(t.platform.config),
      DATA_DIR: t.platform.config.dataDir,
    },
    stdin,
  );

test('creates the first admin with the password from standard input', async () => {
  const result = await staffCreate(
    ['--email', 'First.Admin@Coalition.example', '--role', 'admin', '--name', 'First Admin'],
    'a long first password\n',
  );
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toContain('Created admin account first.admin@coalition.example');
  const [account] = await t.platform.db
    .select()
    .from(staffAccounts)
    .where(eq(staffAccounts.email, 'first.admin@coalition.example'));
  expect(account).toMatchObject({ role: 'admin', status: 'active', name: 'First Admin' });
  expect(account!.passwordHash).toMatch(/^\$argon2id\$/);
  const [entry] = await t.platform.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.action, 'account.create'));
  expect(entry).toMatchObject({
    actor: 'command line',
    details: { account: 'first.admin@coalition.example', role: 'admin' },
  });
});

test.each([
  [['--role', 'admin'], 'pw that is long enough\n', '--email is required'],
  [
    ['--email', 'nope', '--role', 'admin'],
    'pw that is long enough\n',
    '--email: Enter a valid email address.',
  ],
  [
    ['--email', 'x@coalition.example', '--role', 'boss'],
    'pw that is long enough\n',
    '--role: Choose admin, organizer or viewer.',
  ],
  [
    ['--email', 'x@coalition.example', '--role', 'viewer'],
    'short\n',
    'password: Use at least 12 characters.',
  ],
  [['--email', 'x@coalition.example', '--role', 'viewer'], '', 'no password on standard input'],
  [
    ['--email', 'first.admin@coalition.example', '--role', 'viewer'],
    'pw that is long enough\n',
    'An account with this email address already exists.',
  ],
  [
    ['--email', 'x@coalition.example', '--role', 'viewer', '--colour', 'red'],
    'pw that is long enough\n',
    "Unknown option '--colour'",
  ],
])('bad input %j: one error line, exit code 2, nothing written', async (args, stdin, message) => {
  const before = await t.platform.db.select().from(staffAccounts);
  const result = await staffCreate(args, stdin);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`staff:create: ${message}`);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(await t.platform.db.select().from(staffAccounts)).toHaveLength(before.length);
});

test('the account made on the command line signs in to the console', async () => {
  await staffCreate(
    ['--email', 'cli.viewer@coalition.example', '--role', 'viewer'],
    'viewer password 123\n',
  );
  const agent = request.agent(t.app);
  const login = await agent.get('/staff/login').expect(200);
  await agent
    .post('/staff/login')
    .type('form')
    .send({
      _csrf: csrfTokenOf(login.text),
      email: 'cli.viewer@coalition.example',
      password: 'viewer password 123',
    })
    .expect(303);
  await agent.get('/staff').expect(200);
});
