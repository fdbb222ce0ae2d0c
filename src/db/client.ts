import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { migrationsDir } from '../paths';
import type { EncryptionKeys } from './field-encryption';
import { checkKeys, saveNewKeys } from './key-checks';
import { acquirePidLock } from '../process-lock';
import { forceQuote } from '../text-safety/csv';
import * as schema from './schema';
import { sealPlaintextBeforeMigration } from './seal-plaintext';

import { queryRows, textArray, type Database } from './query';

export { queryRows, textArray, type Database };

/** A query's rows as CSV, from PostgreSQL's COPY, and how many rows it wrote once it is done. */
export interface CopyOut {
  stream: Readable;
  /** Resolves when the COPY has completed; rejects when it failed or the stream was abandoned. */
  rows: Promise<number>;
}

/** CSV (with its header line or not, `quote`: columns whose every value is quoted), or COPY's binary format. */
export type CopyOptions = { header: boolean; quote?: readonly string[] } | { format: 'binary' };

export type MigrateOptions = { reindexing?: boolean; record?: boolean };
/** `sealedRows`: rows from before encryption at rest, sealed now; `keysFile`: new keys written there. */
export type Migrated = { sealedRows: number; keysFile: string | null };

const copyFormat = (options: CopyOptions) =>
  'format' in options
    ? 'FORMAT binary'
    : `FORMAT csv, HEADER ${options.header}${options.quote?.length ? `, ${forceQuote(options.quote)}` : ''}`;

/** What an export reads through: queries, and COPY out on the unbounded pool. */
export type ExportDatabase = Pick<DatabaseHandle, 'db' | 'driver' | 'copyOut'>;

export interface DatabaseHandle {
  db: Database;
  /**
   * What the staff console queries through. On PostgreSQL, a small pool of its own
   * (STAFF_POOL_SIZE connections) on which the server cancels any statement that runs longer than
   * STAFF_STATEMENT_TIMEOUT_MS (SQLSTATE 57014, see db/bounded-reads.ts). On PGlite, `db` itself:
   * it cannot time a statement out, so staff reads that could grow are cut into short pages.
   */
  staffDb: Database;
  driver: 'pglite' | 'pg';
  /**
   * `COPY (<select>) TO STDOUT WITH (FORMAT csv)`: the rows as PostgreSQL writes them, never
   * parsed here; or, with `{ format: 'binary' }`, in COPY's binary format (for BinaryCopyRows, when
   * some fields need work in Node: sealed personal data to open). COPY takes no parameters, so
   * `select` must hold only trusted text and literals. On PostgreSQL the output streams through a
   * pooled connection (pg-copy-streams), with back-pressure: memory stays flat however many rows.
   * PGlite cannot stream COPY: it returns the whole output at once (`TO '/dev/blob'`), so callers
   * bound what one call selects.
   */
  copyOut(select: string, options: CopyOptions): CopyOut;
  /**
   * Runs pending migrations; safe to call from several processes at once. A database from before
   * encryption at rest is sealed with the keys it was opened with (see seal-plaintext.ts); then
   * those keys are checked against the database's (privacy/key-checks.ts), and a mismatch is a
   * KeyMismatchError; keys an embedded installation has just made are written to their file
   * first, if the database has none of its own. `reindexing`: the lookup hash key is about to
   * change, and is not checked; `record: false`: the keys are checked, not recorded.
   * Says what it did that an operator should hear of.
   */
  migrate(options?: MigrateOptions): Promise<Migrated>;
  /**
   * A lock across every process on this database, held until released, for work of which only one
   * may run at a time (a representative data import). On PostgreSQL it is a session advisory lock
   * on a connection of its own: when the holder dies, its connection closes and the server frees
   * the lock at once, so a free lock also says that no live process is doing that work. PGlite
   * is one process's: there it is a lock within the process. `wait: false` answers null at once
   * when another holds it.
   */
  lock(key: number, options: { wait: boolean }): Promise<HeldLock | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** Any value that serialises migrations across processes sharing one database. */
const MIGRATION_LOCK = 4_216_001;

/**
 * A node-postgres pool when a URL is given; otherwise PGlite (PostgreSQL in WASM, in-process)
 * with its files under `<dataDir>/pg`. PGlite is one connection, so everything that uses it must
 * live in this process.
 */
export async function openDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  /** DATABASE_POOL_SIZE: connections per process. */
  databasePoolSize?: number;
  /** STAFF_STATEMENT_TIMEOUT_MS: the longest a statement on `staffDb` may run (PostgreSQL). */
  staffStatementTimeoutMs?: number;
  /** What migrating a database that holds plaintext personal data needs. */
  encryption?: EncryptionKeys;
}): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    return openPostgres(
      options.databaseUrl,
      options.databasePoolSize ?? 10,
      options.encryption,
      options.staffStatementTimeoutMs ?? DEFAULT_STAFF_STATEMENT_TIMEOUT_MS,
    );
  }
  return openPglite(path.join(options.dataDir, 'pg'), options.encryption);
}

