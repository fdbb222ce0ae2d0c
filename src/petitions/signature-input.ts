import { z } from 'zod';
import { BIDI_CONTROL, CONTROL_IN_LINE, stripInvisible } from '../text-safety/input';

export type FieldErrors = Record<string, string>;

/**
 * A line a supporter types (a name, an address, a city): control characters are refused; of the
 * invisible formatting characters, those that change nothing a reader sees are stripped (pasted
 * names carry them, and a person must not lose a signature to what they cannot see) and the
 * direction controls, which reorder what staff and officials would read, are refused. See
 * text-safety/input.ts.
 */
export const supporterLine = (schema: z.ZodString, messages: { control: string; direction: string }) =>
  schema
    .overwrite(stripInvisible)
    .trim()
    .refine((value) => !CONTROL_IN_LINE.test(value), messages.control)
    .refine((value) => !BIDI_CONTROL.test(value), messages.direction);

const DIRECTION_MESSAGE = 'Please remove the text-direction characters: they make text read differently from how it is written.';

const requiredText = (message: string, max: number, tooLong: string) =>
  supporterLine(z.string({ error: message }), { control: 'Please remove line breaks and special characters.', direction: DIRECTION_MESSAGE })
    .min(1, message)
    .max(max, tooLong);

/** A partner or channel code, as in `?source=partner-x`. */
const SOURCE_CODE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A JSON boolean, or what an HTML checkbox sends ("on" when ticked, nothing when not). */
const checkbox = z
  .union([z.boolean(), z.enum(['on', 'true', 'false', ''])], { error: 'optIn must be true or false.' })
  .transform((value) => value === true || value === 'on' || value === 'true');

/** What a supporter gives to sign; the same schema serves the HTML form and the JSON API. */
export const signatureInput = z.object({
  name: requiredText('Please enter your name.', 100, 'Please shorten your name to 100 characters.'),
  email: z
    .string({ error: 'Please enter your email address.' })
    .trim()
    .toLowerCase()
    .min(1, 'Please enter your email address.')
    .max(254, 'That email address is too long.')
    .pipe(z.email({ error: 'Please enter a valid email address, like name@example.org.' })),
  zip: z
    .string({ error: 'Please enter your ZIP code.' })
    .trim()
    .regex(/^\d{5}(-\d{4})?$/, 'Please enter a 5-digit ZIP code.')
    .transform((zip) => zip.slice(0, 5)),
  address: supporterLine(z.string({ error: 'Please enter your street address as text.' }), {
    control: 'Please write the address on one line.',
    direction: DIRECTION_MESSAGE,
  })
    .max(200, 'Please shorten the address to 200 characters.')
    .optional()
    .transform((value) => value || undefined),
  optIn: checkbox.optional().default(false),
  /** Updates from the partner organisation whose source code the signature carries. */
  partnerOptIn: z
    .union([z.boolean(), z.enum(['on', 'true', 'false', ''])], { error: 'partnerOptIn must be true or false.' })
    .transform((value) => value === true || value === 'on' || value === 'true')
    .optional()
    .default(false),
  source: z
    .string({ error: 'The source code must be text.' })
    .trim()
    .toLowerCase()
    .regex(SOURCE_CODE, 'The source code may use letters, digits, - and _ (up to 64).')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Honeypot: hidden from people, filled in by naive bots. */
  website: z.unknown().optional(),
});

export type SignatureInput = z.output<typeof signatureInput>;

/** Turns zod issues into one message per field (the first one), keyed by field name. */
export function fieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'body';
    errors[field] ??= field === 'body' ? 'Please send a JSON object with the signature fields.' : issue.message;
  }
  return errors;
}

export function honeypotFilled(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const value = (raw as Record<string, unknown>).website;
  return value !== undefined && value !== null && value !== '' && value !== false;
}

/** A source code from a link (`?source=`), or nothing when it is not a valid code. */
export function sourceFromQuery(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const code = value.trim().toLowerCase();
  return SOURCE_CODE.test(code) ? code : undefined;
}
