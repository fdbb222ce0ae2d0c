import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { viewsDir } from '../paths';

/**
 * The SVG of charts and maps is written by Handlebars templates (`views/graphics/*.hbs`), so every
 * piece of text from data (campaign, partner and district names) goes through the template
 * engine's escaping, as on every page. An engine of its own keeps these helpers off the pages.
 */
const engine = Handlebars.create();

/** Characters XML does not allow at all (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F). */
const NOT_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text an SVG can hold: what XML forbids outright is dropped (the engine escapes the rest). */
export const xmlText = (value: unknown): string =>
  (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '').replace(
    NOT_XML,
    '',
  );

// `{{text value}}`: the helper's answer is escaped like any other `{{…}}`.
engine.registerHelper('text', (value: unknown) => xmlText(value));

/** A template of `views/graphics/`, compiled on first use; its output is trimmed of the file's edges. */
export function svgTemplate<T>(name: string): (data: T) => string {
  let compiled: Handlebars.TemplateDelegate<T> | undefined;
  return (data) => {
    compiled ??= engine.compile<T>(
      readFileSync(path.join(viewsDir, 'graphics', `${name}.hbs`), 'utf8'),
      { strict: true, noEscape: false },
    );
    return compiled(data).trim();
  };
}

/** Escapes text for SVG or HTML exactly as the templates do (for the rare string built outside one). */
export const escapeXml = (value: unknown): string => engine.escapeExpression(xmlText(value));
