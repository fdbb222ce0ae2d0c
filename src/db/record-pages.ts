import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Database } from './query';

/**
 * Records listed the way an API lists them (the partner API, the webhooks' payloads): a page of
 * the rows a listing selects, with how many there are in all, or the rows of some ids. The stores
 * that own the tables say what a listing selects; the SQL of its page is written here, once.
 */

/** A condition on one of a record's dates, as an API filter gives it (osdi/filter.ts). */
export interface DateCondition {
  field: 'created_date' | 'modified_date';
  op: 'gt' | 'ge' | 'lt' | 'le' | 'eq';
  value: Date;
}

/**
 * A date condition on `column` as an API shows dates: to the millisecond, while PostgreSQL keeps
 * microseconds. `gt` the last date a sync saw must not return that row again, so each comparison
 * is made on the date as shown, written so that an index on the column still serves it.
 */
export function compareAsShown(column: SQL, condition: DateCondition): SQL {
  const at = sql`${condition.value.toISOString()}::timestamptz`;
  const after = sql`(${condition.value.toISOString()}::timestamptz + interval '1 millisecond')`;
  switch (condition.op) {
    case 'gt':
      return sql`${column} >= ${after}`;
    case 'ge':
      return sql`${column} >= ${at}`;
    case 'lt':
      return sql`${column} < ${at}`;
    case 'le':
      return sql`${column} < ${after}`;
    case 'eq':
      return sql`(${column} >= ${at} AND ${column} < ${after})`;
  }
}

/** What a listing reads: its columns, from where, which rows, the column that is their id, and their order in a page. */
export interface Listing {
  columns: SQL;
  from: SQL;
  where: SQL;
  id: SQL;
  order: SQL;
}

/**
 * A page of the listing's rows (`offset`, at most `limit`) and how many rows it has in all: the
 * count first, so a page that starts past the end costs no second statement.
 */
export async function countThenPage<Row>(
  db: Pick<Database, 'execute'>,
  listing: Listing,
  page: { offset: number; limit: number },
): Promise<{ total: number; rows: Row[] }> {
  const [counted] = await queryRows<{ n: number | string }>(
    db,
    sql`SELECT count(*) AS n FROM ${listing.from} WHERE ${listing.where}`,
  );
  const total = Number(counted?.n ?? 0);
  if (page.offset >= total) return { total, rows: [] };
  const rows = await queryRows<Row>(
    db,
    sql`SELECT ${listing.columns} FROM ${listing.from} WHERE ${listing.where}
        ORDER BY ${listing.order} LIMIT ${page.limit}::int OFFSET ${page.offset}::int`,
  );
  return { total, rows };
}

/** The listing's rows whose id is one of `ids` (in no particular order). */
export async function rowsWithIds<Row>(
  db: Pick<Database, 'execute'>,
  listing: Omit<Listing, 'order'>,
  ids: number[],
): Promise<Row[]> {
  if (ids.length === 0) return [];
  return queryRows<Row>(
    db,
    sql`SELECT ${listing.columns} FROM ${listing.from}
        WHERE ${listing.where} AND ${listing.id} IN (SELECT unnest(${`{${ids.join(',')}}`}::bigint[]))`,
  );
}
