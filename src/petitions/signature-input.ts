import { z } from 'zod';
import { BIDI_CONTROL, CONTROL_IN_LINE } from '../text-safety/characters';
import { stripInvisible } from '../text-safety/input';

/**
 * A line a supporter types (a name, an address, a city): control characters are refused; of the
 * invisible formatting characters, those that change nothing a reader sees are stripped (pasted
 * names carry them, and a person must not lose a signature to what they cannot see) and the
 * direction controls, which reorder what staff and officials would read, are refused. See
 * text-safety/input.ts.
 */
export const supporterLine = (
  schema: z.ZodString,
  messages: { control: string; direction: string },
) =>
  schema
    .overwrite(stripInvisible)
    .trim()
    .refine((value) => !CONTROL_IN_LINE.test(value), messages.control)
    .refine((value) => !BIDI_CONTROL.test(value), messages.direction);

const DIRECTION_MESSAGE = 'errors:text.direction';

const requiredText = (message: string, max: number, tooLong: string) =>
  supporterLine(z.string({ error: message }), {
    control: 'errors:text.control',
    direction: DIRECTION_MESSAGE,
  })
    .min(1, message)
    .max(max, tooLong);

/** A partner or channel code, as in `?source=partner-x`. */
const SOURCE_CODE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A JSON boolean, or what an HTML checkbox sends ("on" when ticked, nothing when not). */
const checkbox = (message: string) =>
  z
    .union([z.boolean(), z.enum(['on', 'true', 'false', ''])], { error: message })
    .transform((value) => value === true || value === 'on' || value === 'true');

/**
 * An email address, normalised (trimmed, lower-cased). The messages of the supporters' schemas
 * are keys of `locales/<lng>/errors.json`, translated where the answer is written (`fieldErrors`).
 */
export const emailAddress = z
  .string({ error: 'errors:email.required' })
  .trim()
  .toLowerCase()
  .min(1, 'errors:email.required')
  .max(254, 'errors:email.tooLong')
  .pipe(z.email({ error: 'errors:email.invalid' }));

/** What a supporter gives to sign; the same schema serves the HTML form and the JSON API. */
export const signatureInput = z.object({
  name: requiredText('errors:name.required', 100, 'errors:name.tooLong'),
  email: emailAddress,
  zip: z
    .string({ error: 'errors:zip.required' })
    .trim()
    .regex(/^\d{5}(-\d{4})?$/, 'errors:zip.invalid')
    .transform((zip) => zip.slice(0, 5)),
  address: supporterLine(z.string({ error: 'errors:address.notText' }), {
    control: 'errors:address.oneLine',
    direction: DIRECTION_MESSAGE,
  })
    .max(200, 'errors:address.tooLong')
    .optional()
    .transform((value) => value || undefined),
  optIn: checkbox('errors:optIn.invalid').optional().default(false),
  /** Updates from the partner organisation whose source code the signature carries. */
  partnerOptIn: checkbox('errors:partnerOptIn.invalid').optional().default(false),
  source: z
    .string({ error: 'errors:source.invalid' })
    .trim()
    .toLowerCase()
    .regex(SOURCE_CODE, 'errors:source.invalid')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Honeypot: hidden from people, filled in by naive bots. */
  website: z.unknown().optional(),
});

export type SignatureInput = z.output<typeof signatureInput>;

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
