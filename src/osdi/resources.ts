import type { Campaign, LetterStatus, TargetOffice } from '../db/schema';
import { stateNames } from '../representatives/us-states';
import {
  advocacyCampaignIdentifier,
  OSDI_NAMESPACE,
  outreachIdentifier,
  petitionIdentifier,
  signatureIdentifier,
} from './identifiers';

/**
 * The OSDI 1.1.1 resources the platform serves (HAL+JSON), built in one place for the API
 * (routes.ts) and for the webhooks (webhooks/payloads.ts), which carry the same shapes as Action
 * Network's. Only what a holder may see is passed in: a person's email address only where they
 * agreed to hear from the holder, never a street address.
 */

export const OSDI_VERSION = '1.1.1';
export const ORIGIN_SYSTEM = 'Ban Face Surveillance';
/** The largest `per_page` a collection takes. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

/** The API's root address. */
export const osdiBase = (publicUrl: string) => `${publicUrl}/api/osdi/v1`;

/** The `osdi` curie every resource's links use, pointing at the specification. */
export const curies = [
  { name: 'osdi', href: 'https://opensupporter.github.io/osdi-docs/{rel}.html', templated: true },
];

/** With milliseconds: a sync that asks for `modified_date gt` the last date it saw must not skip what came in the same second. */
const iso = (date: Date) => date.toISOString();

/**
 * A name as OSDI wants it, given and family. The platform keeps one name as the supporter wrote
 * it, so the last word is taken as the family name (docs/API.md says so); a one-word name is all given name.
 */
export function splitName(name: string): { given_name: string; family_name?: string } {
  const words = name.trim().split(/\s+/);
  if (words.length < 2) return { given_name: name.trim() };
  return { given_name: words.slice(0, -1).join(' '), family_name: words.at(-1)! };
}

export interface PersonFields {
  name: string;
  zip: string;
  state: string | null;
  /** Only where the holder may see it. */
  email: string | null;
}

export function personResource(person: PersonFields) {
  return {
    ...splitName(person.name),
    postal_addresses: [
      {
        primary: true,
        postal_code: person.zip,
        ...(person.state ? { region: person.state } : {}),
        country: 'US',
      },
    ],
    ...(person.email
      ? { email_addresses: [{ primary: true, address: person.email, status: 'subscribed' }] }
      : {}),
  };
}

const TARGETS: Record<TargetOffice, string> = {
  'us-house': 'Members of the U.S. House of Representatives',
  'us-senate': 'U.S. Senators',
  'state-upper': 'State senators',
  'state-lower': 'State representatives',
  governor: 'Governors',
  custom: "The campaign's own targets",
};

const petitionLinks = (base: string, slug: string) => ({
  self: { href: `${base}/petitions/${slug}` },
  'osdi:signatures': { href: `${base}/petitions/${slug}/signatures` },
  'osdi:record_signature_helper': { href: `${base}/petitions/${slug}/signatures` },
});

export function petitionResource(
  base: string,
  publicUrl: string,
  campaign: Campaign,
  totalSignatures: number,
) {
  return {
    identifiers: [petitionIdentifier(campaign.slug)],
    origin_system: ORIGIN_SYSTEM,
    created_date: iso(campaign.createdAt),
    modified_date: iso(campaign.updatedAt),
    title: campaign.title,
    description: campaign.summary,
    petition_text: campaign.petitionText,
    target: campaign.targetOffices.map((office) => ({ name: TARGETS[office] })),
    total_signatures: totalSignatures,
    browser_url: `${publicUrl}/campaigns/${campaign.slug}`,
    [`${OSDI_NAMESPACE}:status`]: campaign.status,
    _links: petitionLinks(base, campaign.slug),
  };
}

export function advocacyCampaignResource(
  base: string,
  publicUrl: string,
  campaign: Campaign,
  totalOutreaches: number,
) {
  return {
    identifiers: [advocacyCampaignIdentifier(campaign.slug)],
    origin_system: ORIGIN_SYSTEM,
    created_date: iso(campaign.createdAt),
    modified_date: iso(campaign.updatedAt),
    title: campaign.title,
    description: campaign.summary,
    targets: campaign.targetOffices.map((office) => ({ title: TARGETS[office] })),
    type: 'email',
    total_outreaches: totalOutreaches,
    browser_url: `${publicUrl}/campaigns/${campaign.slug}/letters`,
    [`${OSDI_NAMESPACE}:status`]: campaign.status,
    _links: {
      self: { href: `${base}/advocacy_campaigns/${campaign.slug}` },
      'osdi:outreaches': { href: `${base}/advocacy_campaigns/${campaign.slug}/outreaches` },
    },
  };
}

export interface SignatureFields extends PersonFields {
  ref: string;
  source: string | null;
  createdAt: Date;
  modifiedAt: Date;
  campaignSlug: string;
}

export function signatureResource(base: string, signature: SignatureFields) {
  return {
    identifiers: [signatureIdentifier(signature.ref)],
    origin_system: ORIGIN_SYSTEM,
    created_date: iso(signature.createdAt),
    modified_date: iso(signature.modifiedAt),
    action_date: iso(signature.createdAt),
    referrer_data: signature.source ? { source: signature.source } : {},
    person: personResource(signature),
    _links: { 'osdi:petition': { href: `${base}/petitions/${signature.campaignSlug}` } },
  };
}

export interface OutreachTarget {
  name: string;
  title: string;
  office: string;
  state: string | null;
  status: LetterStatus;
  deliveredAt: Date | null;
}

export interface OutreachFields extends PersonFields {
  id: number;
  source: string | null;
  subject: string | null;
  createdAt: Date;
  modifiedAt: Date;
  campaignSlug: string;
  targets: OutreachTarget[];
}

/** The organisation an office belongs to, as OSDI's target names it. */
function organization(office: string, state: string | null): string | undefined {
  const place = state ? (stateNames.get(state) ?? state) : undefined;
  switch (office) {
    case 'us-house':
      return 'U.S. House of Representatives';
    case 'us-senate':
      return 'U.S. Senate';
    case 'state-upper':
      return place ? `${place} State Senate` : undefined;
    case 'state-lower':
      return place ? `${place} State House` : undefined;
    case 'governor':
      return place ? `Office of the Governor of ${place}` : undefined;
    default:
      return undefined;
  }
}

export function outreachResource(base: string, outreach: OutreachFields) {
  return {
    identifiers: [outreachIdentifier(outreach.id)],
    origin_system: ORIGIN_SYSTEM,
    created_date: iso(outreach.createdAt),
    modified_date: iso(outreach.modifiedAt),
    action_date: iso(outreach.createdAt),
    type:
      outreach.targets.length > 0 &&
      outreach.targets.every(
        (target) => target.status === 'hand-delivery' || target.status === 'held',
      )
        ? 'in-person'
        : 'email',
    ...(outreach.subject !== null ? { subject: outreach.subject } : {}),
    targets: outreach.targets.map((target) => ({
      title: target.title,
      ...(organization(target.office, target.state)
        ? { organization: organization(target.office, target.state) }
        : {}),
      ...splitName(target.name),
      [`${OSDI_NAMESPACE}:status`]: target.status,
      ...(target.deliveredAt
        ? { [`${OSDI_NAMESPACE}:delivered_date`]: iso(target.deliveredAt) }
        : {}),
    })),
    referrer_data: outreach.source ? { source: outreach.source } : {},
    person: personResource(outreach),
    _links: {
      'osdi:advocacy_campaign': { href: `${base}/advocacy_campaigns/${outreach.campaignSlug}` },
    },
  };
}
