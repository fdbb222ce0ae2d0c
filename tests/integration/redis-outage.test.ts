import request from 'supertest';
import { signatures } from '../../src/db/schema';
import { startPlatform } from '../../src/main';
import { sweepTallies } from '../../src/petitions/jobs/tally-campaign';
import { validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/** Nothing listens on port 1: this is Redis being down when the platform starts. */
let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({ REDIS_URL: 'redis://127.0.0.1:1/0' });
});
afterAll(() => t.close());

describe('with Redis unreachable', () => {
  it('still takes signatures, commits them, and says it is not ready', async () => {
    await request(t.app)
      .post('/api/v1/campaigns/ban-facial-recognition/signatures')
      .send(validSignature({ email: 'outage@example.org' }))
      .expect(202);
    const rows = await t.platform.db.select().from(signatures);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tallied).toBe(false);

    const page = await request(t.app).get('/campaigns/ban-facial-recognition').expect(200);
    expect(page.text).toContain('name="_csrf"');
    expect((await request(t.app).get('/readyz').expect(503)).body).toMatchObject({
      database: 'ok',
      redis: 'unreachable',
    });

    // The sweep counts it without Redis; the counter reads the count table meanwhile.
    await sweepTallies(t.platform);
    expect(
      (await request(t.app).get('/api/v1/campaigns/ban-facial-recognition/stats').expect(200)).body
        .signatures,
    ).toBe(1);
  });

  it('stops cleanly (web and workers) while Redis is still away', async () => {
    const running = await startPlatform(
      { ...t.platform.config, port: 0, host: '127.0.0.1' },
      'all',
      t.platform.logger,
    );
    await request(running.url!).get('/healthz').expect(200);
    await running.stop();
    await expect(request(running.url!).get('/healthz')).rejects.toThrow();
  });

  it('logs the outage as structured lines, not raw dumps', () => {
    const lines = t.logs().trim().split('\n');
    expect(lines.every((line) => line.startsWith('{'))).toBe(true);
    expect(t.logs()).toContain('Redis is not reachable yet');
  });
});
