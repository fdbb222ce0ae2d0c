import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../src/cli';
import { configFromProcess } from '../src/config';
import { openDatabase, type DatabaseHandle } from '../src/db/client';
import { projectRoot } from '../src/paths';
import { RepresentativeData } from '../src/representatives/districts';
import type { LayerStats } from '../src/representatives/geometry';
import { importRepresentativeData } from '../src/representatives/import';
import { lookupRepresentatives } from '../src/representatives/lookup';
import { DataError, type ZctaRecord } from '../src/representatives/sources';
import { loadActiveSnapshot } from '../src/representatives/store';

/**
 * `npm run bench:lookup [-- --from <dir> --lookups 100000 --database <postgres-url>]`: imports the
 * representative data bundle into an empty database (timed whole), loads the active snapshot into
 * memory as the platform does (timed, with the memory it keeps), then times random lookups by ZIP
 * and by point through `lookupRepresentatives`, the raw steps under them, and baselines measured
 * in the same run: a plain `Map.get` of the same ZIPs, and a brute-force scan of the congressional
 * district boxes (no R-tree) for the same points.
 *
 * Without `--database` it uses the embedded PGlite in a temporary folder, removed afterwards. With
 * it, it migrates and imports into that database and creates none: give it a scratch one, since
 * the import replaces the active snapshot there.
 */
const USAGE =
  'Usage: npm run bench:lookup [-- --from <dir> --lookups 100000 --database <postgres-url> --seed 1]';
const TARGETS = { importSeconds: 60, zipMedianMs: 0.05, pointMedianMs: 0.5 };
/** Points are ZCTA centroids moved by up to this much in latitude and in longitude. */
const JITTER_DEGREES = 0.05;
/** Calls made before each timed run, untimed, so the JIT has compiled what it measures. */
const WARM_UP = 5_000;
/** Coordinates in the polygon layers are millionths of a degree. */
const SCALE = 1e6;

interface Timing {
  label: string;
  /** Nanoseconds per call, in call order. */
  ns: Float64Array;
  /** Nanoseconds for the whole timed loop, timer reads included. */
  wallNs: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
}

type Cell = [text: string, width: number];

const out = (text: string) => process.stdout.write(text);
/** One table line: the first cell left-aligned in its width, the others right-aligned in theirs. */
const line = ([first, width]: Cell, ...rest: Cell[]) =>
  `${first.padEnd(width)}${rest.map(([text, w]) => text.padStart(w)).join('')}\n`;
const ms = (value: number) =>
  value.toFixed(value >= 100 ? 0 : value >= 1 ? 2 : value >= 0.01 ? 4 : 5);
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const seconds = (since: number) => (performance.now() - since) / 1000;

/** mulberry32: small, fast and seeded, so two runs draw the same ZIPs and points. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const collect = () => global.gc?.();

/** After two full collections a turn apart, so that buffers freed by finalizers are gone too. */
async function memory(): Promise<Memory> {
  collect();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  const { rss, heapUsed, arrayBuffers, external } = process.memoryUsage();
  return { rss, heapUsed, arrayBuffers, external };
}

function timeSync(label: string, n: number, call: (i: number) => unknown): Timing {
  for (let i = 0; i < Math.min(n, WARM_UP); i++) call(i);
  collect();
  const ns = new Float64Array(n);
  const began = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    call(i);
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return { label, ns, wallNs: Number(process.hrtime.bigint() - began) };
}

async function timeAsync(
  label: string,
  n: number,
  call: (i: number) => Promise<unknown>,
): Promise<Timing> {
  for (let i = 0; i < Math.min(n, WARM_UP); i++) await call(i);
  collect();
  const ns = new Float64Array(n);
  const began = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return { label, ns, wallNs: Number(process.hrtime.bigint() - began) };
}

function summary(timing: Timing) {
  const sorted = Float64Array.from(timing.ns).sort();
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! / 1e6;
  return {
    median: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: at(1),
    perSecond: timing.ns.length / (timing.wallNs / 1e9),
  };
}

function printTimings(title: string, rows: Timing[], baseline: Timing): void {
  const base = summary(baseline).median;
  out(
    line(
      [title, 42],
      ['median ms', 11],
      ['p90 ms', 10],
      ['p99 ms', 10],
      ['max ms', 9],
      ['calls/s', 12],
      ['÷ baseline', 12],
    ),
  );
  for (const timing of rows) {
    const s = summary(timing);
    const ratio = s.median / base;
    out(
      line(
        [`  ${timing.label}`, 42],
        [ms(s.median), 11],
        [ms(s.p90), 10],
        [ms(s.p99), 10],
        [ms(s.max), 9],
        [int(s.perSecond), 12],
        [timing === baseline ? '1' : ratio.toFixed(ratio < 1 ? 2 : 1), 12],
      ),
    );
  }
}

