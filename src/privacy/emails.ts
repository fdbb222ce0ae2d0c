import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Config } from '../config';
import { projectRoot } from '../paths';
import { translator, type Language } from '../i18n/translations';
import { LINK_LIFETIME_SECONDS, sealLink, unsubscribeSubject } from './links';

/**
 * The emails supporters get from the platform: the signing confirmation, the verification link
 * and the "your data" link. Plain text from `templates/email/` (no HTML escaping: nothing here is
 * read as HTML), each with one-click unsubscribe headers (RFC 2369 and RFC 8058). Their words are
 * in `locales/<lng>/emails.json`, through a `t` helper: each email is written in the language its
 * reader signed (or asked) in.
 */

export const SITE_NAME = 'Ban Face Surveillance';

export type SupporterEmail = 'verify' | 'confirm' | 'data-link';

const templatesDir = path.join(projectRoot, 'templates', 'email');
const handlebars = Handlebars.create();
handlebars.registerHelper(
  't',
  (key: string, options: { hash?: Record<string, unknown>; data?: { root?: { lng?: string } } }) =>
    translator(options.data?.root?.lng).t(key, options.hash),
);
const compiled = new Map<
  SupporterEmail,
  { subject: Handlebars.TemplateDelegate; body: Handlebars.TemplateDelegate }
>();

function template(name: SupporterEmail) {
  let found = compiled.get(name);
  if (!found) {
    const read = (part: string) =>
      readFileSync(path.join(templatesDir, `${name}.${part}.hbs`), 'utf8');
    const options = {
      noEscape: true,
      strict: false,
      knownHelpers: { t: true },
      knownHelpersOnly: true,
    } as const;
    found = {
      subject: handlebars.compile(read('subject').trim(), options),
      body: handlebars.compile(read('body'), options),
    };
    compiled.set(name, found);
  }
  return found;
}

/** Renders an email in a language; the subject is one line whatever a title holds. */
export function renderSupporterEmail(
  name: SupporterEmail,
  language: Language,
  data: Record<string, unknown>,
): { subject: string; text: string } {
  const { subject, body } = template(name);
  const context = { siteName: SITE_NAME, ...data, lng: language };
  return {
    subject: subject(context)
      .replace(/[\r\n\u2028\u2029]+/g, ' ')
      .trim()
      .slice(0, 200),
    text: body(context),
  };
}

/** The address a `mailto:` unsubscribe goes to: MAIL_FROM's. Staff who read that mailbox act on it by hand. */
function mailbox(from: string): string {
  return (/<([^<>\s]+@[^<>\s]+)>/.exec(from)?.[1] ?? from).trim();
}

export const unsubscribeUrl = (
  config: Pick<Config, 'publicUrl' | 'secret'>,
  email: string,
  campaignId: number | null,
) =>
  `${config.publicUrl}/u/${sealLink(config.secret, 'unsubscribe', unsubscribeSubject(email, campaignId))}`;

/** `List-Unsubscribe` (a one-click HTTPS link and a mailto:) and `List-Unsubscribe-Post`, for every email to a supporter. */
export function unsubscribeHeaders(
  config: Pick<Config, 'publicUrl' | 'secret' | 'delivery'>,
  url: string,
): Record<string, string> {
  return {
    'List-Unsubscribe': `<${url}>, <mailto:${mailbox(config.delivery.from)}?subject=unsubscribe>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

export const linkLifetimeDays = (purpose: 'verify' | 'not-me') =>
  Math.round((LINK_LIFETIME_SECONDS[purpose] ?? 0) / 86_400);
