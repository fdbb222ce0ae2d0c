import { z } from 'zod';
import type { Campaign } from '../db/schema';
import { isLanguage } from '../i18n/translations';
import type { FieldErrors } from '../kernel/field-errors';
import { signPetition, type SignContext } from '../petitions/sign-petition';
import { signatureIdentifier, signatureRef, OSDI_NAMESPACE } from './identifiers';
import { ORIGIN_SYSTEM, curies } from './resources';
import type { TokenHolder } from './tokens';

/**
 * The record signature helper: an OSDI signature with its `person`, signed through `signPetition`
 * like every other door (the same validation, the same answer for a repeat, the same limits on the
 * emails an address receives, the consents recorded in the words the platform gives partners).
 *
 * From the person it takes the name (given and family), the primary email address, and the primary
 * postal address's postal code and street lines; `referrer_data.source` is the source code. An
 * email address with `"status": "subscribed"` is the person's agreement to hear from the token's
 * partner (a partner's token) or from the campaign (the coalition's own token), as Action Network
 * reads it: subscribed to the list of whoever holds the key. The first of `languages_spoken` the
 * platform speaks (`en`, `es`) is the signer's language, for their emails. Other fields are
 * ignored, as OSDI asks.
 */

const text = (max: number) =>
  z.string({ error: 'must be text' }).max(max, `must be at most ${max} characters`);

const emailAddress = z.looseObject({
  address: z.unknown().optional(),
  primary: z.boolean({ error: 'must be true or false' }).optional(),
  status: text(40).optional(),
});

const postalAddress = z.looseObject({
  primary: z.boolean({ error: 'must be true or false' }).optional(),
  postal_code: z.unknown().optional(),
  address_lines: z
    .array(text(200), { error: 'must be a list of lines' })
    .max(4, 'must be at most 4 lines')
    .optional(),
  locality: text(100).optional(),
  region: text(100).optional(),
});

const helperBody = z.looseObject({
  person: z.looseObject(
    {
      given_name: text(100).optional(),
      family_name: text(100).optional(),
      email_addresses: z
        .array(emailAddress, { error: 'must be a list of email addresses' })
        .min(1, 'must hold an email address')
        .max(10, 'must be at most 10'),
      postal_addresses: z
        .array(postalAddress, { error: 'must be a list of postal addresses' })
        .max(10, 'must be at most 10')
        .optional(),
      languages_spoken: z
        .array(text(20), { error: 'must be a list of language codes' })
        .max(10, 'must be at most 10')
        .optional(),
    },
    { error: 'is required: the person who signs' },
  ),
  referrer_data: z
    .looseObject({ source: z.unknown().optional() }, { error: 'must be an object' })
    .optional(),
  add_tags: z
    .array(text(100), { error: 'must be a list of tags' })
    .max(50, 'must be at most 50 tags')
    .optional(),
});

/** An OSDI error description: the property it is about, and why. */
export interface OsdiFieldError {
  property: string;
  message: string;
}

export type RecordResult =
  | { outcome: 'signed'; body: Record<string, unknown> }
  | { outcome: 'invalid'; errors: OsdiFieldError[] }
  | { outcome: 'closed' };

const primary = <T extends { primary?: boolean }>(
  list: T[] | undefined,
): { item: T; index: number } | undefined => {
  if (!list || list.length === 0) return undefined;
  const index = Math.max(
    0,
    list.findIndex((item) => item.primary === true),
  );
  return { item: list[index]!, index };
};

/** Where in the OSDI body each of `signatureInput`'s fields came from. */
function propertiesOf(emailIndex: number, postalIndex: number): Record<string, string> {
  return {
    name: 'person.given_name',
    email: `person.email_addresses[${emailIndex}].address`,
    zip: `person.postal_addresses[${postalIndex}].postal_code`,
    address: `person.postal_addresses[${postalIndex}].address_lines`,
    source: 'referrer_data.source',
    optIn: `person.email_addresses[${emailIndex}].status`,
    partnerOptIn: `person.email_addresses[${emailIndex}].status`,
    body: 'person',
  };
}