/** Per district, the box around its outer rings, in millionths of a degree: minX, minY, maxX, maxY. */
function districtBoxes(geometries: Int32Array[]): Int32Array {
  const boxes = new Int32Array(geometries.length * 4);
  geometries.forEach((geometry, d) => {
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    let i = 0;
    const polygons = geometry[i++]!;
    for (let polygon = 0; polygon < polygons; polygon++) {
      const rings = geometry[i++]!;
      for (let ring = 0; ring < rings; ring++) {
        const count = geometry[i++]!;
        for (let p = 0; ring === 0 && p < count; p++) {
          const x = geometry[i + p * 2]!;
          const y = geometry[i + p * 2 + 1]!;
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
        i += count * 2;
      }
    }
    boxes.set([minX, minY, maxX, maxY], d * 4);
  });
  return boxes;
}

/** How many of the boxes hold the point: the brute-force candidate search, without an index. */
function scanBoxes(boxes: Int32Array, lng: number, lat: number): number {
  const x = lng * SCALE;
  const y = lat * SCALE;
  let hits = 0;
  for (let b = 0; b < boxes.length; b += 4) {
    if (x >= boxes[b]! && y >= boxes[b + 1]! && x <= boxes[b + 2]! && y <= boxes[b + 3]!) hits++;
  }
  return hits;
}

/**
 * The ZIPs and the centroids to draw from, in ZIP order: the rows come from the database in no set
 * order, and the seeded draws must pick the same ZIPs and points on every run and either driver.
 */
function drawingPools(zctas: readonly ZctaRecord[]): {
  zips: string[];
  centroids: Array<readonly [lat: number, lng: number]>;
} {
  const sorted = zctas.slice().sort((a, b) => (a.zcta < b.zcta ? -1 : a.zcta > b.zcta ? 1 : 0));
  return {
    zips: sorted.map((zcta) => zcta.zcta),
    centroids: sorted.flatMap((zcta) =>
      zcta.lat !== null && zcta.lng !== null ? [[zcta.lat, zcta.lng] as const] : [],
    ),
  };
}

function parseArguments() {
  let values: { from?: string; lookups: string; database?: string; seed: string };
  try {
    values = parseArgs({
      options: {
        from: { type: 'string' },
        lookups: { type: 'string', default: '100000' },
        database: { type: 'string' },
        seed: { type: 'string', default: '1' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const dir = values.from
    ? path.resolve(values.from)
    : (configFromProcess().repDataDir ?? path.resolve(projectRoot, '..', 'shared', 'data'));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      `no representative data folder at ${dir}: give one with --from <dir>. ${USAGE}`,
    );
  }
  const lookups = Number(values.lookups);
  const seed = Number(values.seed);
  if (!Number.isInteger(lookups) || lookups < 1)
    throw new UsageError(`--lookups must be a positive whole number, not "${values.lookups}"`);
  if (!Number.isInteger(seed))
    throw new UsageError(`--seed must be a whole number, not "${values.seed}"`);
  return { dir, lookups, seed, database: values.database };
}

/** The URL without its password, for the header. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the given database';
  }
}

/** The full import, with where its time went (the progress reporter names each step as it starts). */
async function timeImport(database: DatabaseHandle, dir: string): Promise<number> {
  const marks: Array<[string, number]> = [['finding and hashing the files', performance.now()]];
  const began = performance.now();
  const progress = (step: string) => marks.push([step, performance.now()]);
  const outcome = await importRepresentativeData(database.db, dir, { force: true, progress }).catch(
    (error: unknown) => {
      throw error instanceof DataError
        ? new UsageError(`${error.message}. Nothing was imported.`)
        : error;
    },
  );
  const took = seconds(began);
  marks.push(['end', performance.now()]);
  out(`Import into ${database.driver === 'pg' ? 'PostgreSQL' : 'PGlite'}: ${took.toFixed(1)} s\n`);
  for (let m = 0; m + 1 < marks.length; m++) {
    const [step, at] = marks[m]!;
    if (step === 'done') continue;
    const phase =
      step === 'saving'
        ? 'writing to the database'
        : step.startsWith('finding')
          ? step
          : `reading ${step}`;
    out(line([`  ${phase}`, 40], [`${((marks[m + 1]![1] - at) / 1000).toFixed(1)} s`, 9]));
  }
  const counts = Object.entries(outcome.counts).map(([name, count]) => `${name} ${int(count)}`);
  out(`  counts: ${counts.slice(0, 5).join(', ')},\n          ${counts.slice(5).join(', ')}\n`);
  return took;
}

function printMemory(atStart: Memory, loaded: Memory, layers: Record<string, LayerStats>): void {
  const total: LayerStats = { districts: 0, parts: 0, points: 0, bytes: 0 };
  for (const s of Object.values(layers)) {
    total.districts += s.districts;
    total.parts += s.parts;
    total.points += s.points;
    total.bytes += s.bytes;
  }
  out(
    line(
      ['Polygon layers', 20],
      ['districts', 11],
      ['parts', 9],
      ['points', 12],
      ['compact size', 14],
    ),
  );
  for (const [layer, s] of [...Object.entries(layers), ['total', total] as const]) {
    out(
      line(
        [`  ${layer}`, 20],
        [int(s.districts), 11],
        [int(s.parts), 9],
        [int(s.points), 12],
        [mb(s.bytes), 14],
      ),
    );
  }
  const row = (label: string, m: Memory) =>
    line(
      [`  ${label}`, 36],
      [mb(m.rss), 10],
      [mb(m.heapUsed), 10],
      [mb(m.arrayBuffers), 14],
      [mb(m.external), 10],
    );
  const title = `Process memory${global.gc ? ', after a full GC' : ' (no --expose-gc: garbage included)'}`;
  out(line([title, 36], ['rss', 10], ['heapUsed', 10], ['arrayBuffers', 14], ['external', 10]));
  out(row('at start (baseline)', atStart));
  out(row('data loaded, database closed', loaded));
  out(
    row('difference', {
      rss: loaded.rss - atStart.rss,
      heapUsed: loaded.heapUsed - atStart.heapUsed,
      arrayBuffers: loaded.arrayBuffers - atStart.arrayBuffers,
      external: loaded.external - atStart.external,
    }),
  );
  const kept = loaded.heapUsed + loaded.arrayBuffers - atStart.heapUsed - atStart.arrayBuffers;
  out(
    `  the data keeps ${mb(kept)} (heapUsed + arrayBuffers); rss also holds what the import used and V8 has not returned\n\n`,
  );
}

runCli('bench:lookup', async () => {
  const args = parseArguments();
  const n = args.lookups;
  const cpus = os.cpus();
  out(
    `Representative lookup benchmark, ${new Date().toISOString().slice(0, 10)}: node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM\n` +
      `data ${args.dir}\ndatabase ${args.database ? redact(args.database) : 'embedded PGlite in a temporary folder'}\n` +
      `${int(n)} lookups per run after ${int(Math.min(n, WARM_UP))} untimed, seed ${args.seed}\n\n`,
  );
  const atStart = await memory();

  const scratch = args.database
    ? undefined
    : mkdtempSync(path.join(os.tmpdir(), 'frb-bench-lookup-'));
  let database: DatabaseHandle | undefined;
  try {
    // 1. The full import, into an empty database.
    let began = performance.now();
    database = await openDatabase({ databaseUrl: args.database, dataDir: scratch ?? os.tmpdir() });
    await database.migrate();
    const migrateSeconds = seconds(began);
    const importSeconds = await timeImport(database, args.dir);
    out(
      `  (opening the database and migrating it, not counted: ${migrateSeconds.toFixed(1)} s)\n\n`,
    );

    // 2. Loading the active snapshot, as the platform does at start and after each import.
    began = performance.now();
    let snapshot = await loadActiveSnapshot(database.db);
    const readSeconds = seconds(began);
    if (!snapshot) throw new Error('no active snapshot after the import');
    const { zips, centroids } = drawingPools(snapshot.zctas);
    // The constructor moves the polygons into its layers and drops them from the records: take the boxes first.
    const cdBoxes = districtBoxes(
      snapshot.districts.flatMap((d) => (d.layer === 'cd' && d.geometry ? [d.geometry] : [])),
    );
    const allBoxes = districtBoxes(
      snapshot.districts.flatMap((d) => (d.geometry ? [d.geometry] : [])),
    );
    began = performance.now();
    const data = new RepresentativeData(snapshot);
    const buildSeconds = seconds(began);
    snapshot = null;
    await database.close();
    database = undefined;
    const loaded = await memory();
    out(
      `Load: ${(readSeconds + buildSeconds).toFixed(2)} s ` +
        `(reading the snapshot ${readSeconds.toFixed(2)} s, building the index ${buildSeconds.toFixed(2)} s)\n`,
    );
    printMemory(atStart, loaded, data.layerStats);

    // 3. Inputs, drawn before any clock starts.
    const random = prng(args.seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const zipInputs = Array.from({ length: n }, () => pick(zips));
    const lats = new Float64Array(n);
    const lngs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const [lat, lng] = pick(centroids);
      lats[i] = lat + (random() * 2 - 1) * JITTER_DEGREES;
      lngs[i] = lng + (random() * 2 - 1) * JITTER_DEGREES;
    }
    const plainMap = new Map(zips.map((zip, i) => [zip, i]));
    const deps = { data };
    /** Every timed call adds to it, so that no result is unused. */
    let sink = 0;

    // 4. By ZIP.
    const timer = timeSync('timer alone (hrtime pair, empty call)', n, () => undefined);
    const zipBaseline = timeSync(
      'Map.get of the ZIP (baseline)',
      n,
      (i) => (sink += plainMap.get(zipInputs[i]!) ?? 0),
    );
    const zipRaw = timeSync(
      'data.zip()',
      n,
      (i) => (sink += data.zip(zipInputs[i]!)?.cd.length ?? 0),
    );
    const zipLookup = await timeAsync('lookupRepresentatives({ zip })', n, async (i) => {
      const answer = await lookupRepresentatives(deps, { zip: zipInputs[i]! });
      if (answer.ok) sink += answer.result.officials.length;
    });
    const zipCounts = { found: 0, notFound: 0, ambiguous: 0 };
    for (const zip of zipInputs) {
      const answer = await lookupRepresentatives(deps, { zip });
      if (!answer.ok) zipCounts.notFound++;
      else zipCounts[answer.result.ambiguous ? 'ambiguous' : 'found']++;
    }
    printTimings(
      `By ZIP: ${int(n)} of ${int(zips.length)} ZCTAs`,
      [timer, zipBaseline, zipRaw, zipLookup],
      zipBaseline,
    );
    out(
      `  one district set ${int(zipCounts.found)}, several (answered with candidates) ${int(zipCounts.ambiguous)}, ` +
        `no district ${int(zipCounts.notFound)}\n\n`,
    );

    // 5. By point.
    const scan = (boxes: Int32Array) => (i: number) =>
      (sink += scanBoxes(boxes, lngs[i]!, lats[i]!));
    const scanCd = timeSync(
      `box scan, ${cdBoxes.length / 4} CD boxes (baseline)`,
      n,
      scan(cdBoxes),
    );
    const scanAll = timeSync(`box scan, all ${int(allBoxes.length / 4)} boxes`, n, scan(allBoxes));
    const pointRaw = timeSync(
      'data.districtsAt()',
      n,
      (i) => (sink += data.districtsAt(lngs[i]!, lats[i]!) ? 1 : 0),
    );
    const pointLookup = await timeAsync('lookupRepresentatives({ lat, lng })', n, async (i) => {
      const answer = await lookupRepresentatives(deps, { lat: lats[i]!, lng: lngs[i]! });
      if (answer.ok) sink += answer.result.officials.length;
    });
    const pointCounts = { noDistrict: 0, noUpper: 0, noLower: 0, cdBoxHits: 0 };
    for (let i = 0; i < n; i++) {
      pointCounts.cdBoxHits += scanBoxes(cdBoxes, lngs[i]!, lats[i]!);
      const answer = await lookupRepresentatives(deps, { lat: lats[i]!, lng: lngs[i]! });
      if (!answer.ok) pointCounts.noDistrict++;
      else {
        if (!answer.result.districts.stateUpper) pointCounts.noUpper++;
        if (!answer.result.districts.stateLower) pointCounts.noLower++;
      }
    }
    printTimings(
      `By point: ${int(n)} ZCTA centroids ± ${JITTER_DEGREES}°`,
      [timer, scanCd, scanAll, pointRaw, pointLookup],
      scanCd,
    );
    out(
      `  no district found (404) ${int(pointCounts.noDistrict)}; answered without a state senate district ` +
        `${int(pointCounts.noUpper)}, without a state house district ${int(pointCounts.noLower)}\n` +
        `  CD boxes holding a point: ${(pointCounts.cdBoxHits / n).toFixed(2)} on average\n\n`,
    );

    // 6. Targets (informational: the exit code is 0 either way).
    const zipMedian = summary(zipLookup).median;
    const pointMedian = summary(pointLookup).median;
    const target = (label: string, value: string, limit: string, met: boolean) =>
      line([`  ${label}`, 24], [value, 12], [`≤ ${limit}`, 12], [met ? 'PASS' : 'MISS', 6]);
    out('Targets (informational)\n');
    out(
      target(
        'full import',
        `${importSeconds.toFixed(1)} s`,
        `${TARGETS.importSeconds} s`,
        importSeconds <= TARGETS.importSeconds,
      ),
    );
    out(
      target(
        'ZIP lookup median',
        `${ms(zipMedian)} ms`,
        `${TARGETS.zipMedianMs} ms`,
        zipMedian <= TARGETS.zipMedianMs,
      ),
    );
    out(
      target(
        'point lookup median',
        `${ms(pointMedian)} ms`,
        `${TARGETS.pointMedianMs} ms`,
        pointMedian <= TARGETS.pointMedianMs,
      ),
    );
    if (sink < 0) out('\n');
  } finally {
    await database?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
});
