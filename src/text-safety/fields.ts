import { z } from 'zod';
import { CONTROL_IN_LINE, CONTROL_IN_TEXT } from './characters';
import { hiddenFormatting } from './input';

/**
 * The zod fields for what staff type into the console: titles and names on one line, summaries,
 * templates, scripts and notes over several. Control characters are refused everywhere; on a line,
 * invisible formatting is refused too (not stripped: what is stored is what the person saw, see
 * ./input.ts). Line breaks are kept as `\n`. Each message names the field: `label` reads as in
 * "Enter the organisation name."
 */

const oneLine = (label: string) =>
  `Write ${label} on one line, without invisible control characters.`;
/** What a field holding invisible formatting is told. */
export const hiddenFormattingIn = (label: string) =>
  `Remove the invisible formatting characters (text-direction controls, zero-width spaces) from ${label}.`;
const tooLong = (label: string, max: number) =>
  `Shorten ${label} to ${max.toLocaleString('en-US')} characters.`;
const withNewlines = (value: string) => value.replace(/\r\n?/g, '\n');
/** An empty optional field is no value at all. */
const absentIfEmpty = (value: string) => value || undefined;

const lineOf = (schema: z.ZodString, label: string, max: number) =>
  schema
    .trim()
    .max(max, tooLong(label, max))
    .refine((value) => !CONTROL_IN_LINE.test(value), oneLine(label))
    .refine((value) => !hiddenFormatting(value), hiddenFormattingIn(label));

const textOf = (schema: z.ZodString, label: string, max: number) =>
  schema
    .overwrite(withNewlines)
    .trim()
    .max(max, tooLong(label, max))
    .refine(
      (value) => !CONTROL_IN_TEXT.test(value),
      `Remove invisible control characters from ${label}.`,
    );

/** A required line; `missing` is said when it is empty. */
export const staffLine = (label: string, max: number, missing = `Enter ${label}.`) =>
  lineOf(z.string({ error: missing }).trim().min(1, missing), label, max);

export const optionalStaffLine = (label: string, max: number) =>
  lineOf(z.string(), label, max).transform(absentIfEmpty).optional();

/** A required text of several lines; `missing` is said when it is empty. */
export const staffText = (label: string, max: number, missing = `Enter ${label}.`) =>
  textOf(z.string({ error: missing }).trim().min(1, missing), label, max);

export const optionalStaffText = (label: string, max: number) =>
  textOf(z.string(), label, max).transform(absentIfEmpty).optional();
