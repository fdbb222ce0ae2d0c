import request from 'supertest';
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
    const person = { name: 'Zelda Quixote', email: 'zelda.quixote@example.org', zip: '30301', address: '77 Peachtree Lane' };
    await request(t.app).post('/api/v1/campaigns/ban-facial-recognition/signatures?source=s1').send(person).expect(202);
    await request(t.app).post('/api/v1/campaigns/ban-facial-recognition/signatures').send({ ...person, email: 'bad' }).expect(400);
    const { agent, token } = await openSigningForm(t.app);
    await agent.post('/campaigns/ban-facial-recognition/sign').type('form').send({ _csrf: token, ...person, zip: 'x' }).expect(400);
    await eventually(async () => (await t.platform.stats.get(1)).signatures === 1);

    const logs = t.logs();
    expect(logs).toContain('"path":"/api/v1/campaigns/ban-facial-recognition/signatures"');
    for (const secret of ['Zelda', 'Quixote', 'zelda.quixote', 'Peachtree', '127.0.0.1', 'source=s1', token]) {
      expect(logs).not.toContain(secret);
    }
  });
});
