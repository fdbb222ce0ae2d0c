const numberFormat = new Intl.NumberFormat('en-US');

/** Handlebars helpers for the pages. Output is escaped by Handlebars as usual. */
export const viewHelpers = {
  number: (value: unknown) => numberFormat.format(Number(value) || 0),
  eq: (a: unknown, b: unknown) => a === b,
  checked: (value: unknown) => value === true || value === 'on' || value === 'true',
  year: () => new Date().getFullYear(),
};
