import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm';
import { accessLogLevel, unavailableService } from '../../src/http/errors';
import { OutageLog } from '../../src/http/outage-log';
import { createLogger } from '../../src/logger';
import { TimeoutError } from '../../src/time-limit';

/**
 * An outage is logged as one line when it starts and one line per interval while it lasts, per
 * kind of outage, however many requests it fails (the web process once wrote 870 lines in 10.8 s,
 * one per 503). Driven by Jest's clock: no real waiting.
 */
interface Line {
  level: number;
  msg: string;
  outage?: string;
  failed?: number;
  err?: { message?: string };
}

function capturedLogger() {
  const lines: Line[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Line);
        done();
      },
    }),
  );
  return { logger, lines };
}

const INTERVAL = 10_000;
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
  code: 'ECONNREFUSED',
});
const shuttingDown = Object.assign(
  new Error('terminating connection due to administrator command'),
  { code: '57P01' },
);
const redisDown = new Error("Stream isn't writeable and enableOfflineQueue options is false");

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('OutageLog', () => {
  it('writes one line as an outage starts, then one per interval with the count, per kind', () => {
    const { logger, lines } = capturedLogger();
    const outages = new OutageLog(logger, INTERVAL);
    // 870 requests failed by the database in 10.8 s, 120 by Redis meanwhile.
    for (let i = 0; i < 870; i++) {
      outages.failed('database', shuttingDown);
      if (i % 7 === 0 && i < 840) outages.failed('redis', redisDown);
      jest.advanceTimersByTime(10_800 / 870);
    }
    expect(lines.map((line) => [line.outage, line.failed ?? 'first'])).toEqual([
      ['database', 'first'],
      ['redis', 'first'],
      ['database', expect.any(Number)],
      ['redis', expect.any(Number)],
    ]);
    // The first line carries the cause; none repeats it.
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'requests are failing: the database is unavailable',
      err: { message: shuttingDown.message },
    });
    expect(lines[1]!.msg).toBe('requests are failing: Redis is unavailable');

    // The rest of the outage comes in the next interval's line, and every failure is counted once.
    jest.advanceTimersByTime(INTERVAL);
    const counted = (kind: string) =>
      lines
        .filter((line) => line.outage === kind)
        .reduce((sum, line) => sum + (line.failed ?? 1), 0);
    expect(counted('database')).toBe(870);
    expect(counted('redis')).toBe(120);
    // Two lines per kind in 10.8 s: as it started, after 10 s; then the last 0.8 s's.
    expect(lines.map((line) => line.outage)).toEqual([
      'database',
      'redis',
      'database',
      'redis',
      'database',
      'redis',
    ]);
    expect(lines.every((line) => line.level === 40)).toBe(true);
    expect(lines[4]!.msg).toMatch(
      /^requests still failing: the database is unavailable \(\d+ more in \d+ s\)$/,
    );

    // A quiet interval ends the outage: nothing more is written, and the next failure starts a new one.
    jest.advanceTimersByTime(5 * INTERVAL);
    expect(lines.length).toBe(6);
    outages.failed('database', refused);
    expect(lines.length).toBe(7);
    expect(lines.at(-1)).toMatchObject({
      outage: 'database',
      msg: 'requests are failing: the database is unavailable',
    });
  });

  it('writes what it counted when the platform closes', () => {
    const { logger, lines } = capturedLogger();
    const outages = new OutageLog(logger, INTERVAL);
    for (let i = 0; i < 5; i++) outages.failed('redis', redisDown);
    outages.close();
    expect(lines.map((line) => line.failed ?? 'first')).toEqual(['first', 4]);
    jest.advanceTimersByTime(3 * INTERVAL);
    expect(lines.length).toBe(2);
  });

  it('keeps apart the outages of two platforms in one process (its state is its own)', () => {
    const first = capturedLogger();
    const second = capturedLogger();
    const a = new OutageLog(first.logger, INTERVAL);
    const b = new OutageLog(second.logger, INTERVAL);
    a.failed('database', shuttingDown);
    b.failed('database', shuttingDown);
    expect([first.lines.length, second.lines.length]).toEqual([1, 1]);
    a.close();
    b.close();
  });
});

describe('what kind of outage an error is', () => {
  it.each([
    [shuttingDown, 'database'],
    [Object.assign(new Error('x'), { code: '08006' }), 'database'],
    [new Error('Connection terminated unexpectedly'), 'database'],
    [new Error('wrapped', { cause: shuttingDown }), 'database'],
    [redisDown, 'redis'],
    [Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }), 'redis'],
    [refused, 'network'],
    [new AggregateError([refused]), 'network'],
    [new DrizzleQueryError('select 1', [], refused), 'database'],
    [new TimeoutError('timed out after 5000 ms'), 'timeout'],
    [Object.assign(new Error('duplicate key'), { code: '23505' }), undefined],
    [new Error('something of ours'), undefined],
  ])('%p is %p', (error, kind) => {
    expect(unavailableService(error)).toBe(kind);
  });

  it("drops an outage's 503 access line to debug, and keeps other errors at error", () => {
    expect(accessLogLevel({ statusCode: 503, locals: { outage: 'database' } }, undefined)).toBe(
      'debug',
    );
    expect(accessLogLevel({ statusCode: 503, locals: {} }, undefined)).toBe('error');
    expect(accessLogLevel({ statusCode: 500, locals: {} }, undefined)).toBe('error');
    expect(accessLogLevel({ statusCode: 200, locals: {} }, undefined)).toBe('info');
  });
});
