import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { LetterLimits } from '../db/schema';
import { projectRoot } from '../paths';
import type { Official } from '../representatives/districts';
import { DEFAULT_LANGUAGE, english, type Language, type Translate } from '../i18n/translations';
import { headerProblem, removeControls } from '../text-safety/characters';

/**
 * Letter templates: a subject and a body per target level, written in Handlebars with a fixed set
 * of merge fields and `{{#if}}`, rendered as plain text. Staff will edit them in the console, so a
 * template is checked against that small language before it is compiled, and everything a
 * supporter typed is cleaned before it is merged.
 */

export type TargetLevel = 'federal' | 'state' | 'local';
export const TARGET_LEVELS: readonly TargetLevel[] = ['federal', 'state', 'local'];

export function levelOf(office: Official['office']): TargetLevel {
  switch (office) {
    case 'us-house':
    case 'us-senate':
      return 'federal';
    case 'state-upper':
    case 'state-lower':
    case 'governor':
      return 'state';
    case 'custom':
      return 'local';
  }
}

export interface LetterContext {
  supporter: { name: string; city?: string; state?: string; zip: string; note?: string };
  target: { title: string; name: string; office: string; district?: string };
  campaign: { title: string };
}

/** Template source text, as staff write it. */
export interface LetterTemplate {
  subject: string;
  body: string;
}

export interface RenderedLetter {
  subject: string;
  body: string;
}

export interface LetterRenderer {
  render(level: TargetLevel, context: LetterContext): RenderedLetter;
}

/** Every merge field a template may use, with the most characters a value keeps. */
export const MERGE_FIELD_LIMITS = {
  'supporter.name': 100,
  'supporter.city': 100,
  'supporter.state': 50,
  'supporter.zip': 10,
  'supporter.note': 1000,
  'target.title': 100,
  'target.name': 200,
  'target.office': 200,
  'target.district': 100,
  'campaign.title': 200,
} as const;

export type MergeField = keyof typeof MERGE_FIELD_LIMITS;
export const MERGE_FIELDS = Object.keys(MERGE_FIELD_LIMITS) as MergeField[];
const MULTILINE_FIELDS: ReadonlySet<MergeField> = new Set(['supporter.note']);

export const SUBJECT_MAX = 200;
const NOTE_MAX_BLANK_LINES = 1;
const BODY_MAX_BLANK_LINES = 3;

export const defaultLettersDir = path.join(projectRoot, 'templates', 'letters');

/** The project's own templates in a language: `templates/letters` for English, `templates/letters/<lng>` for the others. */
export const lettersDirFor = (language: Language) =>
  language === DEFAULT_LANGUAGE ? defaultLettersDir : path.join(defaultLettersDir, language);

export function loadLetterTemplates(dir = defaultLettersDir): Record<TargetLevel, LetterTemplate> {
  const read = (file: string): string => {
    const full = path.join(dir, file);
    try {
      return readFileSync(full, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`Letter template ${file} is missing (looked for ${full})`, {
          cause: error,
        });
      throw error;
    }
  };
  const load = (level: TargetLevel): LetterTemplate => ({
    subject: read(`${level}.subject.hbs`),
    body: read(`${level}.body.hbs`),
  });
  return { federal: load('federal'), state: load('state'), local: load('local') };
}

// ---------------------------------------------------------------------------------------------
// Validation: the template language is merge fields, {{#if field}} … {{else}} … {{/if}} and comments.

type AstNode = hbs.AST.Node;
type Path = hbs.AST.PathExpression;

const isMergeField = (name: string): name is MergeField => Object.hasOwn(MERGE_FIELD_LIMITS, name);

/** The merge field a path names, or null: `supporter.name`, not `[supporter.name]`, `../x` or `@root.x`. */
function mergeFieldOf(node: hbs.AST.Expression | undefined): MergeField | null {
  if (node?.type !== 'PathExpression') return null;
  const p = node as Path;
  if (p.data || p.depth !== 0 || p.parts.length !== 2) return null;
  const name = p.parts.join('.');
  return isMergeField(name) ? name : null;
}

