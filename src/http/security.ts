import helmet from 'helmet';
import type { Response } from 'express';

/**
 * Security headers with a strict Content-Security-Policy: every script, style, font and image
 * comes from this origin, nothing inline, no frames of our pages on other sites.
 */
export function securityHeaders(options: { https: boolean }) {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        manifestSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        ...(options.https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: options.https
      ? { maxAge: 31_536_000, includeSubDomains: true }
      : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
}

/**
 * Adds sources to directives of the Content-Security-Policy already set on this response (by
 * `securityHeaders`), for one page that needs a third party (the optional CAPTCHA widget). Every
 * other page keeps the strict policy.
 */
export function addContentSecuritySources(
  res: Response,
  sources: Partial<Record<string, string[]>>,
): void {
  const header = res.getHeader('Content-Security-Policy');
  if (typeof header !== 'string') return;
  const directives = header
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => part.split(/\s+/));
  for (const [name, added] of Object.entries(sources)) {
    if (!added || added.length === 0) continue;
    const directive = directives.find(([directiveName]) => directiveName === name);
    if (!directive) directives.push([name, ...added]);
    else directive.push(...added.filter((source) => !directive.includes(source)));
  }
  res.setHeader('Content-Security-Policy', directives.map((parts) => parts.join(' ')).join(';'));
}
