import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../src/cli';
import { openDatabase, type DatabaseHandle } from '../src/db/client';
import { projectRoot } from '../src/paths';
import { RepresentativeData } from '../src/representatives/districts';
import { importRepresentativeData } from '../src/representatives/import';
import { lookupRepresentatives } from '../src/representatives/lookup';
import { DataError } from '../src/representatives/sources';
import { loadActiveSnapshot } from '../src/representatives/store';

/**
 * `npm run bench:lookup [-- --from <dir> --lookups 100000 --database <postgres-url>]`: imports the
 * representative data bundle (timed whole), loads the active snapshot into memory as the platform
 * does (timed, with the memory it takes), then times random lookups by ZIP and by point through
 * `lookupRepresentatives`, the raw steps under them, and baselines measured in the same run: a
 * plain `Map.get` of the same ZIPs and a brute-force scan of the congressional district boxes for
 * the same points. Without `--database` it uses the embedded PGlite in a temporary folder, removed
 * afterwards; with it, it imports into that database (give it a scratch one: the import replaces
 * the active snapshot there).
 */
const USAGE = 'Usage: npm run bench:lookup [-- --from <dir> --lookups 100000 --database <postgres-url> --seed 1]';
const TARGETS = { importSeconds: 60, zipMedianMs: 0.05, pointMedianMs: 0.5 };
const JITTER_DEGREES = 0.05;
const SCALE = 1e6;

interface Timing {
  label: string;
  /** Nanoseconds per call, in call order. */
  ns: Float64Array;
  /** Nanoseconds for the whole timed loop (timer reads included). */
  wallNs: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
}

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

/** After two full collections a turn apart, so finalizers and freed buffers are counted out. */
async function memory(): Promise<Memory> {
  collect();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  const { rss, heapUsed, arrayBuffers, external } = process.memoryUsage();
  return { rss, heapUsed, arrayBuffers, external };
}

const WARM_UP = 5_000;

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

async function timeAsync(label: string, n: number, call: (i: number) => Promise<unknown>): Promise<Timing> {
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
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! / 1e6;
  return { median: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), perSecond: timing.ns.length / (timing.wallNs / 1e9) };
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value >= 0.01 ? value.toFixed(4) : value.toFixed(5));
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

function table(title: string, rows: Timing[], baseline: Timing): string {
  const base = summary(baseline).median;
  const head =
    `${title.padEnd(40)}${'median ms'.padStart(11)}${'p90 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(9)}` +
    `${'calls/s'.padStart(12)}${'÷ baseline'.padStart(12)}\n`;
  return (
    head +
    rows
      .map((timing) => {
        const s = summary(timing);
        return (
          `  ${timing.label.padEnd(38)}${ms(s.median).padStart(11)}${ms(s.p90).padStart(10)}${ms(s.p99).padStart(10)}${ms(s.max).padStart(9)}` +
          `${int(s.perSecond).padStart(12)}${(timing === baseline ? '1' : (s.median / base).toFixed(1)).padStart(12)}\n`
        );
      })
      .join('')
  );
}

/** Per congressional district, the box around its outer rings, in millionths of a degree. */
function districtBoxes(geometries: Int32Array[]): Int32Array {
  const boxes = new Int32Array(geometries.length * 4);
  geometries.forEach((geometry, d) => {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    let i = 0;
    const polygons = geometry[i++]!;
    for (let polygon = 0; polygon < polygons; polygon++) {
      const rings = geometry[i++]!;
      for (let ring = 0; ring < rings; ring++) {
        const count = geometry[i++]!;
        if (ring === 0) {
          for (let p = 0; p < count; p++) {
            const x = geometry[i + p * 2]!;
            const y = geometry[i + p * 2 + 1]!;
            if (x < minX) minX = x;
            if (x > maxX) maxX = x;
            if (y < minY) minY = y;
            if (y > maxY) maxY = y;
          }
        }
        i += count * 2;
      }
    }
    boxes.set([minX, minY, maxX, maxY], d * 4);
  });
  return boxes;
}

