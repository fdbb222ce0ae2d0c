import path from 'node:path';
import request from 'supertest';
import { importCustomTargets } from '../../src/representatives/custom-targets';
import { importRepresentativeData } from '../../src/representatives/import';
import { openSigningForm } from '../helpers/forms';
import { createTestPlatform, type TestPlatform } from '../helpers/platform';

/**
 * The lookup's other doors: a JSON POST that keeps addresses out of URLs, the campaign's custom
 * targets matched by ZIP, state and city, and the page without a geocoder (ZIP and city fields).
 */
const SLUG = 'ban-facial-recognition';
const PAGE = `/campaigns/${SLUG}/representatives`;
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({ LOOKUP_RATE_LIMIT: '100000' });
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
  const campaign = await t.platform.campaigns.bySlug(SLUG);
  const csv = [
    'name,title,email,phone,postal_address,represents',
    'Ana Council,Aurora City Council,ana@aurora.example.org,,,"city:Aurora, CO"',
    'Bo Commission,Police Commission,bo@example.org,,,zips:80010',
    'Cy Statewide,Attorney General,cy@example.org,,,state:CO',
    'Di Elsewhere,Mayor,di@example.org,,,"city:Juneau, AK"',
  ].join('\n');
  expect(await importCustomTargets(t.platform.db, campaign!.id, 'Local', csv)).toEqual({
    ok: true,
    imported: 4,
  });
});
afterAll(() => t.close());

const customNames = (officials: Array<{ office: string; name: string }>) =>
  officials.filter((official) => official.office === 'custom').map((official) => official.name);

describe('POST /api/v1/representatives', () => {
  it('looks up an address sent in the body, with the campaign targets for its ZIP, state and city', async () => {
    const res = await request(t.app)
      .post('/api/v1/representatives')
      .send({ address: '9 Quiet Lane, Aurora, CO 80010', campaign: SLUG })
      .expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ precision: 'zip', geocoding: 'zip-in-address', zip: '80010' });
    expect(customNames(res.body.officials)).toEqual([
      'Ana Council',
      'Bo Commission',
      'Cy Statewide',
    ]);
    const ana = res.body.officials.find(
      (official: { name: string }) => official.name === 'Ana Council',
    );
    expect(ana).toMatchObject({
      office: 'custom',
      title: 'Aurora City Council',
      state: 'CO',
      channels: [{ type: 'email', address: 'ana@aurora.example.org' }],
    });
  });

  it('takes coordinates as JSON numbers', async () => {
    const res = await request(t.app)
      .post('/api/v1/representatives')
      .send({ lat: 39.65, lng: -105.15 })
      .expect(200);
    expect(res.body.precision).toBe('point');
    expect(res.body.districts.congressional.geoid).toBe('0801');
  });

  it('answers a body that is not an object, or a bad field, with 400', async () => {
    const notObject = await request(t.app)
      .post('/api/v1/representatives')
      .set('content-type', 'application/json')
      .send('[1]')
      .expect(400);
    expect(Object.keys(notObject.body.errors)).toEqual(['body']);
    const bad = await request(t.app)
      .post('/api/v1/representatives')
      .send({ zip: 'abc' })
      .expect(400);
    expect(bad.body).toEqual({ errors: { zip: 'Please enter a 5-digit ZIP code.' } });
  });

  it('answers an unknown campaign with 404', async () => {
    await request(t.app)
      .post('/api/v1/representatives')
      .send({ zip: '80010', campaign: 'no-such-campaign' })
      .expect(404);
  });
});

describe('the lookup page without a geocoder', () => {
  it('asks for a ZIP code and, optionally, a city; the city brings in city targets', async () => {
    const { agent, token, page } = await openSigningForm(t.app, PAGE);
    expect(page.text).toContain('id="field-zip"');
    expect(page.text).toContain('id="field-city"');
    expect(page.text).not.toContain('id="field-address"');

    const withCity = await agent
      .post(PAGE)
      .type('form')
      .send({ _csrf: token, zip: '80010', city: 'Aurora, CO' })
      .expect(200);
    expect(withCity.headers['cache-control']).toBe('no-store');
    expect(withCity.text).toContain('Ana Council');
    expect(withCity.text).toContain('Aurora City Council');
    const withoutCity = await agent
      .post(PAGE)
      .type('form')
      .send({ _csrf: token, zip: '80010' })
      .expect(200);
    expect(withoutCity.text).not.toContain('Ana Council');
    expect(withoutCity.text).toContain('Bo Commission');

    const badCity = await agent
      .post(PAGE)
      .type('form')
      .send({ _csrf: token, zip: '80010', city: '<script>' })
      .expect(400);
    expect(badCity.text).toContain('Please enter a city name, like Oakland, CA.');
    expect(badCity.text).not.toContain('<script>');
  });
});