/**
 * How long a query may wait for a connection (a free one from the pool, or a new one to the
 * server) before it fails, and its request is answered 503: a database that is down or does not
 * answer must not leave requests hanging.
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 5000;

/** STAFF_STATEMENT_TIMEOUT_MS's default, for the command-line tools that open a database without the config. */
const DEFAULT_STAFF_STATEMENT_TIMEOUT_MS = 10_000;

async function openPostgres(
  url: string,
  poolSize: number,
  keys: EncryptionKeys | undefined,
  staffStatementTimeoutMs: number,
): Promise<DatabaseHandle> {
  const pool = newPool({ connectionString: url, max: poolSize });
  // A pool of its own for the staff console: staff reports cannot take connections from signing
  // (nor signing from staff in a flood), and the server cancels any staff statement that runs past
  // the timeout. node-postgres opens no connection until a query needs one, so a worker process,
  // which serves no staff pages, opens none.
  const staffPool = newPool({
    connectionString: url,
    max: Math.min(STAFF_POOL_SIZE, poolSize),
    statement_timeout: staffStatementTimeoutMs,
    // A transaction left open (a request that died between two statements) holds no locks for long.
    idle_in_transaction_session_timeout: Math.max(staffStatementTimeoutMs, 10_000),
  });
  const db = drizzlePg(pool, { schema }) as unknown as Database;
  return {
    db,
    staffDb: drizzlePg(staffPool, { schema }) as unknown as Database,
    driver: 'pg',
    async migrate(options = {}) {
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        const locked = drizzlePg(client, { schema });
        const keysFile = await saveNewKeys(locked, keys);
        const sealedRows = await sealPlaintextBeforeMigration(locked, keys);
        await migratePg(locked, { migrationsFolder: migrationsDir });
        if (keys) await checkKeys(locked, keys, options);
        return { sealedRows, keysFile };
      } catch (error) {
        failure = error as Error;
        throw error;
      } finally {
        await client
          .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
          .catch(() => undefined);
        // After a failure the connection is closed, not pooled: nothing it made (a temporary table of sealed values) lingers.
        client.release(failure);
      }
    },
    copyOut(select, options) {
      return copyOutOfPool(pool, `COPY (${select}) TO STDOUT WITH (${copyFormat(options)})`);
    },
    async lock(key, { wait }) {
      const client = await pool.connect();
      try {
        if (wait) {
          await client.query('SELECT pg_advisory_lock($1)', [key]);
        } else {
          const { rows } = await client.query<{ locked: boolean }>(
            'SELECT pg_try_advisory_lock($1) AS locked',
            [key],
          );
          if (!rows[0]?.locked) {
            client.release();
            return null;
          }
        }
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          // Closing the connection frees the lock too: when the unlock cannot be sent, close it.
          await client.query('SELECT pg_advisory_unlock($1)', [key]).then(
            () => client.release(),
            (error: Error) => client.release(error),
          );
        },
      };
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await Promise.all([pool.end(), staffPool.end()]);
    },
  };
}

/** Connections the staff console may use at once, per web process, on top of DATABASE_POOL_SIZE. */
export const STAFF_POOL_SIZE = 4;

/** A node-postgres pool that survives connections lost under it (see the comments within). */
function newPool(options: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
    // Notices a server that vanished without closing the connection (a failover, a dropped route).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...options,
  });
  // An idle client that loses its server (restart, failover) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one that is checked out (mid-transaction, between two statements): node-postgres emits the
  // loss as an 'error' event, which with no listener would throw. The statement in progress fails
  // with the same error.
  //
  // And a checked-out client whose connection ends goes back to the pool (which discards it) at
  // once, whatever its holder does: Drizzle's transaction sends BEGIN before its try/finally, so a
  // BEGIN that fails on a lost connection never releases its client, and the pool would count it
  // as busy forever, one fewer connection after each outage until no request could get one. The
  // holder's own release, if it comes, then does nothing.
  const checkedOut = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_error, client) => checkedOut.delete(client));
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    client.on('end', () => {
      const poolClient = client;
      if (!checkedOut.has(poolClient)) return;
      const release = poolClient.release.bind(poolClient);
      poolClient.release = () => undefined;
      release(new Error('the connection to the database ended'));
    });
  });
  return pool;
}

