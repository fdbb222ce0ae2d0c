import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ScriptStance, Stance } from '../db/schema';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../i18n/translations';
import {
  compileLetterTemplates,
  validateLetterTemplate,
  type LetterContext,
  type TargetLevel,
} from '../letters/templates';
import { projectRoot } from '../paths';

/**
 * What a caller says to an office: a script per level and stance, in the letter templates' small
 * language (merge fields and `{{#if}}`), checked the same way. A campaign's script for the
 * official's stance, else its script for the level, else the project's own in `templates/calls`.
 * A stored script that does not validate is passed over, as a stored letter template is.
 */

export const SCRIPT_STANCES: readonly ScriptStance[] = [
  'any',
  'champion',
  'supports',
  'undecided',
  'opposes',
];

export const callsDir = path.join(projectRoot, 'templates', 'calls');
const callsDirFor = (language: Language) =>
  language === DEFAULT_LANGUAGE ? callsDir : path.join(callsDir, language);

export type ProjectScripts = Record<Language, Record<TargetLevel, string>>;

/** The project's own scripts, read from `templates/calls` (a constant of the install, like the letter files). */
export function loadProjectScripts(): ProjectScripts {
  const read = (language: Language, level: TargetLevel) =>
    readFileSync(path.join(callsDirFor(language), `${level}.hbs`), 'utf8');
  return Object.fromEntries(
    LANGUAGES.map((language) => [
      language,
      {
        federal: read(language, 'federal'),
        state: read(language, 'state'),
        local: read(language, 'local'),
      },
    ]),
  ) as ProjectScripts;
}

export interface StoredScript {
  level: TargetLevel;
  stance: ScriptStance;
  language: Language;
  body: string;
}

/** The script an official of `stance` gets at `level` in `language`, with where it came from. */
export function scriptFor(
  project: ProjectScripts,
  stored: readonly StoredScript[],
  level: TargetLevel,
  stance: Stance | undefined,
  language: Language,
): { body: string; from: 'stance' | 'level' | 'project' } {
  const find = (wanted: ScriptStance, inLanguage: Language) =>
    stored.find(
      (script) =>
        script.level === level &&
        script.stance === wanted &&
        script.language === inLanguage &&
        validateLetterTemplate(script.body) === null,
    );
  const languages = language === DEFAULT_LANGUAGE ? [language] : [language, DEFAULT_LANGUAGE];
  if (stance)
    for (const each of languages) {
      const own = find(stance, each);
      if (own) return { body: own.body, from: 'stance' };
    }
  for (const each of languages) {
    const own = find('any', each);
    if (own) return { body: own.body, from: 'level' };
  }
  return { body: project[language][level], from: 'project' };
}

/** A script for one office, as plain text, its merge fields cleaned like a letter's. */
export function renderScript(source: string, context: LetterContext): string {
  const template = { subject: '', body: source };
  const renderer = compileLetterTemplates({ federal: template, state: template, local: template });
  return renderer.render('federal', context).body;
}
