const numberFormat = new Intl.NumberFormat('en-US');

/** Handlebars helpers for the pages. Output is escaped by Handlebars as usual. */
export const viewHelpers = {
  number: (value: unknown) => numberFormat.format(Number(value) || 0),
  plural: (count: unknown, one: string, many: string) => (Number(count) === 1 ? one : many),
  checked: (value: unknown) => value === true || value === 'on' || value === 'true',
  year: () => new Date().getFullYear(),
  eq: (a: unknown, b: unknown) => a === b,
  /** Whether a list (a form's checked boxes) holds a value. */
  includes: (list: unknown, value: unknown) => Array.isArray(list) && list.includes(value),
};
