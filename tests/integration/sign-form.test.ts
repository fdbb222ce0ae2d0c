import request from 'supertest';
import { signatures } from '../../src/db/schema';
import { openSigningForm, validSignature } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';
import { openedSignatures } from '../helpers/sealed';

const action = '/campaigns/ban-facial-recognition/sign';
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.close());
beforeEach(() => t.platform.db.delete(signatures));

/** The stored signatures, their sealed columns opened with the platform's keys. */
const rows = () => openedSignatures(t.platform);

describe('POST /campaigns/:slug/sign (the HTML form)', () => {
  it('signs and redirects to the thank-you page', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const res = await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, ...validSignature({ address: '20 W 34th St', optIn: 'on' }) })
      .expect(303);
    expect(res.headers.location).toBe('/campaigns/ban-facial-recognition/thanks');
    expect(await rows()).toEqual([
      expect.objectContaining({
        email: 'grace@example.org',
        zip: '10001',
        state: 'NY',
        optIn: true,
        address: '20 W 34th St',
      }),
    ]);
  });

  it('answers a form whose CSRF cookie is gone (a restored tab) with the form and its values, to confirm: nothing is stored until then', async () => {
    const agent = request.agent(t.app);
    const res = await agent
      .post(action)
      .type('form')
      .send(validSignature({ address: '20 W 34th St' }))
      .expect(403);
    expect(res.text).toContain('Please confirm your signature');
    expect(res.text).toContain('value="Grace Hopper"');
    expect(res.text).toContain('value="20 W 34th St"');
    expect(res.text).toContain('>Confirm and sign</button>');
    expect(res.text).toMatch(/<title>Please confirm: /);
    expect(await rows()).toHaveLength(0);
    // One press, with the fresh token the page carries, and the signature is in.
    const token = /name="_csrf" value="([^"]+)"/.exec(res.text)![1];
    await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, ...validSignature({ address: '20 W 34th St' }) })
      .expect(303);
    expect(await rows()).toEqual([
      expect.objectContaining({ email: 'grace@example.org', address: '20 W 34th St' }),
    ]);
  });

  it('stores nothing from a forged CSRF token', async () => {
    const { agent } = await openSigningForm(t.app);
    await agent
      .post(action)
      .type('form')
      .send({ _csrf: 'forged', ...validSignature() })
      .expect(403);
    expect(await rows()).toHaveLength(0);
  });

  it('returns the form with the values kept and a message per field', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const res = await agent
      .post(action)
      .type('form')
      .send({
        _csrf: token,
        name: 'Grace <b>Hopper</b>',
        email: 'nope',
        zip: '12',
        address: '1 Elm St',
        optIn: 'on',
      })
      .expect(400);
    expect(res.text).toContain('value="Grace &lt;b&gt;Hopper&lt;/b&gt;"');
    expect(res.text).toContain('value="nope"');
    expect(res.text).toContain('value="1 Elm St"');
    expect(res.text).toMatch(/id="field-optIn"[^>]* checked/);
    expect(res.text).toContain('Please enter a valid email address');
    expect(res.text).toContain('Please enter a 5-digit ZIP code.');
    expect(res.text).toMatch(/id="field-email"[^>]*aria-invalid="true"/);
    expect(res.text).not.toContain('<b>Hopper</b>');
    expect(await rows()).toHaveLength(0);
  });

  it('answers a repeat like a first signature and keeps one row', async () => {
    const { agent, token } = await openSigningForm(t.app);
    const first = await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, ...validSignature() })
      .expect(303);
    const again = await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, ...validSignature({ email: ' GRACE@example.org' }) })
      .expect(303);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await rows()).toHaveLength(1);
    // The repeat was found by the email's hash: neither the email nor the name is in the row's bytes.
    const [raw] = await t.platform.db.select().from(signatures);
    const stored = Buffer.concat([raw!.email, raw!.name]).toString('latin1').toLowerCase();
    expect(stored).not.toContain('grace@example.org');
    expect(stored).not.toContain('grace hopper');
  });

  it('treats a filled honeypot as success and stores nothing', async () => {
    const { agent, token } = await openSigningForm(t.app);
    await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, website: 'buy now', ...validSignature() })
      .expect(303);
    expect(await rows()).toHaveLength(0);
  });

  it('carries ?source= from the page link into the stored signature', async () => {
    const { agent, token, page } = await openSigningForm(
      t.app,
      '/campaigns/ban-facial-recognition?source=partner-x',
    );
    expect(page.text).toContain('name="source" value="partner-x"');
    await agent
      .post(action)
      .type('form')
      .send({ _csrf: token, source: 'partner-x', ...validSignature() })
      .expect(303);
    expect((await rows())[0]!.source).toBe('partner-x');
  });
});
