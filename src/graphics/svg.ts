import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { viewsDir } from '../paths';
import { removeNotInXml } from '../text-safety/characters';

/**
 * The SVG of charts and maps is written by Handlebars templates (`views/graphics/*.hbs`), so every
 * piece of text from data (campaign, partner and district names) goes through the template
 * engine's escaping, as on every page. An engine of its own keeps these helpers off the pages.
 */
const engine = Handlebars.create();

/** Text an SVG can hold: what XML forbids outright is dropped (the engine escapes the rest). */
export const xmlText = (value: unknown): string =>
  removeNotInXml(
    typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '',
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
