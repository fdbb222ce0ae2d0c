import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CensusGeocoder,
  createGeocoder,
  GeocoderUnavailableError,
} from '../../src/representatives/geocoder';

const ADDRESS = '1600 Pennsylvania Ave NW, Washington, DC 20500';

const whiteHouse = {
  matchedAddress: '1600 PENNSYLVANIA AVE NW, WASHINGTON, DC, 20500',
  coordinates: { x: -77.03518753691, y: 38.89869893252 },
  tigerLine: { side: 'L', tigerLineId: '76225813' },
  addressComponents: {
    zip: '20500',
    streetName: 'PENNSYLVANIA',
    preType: '',
    city: 'WASHINGTON',
    state: 'DC',
    suffixType: 'AVE',
  },
};

const censusAnswer = (addressMatches: unknown[]) => ({
  result: {
    input: { address: { address: ADDRESS }, benchmark: { benchmarkName: 'Public_AR_Current' } },
    addressMatches,
  },
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(typeof body === 'string' ? body : JSON.stringify(body));
}

let server: Server;
let baseUrl: string;
let handler: Handler;
let requests: URL[];
const pendingTimers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', baseUrl));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  requests = [];
  handler = (_req, res) => sendJson(res, 200, censusAnswer([whiteHouse]));
});

afterAll(async () => {
  for (const timer of pendingTimers) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
});

const geocoder = (timeoutMs = 2000) => new CensusGeocoder({ url: baseUrl, timeoutMs });

async function unavailable(promise: Promise<unknown>): Promise<GeocoderUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GeocoderUnavailableError);
  // The address is personal data: it must not travel in an error that may be logged.
  expect((error as Error).message).not.toContain('Pennsylvania');
  return error as GeocoderUnavailableError;
}

describe('CensusGeocoder', () => {
  it('returns the first match with coordinates and address parts, asking the one-line address endpoint', async () => {
    const second = { ...whiteHouse, coordinates: { x: -70, y: 40 } };
    handler = (_req, res) => sendJson(res, 200, censusAnswer([whiteHouse, second]));

    await expect(geocoder().geocode(ADDRESS)).resolves.toEqual({
      lat: 38.89869893252,
      lng: -77.03518753691,
      matchedAddress: '1600 PENNSYLVANIA AVE NW, WASHINGTON, DC, 20500',
      city: 'WASHINGTON',
      state: 'DC',
      zip: '20500',
    });

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.pathname).toBe('/geocoder/locations/onelineaddress');
    expect(request?.searchParams.get('address')).toBe(ADDRESS);
    expect(request?.searchParams.get('benchmark')).toBe('Public_AR_Current');
    expect(request?.searchParams.get('format')).toBe('json');
    expect(request?.search).not.toMatch(/[ ,]/);
  });

  it('leaves out address parts the service did not give in the expected form', async () => {
    const partial = {
      ...whiteHouse,
      addressComponents: { city: '', state: 'District of Columbia', zip: null },
    };
    handler = (_req, res) => sendJson(res, 200, censusAnswer([partial]));

    const result = await geocoder().geocode(ADDRESS);
    expect(result).toEqual({
      lat: 38.89869893252,
      lng: -77.03518753691,
      matchedAddress: whiteHouse.matchedAddress,
    });
  });

  it('resolves null when the service finds no match', async () => {
    handler = (_req, res) => sendJson(res, 200, censusAnswer([]));
    await expect(geocoder().geocode('1 Nowhere Lane, Atlantis')).resolves.toBeNull();
  });

  it('resolves null for a blank address without asking the service', async () => {
    await expect(geocoder().geocode('   ')).resolves.toBeNull();
    expect(requests).toHaveLength(0);
  });

  it('gives up after timeoutMs when the service does not answer', async () => {
    handler = (_req, res) => {
      const timer = setTimeout(() => sendJson(res, 200, censusAnswer([whiteHouse])), 2000);
      pendingTimers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      });
    };
    const started = performance.now();
    const error = await unavailable(geocoder(200).geocode(ADDRESS));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(error.message).toMatch(/200 ms/);
  });

  it('reports a server error as unavailable', async () => {
    handler = (_req, res) => sendJson(res, 500, { errors: ['internal error'] });
    const error = await unavailable(geocoder().geocode(ADDRESS));
    expect(error.message).toMatch(/500/);
  });

  it('reports a body that is not JSON as unavailable', async () => {
    handler = (_req, res) => sendJson(res, 200, '<html>Service Unavailable</html>');
    const error = await unavailable(geocoder().geocode(ADDRESS));
    expect(error.message).toMatch(/not JSON|other than JSON/);
  });

  it.each([
    ['no result', {}],
    ['no match list', { result: { input: {} } }],
    [
      'coordinates as text',
      censusAnswer([{ ...whiteHouse, coordinates: { x: '-77.03', y: '38.89' } }]),
    ],
    [
      'coordinates off the globe',
      censusAnswer([{ ...whiteHouse, coordinates: { x: -77, y: 138 } }]),
    ],
    ['a match without its address', censusAnswer([{ coordinates: whiteHouse.coordinates }])],
  ])('reports a JSON body of the wrong shape (%s) as unavailable', async (_case, body) => {
    handler = (_req, res) => sendJson(res, 200, body);
    await unavailable(geocoder().geocode(ADDRESS));
  });

  it('reports a service that cannot be reached as unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await unavailable(
      new CensusGeocoder({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 }).geocode(ADDRESS),
    );
    expect(error.message).toMatch(/could not be reached/);
  });
});

describe('createGeocoder', () => {
  it('returns no geocoder when the provider is none', () => {
    expect(
      createGeocoder({
        provider: 'none',
        url: 'https://geocoding.geo.census.gov',
        timeoutMs: 3000,
      }),
    ).toBeUndefined();
  });

  it('returns the Census geocoder when asked for it', () => {
    const census = createGeocoder({
      provider: 'census',
      url: 'https://geocoding.geo.census.gov',
      timeoutMs: 3000,
    });
    expect(census).toBeInstanceOf(CensusGeocoder);
    expect(census?.name).toBe('census');
  });
});