const zodErrors = (error: z.ZodError): OsdiFieldError[] => {
  const seen = new Set<string>();
  return error.issues.flatMap((issue) => {
    const property =
      issue.path.reduce<string>(
        (path, part) =>
          typeof part === 'number'
            ? `${path}[${part}]`
            : path
              ? `${path}.${String(part)}`
              : String(part),
        '',
      ) || 'body';
    if (seen.has(property)) return [];
    seen.add(property);
    return [
      {
        property,
        message:
          property === 'body'
            ? 'Send a JSON object: an OSDI signature with its person.'
            : `${property} ${issue.message}`,
      },
    ];
  });
};

export async function recordSignature(
  ctx: SignContext,
  campaign: Campaign,
  raw: unknown,
  holder: Pick<TokenHolder, 'partner'>,
  publicUrl: string,
): Promise<RecordResult> {
  const parsed = helperBody.safeParse(raw);
  if (!parsed.success) return { outcome: 'invalid', errors: zodErrors(parsed.error) };
  const { person, referrer_data: referrer } = parsed.data;
  const email = primary(person.email_addresses)!;
  const postal = primary(person.postal_addresses);
  const properties = propertiesOf(email.index, postal?.index ?? 0);

  // A partner's token signs under its own source code only: it cannot credit, or record consent for, another partner.
  const given = referrer?.source;
  if (
    holder.partner &&
    given !== undefined &&
    (typeof given !== 'string' || given.trim().toLowerCase() !== holder.partner.sourceCode)
  ) {
    return {
      outcome: 'invalid',
      errors: [
        {
          property: 'referrer_data.source',
          message: `referrer_data.source must be your own source code (${holder.partner.sourceCode}), or left out.`,
        },
      ],
    };
  }
  const subscribed =
    typeof email.item.status === 'string' &&
    email.item.status.trim().toLowerCase() === 'subscribed';
  const name = [person.given_name, person.family_name]
    .filter((part) => typeof part === 'string' && part.trim() !== '')
    .join(' ');
  const input = {
    name,
    email: email.item.address,
    zip: postal?.item.postal_code ?? '',
    address:
      postal?.item.address_lines?.filter((line) => line.trim() !== '').join(', ') || undefined,
    source: holder.partner
      ? holder.partner.sourceCode
      : typeof given === 'string'
        ? given
        : undefined,
    optIn: !holder.partner && subscribed,
    partnerOptIn: Boolean(holder.partner) && subscribed,
  };

  const language = person.languages_spoken
    ?.map((code) => code.trim().toLowerCase().slice(0, 2))
    .find(isLanguage);
  // No IP: the request comes from the partner's server, not from the person.
  const result = await signPetition(ctx, campaign, input, {
    ip: undefined,
    channel: 'api',
    language,
  });
  if (result.outcome === 'closed') return result;
  if (result.outcome === 'invalid')
    return { outcome: 'invalid', errors: mapErrors(result.errors, properties) };

  // The same answer for a first signature and a repeat: what was sent, and the identifier it has either way.
  const normalisedEmail = String(input.email).trim().toLowerCase();
  const ref = signatureRef(ctx.config.secret, campaign.id, normalisedEmail);
  const base = `${publicUrl}/api/osdi/v1`;
  return {
    outcome: 'signed',
    body: {
      identifiers: [signatureIdentifier(ref)],
      origin_system: ORIGIN_SYSTEM,
      referrer_data: input.source
        ? {
            source: input.source.trim().toLowerCase(),
          }
        : {},
      person: {
        ...(person.given_name ? { given_name: person.given_name.trim() } : {}),
        ...(person.family_name ? { family_name: person.family_name.trim() } : {}),
        email_addresses: [
          {
            primary: true,
            address: normalisedEmail,
            ...(subscribed ? { status: 'subscribed' } : {}),
          },
        ],
        postal_addresses: [
          {
            primary: true,
            // Signing accepted it, so it is a string.
            postal_code: (input.zip as string).trim().slice(0, 5),
            country: 'US',
          },
        ],
      },
      ...(campaign.requireVerification ? { [`${OSDI_NAMESPACE}:check_email`]: true } : {}),
      _links: { curies, 'osdi:petition': { href: `${base}/petitions/${campaign.slug}` } },
    },
  };
}

function mapErrors(errors: FieldErrors, properties: Record<string, string>): OsdiFieldError[] {
  return Object.entries(errors).map(([field, message]) => ({
    property: properties[field] ?? field,
    message,
  }));
}
