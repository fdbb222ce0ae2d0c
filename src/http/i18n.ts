import type { Request, RequestHandler, Response } from 'express';
import type { LanguageDetector } from 'i18next-http-middleware';
import {
  DEFAULT_LANGUAGE,
  i18nInstance,
  LANGUAGE_NAMES,
  LANGUAGES,
  languageOf,
  translator,
  type Language,
  type Translator,
} from '../i18n/translations';

/**
 * Each request's language: `?lng=` (a person's choice, kept in a `lng` cookie for the pages that
 * follow), then that cookie, then the browser's Accept-Language, else English. The detection is
 * i18next-http-middleware's; instead of its `handle` (which clones the i18next instance for every
 * request, on the signing hot path too), each answer gets the language's fixed translator.
 */

const COOKIE = 'lng';
const DETECTION_ORDER = ['querystring', 'cookie', 'header'];
const YEAR_MS = 365 * 86_400_000;

/** POSTs whose address shows nothing on a GET: the switcher on their answer links to the page they came from. */
const ACTION_SUFFIX = /\/(sign|resend|delete|self-sent)$/;

/** The address of this page in another language (a GET: a POST's answer links to the page of its form). */
function switchHref(req: Request, lng: Language): string {
  const get = req.method === 'GET' || req.method === 'HEAD';
  const url = new URL(
    get ? req.originalUrl : (req.originalUrl.split('?')[0] ?? '/').replace(ACTION_SUFFIX, ''),
    'http://localhost',
  );
  url.searchParams.set('lng', lng);
  return `${url.pathname}${url.search}`;
}

export function setTranslator(res: Response, tr: Translator): void {
  res.locals.translator = tr;
  res.locals.lng = tr.language;
}

/** The translator of this answer's language (English before the middleware ran). */
export const translatorOf = (res: Response): Translator =>
  (res.locals.translator as Translator | undefined) ?? translator(DEFAULT_LANGUAGE);

export function languages(options: { https: boolean }): RequestHandler {
  const detector = i18nInstance().services.languageDetector as LanguageDetector;
  return (req, res, next) => {
    const chosen = languageOf(req.query.lng);
    const lng =
      chosen ?? languageOf(detector.detect(req, res, DETECTION_ORDER)) ?? DEFAULT_LANGUAGE;
    if (
      chosen &&
      !req.path.startsWith('/api/') &&
      !new RegExp(`(^|;\\s*)${COOKIE}=${chosen}(;|$)`).test(req.headers.cookie ?? '')
    ) {
      res.cookie(COOKIE, chosen, {
        maxAge: YEAR_MS,
        sameSite: 'lax',
        secure: options.https,
        httpOnly: true,
        path: '/',
      });
    }
    // Caches keep one answer per language.
    res.vary('Accept-Language');
    res.setHeader('Content-Language', lng);
    setTranslator(res, translator(lng));
    res.locals.languageLinks = LANGUAGES.filter((other) => other !== lng).map((other) => ({
      lng: other,
      name: LANGUAGE_NAMES[other],
      href: switchHref(req, other),
    }));
    next();
  };
}

/**
 * For the pages' forms: a form carries its page's language (`language`, hidden; `lng` is a
 * longitude to the lookups), so its answer (errors, the next step) is in the language it was
 * filled in, even without the cookie. Runs after the body is parsed.
 */
export const formLanguage: RequestHandler = (req, res, next) => {
  const given = languageOf((req.body as Record<string, unknown> | undefined)?.language);
  if (given && given !== translatorOf(res).language) {
    setTranslator(res, translator(given));
    res.locals.languageLinks = LANGUAGES.filter((other) => other !== given).map((other) => ({
      lng: other,
      name: LANGUAGE_NAMES[other],
      href: switchHref(req, other),
    }));
  }
  next();
};
