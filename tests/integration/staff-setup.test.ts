import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { projectRoot } from '../../src/paths';
import { auditLog, staffAccounts } from '../../src/db/schema';
import { offerFirstAccountSetup, SETUP_LINK_SECONDS } from '../../src/staff/first-account';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { csrfTokenOf } from '../helpers/staff';
import { freePort } from '../helpers/throwaway-services';
import { encryptionEnv } from '../helpers/worker-process';

/**
 * The first staff account, in the browser: on a platform with no staff account, starting it
 * prints a one-time setup link (random, an hour, once) where the first admin sets their email
 * and password. No restart and no command; `staff:create` stays for scripts.
 */
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.close());
beforeEach(async () => {
  await t.platform.db.execute(sql`TRUNCATE staff_accounts, audit_log CASCADE`);
});

const setupKey = () => `${t.platform.config.redisKeyPrefix}:staff:setup`;
const pathOf = (link: string) => new URL(link).pathname;
const firstAdmin = {
  email: 'First.Admin@Coalition.example',
  name: 'First Admin',
  password: 'a long first password',
  confirm: 'a long first password',
};

/** Opens the setup page like a browser: the agent keeps the staff CSRF cookie. */
async function openSetup(link: string) {
  const agent = request.agent(t.app);
  const page = await agent.get(pathOf(link)).expect(200);
  return { agent, token: csrfTokenOf(page.text), page };
}

describe('the setup link', () => {
  it('is offered only while there is no staff account: random, kept as a hash for an hour', async () => {
    const link = (await offerFirstAccountSetup(t.platform))!;
    expect(link).toMatch(
      new RegExp(`^${t.platform.config.publicUrl}/staff/setup/[A-Za-z0-9_-]{43}$`),
    );
    const stored = await t.platform.redis.get(setupKey());
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(link).not.toContain(stored);
    const ttl = await t.platform.redis.ttl(setupKey());
    expect(ttl).toBeGreaterThan(SETUP_LINK_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(SETUP_LINK_SECONDS);
    // Another link replaces it.
    const next = (await offerFirstAccountSetup(t.platform))!;
    await request(t.app).get(pathOf(link)).expect(410);
    await request(t.app).get(pathOf(next)).expect(200);
  });

  it('makes the first admin, signs them in, and works once', async () => {
    const link = (await offerFirstAccountSetup(t.platform))!;
    const { agent, token, page } = await openSetup(link);
    expect(page.text).toContain('Set up the first admin account');
    expect(page.headers['referrer-policy']).toBe('no-referrer');

    // Mistakes come back with the values kept, and the link still works.
    const wrong = await agent
      .post(pathOf(link))
      .type('form')
      .send({
        _csrf: token,
        email: 'nope',
        name: 'First Admin',
        password: 'short',
        confirm: 'other',
      })
      .expect(400);
    expect(wrong.text).toContain('<a href="#field-email">Enter a valid email address.</a>');
    expect(wrong.text).toContain('id="error-password"');
    expect(wrong.text).toContain('value="First Admin"');
    expect(await t.platform.db.select().from(staffAccounts)).toEqual([]);

    const done = await agent
      .post(pathOf(link))
      .type('form')
      .send({ _csrf: token, ...firstAdmin })
      .expect(303);
    expect(done.headers.location).toBe('/staff');
    const home = await agent.get('/staff').expect(200);
    expect(home.text).toContain('Your admin account is ready');
    const [account] = await t.platform.db.select().from(staffAccounts);
    expect(account).toMatchObject({
      email: 'first.admin@coalition.example',
      name: 'First Admin',
      role: 'admin',
      status: 'active',
    });
    expect(account!.passwordHash).toMatch(/^\$argon2id\$/);
    const [entry] = await t.platform.db.select().from(auditLog);
    expect(entry).toMatchObject({
      action: 'account.create',
      actor: 'first.admin@coalition.example',
      details: { role: 'admin', by: 'setup link' },
    });

    // Used: the link, and any new offer, are gone.
    await request(t.app).get(pathOf(link)).expect(410);
    await agent
      .post(pathOf(link))
      .type('form')
      .send({ _csrf: csrfTokenOf(home.text), ...firstAdmin, email: 'second@coalition.example' })
      .expect(410);
    expect(await offerFirstAccountSetup(t.platform)).toBeUndefined();
    expect(await t.platform.db.select().from(staffAccounts)).toHaveLength(1);
  });

  it('makes one account when it is sent twice at once', async () => {
    const link = (await offerFirstAccountSetup(t.platform))!;
    const [one, two] = await Promise.all([openSetup(link), openSetup(link)]);
    const answers = await Promise.all([
      one.agent
        .post(pathOf(link))
        .type('form')
        .send({ _csrf: one.token, ...firstAdmin, email: 'one@coalition.example' }),
      two.agent
        .post(pathOf(link))
        .type('form')
        .send({ _csrf: two.token, ...firstAdmin, email: 'two@coalition.example' }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([303, 410]);
    expect(await t.platform.db.select().from(staffAccounts)).toHaveLength(1);
  });

  it('refuses a wrong or expired link, and a wrong one leaves the real one working', async () => {
    const link = (await offerFirstAccountSetup(t.platform))!;
    const forged = `/staff/setup/${'A'.repeat(43)}`;
    const gone = await request(t.app).get(forged).expect(410);
    expect(gone.text).toContain('This setup link does not work');
    const { agent, token } = await openSetup(link);
    await agent
      .post(forged)
      .type('form')
      .send({ _csrf: token, ...firstAdmin })
      .expect(410);
    await request(t.app).get(pathOf(link)).expect(200);
    // An hour later Redis has forgotten it (as when its key expires).
    await t.platform.redis.del(setupKey());
    await agent
      .post(pathOf(link))
      .type('form')
      .send({ _csrf: token, ...firstAdmin })
      .expect(410);
    expect(await t.platform.db.select().from(staffAccounts)).toEqual([]);
  });

  it('keeps its token out of the logs', async () => {
    const link = (await offerFirstAccountSetup(t.platform))!;
    await request(t.app).get(pathOf(link)).expect(200);
    expect(t.logs()).not.toContain(pathOf(link).split('/').pop());
  });
});

describe('starting the platform with no staff account', () => {
  it('prints the setup link, which opens the setup page', async () => {
    const port = await freePort();
    const { config } = t.platform;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'src', 'main.ts'), 'web'],
      {
        cwd: projectRoot,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'test',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: config.dataDir,
          DATABASE_URL: config.databaseUrl,
          REDIS_URL: config.redisUrl,
          REDIS_KEY_PREFIX: config.redisKeyPrefix,
          APP_SECRET: config.secret,
          ...encryptionEnv(config),
          REP_DATA_DIR: 'none',
          REP_DATA_REFRESH: 'off',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      let output = '';
      const link = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const found = /(http:\/\/\S+\/staff\/setup\/[A-Za-z0-9_-]{43})/.exec(output);
          if (found) resolve(found[1]!);
        });
        child.once('exit', (code) =>
          reject(
            new Error(`the platform exited (${code}) before printing a setup link:\n${output}`),
          ),
        );
      });
      expect(output).toContain(
        'no staff account yet. Make the first admin account here (the link works once, for an hour):',
      );
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Set up the first admin account');
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
