/**
 * The characters that text crossing a boundary may not carry, named once: what a form refuses, what
 * a mail header cannot hold, what XML cannot hold, and how each is cleaned where text is kept rather
 * than refused. Every other module imports these instead of writing its own character class.
 */
/* eslint-disable no-control-regex -- this module is where control characters are written, once. */

/** Control characters a one-line value may not hold (C0, DEL, C1, and the line and paragraph separators). */
export const CONTROL_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Control characters a long text may not hold: those of a line, but tab, line feed and carriage return. */
export const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/** Bidirectional embeddings, overrides and isolates: they reorder the text around them. */
export const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

/** Every line break a header must not hold: CR, LF, NEL and the Unicode line and paragraph separators. */
const HEADER_LINE_BREAK = /[\r\n\u0085\u2028\u2029]/;
/** C0 controls, DEL and C1 controls. */
const C0_C1 = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a value cannot become part of a mail header (a sender's name, a subject), or null when it can.
 * Such values are refused rather than cleaned, so a person sees exactly what will be sent.
 */
export function headerProblem(value: string): 'lineBreaks' | 'controls' | null {
  if (HEADER_LINE_BREAK.test(value)) return 'lineBreaks';
  if (C0_C1.test(value)) return 'controls';
  return null;
}

const ALL_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const CONTROLS_BUT_LINE_FEED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** `value` without C0, DEL and C1 controls; `keep: 'lineFeed'` keeps line feeds (normalise breaks first). */
export const removeControls = (value: string, keep: 'nothing' | 'lineFeed' = 'nothing'): string =>
  value.replace(keep === 'lineFeed' ? CONTROLS_BUT_LINE_FEED : ALL_CONTROLS, '');

/** `value` with each run of controls (line breaks among them) one space, for a cell or a log line. */
export const controlsToSpaces = (value: string): string => value.replace(CONTROL_RUNS, ' ');

/**
 * What XML 1.0 forbids, and controls that have no place in a document: C0 controls but tab, line feed
 * and carriage return; DEL and C1 controls; the non-characters U+FFFE and U+FFFF; and halves of
 * surrogate pairs standing alone (found without the `u` flag, which would hide them).
 */
const NOT_IN_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `value` without what an XML document (a CWC message, an SVG) cannot hold. */
export const removeNotInXml = (value: string): string =>
  value.replace(NOT_IN_XML, '').replace(LONE_SURROGATE, '');

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * Text for an XML or HTML text node or attribute value: what XML cannot hold removed, the five
 * markup characters as entities. Numbers and null are accepted so that templates can pass values as
 * they come.
 */
export const escapeXml = (value: string | number | null | undefined): string =>
  removeNotInXml(value === null || value === undefined ? '' : String(value)).replace(
    /[&<>"']/g,
    (char) => XML_ENTITIES[char] ?? char,
  );
