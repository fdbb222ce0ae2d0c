import path from 'node:path';
import i18next, { type i18n as I18n } from 'i18next';
import FsBackend from 'i18next-fs-backend';
import { LanguageDetector } from 'i18next-http-middleware';
import { projectRoot } from '../paths';

/**
 * The languages people read this platform in: English and Spanish. Every word a supporter reads
 * (pages, form errors, emails, the embed, the JSON API's messages) comes from `locales/<lng>/*.json`
 * through i18next, with its plural rules (Intl.PluralRules); numbers and dates go through Intl in
 * the same locale. English is the fallback: a key missing in Spanish shows its English text.
 *
 * One i18next instance for the process, loaded synchronously from the files on first use: the
 * resources never change while it runs (like the compiled email templates), so this is a constant,
 * not per-platform state.
 */

export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

/** Each language's own name, as its readers write it (the language switcher). */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', es: 'Español' };

/** The Intl locale of each language: the United States' English and Spanish (1,234.5 in both). */
export const LOCALES: Record<Language, string> = { en: 'en-US', es: 'es-US' };

export const isLanguage = (value: unknown): value is Language =>
  typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);

/** A language code as browsers and clients send it (`es-MX`, `ES`), or nothing when it is not one of ours. */
export function languageOf(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined;
  const code = value.trim().slice(0, 2).toLowerCase();
  return isLanguage(code) ? code : undefined;
}

export const NAMESPACES = [
  'common',
  'errors',
  'petition',
  'letters',
  'representatives',
  'privacy',
  'emails',
  'embed',
] as const;

export const localesDir = path.join(projectRoot, 'locales');

/** Translates a key (`ns:key`) with its values; `count` picks the plural form. */
export type Translate = (key: string, values?: Record<string, unknown>) => string;

/** What a page, an email or a service needs to speak one language. */
export interface Translator {
  language: Language;
  locale: string;
  t: Translate;
  /** Whether a key exists (in this language or English). */
  has(key: string): boolean;
  number(value: number): string;
  /** A day, written out: "December 7, 2026", "7 de diciembre de 2026". */
  date(value: Date | string | number): string;
}

let instance: I18n | undefined;
const translators = new Map<Language, Translator>();

/** The i18next instance, with the file backend and the HTTP language detector (see http/i18n.ts). */
export function i18nInstance(): I18n {
  if (instance) return instance;
  const created = i18next.createInstance();
  void created
    .use(FsBackend)
    .use(LanguageDetector)
    .init({
      // Synchronous: the file backend reads the JSON files before `init` returns.
      initAsync: false,
      backend: { loadPath: path.join(localesDir, '{{lng}}', '{{ns}}.json') },
      supportedLngs: [...LANGUAGES],
      nonExplicitSupportedLngs: true,
      load: 'languageOnly',
      preload: [...LANGUAGES],
      fallbackLng: DEFAULT_LANGUAGE,
      ns: [...NAMESPACES],
      defaultNS: 'common',
      // Pages escape what they print (Handlebars), emails and letters are plain text: i18next does not escape.
      interpolation: { escapeValue: false },
      returnNull: false,
      detection: {
        order: ['querystring', 'cookie', 'header'],
        lookupQuerystring: 'lng',
        lookupCookie: 'lng',
        // The cookie is written only when a person chooses a language (http/i18n.ts), not on every answer.
        caches: false,
      },
    });
  instance = created;
  return created;
}

/** The translator for a language (English for anything else). */
export function translator(language: string | undefined = DEFAULT_LANGUAGE): Translator {
  const lng = languageOf(language) ?? DEFAULT_LANGUAGE;
  let found = translators.get(lng);
  if (found) return found;
  const i18n = i18nInstance();
  const fixed = i18n.getFixedT(lng);
  const numbers = new Intl.NumberFormat(LOCALES[lng]);
  const dates = new Intl.DateTimeFormat(LOCALES[lng], { dateStyle: 'long', timeZone: 'UTC' });
  found = {
    language: lng,
    locale: LOCALES[lng],
    // `count` picks the plural form; `n` is the same number written for this locale ("1,204").
    // Keys are plain strings (no returnObjects), so i18next answers with text.
    t: (key, values) =>
      fixed(
        key,
        (typeof values?.count === 'number' && values.n === undefined
          ? { ...values, n: numbers.format(values.count) }
          : values) as never,
      ) as unknown as string,
    has: (key) => i18n.exists(key, { lng }),
    number: (value) => numbers.format(value),
    date: (value) => dates.format(new Date(value)),
  };
  translators.set(lng, found);
  return found;
}

/** English: what services answer in when no one asked for a language (scripts, tests, old callers). */
export const english = (): Translator => translator(DEFAULT_LANGUAGE);

/** A namespace's texts in a language over the English ones (for the partner embed, which translates in the browser). */
export function embedTexts(language: Language): Record<string, string> {
  const i18n = i18nInstance();
  const base = (i18n.getResourceBundle(DEFAULT_LANGUAGE, 'embed') ?? {}) as Record<string, string>;
  return language === DEFAULT_LANGUAGE
    ? { ...base }
    : { ...base, ...((i18n.getResourceBundle(language, 'embed') ?? {}) as Record<string, string>) };
}
