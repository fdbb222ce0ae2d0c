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
