import request from 'supertest';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({ PUBLIC_URL: 'https://act.example.org' });
});
afterAll(() => t.close());

/** Every asset a page loads (scripts, styles, images, icons) must come from this origin. */
function externalAssets(html: string): string[] {
  const refs = [
    ...html.matchAll(/<(?:script|img|link|iframe|source)\b[^>]*\b(?:src|href)="([^"]+)"/g),
  ].map((m) => m[1]!);
  return refs.filter((ref) => !ref.startsWith('/') || ref.startsWith('//'));
}

describe('public pages', () => {
  it('home lists the demo campaign', async () => {
    const res = await request(t.app).get('/').expect(200);
    expect(res.text).toContain('href="/campaigns/ban-facial-recognition"');
    expect(res.text).toContain('Ban police use of facial recognition');
    expect(externalAssets(res.text)).toEqual([]);
  });

  it('campaign page shows the petition, the goal thermometer, the count and the form', async () => {
    const res = await request(t.app).get('/campaigns/ban-facial-recognition').expect(200);
    expect(res.text).toContain('ban the use of facial recognition by police');
    expect(res.text).toMatch(/<progress[^>]*max="100000"[^>]*value="0"/);
    expect(res.text).toContain('data-stats-url="/api/v1/campaigns/ban-facial-recognition/stats"');
    for (const field of ['name', 'email', 'zip', 'address', 'optIn', 'website', '_csrf']) {
      expect(res.text).toContain(`name="${field}"`);
    }
    expect(res.text).toContain('action="/campaigns/ban-facial-recognition/sign"');
    expect(externalAssets(res.text)).toEqual([]);
  });

  it('sends a strict Content-Security-Policy and a CSRF cookie that scripts cannot read', async () => {
    const res = await request(t.app).get('/campaigns/ban-facial-recognition').expect(200);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['strict-transport-security']).toBeDefined();
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/__Host-csrf=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('ignores a malformed ?source= instead of echoing it', async () => {
    const res = await request(t.app)
      .get('/campaigns/ban-facial-recognition?source=%22%3E%3Cscript%3E')
      .expect(200);
    expect(res.text).not.toContain('name="source"');
    expect(res.text).not.toContain('<script>');
  });

  it('thank-you page has the count and plain share links to the campaign', async () => {
    const res = await request(t.app).get('/campaigns/ban-facial-recognition/thanks').expect(200);
    expect(res.text).toContain('Thank you for signing');
    expect(res.text).toContain('value="https://act.example.org/campaigns/ban-facial-recognition"');
    expect(res.text).toMatch(/href="mailto:\?subject(=|&#x3D;)/);
    expect(res.text).toContain(
      'https%3A%2F%2Fact.example.org%2Fcampaigns%2Fban-facial-recognition',
    );
    expect(externalAssets(res.text)).toEqual([]);
  });

  it('serves its own stylesheet and script', async () => {
    await request(t.app).get('/static/css/site.css').expect(200).expect('content-type', /css/);
    await request(t.app)
      .get('/static/js/live-count.js')
      .expect(200)
      .expect('content-type', /javascript/);
  });

  it('answers an unknown campaign with a 404 page, an unknown API path with JSON', async () => {
    const page = await request(t.app).get('/campaigns/nothing-here').expect(404);
    expect(page.text).toContain('Page not found');
    const api = await request(t.app).get('/api/v1/nothing').expect(404);
    expect(api.body.error).toBe('not_found');
  });

  it('reports health and readiness as JSON', async () => {
    expect((await request(t.app).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(t.app).get('/readyz').expect(200)).body).toEqual({
      status: 'ready',
      database: 'ok',
      redis: 'ok',
    });
  });
});