function describePath(node: hbs.AST.Expression): string {
  if (node.type === 'PathExpression') return (node as Path).original;
  if ('original' in node) return String((node as hbs.AST.StringLiteral).original);
  return node.type;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function unknownFieldMessage(name: string): string {
  if (isMergeField(name))
    return `write {{${name}}} as a plain merge field, without brackets, ../ or @.`;
  const closest = MERGE_FIELDS.map((field) => ({
    field,
    distance: editDistance(name, field),
  })).sort((x, y) => x.distance - y.distance)[0];
  const hint = closest && closest.distance <= 3 ? ` Did you mean {{${closest.field}}}?` : '';
  return `unknown merge field {{${name}}}.${hint} The merge fields are: ${MERGE_FIELDS.join(', ')}.`;
}

function checkStatement(node: AstNode): string | null {
  const at = `Line ${node.loc.start.line}: `;
  switch (node.type) {
    case 'ContentStatement': {
      // An escaped or half-typed mustache (`\{{x}}`, `{supporter.name}}`) would reach a lawmaker as is.
      const value = (node as hbs.AST.ContentStatement).value;
      const stray = /\{\{|\}\}/.exec(value);
      if (!stray) return null;
      const line = node.loc.start.line + (value.slice(0, stray.index).match(/\n/g)?.length ?? 0);
      return `Line ${line}: stray braces "${stray[0]}" in the text. Merge fields are written like {{supporter.name}}.`;
    }
    case 'CommentStatement':
      return null;
    case 'MustacheStatement': {
      const mustache = node as hbs.AST.MustacheStatement;
      if (mustache.params.length > 0 || mustache.hash?.pairs.length) {
        return `${at}{{${describePath(mustache.path)} …}} calls a helper; templates can only use merge fields and {{#if}}.`;
      }
      if (mergeFieldOf(mustache.path)) return null;
      return at + unknownFieldMessage(describePath(mustache.path));
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      const name = describePath(block.path);
      if (name !== 'if' || block.path.type !== 'PathExpression') {
        return `${at}{{#${name}}} blocks are not allowed; templates can only use merge fields and {{#if field}} … {{else}} … {{/if}}.`;
      }
      if (block.params.length !== 1 || block.hash?.pairs.length) {
        return `${at}{{#if}} takes exactly one merge field, like {{#if supporter.note}}.`;
      }
      const [condition] = block.params;
      if (condition?.type === 'SubExpression')
        return `${at}{{#if (…)}} calls a helper; templates can only use merge fields and {{#if}}.`;
      if (!mergeFieldOf(condition))
        return at + unknownFieldMessage(condition ? describePath(condition) : '');
      return checkProgram(block.program) ?? (block.inverse ? checkProgram(block.inverse) : null);
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
      return `${at}partials ({{> …}}) are not allowed in letter templates.`;
    case 'Decorator':
    case 'DecoratorBlock':
      return `${at}decorators ({{* …}}) are not allowed in letter templates.`;
    default:
      return `${at}${node.type} is not allowed in letter templates.`;
  }
}

function checkProgram(program: hbs.AST.Program): string | null {
  for (const statement of program.body) {
    const error = checkStatement(statement);
    if (error) return error;
  }
  return null;
}

function syntaxErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The parser's message: "Parse error on line N:\n<excerpt>\n---^\nExpecting …, got …".
  const parse = /^Parse error on line (\d+):\n(.*)\n.*\n(.*)$/s.exec(message);
  if (parse) return `Syntax error on line ${parse[1]} near "${parse[2]?.trim()}": ${parse[3]}.`;
  const line = (error as { lineNumber?: number }).lineNumber;
  const text = message.replace(/ - \d+:\d+$/, '');
  return line ? `Syntax error on line ${line}: ${text}.` : `Syntax error: ${text}.`;
}

/** A message for staff when `source` is not a valid letter template; null when it is. */
export function validateLetterTemplate(source: string): string | null {
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parse(source);
  } catch (error) {
    return syntaxErrorMessage(error);
  }
  return checkProgram(program);
}

