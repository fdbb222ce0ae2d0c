import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, knownVariables, loadConfig } from '../../src/config';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'frb-config-'));

describe('loadConfig', () => {
  it('with nothing set, runs embedded with a generated secret kept under DATA_DIR', () => {
    const dataDir = tmp();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: undefined,
      smtpUrl: undefined,
      publicUrl: 'http://localhost:3000',
      partnerOrigins: [],
    });
    expect(config.secret).toMatch(/^[0-9a-f]{64}$/);
    const file = path.join(dataDir, 'secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(config.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: dataDir }).secret).toBe(config.secret);
  });

  it('with no keys set, makes the encryption and lookup hash keys, to be kept under DATA_DIR once the database has none', () => {
    const dataDir = tmp();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.encryption.keys.map((key) => [key.id, key.key.length])).toEqual([[1, 32]]);
    expect(config.encryption.lookupKey).toHaveLength(32);
    const file = path.join(dataDir, 'keys.json');
    // Written by the first migration (see the key checks), not by reading the configuration.
    expect(config.encryption.unsaved?.file).toBe(file);
    expect(existsSync(file)).toBe(false);
    config.encryption.unsaved!.save();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      encryptionKeys: `1:${config.encryption.keys[0]!.key.toString('base64')}`,
      lookupHashKey: config.encryption.lookupKey.toString('base64'),
    });
    const again = loadConfig({ DATA_DIR: dataDir }).encryption;
    expect(again).toEqual({ keys: config.encryption.keys, lookupKey: config.encryption.lookupKey });
    // Never over a file another process wrote meanwhile.
    const racing = loadConfig({ DATA_DIR: dataDir + '-race' });
    loadConfig({ DATA_DIR: dataDir + '-race' }).encryption.unsaved!.save();
    expect(() => racing.encryption.unsaved!.save()).toThrow(/made by another process meanwhile/);
  });

  it('takes the keys from ENCRYPTION_KEYS and LOOKUP_HASH_KEY, and names the variable that is wrong', () => {
    const [a, b, lookup] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const config = loadConfig({
      DATA_DIR: tmp(),
      ENCRYPTION_KEYS: `2:${a.toString('base64')},1:${b.toString('base64')}`,
      LOOKUP_HASH_KEY: lookup.toString('base64'),
    });
    expect(config.encryption).toEqual({
      keys: [
        { id: 2, key: a },
        { id: 1, key: b },
      ],
      lookupKey: lookup,
    });
    expect(() => loadConfig({ DATA_DIR: tmp(), ENCRYPTION_KEYS: 'key' })).toThrow(
      /ENCRYPTION_KEYS: entry 1 must be <id>:<base64 key>/,
    );
    expect(() => loadConfig({ DATA_DIR: tmp(), LOOKUP_HASH_KEY: 'short' })).toThrow(
      /LOOKUP_HASH_KEY: a key must be 32 random bytes/,
    );
  });

  it('with DATABASE_URL, takes the keys only from the configuration: a database shared by processes needs the same keys in each', () => {
    const dataDir = tmp();
    expect(() =>
      loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://db.example/frb' }),
    ).toThrow(
      /ENCRYPTION_KEYS: required with DATABASE_URL.*LOOKUP_HASH_KEY: required with DATABASE_URL/,
    );
    expect(existsSync(path.join(dataDir, 'keys.json'))).toBe(false);
  });

  it('refuses a lookup hash key that is also an encryption key, and one key under two ids', () => {
    const key = randomBytes(32).toString('base64');
    expect(() =>
      loadConfig({ DATA_DIR: tmp(), ENCRYPTION_KEYS: `1:${key}`, LOOKUP_HASH_KEY: key }),
    ).toThrow(/LOOKUP_HASH_KEY: must be a key of its own/);
    expect(() =>
      loadConfig({
        DATA_DIR: tmp(),
        ENCRYPTION_KEYS: `2:${key},1:${key}`,
        LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
      }),
    ).toThrow(/ENCRYPTION_KEYS: keys 2 and 1 are the same key/);
  });

  it('says a damaged keys file is not its own without quoting it (it holds keys)', () => {
    const dataDir = tmp();
    const secretish = randomBytes(24).toString('base64');
    writeFileSync(path.join(dataDir, 'keys.json'), `{"encryptionKeys": "1:${secretish}`);
    let message = '';
    try {
      loadConfig({ DATA_DIR: dataDir });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/keys\.json: not the keys file this platform writes/);
    // A key in the file that is not a key is reported as the file's.
    writeFileSync(
      path.join(dataDir, 'keys.json'),
      JSON.stringify({
        encryptionKeys: '1:short',
        lookupHashKey: randomBytes(32).toString('base64'),
      }),
    );
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(
      /keys\.json \(encryptionKeys\): key 1: a key must be 32 random bytes/,
    );
    expect(message).not.toContain(secretish.slice(0, 8));
  });

  it('defaults DATA_DIR to ./data', () => {
    const keys = {
      ENCRYPTION_KEYS: `1:${randomBytes(32).toString('base64')}`,
      LOOKUP_HASH_KEY: randomBytes(32).toString('base64'),
    };
    expect(loadConfig({ APP_SECRET: 'x'.repeat(32), ...keys }).dataDir).toBe(path.resolve('data'));
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ DATA_DIR: tmp(), DATABASE_URL: '', REDIS_URL: ' ', SMTP_URL: '' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.smtpUrl).toBeUndefined();
  });

  it('treats PORT= (set to nothing) as the default', () => {
    expect(loadConfig({ DATA_DIR: tmp(), PORT: '' }).port).toBe(3000);
  });

  it('checks URL schemes and TRUST_PROXY before anything starts', () => {
    expect(() => loadConfig({ DATA_DIR: tmp(), REDIS_URL: 'http://x' })).toThrow(
      /REDIS_URL: must start with redis:\/\/ or rediss:\/\//,
    );
    expect(() => loadConfig({ DATA_DIR: tmp(), DATABASE_URL: 'mysql://x/y' })).toThrow(
      /DATABASE_URL: must start with postgres/,
    );
    expect(() => loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: 'banana' })).toThrow(
      /TRUST_PROXY: .*banana/,
    );
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: ' 1 ' }).trustProxy).toBe(1);
    // proxy-addr alone would read "1" in a list as the address 0.0.0.1.
    expect(() => loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: '1, 2' })).toThrow(
      /TRUST_PROXY: not an address, subnet or proxy name: 1, 2/,
    );
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: '10.0.0.1, fd00::/8' }).trustProxy).toEqual([
      '10.0.0.1',
      'fd00::/8',
    ]);
    expect(loadConfig({ DATA_DIR: tmp(), TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(
      ['loopback', '10.0.0.0/8'],
    );
  });

  it('says what a number must be', () => {
    expect(() => loadConfig({ DATA_DIR: tmp(), PORT: 'abc' })).toThrow(
      'PORT: must be a whole number from 0 to 65535',
    );
  });

  it('requires APP_SECRET and the keys in production, and generates nothing there', () => {
    const dataDir = tmp();
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir })).toThrow(
      /APP_SECRET: required.*ENCRYPTION_KEYS: required.*LOOKUP_HASH_KEY: required/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        APP_SECRET: 'x'.repeat(32),
        ENCRYPTION_KEYS: `1:${randomBytes(32).toString('base64')}`,
      }),
    ).toThrow(/LOOKUP_HASH_KEY: required/);
    expect(existsSync(path.join(dataDir, 'keys.json'))).toBe(false);
  });

  it('names each invalid variable', () => {
    const attempt = () =>
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'not a url',
        PARTNER_ORIGINS: 'https://ok.example, nope',
        APP_SECRET: 'short',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const issues = (error as ConfigError).issues.join('\n');
      for (const name of ['PORT', 'DATABASE_URL', 'PARTNER_ORIGINS', 'APP_SECRET'])
        expect(issues).toContain(name);
    }
  });

  it('parses partner origins and trims PUBLIC_URL', () => {
    const config = loadConfig({
      DATA_DIR: tmp(),
      PARTNER_ORIGINS: 'https://a.example/, https://b.example:8443',
      PUBLIC_URL: 'https://act.example.org/',
    });
    expect(config.partnerOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(config.publicUrl).toBe('https://act.example.org');
  });

  it('refreshes the officials daily unless REP_DATA_REFRESH says otherwise, from REP_DATA_MIRROR when set', () => {
    const dataDir = tmp();
    expect(loadConfig({ DATA_DIR: dataDir })).toMatchObject({
      repDataRefresh: 'daily',
      repDataMirror: undefined,
    });
    expect(loadConfig({ DATA_DIR: dataDir, REP_DATA_REFRESH: 'weekly' }).repDataRefresh).toBe(
      'weekly',
    );
    expect(loadConfig({ DATA_DIR: dataDir, REP_DATA_REFRESH: 'off' }).repDataRefresh).toBe('off');
    expect(loadConfig({ DATA_DIR: dataDir, REP_DATA_REFRESH: '' }).repDataRefresh).toBe('daily');
    expect(() => loadConfig({ DATA_DIR: dataDir, REP_DATA_REFRESH: 'hourly' })).toThrow(
      'REP_DATA_REFRESH: must be off, daily or weekly',
    );
    expect(() => loadConfig({ DATA_DIR: dataDir, REP_DATA_REFRESH: 'Daily' })).toThrow(ConfigError);
    // A mirror is a web address; its trailing slashes go (files are fetched from <mirror>/<host>/<path>).
    expect(
      loadConfig({ DATA_DIR: dataDir, REP_DATA_MIRROR: 'https://mirror.example.org/rep-data/' })
        .repDataMirror,
    ).toBe('https://mirror.example.org/rep-data');
    expect(() =>
      loadConfig({ DATA_DIR: dataDir, REP_DATA_MIRROR: 'ftp://mirror.example.org' }),
    ).toThrow(/REP_DATA_MIRROR: must start with http:\/\/ or https:\/\//);
    expect(() => loadConfig({ DATA_DIR: dataDir, REP_DATA_MIRROR: 'mirror.example.org' })).toThrow(
      /REP_DATA_MIRROR: must be a URL like/,
    );
  });

  it('lists every variable it knows', () => {
    expect(knownVariables).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATA_DIR',
        'DATABASE_URL',
        'REDIS_URL',
        'SMTP_URL',
        'PUBLIC_URL',
        'APP_SECRET',
      ]),
    );
  });
});

describe("the data flows' settings", () => {
  it('defaults to Action Network, public receivers only, and 600 API requests a minute per token', () => {
    const config = loadConfig({ DATA_DIR: tmp() });
    expect(config.webhooks).toEqual({
      allowPrivate: false,
      actionNetworkUrl: 'https://actionnetwork.org',
    });
    expect(config.osdiRateLimit).toBe(600);
    expect(
      loadConfig({
        DATA_DIR: tmp(),
        WEBHOOK_ALLOW_PRIVATE: 'true',
        ACTION_NETWORK_URL: 'http://127.0.0.1:8080/',
      }).webhooks,
    ).toEqual({
      allowPrivate: true,
      actionNetworkUrl: 'http://127.0.0.1:8080',
    });
  });

  it.each([
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'WEBHOOK_ALLOW_PRIVATE: must be true or false'],
    [{ ACTION_NETWORK_URL: 'actionnetwork.org' }, 'ACTION_NETWORK_URL: must be a URL'],
    [{ OSDI_RATE_LIMIT: '0' }, 'OSDI_RATE_LIMIT: must be a whole number'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tmp(), ...env })).toThrow(message);
  });
});
