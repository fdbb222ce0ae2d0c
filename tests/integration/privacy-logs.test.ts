import path from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { importRepresentativeData } from '../../src/representatives/import';
import { openSigningForm } from '../helpers/forms';
import { createTestPlatform, eventually, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({ LOG_LEVEL: 'trace' });
});
afterAll(() => t.close());

describe('logs', () => {
  it('carry no name, email, address or IP, even at trace level', async () => {
    await t.startWorkers();
    const person = {
      name: 'Zelda Quixote',
      email: 'zelda.quixote@example.org',
      zip: '30301',
      address: '77 Peachtree Lane',
    };
    await request(t.app)
      .post('/api/v1/campaigns/ban-facial-recognition/signatures?source=s1')
      .send(person)
      .expect(202);
    await request(t.app)
      .post('/api/v1/campaigns/ban-facial-recognition/signatures')
      .send({ ...person, email: 'bad' })
      .expect(400);
    const { agent, token } = await openSigningForm(t.app);
    await agent
      .post('/campaigns/ban-facial-recognition/sign')
      .type('form')
      .send({ _csrf: token, ...person, zip: 'x' })
      .expect(400);
    await eventually(async () => (await t.platform.stats.get(1)).signatures === 1);

    const logs = t.logs();
    expect(logs).toContain('"path":"/api/v1/campaigns/ban-facial-recognition/signatures"');
    for (const secret of [
      'Zelda',
      'Quixote',
      'zelda.quixote',
      'Peachtree',
      '127.0.0.1',
      'source=s1',
      token,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });

  it('keep personal data out of the log when the database fails in the middle of a signature', async () => {
    // A constraint the service does not know about makes the insert fail like an outage would.
    await t.platform.db.execute(
      sql`ALTER TABLE signatures ADD CONSTRAINT refuse_99999 CHECK (zip <> '99999')`,
    );
    try {
      const person = {
        name: 'Ximena Outage',
        email: 'ximena.outage@example.org',
        zip: '99999',
        address: '5 Failure Road',
      };
      const res = await request(t.app)
        .post('/api/v1/campaigns/ban-facial-recognition/signatures')
        .send(person)
        .expect(500);
      expect(res.body).toEqual({
        error: 'server_error',
        message: expect.stringMatching(/try again/),
      });
      const logs = t.logs();
      expect(logs).toContain('request failed');
      expect(logs).toContain('params: [redacted]');
      for (const secret of ['Ximena', 'ximena.outage', 'Failure Road'])
        expect(logs).not.toContain(secret);
    } finally {
      await t.platform.db.execute(sql`ALTER TABLE signatures DROP CONSTRAINT refuse_99999`);
    }
  });
});

describe('logs of representative lookups', () => {
  it('carry no address, even when the geocoder fails and the lookup falls back to the ZIP', async () => {
    // Nothing listens on port 9 here: every geocoding attempt fails.
    const lookups = await createTestPlatform({
      LOG_LEVEL: 'trace',
      GEOCODER: 'census',
      GEOCODER_URL: 'http://127.0.0.1:9',
      GEOCODER_TIMEOUT_MS: '500',
    });
    try {
      await importRepresentativeData(
        lookups.platform.db,
        path.join(__dirname, '..', 'fixtures', 'representatives'),
      );
      await lookups.platform.representatives.refresh();
      const address = '12 Secretive Way, Aurora, CO 80010';
      const api = await request(lookups.app)
        .get('/api/v1/representatives')
        .query({ address })
        .expect(200);
      expect(api.body).toMatchObject({
        precision: 'zip',
        geocoding: 'zip-in-address',
        zip: '80010',
      });
      const page = await request(lookups.app)
        .get('/campaigns/ban-facial-recognition/representatives')
        .expect(200);
      const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const cookie = page.headers['set-cookie'] as unknown as string[];
      await request(lookups.app)
        .post('/campaigns/ban-facial-recognition/representatives')
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: token, address })
        .expect(200);

      const logs = lookups.logs();
      expect(logs).toContain('geocoder unavailable; looking up by ZIP');
      for (const secret of ['Secretive', 'Aurora', '12%20Secretive', '12+Secretive'])
        expect(logs).not.toContain(secret);
    } finally {
      await lookups.close();
    }
  });
});
