import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  i18nInstance,
  LANGUAGES,
  localesDir,
  NAMESPACES,
  translator,
} from '../../src/i18n/translations';

/**
 * The translation files: every text in both languages, with the same values to fill in, every
 * plural form each language needs, and every key the code and the views use present.
 */

type Tree = { [key: string]: string | Tree };
const load = (language: string, ns: string) =>
  JSON.parse(readFileSync(path.join(localesDir, language, `${ns}.json`), 'utf8')) as Tree;

function flatten(tree: Tree, prefix = ''): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tree).flatMap(([key, value]) =>
      typeof value === 'string'
        ? [[`${prefix}${key}`, value]]
        : Object.entries(flatten(value, `${prefix}${key}.`)),
    ),
  );
}

const PLURAL = /_(zero|one|two|few|many|other)$/;
const texts = (language: string) =>
  Object.fromEntries(
    NAMESPACES.flatMap((ns) =>
      Object.entries(flatten(load(language, ns))).map(([key, text]) => [`${ns}:${key}`, text]),
    ),
  );
const english = texts('en');
const spanish = texts('es');
/** A key without its plural suffix: the text a translation must have in some form. */
const base = (key: string) => key.replace(PLURAL, '');
const variables = (text: string) =>
  [...text.matchAll(/\{\{\s*([\w.]+)/g)].map((match) => match[1]).sort();

describe('the translation files', () => {
  it('hold one file per namespace and language, and nothing else', () => {
    for (const language of LANGUAGES) {
      expect(readdirSync(path.join(localesDir, language)).sort()).toEqual(
        NAMESPACES.map((ns) => `${ns}.json`).sort(),
      );
    }
  });

  it('give every text in both languages', () => {
    const englishKeys = new Set(Object.keys(english).map(base));
    const spanishKeys = new Set(Object.keys(spanish).map(base));
    expect([...englishKeys].filter((key) => !spanishKeys.has(key))).toEqual([]);
    expect([...spanishKeys].filter((key) => !englishKeys.has(key))).toEqual([]);
  });

  it('give each plural every form its language needs (English: one, other; Spanish: one, many, other)', () => {
    const missing = (texts: Record<string, string>, forms: string[]) =>
      [
        ...new Set(
          Object.keys(texts)
            .filter((key) => PLURAL.test(key))
            .map(base),
        ),
      ].flatMap((key) =>
        forms.filter((form) => !(`${key}_${form}` in texts)).map((form) => `${key}_${form}`),
      );
    expect(missing(english, ['one', 'other'])).toEqual([]);
    expect(missing(spanish, ['one', 'many', 'other'])).toEqual([]);
  });

  it('fill in the same values in both languages', () => {
    const different = Object.keys(english)
      .filter((key) => !PLURAL.test(key) || key.endsWith('_other'))
      .filter(
        (key) =>
          spanish[key] !== undefined &&
          variables(english[key]!).join() !== variables(spanish[key]).join(),
      );
    expect(different).toEqual([]);
  });

  it('have every key the code, the views and the email templates use', () => {
    const used = new Set<string>();
    // Keys are written `ns:key` with a dot inside (npm script names such as 'letters:hand-delivery' have none).
    const pattern =
      /["'`]((?:common|errors|petition|letters|representatives|privacy|emails|embed):[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+|(?:common|errors|petition|letters|representatives|privacy|emails|embed):[a-z][A-Za-z]+)["'`]/g;
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (/\.(ts|hbs)$/.test(name))
          for (const match of readFileSync(file, 'utf8').matchAll(pattern)) used.add(match[1]!);
      }
    };
    const root = path.join(__dirname, '..', '..');
    for (const dir of ['src', 'views', 'templates']) walk(path.join(root, dir));
    expect(used.size).toBeGreaterThan(200);
    const known = new Set(
      Object.keys(english).flatMap((key) => [key, base(key), key.replace(/_\w+$/, '')]),
    );
    // A key followed by `.` is a family whose last part the code chooses (`letters:status.` + key).
    expect(
      [...used].filter(
        (key) =>
          !key.endsWith('.') &&
          !known.has(key) &&
          !Object.keys(english).some((text) => text.startsWith(`${key}.`)),
      ),
    ).toEqual([]);
  });
});

describe('a translator', () => {
  it('picks the plural form of each language, and writes numbers and dates for its locale', () => {
    const en = translator('en');
    const es = translator('es');
    expect(en.t('petition:progress.noun', { count: 1 })).toBe('signature');
    expect(en.t('petition:progress.noun', { count: 0 })).toBe('signatures');
    expect(es.t('petition:progress.noun', { count: 1 })).toBe('firma');
    expect(es.t('petition:progress.noun', { count: 2 })).toBe('firmas');
    expect(es.t('petition:progress.noun', { count: 1_000_000 })).toBe('de firmas');
    expect(es.t('letters:statusPage.sentHeading', { count: 3 })).toBe('Sus 3 cartas van en camino');
    expect(en.t('common:rateLimited.wait', { count: 1204 })).toBe(
      'Please wait 1,204 seconds and try again.',
    );
    expect(es.number(1204.5)).toBe('1,204.5');
    expect(en.date('2026-12-07')).toBe('December 7, 2026');
    expect(es.date('2026-12-07')).toBe('7 de diciembre de 2026');
  });

  it('shows the English text where a Spanish one is missing, and English for a language it does not have', () => {
    // On a copy of the resources: the files themselves have every text in both languages.
    const copy = i18nInstance().cloneInstance({ forkResourceStore: true });
    copy.addResource('en', 'common', 'onlyInEnglish', 'Only in English');
    expect(copy.getFixedT('es')('common:onlyInEnglish')).toBe('Only in English');
    expect(translator('es').has('common:onlyInEnglish')).toBe(false);
    expect(translator('fr').language).toBe('en');
    expect(translator('es-MX').language).toBe('es');
  });
});
