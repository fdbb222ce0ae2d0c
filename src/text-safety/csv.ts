/**
 * CSV cells a spreadsheet cannot run as formulas, whichever separator it reads them with.
 *
 * A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
 * (OWASP's list). Readers disagree on the separator: a European Excel splits on `;`, so the name
 * `Ana;=1+2;`, harmless as one `,`-separated cell, becomes a `=1+2` cell there. Two rules answer
 * both kinds of reader:
 * - every text cell is quoted, so a reader that honours quotes never splits inside one, whatever
 *   its separator;
 * - every fragment of a value that a reader ignoring the quotes could take for a cell (the start of
 *   the value, and whatever follows a `,` or a `;`, past spaces and quote marks) gets a `'` before
 *   a formula character: `Ana;=1+2;` is written `"Ana;'=1+2;"`.
 * The same rule is written twice, for Node (`csvCell`) and for PostgreSQL's COPY
 * (`neutralisedSql`, `forceQuote`); tests read the exports with `,` and `;` as separators.
 */

const FORMULA_FRAGMENT = /(^|[,;])([ "]*)([=+\-@\t\r])/g;

/** `value` with a `'` before each formula character that starts a cell or a `,`/`;` fragment of it. */
export const neutraliseFormulas = (value: string): string =>
  value.replace(FORMULA_FRAGMENT, "$1$2'$3");

/** A text cell as the exports write it: neutralised and always quoted; NULL as nothing. */
export const csvCell = (value: string | null): string =>
  value === null ? '' : `"${neutraliseFormulas(value).replace(/"/g, '""')}"`;

/** A text cell neutralised already (by `neutralisedSql`), quoted; NULL as nothing. */
export const quotedCell = (value: string | null): string =>
  value === null ? '' : `"${value.includes('"') ? value.replace(/"/g, '""') : value}"`;

/**
 * `neutraliseFormulas` as an SQL expression over `expression` (SQL text of this module's callers,
 * never user input). Values with no separator and no formula character first (most cells: ZIP
 * codes, GEOIDs, names) skip the regular expression.
 */
export const neutralisedSql = (expression: string): string =>
  `CASE WHEN ascii(${expression}) IN (61, 43, 45, 64, 9, 13, 32, 34) OR strpos(${expression}, ',') > 0 OR strpos(${expression}, ';') > 0
    THEN regexp_replace(${expression}, '(^|[,;])([ "]*)([-=+@\\t\\r])', '\\1\\2''\\3', 'g') ELSE ${expression} END`;

/** COPY's option that quotes these columns (their non-NULL values) of a CSV, `FORCE_QUOTE (a, b)`. */
export const forceQuote = (columns: readonly string[]): string => {
  for (const column of columns)
    if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`not a column name: ${column}`);
  return `FORCE_QUOTE (${columns.join(', ')})`;
};