async function openPglite(dir: string, keys: EncryptionKeys | undefined): Promise<DatabaseHandle> {
  mkdirSync(dir, { recursive: true });
  const processLocks = new ProcessLocks();
  const lock = await acquirePidLock(
    path.join(dir, '..', 'pg.lock'),
    `The embedded database in ${dir}`,
  );
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (error) {
    lock.release();
    throw error;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    // One connection, and no timer that can stop a statement: staff reads bound their own work (db/bounded-reads.ts).
    staffDb: db,
    driver: 'pglite',
    async migrate(options = {}) {
      const keysFile = await saveNewKeys(db, keys);
      const sealedRows = await sealPlaintextBeforeMigration(db, keys);
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: migrationsDir });
      if (keys) await checkKeys(db, keys, options);
      return { sealedRows, keysFile };
    },
    copyOut(select, options) {
      const result = client.query(`COPY (${select}) TO '/dev/blob' WITH (${copyFormat(options)})`);
      const rows = result.then((done) => done.affectedRows ?? 0);
      rows.catch(() => undefined);
      async function* output() {
        const { blob } = await result;
        if (blob) yield Buffer.from(await blob.arrayBuffer());
      }
      return { stream: Readable.from(output(), { objectMode: false }), rows };
    },
    lock: (key, options) => processLocks.acquire(key, options.wait),
    async ping() {
      await db.execute(sql`SELECT 1`);
    },
    async close() {
      if (!client.closed) await client.close();
      lock.release();
    },
  };
}

/**
 * Locks within one process, for the embedded database (one process holds it, and PGlite's one
 * session would take an advisory lock again as often as asked). Waiters are served in turn.
 */
class ProcessLocks {
  private readonly queues = new Map<number, Array<() => void>>();

  async acquire(key: number, wait: boolean): Promise<HeldLock | null> {
    const queue = this.queues.get(key);
    if (queue && !wait) return null;
    if (queue) await new Promise<void>((resolve) => queue.push(resolve));
    else this.queues.set(key, []);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        const waiting = this.queues.get(key)!;
        const next = waiting.shift();
        if (next) next();
        else this.queues.delete(key);
      },
    };
  }
}

/**
 * Runs a COPY ... TO STDOUT on a connection of its own from the pool. The connection goes back to
 * the pool when the server has finished the COPY (its row count known); when the reader gives up
 * early or the COPY fails, the connection is closed instead, since it may still be mid-COPY.
 */
function copyOutOfPool(pool: pg.Pool, statement: string): CopyOut {
  const output = new PassThrough();
  const abandoned = () => new Error('the COPY output was abandoned before its end');
  const rows = new Promise<number>((resolve, reject) => {
    pool.connect().then(
      (client) => {
        let released = false;
        const release = (error?: Error) => {
          if (released) return;
          released = true;
          client.release(error);
        };
        // The reader may have given up while the connection was on its way: no COPY then.
        if (output.destroyed) {
          release();
          return reject(abandoned());
        }
        const copy = client.query(copyTo(statement)) as ReturnType<typeof copyTo> & {
          handleReadyForQuery(): void;
        };
        let copied = false;
        let failed = false;
        // node-postgres calls this when the server is ready for the next query: the COPY is over.
        const ready = copy.handleReadyForQuery.bind(copy);
        copy.handleReadyForQuery = () => {
          ready();
          release();
          if (!failed) resolve(copy.rowCount);
        };
        copy.on('end', () => {
          copied = true;
        });
        copy.on('error', (error: Error) => {
          failed = true;
          release(error);
          output.destroy(error);
          reject(error);
        });
        output.on('close', () => {
          if (copied || failed) return;
          failed = true;
          const error = abandoned();
          release(error);
          copy.destroy();
          reject(error);
        });
        copy.pipe(output);
      },
      (error: Error) => {
        output.destroy(error);
        reject(error);
      },
    );
  });
  rows.catch(() => undefined);
  return { stream: output, rows };
}
