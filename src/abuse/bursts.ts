import { z } from 'zod';
import { ReadDeadline } from '../db/bounded-reads';
import type { Database } from '../db/client';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { emailDomain, type FieldEncryption } from '../db/field-encryption';
import { sealedEmailsOf, signatureTracesAfter } from '../petitions/signature-store';

/**
 * Suspicious bursts: times when one IP hash, or one email domain, signed a campaign more than a
 * threshold of times within a short window. Each signature starts a window (it and the same key's
 * signatures up to `window` minutes later); windows over the threshold that overlap make one
 * burst, from its first signature to its last. Nothing here names anyone: an IP hash (truncated
 * on the page) and the part of an address after the `@`. Addresses are sealed in the database, so
 * signatures are grouped by the keyed hash of their domain, and a burst's domain is read from one
 * of its signatures' addresses.
 *
 * Cost: one pass over the period's signatures in time order, read in pages (BURST_PAGE_ROWS)
 * along the (campaign, created_at) index (sorted by id only among those made at the same moment),
 * each signature entering and leaving its keys' windows once: linear in the signatures of the
 * period, however many come from one domain.
 * (The first version computed each window's end in SQL with `max() OVER` a sliding frame, which
 * PostgreSQL recomputes row by row: quadratic in one key's signatures per window, 200 s for
 * 50,000 from one domain in ten minutes, with the embedded process frozen meanwhile.) Between
 * pages other requests run, and the report stops at its deadline (STAFF_STATEMENT_TIMEOUT_MS) with
 * a ReadTimeoutError, so neither the embedded process nor a PostgreSQL connection is held for long.
 */

const whole = (label: string, min: number, max: number, fallback: number) =>
  z.preprocess(
    (value) => (value === undefined || value === '' ? fallback : value),
    z.coerce
      .number({ error: `${label} must be a whole number from ${min} to ${max}.` })
      .int(`${label} must be a whole number from ${min} to ${max}.`)
      .min(min, `${label} must be a whole number from ${min} to ${max}.`)
      .max(max, `${label} must be a whole number from ${min} to ${max}.`),
  );

export const MAX_HOURS = 7 * 24;

/** The report's settings, from the page's query string. */
export const burstQuery = z.object({
  window: whole('The window', 1, 1440, 10),
  ips: whole('The IP threshold', 1, 1_000_000, 10),
  domains: whole('The domain threshold', 1, 1_000_000, 100),
  hours: whole('The period', 1, MAX_HOURS, 24),
});

export type BurstQuery = z.output<typeof burstQuery>;

export function parseBurstQuery(
  query: Record<string, unknown>,
): { ok: true; value: BurstQuery } | { ok: false; errors: FieldErrors; value: BurstQuery } {
  const single = Object.fromEntries(
    ['window', 'ips', 'domains', 'hours'].map((name) => [
      name,
      Array.isArray(query[name]) ? 'not one value' : query[name],
    ]),
  );
  const parsed = burstQuery.safeParse(single);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, errors: fieldErrors(parsed.error), value: burstQuery.parse({}) };
}

export interface Burst {
  kind: 'ip' | 'domain';
  /** The IP hash (whole: the page truncates it) or the email domain. */
  key: string;
  /** The key's signatures in the burst. */
  signatures: number;
  /** The most in any one window. */
  peak: number;
  firstAt: Date;
  lastAt: Date;
  /** Every signature of the campaign between the burst's first and last: how much of that time's traffic it was. */
  allInSpan: number;
}

/**
 * Signatures read per statement. On PGlite a statement holds the whole process: 2,000 rows take it
 * about 30 ms on a quiet machine (measured in bench/README.md). On PostgreSQL the statement runs in
 * the server and each page costs a round trip, so pages are larger; the rows are still parsed and
 * scanned here, in the web process, a page at a time.
 */
export const BURST_PAGE_ROWS = { pglite: 2000, pg: 10_000 } as const;
/** The report lists at most this many bursts, the biggest. */
export const MAX_BURSTS = 200;

export interface FindBurstsOptions {
  now?: Date;
  /** Signatures per statement (BURST_PAGE_ROWS, by database); PGlite's when not given. */
  pageRows?: number;
  limit?: number;
  /** The whole report's budget (STAFF_STATEMENT_TIMEOUT_MS): past it, a ReadTimeoutError between two pages. */
  timeoutMs?: number;
  /** Stops the report between two pages (the browser went away). */
  signal?: AbortSignal;
  /** Told each page's number of signatures as it is read (tests and the benchmark count the work). */
  onPage?: (rows: number) => void;
}

