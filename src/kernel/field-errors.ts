import type { z } from 'zod';
import { english, type Translate } from '../i18n/translations';

/** A form's or a JSON body's errors: one message per field, keyed by field name (`body` for the whole). */
export type FieldErrors = Record<string, string>;

/** A message of the supporters' schemas: a key of `locales/<lng>/errors.json` (`errors:zip.invalid`). */
const MESSAGE_KEY = /^errors:[A-Za-z0-9_.-]+$/;

/**
 * Turns zod issues into one message per field (the first one), keyed by field name. The supporters'
 * schemas give message keys, translated here by `t` (every check of theirs names one); the staff
 * console's schemas give English sentences, kept as they are.
 */
export function fieldErrors(error: z.ZodError, t: Translate = english().t): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'body';
    if (errors[field] !== undefined) continue;
    if (field === 'body') errors[field] = t('errors:body.notObject');
    else if (MESSAGE_KEY.test(issue.message)) errors[field] = t(issue.message);
    else errors[field] = issue.message;
  }
  return errors;
}

/** The console's message for an all-or-nothing import refused for its rows' problems (which the page lists in a table). */
export const nothingImported = (what: string, problems: number): string =>
  `Nothing was imported: ${what} has ${problems} ${problems === 1 ? 'problem' : 'problems'}, named line by line in the table of problems.`;
