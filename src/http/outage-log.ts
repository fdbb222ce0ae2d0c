import type { Logger } from '../logger';

/** What a request could not reach: PostgreSQL, Redis, a service on the network, or anything that timed out. */
export type OutageKind = 'database' | 'redis' | 'network' | 'timeout';

const WHAT: Record<OutageKind, string> = {
  database: 'the database is unavailable',
  redis: 'Redis is unavailable',
  network: 'a service they need cannot be reached',
  timeout: 'a service they need does not answer in time',
};

/** Seconds between an outage's summary lines. */
export const OUTAGE_LOG_INTERVAL_MS = 10_000;

interface Outage {
  /** When the last line was written. */
  since: number;
  /** Requests failed since the last line. */
  failed: number;
  /** The error code of the last of them, if it had one (no message: it may echo a query). */
  code: string | undefined;
  timer: NodeJS.Timeout;
}

/**
 * An outage fails every request that needs the missing service: logging each of them would bury
 * everything else under hundreds of identical lines. So each kind of outage writes one line when it
 * starts (with the first error, for the cause), then at most one line per interval, with how many
 * requests it failed meanwhile; an interval with none ends it, and the next failure starts a new
 * one with a line of its own. Each request still has its access line at debug level. One per
 * process, on the platform's context (`outages`); its timers never keep the process alive.
 */
export class OutageLog {
  private readonly outages = new Map<OutageKind, Outage>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = OUTAGE_LOG_INTERVAL_MS,
  ) {}

  /** A request failed because of an outage of `kind`. */
  failed(kind: OutageKind, error: unknown): void {
    const outage = this.outages.get(kind);
    if (outage) {
      outage.failed++;
      outage.code = codeOf(error) ?? outage.code;
      return;
    }
    this.logger.warn({ err: error, outage: kind }, `requests are failing: ${WHAT[kind]}`);
    this.outages.set(kind, {
      since: Date.now(),
      failed: 0,
      code: undefined,
      timer: this.schedule(kind),
    });
  }

  /** Writes what is counted and not yet logged, and stops the timers (the platform closing). */
  close(): void {
    for (const kind of [...this.outages.keys()]) {
      const outage = this.outages.get(kind)!;
      clearTimeout(outage.timer);
      this.summarise(kind, outage);
      this.outages.delete(kind);
    }
  }

  private schedule(kind: OutageKind): NodeJS.Timeout {
    return setTimeout(() => this.endInterval(kind), this.intervalMs).unref();
  }

  private endInterval(kind: OutageKind): void {
    const outage = this.outages.get(kind);
    if (!outage) return;
    if (outage.failed === 0) {
      this.outages.delete(kind);
      return;
    }
    this.summarise(kind, outage);
    outage.since = Date.now();
    outage.failed = 0;
    outage.code = undefined;
    outage.timer = this.schedule(kind);
  }

  private summarise(kind: OutageKind, outage: Outage): void {
    if (outage.failed === 0) return;
    const seconds = Math.max(1, Math.round((Date.now() - outage.since) / 1000));
    this.logger.warn(
      { outage: kind, failed: outage.failed, seconds, code: outage.code },
      `requests still failing: ${WHAT[kind]} (${outage.failed} more in ${seconds} s)`,
    );
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
