/**
 * Characters that have no place in text people type into the platform, for the zod schemas of
 * every form and JSON body.
 *
 * - **Control characters.** C0 controls (NUL among them, which PostgreSQL refuses in text: the
 *   request would fail as a 500), DEL and C1 controls. A one-line value takes none, nor the Unicode
 *   line and paragraph separators; a long text (a letter, a petition) may hold tabs and line breaks.
 *   Refused with a message, never cleaned silently: they are never typed, only sent.
 * - **Bidirectional formatting and zero-width characters**, which make a name read differently from
 *   what it is, or hide text, in staff tables and in letters to officials:
 *   - embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what is shown:
 *     refused everywhere, never stripped (what the person sees would change under them);
 *   - the direction marks (LRM U+200E, RLM U+200F, ALM U+061C), the zero-width space (U+200B), the
 *     word joiner (U+2060) and the byte-order mark (U+FEFF) show nothing and change nothing a
 *     reader of a name sees, and come along when a name is pasted from a web page or a phone;
 *   - the zero-width joiner and non-joiner (U+200D, U+200C) are part of how some names are written
 *     (Indic conjuncts, Persian words, emoji sequences): allowed between two letters, marks or
 *     emoji, and out of place anywhere else (at an edge, next to another joiner or a space).
 *   Where a supporter types (their name, address, city, a letter's subject), the invisible ones
 *   are stripped (`stripInvisible`): a real person must not lose a signature to a character they
 *   cannot see. In the staff console (staff names, list names, campaign titles), where an error
 *   message costs nothing and the text is shown to colleagues, supporters and officials as typed,
 *   they are refused (`hiddenFormatting`), so what is stored is what the person saw.
 */

import { BIDI_CONTROL } from './characters';

/** Characters that show nothing and change nothing a reader sees in a name. */
const INVISIBLE = /[\u200b\u200e\u200f\u061c\u2060\ufeff]/g;
/** A joiner or non-joiner not between two letters, marks or emoji: it does nothing there but hide. */
const JOINER_OUT_OF_PLACE =
  /(?<![\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}])[\u200c\u200d]|[\u200c\u200d](?![\p{L}\p{M}\p{Extended_Pictographic}])/gu;

/** `value` without the invisible characters above and joiners out of place (supporters' text). */
export const stripInvisible = (value: string): string =>
  value.replace(INVISIBLE, '').replace(JOINER_OUT_OF_PLACE, '');

/** Whether `value` holds any bidirectional or zero-width formatting but a joiner in its place (staff text). */
export const hiddenFormatting = (value: string): boolean =>
  BIDI_CONTROL.test(value) || stripInvisible(value) !== value;
