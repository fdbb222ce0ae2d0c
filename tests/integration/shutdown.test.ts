import { once } from 'node:events';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { signatures } from '../../src/db/schema';
import { startPlatform } from '../../src/main';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.close());

describe('graceful stop (what SIGTERM runs)', () => {
  it('finishes requests in flight, then stops accepting and closes its connections', async () => {
    const running = await startPlatform(
      { ...t.platform.config, port: 0, host: '127.0.0.1' },
      'all',
      t.platform.logger,
    );
    const url = running.url!;
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      request(url)
        .post('/api/v1/campaigns/ban-facial-recognition/signatures')
        .send({ name: `Late ${i}`, email: `late${i}@example.org`, zip: '10001' })
        // Start each request now; one that had not connected yet when the server stopped is refused.
        .then(
          (res) => res.status,
          () => 'refused' as const,
        ),
    );
    // Let the requests reach the server, then stop while they are being handled.
    await Promise.race([
      once(running.server!, 'request'),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    const stopped = running.stop();
    const outcomes = await Promise.all(inFlight);
    await stopped;

    expect(outcomes.every((outcome) => outcome === 202 || outcome === 'refused')).toBe(true);
    const answered = outcomes.filter((outcome) => outcome === 202).length;
    expect(answered).toBeGreaterThan(0);
    // Every acknowledged signature is committed.
    const stored = await t.platform.db.select().from(signatures).where(eq(signatures.zip, '10001'));
    expect(stored.length).toBeGreaterThanOrEqual(answered);
    await expect(request(url).get('/healthz')).rejects.toThrow();
    expect(running.platform.redis.status).toBe('end');
  });
});
