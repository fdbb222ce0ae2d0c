/** Reading the platform's HTML in tests, without a DOM. */

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  '#x27': "'",
  '#39': "'",
  '#x3D': '=',
  '#x60': '`',
};

/** Text as it was before Handlebars (or the SVG charts) escaped it. */
export function unescapeHtml(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#x27|#39|#x3D|#x60);/g,
    (_, name: string) => ENTITIES[name] ?? '',
  );
}

/** The hidden fields of a page's forms (the CSRF token, the form's fill-time token…), by name; the first of each name wins. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [tag] of html.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined && value !== undefined && !(name in fields))
      fields[name] = unescapeHtml(value);
  }
  return fields;
}

/**
 * What a browser would send from a page's forms without the person typing anything: the hidden
 * fields and the ticked checkboxes and radio buttons, in page order, repeated names and all (the
 * honeypot field, which a person leaves empty, is left out).
 */
export function formFields(html: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const match of html.matchAll(/<input\b([^>]*)>/g)) {
    const attributes = match[1] ?? '';
    const attribute = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(attributes)?.[1];
    const type = attribute('type');
    const name = attribute('name');
    if (!name || name === 'website') continue;
    const ticked = (type === 'checkbox' || type === 'radio') && /\schecked\b/.test(attributes);
    if (type === 'hidden' || ticked) fields.push([name, unescapeHtml(attribute('value') ?? 'on')]);
  }
  return fields;
}
