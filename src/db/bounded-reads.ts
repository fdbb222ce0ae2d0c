import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Reads that must not run unbounded (the staff console's reports). On PostgreSQL the server
 * cancels a statement that runs past its timeout (`DatabaseHandle.staffDb`). PGlite is one
 * connection in this process and has no timer that can stop a statement, so long reads there are
 * cut into pages by their callers: each page is a short statement, other requests run between
 * pages (`ReadDeadline.nextPage`), and the whole read gives up once its time is spent.
 */

/** A read stopped for running too long: a statement cancelled by PostgreSQL, or a paged read past its deadline. */
export class ReadTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`the read took longer than ${ms} ms and was stopped`);
  }
}

/** PostgreSQL's `query_canceled`: what a statement timeout raises. */
const QUERY_CANCELED = '57014';

/** Whether an error is a read stopped for running too long (looking through Drizzle's wrapping `cause`). */
export function isReadTimeout(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  if (error instanceof ReadTimeoutError) return true;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return code === QUERY_CANCELED || isReadTimeout(cause, depth + 1);
}

/** A read in pages that may take `ms` in all, and stops when `signal` aborts (the browser went away). */
export class ReadDeadline {
  private readonly started = performance.now();

  constructor(
    readonly ms: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Between two pages: lets other work run first, then throws once the time is spent or the read was abandoned. */
  async nextPage(): Promise<void> {
    await nextTurn();
    this.signal?.throwIfAborted();
    if (performance.now() - this.started > this.ms) throw new ReadTimeoutError(this.ms);
  }
}