/**
 * The campaign's bursts within the last `hours`, biggest first (at most `limit`). The bound keeps
 * the work proportional to that period's signatures, not the campaign's: the pages are read by
 * `created_at`.
 */
export async function findBursts(
  ctx: { db: Database; encryption: FieldEncryption },
  campaignId: number,
  query: BurstQuery,
  options: FindBurstsOptions = {},
): Promise<Burst[]> {
  const until = options.now ?? new Date();
  const untilMicros = until.getTime() * 1000;
  const detector = new BurstDetector(
    { windowMicros: query.window * 60_000_000, ips: query.ips, domains: query.domains },
    options.limit ?? MAX_BURSTS,
  );
  const deadline = new ReadDeadline(options.timeoutMs ?? Number.POSITIVE_INFINITY, options.signal);
  // The keyset: the (created_at, id) of the last signature read; the first page starts at the period's start.
  let after = { at: untilMicros - query.hours * 3_600_000_000, id: 0 };
  const pageRows = options.pageRows ?? BURST_PAGE_ROWS.pglite;
  for (;;) {
    const rows = await signatureTracesAfter(ctx.db, campaignId, after, untilMicros, pageRows);
    options.onPage?.(rows.length);
    for (const row of rows) detector.add(Number(row.id), Number(row.at), row.ip_hash, row.domain);
    if (rows.length < pageRows) break;
    const last = rows[rows.length - 1]!;
    after = { at: Number(last.at), id: Number(last.id) };
    await deadline.nextPage();
  }
  const found = detector.finish();
  const domains = await burstDomains(ctx, [
    ...new Set(found.filter((burst) => burst.kind === 'domain').map((burst) => burst.sampleId)),
  ]);
  return found.map((burst) => ({
    kind: burst.kind,
    key: burst.kind === 'domain' ? (domains.get(burst.sampleId) ?? '') : burst.key,
    signatures: burst.signatures,
    peak: burst.peak,
    // Microseconds to the milliseconds of a Date.
    firstAt: new Date(Math.floor(burst.firstAt / 1000)),
    lastAt: new Date(Math.floor(burst.lastAt / 1000)),
    allInSpan: burst.allInSpan,
  }));
}

/** The domain of each of these signatures' email addresses, by signature id. */
async function burstDomains(
  ctx: { db: Database; encryption: FieldEncryption },
  signatureIds: number[],
): Promise<Map<number, string>> {
  if (signatureIds.length === 0) return new Map();
  const rows = await sealedEmailsOf(ctx.db, signatureIds);
  return new Map(
    rows.map((row) => [
      Number(row.id),
      emailDomain(ctx.encryption.open('signatures.email', row.email)),
    ]),
  );
}

/** A burst as the detector finds it: times in microseconds, the domain still a hash (`key`) with one signature to name it by. */
export interface DetectedBurst {
  kind: 'ip' | 'domain';
  key: string;
  signatures: number;
  peak: number;
  firstAt: number;
  lastAt: number;
  allInSpan: number;
  /** One of the burst's signatures (the lowest id of those whose window was over the threshold). */
  sampleId: number;
}

/** One IP hash's or domain hash's signatures seen so far, while any of their windows is open. */
interface KeyState {
  kind: 'ip' | 'domain';
  key: string;
  /** Its signatures so far: the last one's position among them (1, 2, ...). */
  count: number;
  lastAt: number;
  /** The last one's position among all the period's signatures. */
  lastG: number;
  /** The position of the first of the signatures at `lastAt` (same-time signatures share their window). */
  lastRank: number;
  /** Its signatures whose window is still open. */
  open: number;
  burst: OpenBurst | undefined;
}

/** A burst still growing: positions and times of its first window's signature and of its last window's end. */
interface OpenBurst {
  firstR: number;
  firstG: number;
  firstAt: number;
  lastR: number;
  lastG: number;
  lastAt: number;
  peak: number;
  sampleId: number;
}

/**
 * Finds bursts in signatures given in (created_at, id) order, in one pass. Each signature opens a
 * window per key (its IP hash, its domain) reaching `windowMicros` ahead; a window closes when the
 * first signature beyond its end arrives (or at the end), and then every signature of its key in
 * it has been seen, so its count is known: the key's count so far, less those before it. A window
 * over the key's threshold joins the key's current burst when it starts before that burst's last
 * window ends, else starts a new one. The windows still open are the signatures of the last
 * `windowMicros`; a key with none open is forgotten (no later window can join its burst).
 * Positions (`r` among the key's signatures, `g` among all) give a burst's size and its share.
 */
