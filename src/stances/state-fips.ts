import { uspsByFips } from '../representatives/us-states';

const fipsByUsps: ReadonlyMap<string, string> = new Map(
  [...uspsByFips].map(([fips, usps]) => [usps, fips]),
);

/** A state's FIPS code from its USPS code (`CO` → `08`), the first two digits of its districts' GEOIDs. */
export const fipsOf = (usps: string): string | undefined => fipsByUsps.get(usps);
