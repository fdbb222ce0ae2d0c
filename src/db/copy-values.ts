import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';

/**
 * Values written into the text of a COPY statement, which takes no parameters: an integer checked
 * here, or a string quoted by node-postgres' escapeLiteral. The exports' queries use nothing else.
 */
export const copyInteger = (value: number): string => {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
};

export const copyLiteral = (value: string): string => pg.escapeLiteral(value);

const dialect = new PgDialect();

/**
 * The text of a fragment of SQL that holds no parameter (another feature's subquery, built from
 * `sql.raw` and values checked here), for a COPY statement; one with a parameter is refused.
 */
export const copySql = (fragment: SQL): string => {
  const { sql: text, params } = dialect.sqlToQuery(fragment);
  if (params.length > 0) throw new Error('a COPY statement takes no parameters');
  return text;
};