export class BurstDetector {
  private readonly keys = { ip: new Map<string, KeyState>(), domain: new Map<string, KeyState>() };
  // The open windows, oldest first, one per signature and key, as columns (a burst of a million
  // signatures in a day-long window is a million entries).
  private readonly windowKey: KeyState[] = [];
  private readonly windowAt: number[] = [];
  private readonly windowR: number[] = [];
  private readonly windowRank: number[] = [];
  private readonly windowG: number[] = [];
  private readonly windowId: number[] = [];
  private head = 0;
  private seen = 0;
  private found: DetectedBurst[] = [];

  constructor(
    private readonly settings: { windowMicros: number; ips: number; domains: number },
    private readonly limit: number,
  ) {}

  /** The next signature: `at` in microseconds, not before the previous one's. */
  add(id: number, at: number, ipHash: string | null, domainHash: string): void {
    this.closeBefore(at - this.settings.windowMicros);
    this.seen++;
    if (ipHash !== null) this.enter('ip', ipHash, id, at);
    this.enter('domain', domainHash, id, at);
  }

  /** The bursts, biggest first, at most `limit`. */
  finish(): DetectedBurst[] {
    this.closeBefore(Number.POSITIVE_INFINITY);
    this.trim();
    return this.found;
  }

  private enter(kind: 'ip' | 'domain', key: string, id: number, at: number) {
    const keys = this.keys[kind];
    let state = keys.get(key);
    if (!state) {
      state = {
        kind,
        key,
        count: 0,
        lastAt: Number.NEGATIVE_INFINITY,
        lastG: 0,
        lastRank: 0,
        open: 0,
        burst: undefined,
      };
      keys.set(key, state);
    }
    state.count++;
    state.lastRank = at === state.lastAt ? state.lastRank : state.count;
    state.lastAt = at;
    state.lastG = this.seen;
    state.open++;
    this.windowKey.push(state);
    this.windowAt.push(at);
    this.windowR.push(state.count);
    this.windowRank.push(state.lastRank);
    this.windowG.push(this.seen);
    this.windowId.push(id);
  }

  /** Closes every open window of a signature made before `limit` (their ends are passed). */
  private closeBefore(limit: number) {
    const end = this.windowAt.length;
    let index = this.head;
    for (; index < end && this.windowAt[index]! < limit; index++) this.close(index);
    this.head = index;
    // Drops the closed entries now and then: each is moved at most once more.
    if (this.head > 65_536 && this.head * 2 > end) {
      for (const column of [
        this.windowKey,
        this.windowAt,
        this.windowR,
        this.windowRank,
        this.windowG,
        this.windowId,
      ])
        column.splice(0, this.head);
      this.head = 0;
    }
  }

  private close(index: number) {
    const state = this.windowKey[index]!;
    const at = this.windowAt[index]!;
    // Every signature of the key seen so far is in this window: those from its first same-time one on.
    const inWindow = state.count - this.windowRank[index]! + 1;
    if (inWindow > (state.kind === 'ip' ? this.settings.ips : this.settings.domains)) {
      const burst = state.burst;
      if (burst && at <= burst.lastAt) {
        burst.lastR = state.count;
        burst.lastG = state.lastG;
        burst.lastAt = state.lastAt;
        burst.peak = Math.max(burst.peak, inWindow);
        burst.sampleId = Math.min(burst.sampleId, this.windowId[index]!);
      } else {
        if (burst) this.emit(state, burst);
        state.burst = {
          firstR: this.windowR[index]!,
          firstG: this.windowG[index]!,
          firstAt: at,
          lastR: state.count,
          lastG: state.lastG,
          lastAt: state.lastAt,
          peak: inWindow,
          sampleId: this.windowId[index]!,
        };
      }
    }
    state.open--;
    if (state.open === 0) {
      if (state.burst) this.emit(state, state.burst);
      this.keys[state.kind].delete(state.key);
    }
  }

  private emit(state: KeyState, burst: OpenBurst) {
    this.found.push({
      kind: state.kind,
      key: state.key,
      signatures: burst.lastR - burst.firstR + 1,
      peak: burst.peak,
      firstAt: burst.firstAt,
      lastAt: burst.lastAt,
      allInSpan: burst.lastG - burst.firstG + 1,
      sampleId: burst.sampleId,
    });
    // Only the biggest `limit` are kept: a low threshold may find a burst in every other signature.
    if (this.found.length >= 4 * this.limit + 1000) this.trim();
  }

  private trim() {
    this.found.sort(
      (a, b) =>
        b.signatures - a.signatures ||
        a.firstAt - b.firstAt ||
        a.kind.localeCompare(b.kind) ||
        a.key.localeCompare(b.key),
    );
    if (this.found.length > this.limit) this.found.length = this.limit;
  }
}
