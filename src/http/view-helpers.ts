import Handlebars from 'handlebars';
import { translator } from '../i18n/translations';

type HelperOptions = { hash?: Record<string, unknown>; data?: { root?: { lng?: string } } };

/** The translator of the page being rendered (its `lng`, set by http/i18n.ts), from a helper's last argument. */
const pageTranslator = (options: HelperOptions | undefined) => translator(options?.data?.root?.lng);

/**
 * Handlebars helpers for the pages. Output is escaped by Handlebars as usual; `tHtml` alone returns
 * markup, from the translation files (ours), with every value it is given escaped.
 */
export const viewHelpers = {
  /** A number in the page's locale: 1,204. */
  number: (value: unknown, options?: HelperOptions) =>
    pageTranslator(options).number(Number(value) || 0),
  /** A day in the page's locale. */
  date: (value: unknown, options?: HelperOptions) =>
    value ? pageTranslator(options).date(value as string) : '',
  /** `{{t "ns:key" name=value count=n}}`: the text in the page's language. */
  t: (key: string, options: HelperOptions) => pageTranslator(options).t(key, options.hash),
  /** `{{tHtml "ns:key" …}}`: a translation that holds links or emphasis; the values are escaped. */
  tHtml: (key: string, options: HelperOptions) => {
    const values = Object.fromEntries(
      Object.entries(options.hash ?? {}).map(([name, value]) => [
        name,
        typeof value === 'number'
          ? value
          : Handlebars.escapeExpression(String((value as string | null | undefined) ?? '')),
      ]),
    );
    return new Handlebars.SafeString(pageTranslator(options).t(key, values));
  },
  plural: (count: unknown, one: string, many: string) => (Number(count) === 1 ? one : many),
  checked: (value: unknown) => value === true || value === 'on' || value === 'true',
  eq: (a: unknown, b: unknown) => a === b,
  /** Whether a list (a form's checked boxes) holds a value. */
  includes: (list: unknown, value: unknown) => Array.isArray(list) && list.includes(value),
  /** `{{concat "a" b}}`: one string, for a key built from a value (`letters:status.{{tone}}`). */
  concat: (...parts: unknown[]) => parts.slice(0, -1).map(String).join(''),
};
