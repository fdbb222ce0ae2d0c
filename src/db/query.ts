import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema';

/**
 * The database as every module sees it, and raw SQL's rows: the leaf of `db/`, which the modules
 * that run before the migrations (key checks, the sealing of an older database) use without
 * importing the client that calls them.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Runs raw SQL and returns its rows; PGlite and node-postgres both answer with `rows`. */
export async function queryRows<T>(db: Pick<Database, 'execute'>, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (result as { rows: T[] }).rows;
}

/**
 * A PostgreSQL array literal of text values, each quoted (`{"a","b"}`), to pass as one parameter
 * cast to `text[]`: one parameter however many values, and any characters in them.
 */
export const textArray = (values: readonly string[]): string =>
  `{${values.map((value) => `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(',')}}`;