// ---------------------------------------------------------------------------------------------
// Cleaning

const LINE_BREAK = /\r\n?|[\u0085\u2028\u2029]/g;

function capCharacters(value: string, max: number): string {
  // Counted in code points so a cap never splits an emoji or other astral character in two.
  const characters = Array.from(value);
  return characters.length > max ? characters.slice(0, max).join('') : value;
}

export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function oneLine(value: string): string {
  return removeControls(value.replace(/[\s\u0085]+/g, ' '))
    .replace(/ {2,}/g, ' ')
    .trim();
}

function cleanMultiline(value: string, maxBlankLines: number): string {
  const lines = removeControls(
    value.replace(LINE_BREAK, '\n').replace(/[\t\v\f]/g, ' '),
    'lineFeed',
  ).split('\n');
  const tooManyBlank = new RegExp(`\\n{${maxBlankLines + 2},}`, 'g');
  return lines
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(tooManyBlank, '\n'.repeat(maxBlankLines + 1))
    .trim();
}

/** A merge value as it may appear in a letter: no control characters, one line unless it is the note, capped. */
export function cleanMergeValue(value: string | null | undefined, field: MergeField): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  const multiline = MULTILINE_FIELDS.has(field);
  const cleaned = multiline ? cleanMultiline(text, NOTE_MAX_BLANK_LINES) : oneLine(text);
  return capCharacters(cleaned, MERGE_FIELD_LIMITS[field]).trim();
}

function cleanSubject(value: string): string {
  return capCharacters(oneLine(value), SUBJECT_MAX).trim();
}

function cleanBody(value: string): string {
  return cleanMultiline(value, BODY_MAX_BLANK_LINES);
}

function cleanContext(context: LetterContext): LetterContext {
  const { supporter, target, campaign } = context;
  return {
    supporter: {
      name: cleanMergeValue(supporter.name, 'supporter.name'),
      city: cleanMergeValue(supporter.city, 'supporter.city'),
      state: cleanMergeValue(supporter.state, 'supporter.state'),
      zip: cleanMergeValue(supporter.zip, 'supporter.zip'),
      note: cleanMergeValue(supporter.note, 'supporter.note'),
    },
    target: {
      title: cleanMergeValue(target.title, 'target.title'),
      name: cleanMergeValue(target.name, 'target.name'),
      office: cleanMergeValue(target.office, 'target.office'),
      district: cleanMergeValue(target.district, 'target.district'),
    },
    campaign: { title: cleanMergeValue(campaign.title, 'campaign.title') },
  };
}

// ---------------------------------------------------------------------------------------------
// Compiling and rendering

const COMPILE_OPTIONS = { noEscape: true, strict: false, knownHelpersOnly: true } as const;

