import { z } from 'zod';

export interface GeocodedAddress {
  lat: number;
  lng: number;
  matchedAddress: string;
  city?: string;
  /** USPS two-letter code. */
  state?: string;
  /** Five digits. */
  zip?: string;
}

export interface Geocoder {
  readonly name: string;
  /** Null when the service answered but found no match; rejects with GeocoderUnavailableError otherwise. */
  geocode(address: string): Promise<GeocodedAddress | null>;
}

/** The service could not be asked or gave no usable answer; callers fall back to the ZIP. Never names the address. */
export class GeocoderUnavailableError extends Error {
  override readonly name = 'GeocoderUnavailableError';
}

const component = z.string().nullish();

const censusResponse = z.object({
  result: z.object({
    addressMatches: z.array(
      z.object({
        matchedAddress: z.string(),
        coordinates: z.object({ x: z.number().min(-180).max(180), y: z.number().min(-90).max(90) }),
        addressComponents: z
          .object({ city: component, state: component, zip: component })
          .nullish(),
      }),
    ),
  }),
});

/** The US Census Bureau's geocoder: free, no key, US addresses only. */
export class CensusGeocoder implements Geocoder {
  readonly name = 'census';
  private readonly url: string;
  private readonly timeoutMs: number;

  constructor(options: { url: string; timeoutMs: number }) {
    this.url = options.url;
    this.timeoutMs = options.timeoutMs;
  }

  async geocode(address: string): Promise<GeocodedAddress | null> {
    // Census answers a blank address with HTTP 400, which would otherwise read as an outage.
    if (address.trim() === '') return null;
    const url = new URL(`${this.url}/geocoder/locations/onelineaddress`);
    url.search = new URLSearchParams({
      address,
      benchmark: 'Public_AR_Current',
      format: 'json',
    }).toString();

    let body: unknown;
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new GeocoderUnavailableError(`the Census Geocoder answered HTTP ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      if (error instanceof GeocoderUnavailableError) throw error;
      throw new GeocoderUnavailableError(this.describe(error), { cause: error });
    }

    const parsed = censusResponse.safeParse(body);
    if (!parsed.success)
      throw new GeocoderUnavailableError('the Census Geocoder answered in an unexpected shape', {
        cause: parsed.error,
      });
    const match = parsed.data.result.addressMatches[0];
    if (!match) return null;
    const components = match.addressComponents;
    const state = components?.state?.trim().toUpperCase();
    return {
      lat: match.coordinates.y,
      lng: match.coordinates.x,
      matchedAddress: match.matchedAddress,
      city: components?.city?.trim() || undefined,
      state: state && /^[A-Z]{2}$/.test(state) ? state : undefined,
      zip: components?.zip?.trim().match(/^(\d{5})(?:-\d{4})?$/)?.[1],
    };
  }

  private describe(error: unknown): string {
    // By name, not instanceof: fetch's DOMException and SyntaxError may come from another realm.
    const name =
      typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
    if (name === 'TimeoutError')
      return `the Census Geocoder did not answer within ${this.timeoutMs} ms`;
    if (name === 'SyntaxError')
      return 'the Census Geocoder answered with something other than JSON';
    return 'the Census Geocoder could not be reached';
  }
}

export function createGeocoder(config: {
  provider: 'none' | 'census';
  url: string;
  timeoutMs: number;
}): Geocoder | undefined {
  switch (config.provider) {
    case 'none':
      return undefined;
    case 'census':
      return new CensusGeocoder(config);
  }
}
