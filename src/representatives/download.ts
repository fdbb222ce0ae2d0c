import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { fiftyStates } from './us-states';

/**
 * `data:import --download`: fetches the representative data from its publishers into a directory
 * laid out as the importer expects. Officials come from the publishers' current files; district
 * shapes and ZIP tables from fixed commits, which change only with redistricting. The Census →
 * Open States crosswalk is not published anywhere, so the importer matches districts by number
 * and name instead, and computes the district at each ZIP's centre from the polygons.
 */

const RAW = 'https://raw.githubusercontent.com';
const SLD_SHAPES = `${RAW}/w85kramer/elections/1199cdc5c57a93db22c03c9c36764b7ded4638f9/site/data/geo`;

const STATES = [...fiftyStates];

export interface Download {
  url: string;
  /** Where it goes, relative to the download directory. */
  to: string;
}

export const DOWNLOADS: readonly Download[] = [
  {
    url: 'https://unitedstates.github.io/congress-legislators/legislators-current.yaml',
    to: 'congress/legislators-current.yaml',
  },
  {
    url: 'https://unitedstates.github.io/congress-legislators/legislators-district-offices.yaml',
    to: 'congress/legislators-district-offices.yaml',
  },
  {
    url: 'https://github.com/openstates/people/archive/refs/heads/main.tar.gz',
    to: 'state_legislators/openstates-people-main.tar.gz',
  },
  {
    url: `${RAW}/rivie13/TrackAmerica/787de5738bd972c3abe5ca0a3704010c9907fef4/assets/maps/districts/us-congressional-districts-119.topojson`,
    to: 'boundaries/cd119_500k.topojson',
  },
  ...STATES.map((state) => ({
    url: `${SLD_SHAPES}/${state}_upper.json`,
    to: `boundaries/sldu/${state}_upper.json`,
  })),
  ...STATES.filter((state) => state !== 'NE').map((state) => ({
    url: `${SLD_SHAPES}/${state}_lower.json`,
    to: `boundaries/sldl/${state}_lower.json`,
  })),
  {
    url: `${RAW}/OpenSourceActivismTech/us-zipcodes-congress/1335b61ff36b6835a25fc63c754070a6148110e7/zccd.csv`,
    to: 'zip_to_district/zccd.csv',
  },
  {
    url: `${RAW}/thecantercompany/state-leg-zips/f687e9c5448e63f40a4238d58e2768182da56741/public/data/districts.json`,
    to: 'zip_to_district/state-leg-zips-districts.json',
  },
  {
    url: `${RAW}/aleszu/census-geo-centroids/8393983fe6f83cb8937a6a27558fe877cf181b3c/zctas_2018.csv`,
    to: 'reference/zctas_2018.csv',
  },
];

/** The officials' files (congress-legislators and Open States): what a refresh fetches again. */
export const OFFICIALS_DOWNLOADS: readonly Download[] = DOWNLOADS.filter(
  ({ to }) => to.startsWith('congress/') || to.startsWith('state_legislators/'),
);

/** A download that failed; its message names the URL without any credentials it carried. */
export class DownloadError extends Error {}

/** A URL as it may be shown and logged: without the user name and password a mirror's may carry. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/**
 * The request for a URL: credentials in it (a mirror behind HTTP basic authentication,
 * `https://user:password@mirror.example`) go in an Authorization header, as fetch will not take
 * them in the URL.
 */
function requestFor(url: string): { url: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url, headers: {} };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  return {
    url: redactUrl(url),
    headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
  };
}

/** With a mirror, `https://host/path` is fetched from `<mirror>/host/path` (for networks that reach the publishers through one). */
export function sourceUrl(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const { host, pathname } = new URL(url);
  return `${mirror.replace(/\/+$/, '')}/${host}${pathname}`;
}

/**
 * Fetches every file (or those of `files`) into `dir`; each is written to a temporary name first,
 * so a failed download leaves no partial file.
 */
export async function downloadRepresentativeData(
  dir: string,
  options: {
    mirror?: string;
    files?: readonly Download[];
    timeoutMs?: number;
    progress?: (file: string, done: number, total: number) => void;
  } = {},
): Promise<void> {
  const files = options.files ?? DOWNLOADS;
  let done = 0;
  for (const item of files) {
    options.progress?.(item.to, done, files.length);
    const request = requestFor(sourceUrl(item.url, options.mirror));
    const target = path.join(dir, item.to);
    mkdirSync(path.dirname(target), { recursive: true });
    let response: Response;
    try {
      response = await fetch(request.url, {
        headers: request.headers,
        signal: AbortSignal.timeout(options.timeoutMs ?? 300_000),
        redirect: 'follow',
      });
    } catch (error) {
      throw new DownloadError(`${request.url}: ${(error as Error).message}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new DownloadError(`${request.url}: HTTP ${response.status}`);
    }
    const partial = `${target}.part`;
    try {
      await pipeline(
        Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
        createWriteStream(partial),
      );
      renameSync(partial, target);
    } catch (error) {
      rmSync(partial, { force: true });
      throw new DownloadError(`${request.url}: ${(error as Error).message}`);
    }
    done++;
  }
  options.progress?.('done', done, files.length);
}