/** Compiles all six templates, or throws an Error saying which one is wrong and why. */
export function compileLetterTemplates(
  sources: Record<TargetLevel, LetterTemplate>,
): LetterRenderer {
  // An environment of our own, so a helper or partial registered elsewhere in the process can't reach letters.
  const handlebars = Handlebars.create();
  const compiled = {} as Record<
    TargetLevel,
    { subject: Handlebars.TemplateDelegate; body: Handlebars.TemplateDelegate }
  >;
  for (const level of TARGET_LEVELS) {
    const source = sources[level];
    if (!source) throw new Error(`No ${level} letter template`);
    for (const part of ['subject', 'body'] as const) {
      const error = validateLetterTemplate(source[part]);
      if (error) throw new Error(`The ${level} letter ${part} template is invalid: ${error}`);
    }
    compiled[level] = {
      subject: handlebars.compile(source.subject, COMPILE_OPTIONS),
      body: handlebars.compile(source.body, COMPILE_OPTIONS),
    };
  }
  return {
    render(level, context) {
      const templates = compiled[level];
      const data = cleanContext(context);
      return {
        subject: cleanSubject(templates.subject(data)),
        body: cleanBody(templates.body(data)),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Supporter input

/**
 * For a value that becomes part of a mail header (the supporter's name, the subject): a message
 * when it holds a line break or another control character, null when it is fine. Such input is
 * refused rather than cleaned, so the supporter sees exactly what will be sent.
 */
export function headerFieldError(
  value: string,
  field: 'name' | 'subject',
  t: Translate = english().t,
): string | null {
  const problem = headerProblem(value);
  return problem ? t(`errors:${field}.${problem}`) : null;
}

export type { LetterLimits };

export type LetterEditResult =
  | { ok: true; letter: RenderedLetter }
  | { ok: false; errors: Partial<Record<'subject' | 'body', string>> };

function lockedLineError(
  locked: string | undefined,
  body: string,
  where: 'first' | 'last',
  t: Translate,
): string | null {
  const required = locked === undefined ? '' : cleanBody(locked);
  if (!required) return null;
  const kept = where === 'first' ? body.startsWith(required) : body.endsWith(required);
  if (kept) return null;
  const what = `${where === 'first' ? 'opening' : 'closing'}${required.includes('\n') ? 'Lines' : 'Line'}`;
  return t(`errors:body.keep.${what}`, { text: required });
}

function subjectError(subject: string, max: number, t: Translate): string | null {
  if (!subject) return t('errors:subject.required');
  const length = characterCount(subject);
  if (length > max) return t('errors:subject.tooLongFor', { max, length });
  return null;
}

function bodyError(body: string, limits: LetterLimits, t: Translate): string | null {
  if (!body) return t('errors:body.required');
  const length = characterCount(body);
  if (length > limits.bodyMax) return t('errors:body.tooLongFor', { max: limits.bodyMax, length });
  const locked = [
    lockedLineError(limits.lockedOpening, body, 'first', t),
    lockedLineError(limits.lockedClosing, body, 'last', t),
  ];
  const errors = locked.filter((error): error is string => error !== null);
  return errors.length > 0 ? errors.join(' ') : null;
}

/**
 * The letter as the supporter will send it: their edited subject and body in place of the rendered
 * ones. Edited text is checked against the campaign's limits; text the supporter left alone is the
 * campaign's own and is taken as rendered.
 */
export function applySupporterEdits(
  rendered: RenderedLetter,
  edits: { subject?: string; body?: string },
  limits: LetterLimits,
  t: Translate = english().t,
): LetterEditResult {
  const subject = edits.subject === undefined ? rendered.subject : oneLine(edits.subject);
  const body = edits.body === undefined ? rendered.body : cleanBody(edits.body);
  const errors: Partial<Record<'subject' | 'body', string>> = {};
  if (edits.subject !== undefined) {
    const error =
      headerFieldError(edits.subject, 'subject', t) ?? subjectError(subject, limits.subjectMax, t);
    if (error) errors.subject = error;
  }
  if (edits.body !== undefined) {
    const error = bodyError(body, limits, t);
    if (error) errors.body = error;
  }
  if (errors.subject || errors.body) return { ok: false, errors };
  return { ok: true, letter: { subject, body } };
}

/** A greeting line: "Dear Senator Doe," in English; "Honorable …:" or "Estimado/a …:" in Spanish. */
const GREETING = /^(?:Dear\b.*,|(?:Honorable|Estimad[oa]s?|Distinguid[oa]s?)\b.*[:,])\s*$/;

/**
 * A letter in two parts: its head (the address block and the greeting, "Dear Senator Doe,"), which
 * is each recipient's own, and the text after it, which a supporter may edit once for all their
 * letters. A letter with no greeting line is all text.
 */
export function splitGreeting(body: string): { head: string; text: string } {
  const lines = body.split('\n');
  const greeting = lines.findIndex((line) => GREETING.test(line));
  if (greeting < 0) return { head: '', text: body };
  return {
    head: lines.slice(0, greeting + 1).join('\n'),
    text: lines
      .slice(greeting + 1)
      .join('\n')
      .replace(/^\n+/, ''),
  };
}
