import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Capability links for supporters: each link carries a sealed token that says what it may do
 * (its purpose), to what (a signature id, or an email address) and until when. Tokens are
 * AES-256-GCM with a key derived from APP_SECRET: nobody can forge or alter one, a token made for
 * one purpose is refused for another (the purpose is the authenticated data), and an email
 * address inside a token is not readable from the link.
 */

export type LinkPurpose = 'verify' | 'not-me' | 'unsubscribe' | 'my-data' | 'data-request';

/** How long each kind of link works; `null`: for as long as the data exists. */
export const LINK_LIFETIME_SECONDS: Record<LinkPurpose, number | null> = {
  verify: 7 * 86_400,
  'not-me': 30 * 86_400,
  // One-click unsubscribe must keep working from old emails (RFC 8058).
  unsubscribe: null,
  'my-data': 24 * 3600,
  // Between the request form and the worker that mails the link: never shown to anyone.
  'data-request': 3600,
};

export type OpenedLink =
  | { ok: true; subject: string }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'expired'; subject: string };

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Tokens are URL path segments: base64url, bounded so a long path is refused before any work. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{40,700}$/;

const keys = new Map<string, { seal: Buffer; hash: Buffer }>();

function keysFor(secret: string) {
  let found = keys.get(secret);
  if (!found) {
    const derive = (info: string) =>
      Buffer.from(hkdfSync('sha256', secret, 'ban-face-surveillance', info, 32));
    found = {
      seal: derive('supporter capability links v1'),
      hash: derive('supporter email keys v1'),
    };
    keys.set(secret, found);
  }
  return found;
}

export function sealLink(
  secret: string,
  purpose: LinkPurpose,
  subject: string,
  now = Date.now(),
): string {
  const lifetime = LINK_LIFETIME_SECONDS[purpose];
  const expires = lifetime === null ? 0 : Math.floor(now / 1000) + lifetime;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keysFor(secret).seal, iv);
  cipher.setAAD(Buffer.from(purpose));
  const sealed = Buffer.concat([
    cipher.update(`${expires.toString(36)}|${subject}`, 'utf8'),
    cipher.final(),
  ]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** Opens a token for `purpose`; an expired one still names its subject (for "send me a new link"). */
export function openLink(
  secret: string,
  purpose: LinkPurpose,
  token: string,
  now = Date.now(),
): OpenedLink {
  if (!TOKEN_SHAPE.test(token)) return { ok: false, reason: 'invalid' };
  const raw = Buffer.from(token, 'base64url');
  // Only the one encoding we write: no two different links open the same token.
  if (raw.length < IV_BYTES + TAG_BYTES + 3 || raw.toString('base64url') !== token)
    return { ok: false, reason: 'invalid' };
  let text: string;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keysFor(secret).seal,
      raw.subarray(0, IV_BYTES),
    );
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    text = Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  const separator = text.indexOf('|');
  const expires = parseInt(text.slice(0, separator), 36);
  const subject = text.slice(separator + 1);
  if (separator < 1 || !Number.isFinite(expires)) return { ok: false, reason: 'invalid' };
  if (expires !== 0 && expires * 1000 <= now) return { ok: false, reason: 'expired', subject };
  return { ok: true, subject };
}

/** A keyed hash of an email address: rate-limit keys in Redis name nobody. */
export function emailKey(secret: string, email: string): string {
  return createHmac('sha256', keysFor(secret).hash).update(email).digest('base64url').slice(0, 32);
}

/** The subject of an unsubscribe link: an email address, in one campaign or (no campaign) in all of them. */
export const unsubscribeSubject = (email: string, campaignId: number | null) =>
  `${campaignId ?? '*'}:${email}`;

export function parseUnsubscribeSubject(
  subject: string,
): { email: string; campaignId: number | null } | null {
  const match = /^(\*|\d{1,10}):(.+)$/s.exec(subject);
  if (!match) return null;
  return { campaignId: match[1] === '*' ? null : Number(match[1]), email: match[2]! };
}
