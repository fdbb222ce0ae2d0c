/** What the security tests check on every page the platform serves. */

/**
 * Nothing on the page runs that the platform did not write: no injected element or attribute, no
 * script but our own files, no `javascript:` address, and Handlebars syntax shown, not evaluated.
 */
export function expectSafeHtml(html: string, where: string): void {
  const problems: string[] = [];
  if (html.includes('<script>alert(1)</script>')) problems.push('an injected <script> element');
  if (/<img\b[^>]*\bonerror\b/i.test(html)) problems.push('an injected <img onerror>');
  for (const [tag, attributes = ''] of html.matchAll(/<script\b([^>]*)>/gi)) {
    if (!/\bsrc="\/static\/[^"]+"/.test(attributes))
      problems.push(`a script that is not one of ours: ${tag}`);
  }
  const handler = /<[a-z][^>]*\son[a-z]+\s*=/i.exec(html);
  if (handler) problems.push(`an event handler attribute: ${handler[0].slice(0, 120)}`);
  if (/\b(href|src|action|formaction)\s*=\s*["']?\s*javascript:/i.test(html))
    problems.push('a javascript: address');
  if (/function Object\(\)|\[native code\]/.test(html))
    problems.push('a Handlebars expression evaluated');
  expect({ where, problems }).toEqual({ where, problems: [] });
}
