import { storedTemplates } from '../campaigns/editor';
import type { Database } from '../db/client';
import { STANCES, type Stance } from '../db/schema';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../i18n/translations';
import type { Logger } from '../logger';
import { stanceTemplates } from '../stances/store';
import {
  compileLetterTemplates,
  lettersDirFor,
  loadLetterTemplates,
  TARGET_LEVELS,
  validateLetterTemplate,
  type LetterRenderer,
  type LetterTemplate,
  type StanceTemplates,
  type TargetLevel,
} from './templates';

const TTL_MS = 10_000;

type Sources = Record<TargetLevel, LetterTemplate>;

/**
 * The letter templates each campaign writes with, per language: its own, from the database, where
 * it has them, and the project's `templates/letters` (`templates/letters/<lng>`) otherwise. In a
 * language other than English, a level the campaign wrote only in English uses the campaign's
 * English text: a translation missing shows the English one, never the project's words in place
 * of the campaign's. Compiled once per campaign and language and kept a few seconds, so staff
 * edits show within moments. A stored template that does not validate is set aside for the next
 * in that order (and logged), so a bad edit cannot stop letters.
 */
export class LetterTemplateStore {
  /** The project's own templates, from `templates/letters`, in English. */
  readonly files: Sources;
  /** The project's own templates in each language. */
  readonly filesByLanguage: Record<Language, Sources>;
  readonly defaults: LetterRenderer;
  private readonly defaultsByLanguage: Record<Language, LetterRenderer>;
  private readonly cache = new Map<string, { at: number; renderer: Promise<LetterRenderer> }>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    files?: Partial<Record<Language, Sources>>,
  ) {
    this.filesByLanguage = Object.fromEntries(
      LANGUAGES.map((language) => [
        language,
        files?.[language] ?? loadLetterTemplates(lettersDirFor(language)),
      ]),
    ) as Record<Language, Sources>;
    this.files = this.filesByLanguage[DEFAULT_LANGUAGE];
    this.defaultsByLanguage = Object.fromEntries(
      LANGUAGES.map((language) => [
        language,
        compileLetterTemplates(this.filesByLanguage[language]),
      ]),
    ) as Record<Language, LetterRenderer>;
    this.defaults = this.defaultsByLanguage[DEFAULT_LANGUAGE];
  }

  forCampaign(campaignId: number, language: Language = DEFAULT_LANGUAGE): Promise<LetterRenderer> {
    const key = `${campaignId}:${language}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.renderer;
    const renderer = this.compile(campaignId, language);
    this.cache.set(key, { at: Date.now(), renderer });
    renderer.catch(() => this.cache.delete(key));
    return renderer;
  }

  /** Forgets a campaign's compiled templates, after they were edited. */
  invalidate(campaignId: number): void {
    for (const language of LANGUAGES) this.cache.delete(`${campaignId}:${language}`);
  }

  private async compile(campaignId: number, language: Language): Promise<LetterRenderer> {
    const [stored, storedByStance] = await Promise.all([
      storedTemplates(this.db, campaignId),
      stanceTemplates(this.db, campaignId),
    ]);
    if (stored.length === 0 && storedByStance.length === 0)
      return this.defaultsByLanguage[language];
    const check = (
      template: { subject: string; body: string } | undefined,
      about: Record<string, unknown>,
    ) => {
      if (!template) return undefined;
      const problem =
        validateLetterTemplate(template.subject) ?? validateLetterTemplate(template.body);
      if (problem) {
        this.logger.warn(
          { campaignId, ...about, problem },
          'a stored letter template is invalid; using the default one',
        );
        return undefined;
      }
      return { subject: template.subject, body: template.body };
    };
    const usable = (level: TargetLevel, inLanguage: Language) =>
      check(
        stored.find((each) => each.level === level && each.language === inLanguage),
        { level, language: inLanguage },
      );
    const usableForStance = (level: TargetLevel, stance: Stance, inLanguage: Language) =>
      check(
        storedByStance.find(
          (each) => each.level === level && each.stance === stance && each.language === inLanguage,
        ),
        { level, stance, language: inLanguage },
      );
    const sources = { ...this.filesByLanguage[language] };
    const byStance: StanceTemplates = {};
    for (const level of TARGET_LEVELS) {
      const own =
        usable(level, language) ??
        (language === DEFAULT_LANGUAGE ? undefined : usable(level, DEFAULT_LANGUAGE));
      if (own) sources[level] = own;
      for (const stance of STANCES) {
        // As for the level's: a stance's template missing in this language is its English one.
        const forStance =
          usableForStance(level, stance, language) ??
          (language === DEFAULT_LANGUAGE
            ? undefined
            : usableForStance(level, stance, DEFAULT_LANGUAGE));
        if (forStance) (byStance[level] ??= {})[stance] = forStance;
      }
    }
    return compileLetterTemplates(sources, byStance);
  }
}
