import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startPlatform } from '../../src/main';
import { isProcessAlive } from '../../src/process-lock';
import { eventually } from '../helpers/platform';

/**
 * Embedded mode, started through `startPlatform` exactly as `npm start` does: no DATABASE_URL and
 * no REDIS_URL, so PGlite under DATA_DIR/pg and a private redis-server under DATA_DIR/redis.
 */
describe('embedded mode (npm start)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'frb-embedded-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    REP_DATA_DIR: 'none',
  });
  const logger = createLogger('silent');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs with no configuration, signs once, counts it, and keeps it across a restart', async () => {
    const first = await startPlatform(config, 'all', logger);
    const redisPid = Number(readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    try {
      expect(first.platform.database.driver).toBe('pglite');
      expect(existsSync(path.join(dataDir, 'pg'))).toBe(true);
      expect(existsSync(path.join(dataDir, 'secret'))).toBe(true);
      expect(isProcessAlive(redisPid)).toBe(true);

      await request(first.url!)
        .post('/api/v1/campaigns/ban-facial-recognition/signatures')
        .send({ name: 'Embedded Tester', email: 'embedded@example.org', zip: '98101' })
        .expect(202);
      await eventually(
        async () =>
          (await request(first.url!).get('/api/v1/campaigns/ban-facial-recognition/stats')).body
            .signatures === 1,
      );
      await request(first.url!).get('/readyz').expect(200);

      // A second start on the same DATA_DIR is refused before it touches the running redis-server.
      await expect(startPlatform(config, 'all', logger)).rejects.toThrow(/in use by process/);
      expect(isProcessAlive(redisPid)).toBe(true);
      await request(first.url!).get('/readyz').expect(200);
    } finally {
      await first.stop();
    }
    // The child redis-server stops with the platform, its append-only file kept.
    expect(isProcessAlive(redisPid)).toBe(false);
    expect(existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);

    const second = await startPlatform(config, 'all', logger);
    try {
      const stats = await request(second.url!)
        .get('/api/v1/campaigns/ban-facial-recognition/stats')
        .expect(200);
      expect(stats.body).toMatchObject({ signatures: 1, byState: { WA: 1 } });
    } finally {
      await second.stop();
    }
  });

  it('stops, as a fatal error, when its redis-server dies', async () => {
    let fatal: (error: Error) => void = () => undefined;
    const died = new Promise<Error>((resolve) => (fatal = resolve));
    const running = await startPlatform(config, 'all', logger, { onFatal: fatal });
    const redisPid = Number(readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    process.kill(redisPid, 'SIGKILL');
    expect((await died).message).toMatch(/embedded redis-server exited/);
    await running.stop();
    await expect(request(running.url!).get('/healthz')).rejects.toThrow();
  });

  it('imports representative data on first start, then counts signatures by district', async () => {
    const freshDir = mkdtempSync(path.join(os.tmpdir(), 'frb-embedded-data-'));
    const fixtures = path.join(__dirname, '..', 'fixtures', 'representatives');
    const withData = loadConfig({
      DATA_DIR: freshDir,
      PORT: '0',
      HOST: '127.0.0.1',
      REP_DATA_DIR: fixtures,
    });
    const running = await startPlatform(withData, 'all', logger);
    try {
      // Signed while the import may still be running: its districts are filled in either way.
      await request(running.url!)
        .post('/api/v1/campaigns/ban-facial-recognition/signatures')
        .send({ name: 'District Tester', email: 'district@example.org', zip: '80010' })
        .expect(202);
      await eventually(
        async () =>
          (await request(running.url!).get('/api/v1/representatives?zip=80010')).status === 200,
      );
      const lookup = await request(running.url!)
        .get('/api/v1/representatives?zip=80010')
        .expect(200);
      expect(lookup.body.districts.congressional).toMatchObject({
        geoid: '0801',
        state: 'CO',
        district: 1,
      });
      await eventually(async () => {
        const stats = await request(running.url!).get(
          '/api/v1/campaigns/ban-facial-recognition/stats',
        );
        return stats.body.byDistrict?.['0801'] === 1;
      });
    } finally {
      await running.stop();
      rmSync(freshDir, { recursive: true, force: true });
    }
  });

  it('refuses to run the web role alone on the embedded database', async () => {
    await expect(startPlatform(config, 'web', logger)).rejects.toThrow(/DATABASE_URL/);
  });
});