runCli('bench:lookup', async () => {
  let args: { from?: string; lookups: string; database?: string; seed: string };
  try {
    args = parseArgs({
      options: {
        from: { type: 'string' },
        lookups: { type: 'string', default: '100000' },
        database: { type: 'string' },
        seed: { type: 'string', default: '1' },
      },
    }).values as typeof args;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const dir = path.resolve(projectRoot, args.from ?? path.join('..', 'shared', 'data'));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`no representative data folder at ${dir}: give one with --from <dir>. ${USAGE}`);
  }
  const n = Number(args.lookups);
  const seed = Number(args.seed);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--lookups must be a positive whole number, not "${args.lookups}". ${USAGE}`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, not "${args.seed}". ${USAGE}`);

  const out = (text: string) => process.stdout.write(text);
  const cpus = os.cpus();
  out(
    `Representative lookup benchmark, ${new Date().toISOString().slice(0, 10)}: node ${process.version}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${mb(os.totalmem())} RAM\n` +
      `data ${dir}; database ${args.database ? redact(args.database) : 'embedded PGlite (temporary folder)'}; ` +
      `${int(n)} lookups per run, seed ${seed}` +
      `${global.gc ? '' : '; no --expose-gc: memory figures include garbage'}\n\n`,
  );
  const atStart = await memory();

  // 1. The full import, into an empty database.
  const scratch = args.database ? undefined : mkdtempSync(path.join(os.tmpdir(), 'frb-bench-lookup-'));
  let database: DatabaseHandle | undefined;
  try {
    let began = performance.now();
    database = await openDatabase({ databaseUrl: args.database, dataDir: scratch ?? os.tmpdir() });
    await database.migrate();
    const migrateSeconds = (performance.now() - began) / 1000;

    const steps: Array<[string, number]> = [];
    began = performance.now();
    const outcome = await importRepresentativeData(database.db, dir, {
      force: true,
      progress: (step) => steps.push([step, performance.now()]),
    }).catch((error: unknown) => {
      throw error instanceof DataError ? new UsageError(`${error.message}. Nothing was imported.`) : error;
    });
    const importSeconds = (performance.now() - began) / 1000;
    // The reporter names the step it starts: each phase runs from one report to the next.
    const marks: Array<[string, number]> = [['finding and hashing the files', began], ...steps, ['end', performance.now()]];
    const phaseName = (step: string) => (step === 'saving' ? 'writing to the database' : step.startsWith('finding') ? step : `reading ${step}`);
    out(`Import (${database.driver}): ${importSeconds.toFixed(1)} s for ${Object.entries(outcome.counts).map(([k, v]) => `${k} ${int(v)}`).join(', ')}\n`);
    for (let m = 0; m + 1 < marks.length; m++) {
      const [step, at] = marks[m]!;
      if (step !== 'done') out(`  ${phaseName(step).padEnd(38)}${((marks[m + 1]![1] - at) / 1000).toFixed(1).padStart(7)} s\n`);
    }
    out(`  (opening the database and migrating, not counted: ${migrateSeconds.toFixed(1)} s)\n\n`);

    // 2. Loading the active snapshot, as the platform does at start and after each import.
    began = performance.now();
    let snapshot = await loadActiveSnapshot(database.db);
    const querySeconds = (performance.now() - began) / 1000;
    if (!snapshot) throw new Error('no active snapshot after the import');
    const zips = snapshot.zctas.map((zcta) => zcta.zcta);
    const centroids = snapshot.zctas.filter((zcta) => zcta.lat !== null && zcta.lng !== null).map((zcta) => [zcta.lat!, zcta.lng!] as const);
    // The constructor moves the polygons into its layers and drops them from the records: take the boxes first.
    const cdBoxes = districtBoxes(snapshot.districts.flatMap((d) => (d.layer === 'cd' && d.geometry ? [d.geometry] : [])));
    const allBoxes = districtBoxes(snapshot.districts.flatMap((d) => (d.geometry ? [d.geometry] : [])));
    began = performance.now();
    const data = new RepresentativeData(snapshot);
    const buildSeconds = (performance.now() - began) / 1000;
    snapshot = null;
    await database.close();
    database = undefined;
    const loaded = await memory();

    out(`Load: ${(querySeconds + buildSeconds).toFixed(2)} s (reading the snapshot ${querySeconds.toFixed(2)} s, building the index ${buildSeconds.toFixed(2)} s)\n`);
    out(`${'Polygon layers'.padEnd(20)}${'districts'.padStart(11)}${'parts'.padStart(9)}${'points'.padStart(12)}${'compact size'.padStart(14)}\n`);
    const stats = Object.entries(data.layerStats);
    for (const [layer, s] of [...stats, ['total', stats.reduce((t, [, s]) => ({ districts: t.districts + s.districts, parts: t.parts + s.parts, points: t.points + s.points, bytes: t.bytes + s.bytes }), { districts: 0, parts: 0, points: 0, bytes: 0 })] as const]) {
      out(`  ${layer.padEnd(18)}${int(s.districts).padStart(11)}${int(s.parts).padStart(9)}${int(s.points).padStart(12)}${mb(s.bytes).padStart(14)}\n`);
    }
    out(`${'Process memory'.padEnd(36)}${'rss'.padStart(10)}${'heapUsed'.padStart(10)}${'arrayBuffers'.padStart(14)}${'external'.padStart(10)}\n`);
    const memoryRow = (label: string, m: Memory) =>
      `  ${label.padEnd(34)}${mb(m.rss).padStart(10)}${mb(m.heapUsed).padStart(10)}${mb(m.arrayBuffers).padStart(14)}${mb(m.external).padStart(10)}\n`;
    out(memoryRow('at start (baseline)', atStart));
    out(memoryRow('data loaded, database closed', loaded));
    out(
      memoryRow('difference', {
        rss: loaded.rss - atStart.rss,
        heapUsed: loaded.heapUsed - atStart.heapUsed,
        arrayBuffers: loaded.arrayBuffers - atStart.arrayBuffers,
        external: loaded.external - atStart.external,
      }),
    );
    out('\n');

    // 3. Inputs, drawn before any clock starts.
    const random = prng(seed);
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
    let sink = 0;
    const scan = (boxes: Int32Array, lng: number, lat: number) => {
      const x = lng * SCALE;
      const y = lat * SCALE;
      let hits = 0;
      for (let b = 0; b < boxes.length; b += 4) if (x >= boxes[b]! && y >= boxes[b + 1]! && x <= boxes[b + 2]! && y <= boxes[b + 3]!) hits++;
      return hits;
    };

    // 4. By ZIP.
    const zipCounts = { found: 0, notFound: 0, ambiguous: 0 };
    const timer = timeSync('timer alone (hrtime pair, empty call)', n, () => undefined);
    const zipBaseline = timeSync('Map.get of the ZIP (baseline)', n, (i) => (sink += plainMap.get(zipInputs[i]!) ?? 0));
    const zipRaw = timeSync('data.zip()', n, (i) => (sink += data.zip(zipInputs[i]!)?.cd.length ?? 0));
    const zipLookup = await timeAsync('lookupRepresentatives({ zip })', n, async (i) => {
      const answer = await lookupRepresentatives(deps, { zip: zipInputs[i]! });
      if (answer.ok) sink += answer.result.officials.length;
      return answer;
    });
    // Outcomes, counted once outside the clock.
    for (const zip of zipInputs) {
      const answer = await lookupRepresentatives(deps, { zip });
      if (!answer.ok) zipCounts.notFound++;
      else {
        zipCounts.found++;
        if (answer.result.ambiguous) zipCounts.ambiguous++;
      }
    }
    out(table(`By ZIP (${int(n)} random ZCTAs of ${int(zips.length)})`, [timer, zipBaseline, zipRaw, zipLookup], zipBaseline));
    out(`  answered ${int(zipCounts.found)} (${int(zipCounts.ambiguous)} spanning districts, answered with candidates), no districts ${int(zipCounts.notFound)}\n\n`);

    // 5. By point.
    const pointCounts = { noDistrict: 0, noUpper: 0, noLower: 0 };
    const scanCd = timeSync(`box scan, ${int(cdBoxes.length / 4)} CD boxes (baseline)`, n, (i) => (sink += scan(cdBoxes, lngs[i]!, lats[i]!)));
    const scanAll = timeSync(`box scan, all ${int(allBoxes.length / 4)} district boxes`, n, (i) => (sink += scan(allBoxes, lngs[i]!, lats[i]!)));
    const pointRaw = timeSync('data.districtsAt()', n, (i) => (sink += data.districtsAt(lngs[i]!, lats[i]!) ? 1 : 0));
    const pointLookup = await timeAsync('lookupRepresentatives({ lat, lng })', n, async (i) => {
      const answer = await lookupRepresentatives(deps, { lat: lats[i]!, lng: lngs[i]! });
      if (answer.ok) sink += answer.result.officials.length;
      return answer;
    });
    let candidates = 0;
    for (let i = 0; i < n; i++) {
      candidates += scan(cdBoxes, lngs[i]!, lats[i]!);
      const answer = await lookupRepresentatives(deps, { lat: lats[i]!, lng: lngs[i]! });
      if (!answer.ok) pointCounts.noDistrict++;
      else {
        if (!answer.result.districts.stateUpper) pointCounts.noUpper++;
        if (!answer.result.districts.stateLower) pointCounts.noLower++;
      }
    }
    out(table(`By point (${int(n)} ZCTA centroids ± ${JITTER_DEGREES}°)`, [timer, scanCd, scanAll, pointRaw, pointLookup], scanCd));
    out(
      `  no congressional district (404) ${int(pointCounts.noDistrict)}; answered without a state senate district ${int(pointCounts.noUpper)}, ` +
        `without a state house district ${int(pointCounts.noLower)}; CD boxes holding the point: ${(candidates / n).toFixed(2)} on average\n\n`,
    );

    // 6. Targets.
    const zipMedian = summary(zipLookup).median;
    const pointMedian = summary(pointLookup).median;
    out('Targets (informational)\n');
    out(`  ${'full import'.padEnd(26)}${`${importSeconds.toFixed(1)} s`.padStart(12)}  ≤ ${TARGETS.importSeconds} s     ${verdict(importSeconds <= TARGETS.importSeconds)}\n`);
    out(`  ${'ZIP lookup median'.padEnd(26)}${`${ms(zipMedian)} ms`.padStart(12)}  ≤ ${TARGETS.zipMedianMs} ms  ${verdict(zipMedian <= TARGETS.zipMedianMs)}\n`);
    out(`  ${'point lookup median'.padEnd(26)}${`${ms(pointMedian)} ms`.padStart(12)}  ≤ ${TARGETS.pointMedianMs} ms   ${verdict(pointMedian <= TARGETS.pointMedianMs)}\n`);
    if (sink === -1) out('\n'); // Keeps the timed calls' results alive.
  } finally {
    await database?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
});

/** The URL without its password, for the header line. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the given database';
  }
}
